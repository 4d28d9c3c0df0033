"""The rules of classes without Qt: names, labelling keys that stay with their class, and the plans of
merging, deleting and quarantining (which must never overwrite or lose a file)."""
from __future__ import annotations

import pytest

from imgclf_gui.core.project import layout, rules
from imgclf_gui.core.project.journal import Journal
from imgclf_gui.core.project.manifest import ProjectError
from tests.conftest import write_image


# -- names ----------------------------------------------------------------------------------------
def test_class_names_that_cannot_be_folders_or_clash_are_refused_with_a_sentence(tmp_path):
    (tmp_path / "cat").mkdir()
    assert rules.check_class_name(tmp_path, "  dog ") == "dog"
    for bad in ("", "   ", ".hidden", "unsorted", "a/b", "a\\b", "what?", 'say "hi"'):
        with pytest.raises(ProjectError, match="cannot be a class name"):
            rules.check_class_name(tmp_path, bad)
    with pytest.raises(ProjectError, match="already exists"):
        rules.check_class_name(tmp_path, "cat")


# -- labelling keys -------------------------------------------------------------------------------
def _shown(keys: dict[str, str], names: list[str]) -> dict[str, str]:
    return {n: keys[n] for n in names if n in keys}


def test_first_keys_follow_alphabetical_order_like_before():
    assert rules.assign_keys(["bird", "cat", "dog"], {}) == {"bird": "1", "cat": "2", "dog": "3"}
    # a key chosen by the user is kept, the digits go to the others in order
    assert rules.assign_keys(["bird", "cat", "dog"], {"cat": "c"}) == {"cat": "c", "bird": "1", "dog": "2"}


def test_a_new_class_does_not_shift_the_keys_of_the_others():
    keys = rules.assign_keys(["cat", "dog"], {})
    names = ["ant", "cat", "dog"]  # "ant" sorts first; it used to take 1 and push cat to 2
    keys = rules.assign_keys(names, keys, previous=["cat", "dog"])
    assert _shown(keys, names) == {"ant": "3", "cat": "1", "dog": "2"}


def test_a_renamed_class_keeps_its_key_also_when_renamed_back():
    keys = rules.assign_keys(["cat", "dog", "eel"], {"dog": "d"})
    assert _shown(keys, ["cat", "dog", "eel"]) == {"cat": "1", "dog": "d", "eel": "2"}
    renamed = ["cat", "eel", "puppy"]
    keys = rules.assign_keys(renamed, keys, previous=["cat", "dog", "eel"])
    assert _shown(keys, renamed) == {"cat": "1", "eel": "2", "puppy": "d"}
    keys = rules.assign_keys(["cat", "dog", "eel"], keys, previous=renamed)  # undo
    assert _shown(keys, ["cat", "dog", "eel"]) == {"cat": "1", "dog": "d", "eel": "2"}
    renamed = ["aardvark", "dog", "eel"]  # cat renamed to a name that sorts first
    keys = rules.assign_keys(renamed, keys, previous=["cat", "dog", "eel"])
    assert _shown(keys, renamed) == {"aardvark": "1", "dog": "d", "eel": "2"}


def test_a_deleted_class_gets_its_key_back_on_undo_and_new_classes_take_other_digits():
    keys = rules.assign_keys(["a", "b", "c"], {})
    keys = rules.assign_keys(["a", "c"], keys, previous=["a", "b", "c"])  # b deleted (or merged)
    keys = rules.assign_keys(["a", "c", "d"], keys, previous=["a", "c"])  # a new class
    assert _shown(keys, ["a", "c", "d"]) == {"a": "1", "c": "3", "d": "4"}, "2 stays b's"
    keys = rules.assign_keys(["a", "b", "c", "d"], keys, previous=["a", "c", "d"])  # undo of the delete
    assert _shown(keys, ["a", "b", "c", "d"]) == {"a": "1", "b": "2", "c": "3", "d": "4"}


def test_when_digits_run_out_a_gone_class_gives_its_digit_up_and_a_tenth_class_has_none():
    names = [f"class{i}" for i in range(1, 10)]
    keys = rules.assign_keys(names, {})
    assert [keys[n] for n in names] == list("123456789")
    fewer = names[1:]  # class1 (key 1) deleted
    keys = rules.assign_keys(fewer, keys, previous=names)
    more = fewer + ["new"]
    keys = rules.assign_keys(more, keys, previous=fewer)
    assert keys["new"] == "1" and "class1" not in keys, "no other digit was free: class1's went to the new one"
    tenth = more + ["zzz"]
    keys = rules.assign_keys(tenth, keys, previous=more)
    assert "zzz" not in keys and sorted(_shown(keys, tenth).values()) == list("123456789")


def test_keys_from_a_damaged_manifest_are_ignored():
    stored = {"cat": "too long", "dog": 7, "eel": "?", 3: "x", "fox": "F"}
    expected = {"cat": "1", "dog": "2", "eel": "3", "fox": "4"}
    assert rules.assign_keys(["cat", "dog", "eel", "fox"], stored) == expected
    # two classes claiming one key (a hand-edited file): the first keeps it
    assert rules.assign_keys(["a", "b"], {"a": "k", "b": "k"}) == {"a": "k", "b": "1"}


def test_giving_a_key_takes_it_from_another_class_and_empty_gives_a_digit():
    names = ["cat", "dog"]
    keys = rules.assign_keys(names, {})
    keys = rules.with_key(keys, names, "dog", "C")
    assert _shown(keys, names) == {"cat": "1", "dog": "c"}
    keys = rules.with_key(keys, names, "dog", "1")
    assert _shown(keys, names) == {"cat": "2", "dog": "1"}, "cat lost 1 and got the first free digit"
    keys = rules.with_key(keys, names, "dog", "")
    assert _shown(keys, names) == {"cat": "2", "dog": "1"}
    with pytest.raises(ProjectError, match="one letter or digit"):
        rules.with_key(keys, names, "dog", "?!")
    with pytest.raises(ProjectError, match="no class"):
        rules.with_key(keys, names, "emu", "e")


# -- scanning and plans ---------------------------------------------------------------------------
def _project(tmp_path):
    root = tmp_path / "proj"
    for i in range(2):
        write_image(root / "cat" / f"x{i}.png", seed=i)
        write_image(root / "dog" / f"x{i}.png", seed=10 + i)
    write_image(root / "dog" / "nested" / "deep.png", seed=20)
    (root / "dog" / "notes.txt").write_text("not an image")
    (root / "dog" / ".hidden.png").write_bytes(b"")
    write_image(root / layout.INBOX_NAME / "u.png", seed=30)
    return root


def test_scan_counts_images_below_each_class_and_the_inbox(tmp_path):
    root = _project(tmp_path)
    found = rules.scan_classes(root, {"dog": "d"})
    assert [(c.name, c.count, c.key) for c in found.classes] == [("cat", 2, "1"), ("dog", 3, "d")]
    assert found.inbox_count == 1 and found.keys == {"cat": "1", "dog": "d"}


def test_merge_renames_clashes_and_sets_the_emptied_folder_aside_with_its_leftovers(tmp_path):
    root = _project(tmp_path)
    before = sorted(p.read_bytes() for p in root.rglob("*.png"))
    ops = rules.plan_merge(root, ["dog"], "cat")
    journal = Journal(root)
    result = journal.run("merge", ops)
    assert not result.problems
    assert sorted(p.name for p in (root / "cat").iterdir()) == ["deep.png", "x0 (2).png", "x0.png", "x1 (2).png",
                                                                 "x1.png"]
    aside = layout.deleted_classes_dir(root) / "dog"
    assert not (root / "dog").exists() and (aside / "notes.txt").is_file()
    assert sorted(p.read_bytes() for p in root.rglob("*.png")) == before, "no image lost or changed"
    journal.undo()
    assert (root / "dog" / "nested" / "deep.png").is_file() and (root / "dog" / "notes.txt").is_file()


def test_deleting_a_class_sends_its_images_to_the_inbox_and_a_second_delete_gets_a_fresh_trash_name(tmp_path):
    root = _project(tmp_path)
    journal = Journal(root)
    journal.run("delete dog", rules.plan_delete_class(root, "dog"))
    assert {p.name for p in layout.inbox_dir(root).iterdir()} == {"u.png", "x0.png", "x1.png", "deep.png"}
    (root / "dog").mkdir()
    ops = rules.plan_delete_class(root, "dog")
    assert ops[-1].dst == layout.deleted_classes_dir(root) / "dog (2)"


def test_quarantine_keeps_the_class_folder_in_the_path(tmp_path):
    root = _project(tmp_path)
    outside = write_image(tmp_path / "elsewhere" / "x0.png", seed=40)
    ops = rules.plan_quarantine(root, [root / "cat" / "x0.png", root / "dog" / "nested" / "deep.png", outside])
    assert [op.dst for op in ops] == [layout.quarantine_dir(root) / "cat" / "x0.png",
                                      layout.quarantine_dir(root) / "dog" / "nested" / "deep.png",
                                      layout.quarantine_dir(root) / "other" / "x0.png"]


def test_importable_files_are_images_found_below_folders(tmp_path):
    root = _project(tmp_path)
    files = rules.importable_files([root / "dog", root / "cat" / "x0.png", root / "dog" / "notes.txt"])
    assert {p.name for p in files} == {"x0.png", "x1.png", "deep.png"}
    assert rules.not_images([root / "dog", root / "cat" / "x0.png", root / "dog" / "notes.txt"]) == [
        root / "dog" / "notes.txt"], "a folder's other files are skipped without a word, a dropped file is named"


def test_0_is_the_inbox_key_and_never_a_class_key():
    with pytest.raises(ProjectError, match="inbox"):
        rules.with_key({}, ["cat"], "cat", "0")
    # a manifest written by hand (or an older version) that gave a class 0: it gets a digit of its own
    assert rules.assign_keys(["cat", "dog"], {"cat": "0"}) == {"cat": "1", "dog": "2"}


def test_loose_photos_and_the_class_a_file_lives_in(tmp_path):
    root = _project(tmp_path)
    write_image(root / "IMG_0001.png")
    (root / "readme.txt").write_text("not a photo")
    assert rules.loose_images(root) == [root / "IMG_0001.png"]
    assert rules.class_of(root, root / "dog" / "nested" / "deep.png") == "dog"
    assert rules.class_of(root, layout.inbox_dir(root) / "u.png") == rules.INBOX
    assert rules.class_of(root, root / "IMG_0001.png") is None, "in no class"
    assert rules.class_of(root, layout.quarantine_dir(root) / "cat" / "x0.png") is None, "set aside by imgclf"
    assert rules.class_of(root, tmp_path / "elsewhere" / "x.png") is None


def test_counts_in_words():
    assert [rules.count_words(n, "image") for n in (0, 1, 2)] == ["0 images", "1 image", "2 images"]
    assert rules.count_words(1, "unreadable file") == "1 unreadable file"


def test_importing_the_project_into_itself_is_refused_with_a_sentence(tmp_path):
    root = _project(tmp_path)
    outside = write_image(tmp_path / "camera" / "new.png")
    assert rules.import_refusal(root, [outside, outside.parent]) is None
    assert "holds this project" in rules.import_refusal(root, [tmp_path])
    assert "holds this project" in rules.import_refusal(root, [root])
    assert "already a folder of this project" in rules.import_refusal(root, [outside, root / "dog"])
    assert rules.import_refusal(root, [root / "dog" / "x0.png"]) is None, "its files are sorted, not refused"
