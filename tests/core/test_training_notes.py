"""What training tells besides its result comes as data (a kind plus values), worded by one function;
its stages too, the one-time preparation of the backbone among them."""
from __future__ import annotations

import json

import imgclf_gui.core.backbones as backbones
from imgclf_gui.core.models import runs
from imgclf_gui.core.models.bundle import ModelBundle
from imgclf_gui.core.support import notes
from imgclf_gui.core.support.notes import Note, describe
from imgclf_gui.core.training.config import L2_CANDIDATES, TrainConfig
from imgclf_gui.core.training.summary import summarize
from imgclf_gui.core.training.trainer import train
from tests.conftest import write_image

COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220)}


def _project(root, per_class=10):
    for k, (name, colour) in enumerate(COLOURS.items()):
        for i in range(per_class):
            write_image(root / name / f"{name}{i:02d}.png", size=(40, 30), color=colour, seed=100 * k + i)
    return root


def test_every_kind_has_its_own_words_and_notes_survive_json():
    kinds = [value for name, value in vars(notes).items() if name.isupper() and isinstance(value, str)]
    assert len(kinds) > 15 and set(kinds) <= set(notes._WORDS)
    note = Note(notes.L2_CHOSEN, {"losses": {"0.001": 0.25, "0.01": 0.2}, "chosen": 0.01})
    assert describe(note) == "L2 chosen on the validation part: 0.001 -> loss 0.2500, 0.01 -> loss 0.2000; using 0.01."
    assert Note.from_dict(json.loads(json.dumps(note.to_dict()))) == note
    # A kind this version does not know (a newer run.json) still reads as something.
    assert describe(Note("head.something_new", {"count": 3})) == "Something new: count 3"


def test_train_hands_its_notes_as_data(tmp_path, fake_backbone):  # noqa: F811 - fixture
    root = _project(tmp_path / "proj")
    (root / "red" / "cut_off.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    result = train(TrainConfig(backbone=fake_backbone.id, epochs=5), root)
    kinds = [n.kind for n in result.notes]
    assert kinds.count(notes.UNREADABLE_SKIPPED) == 1 and kinds.count(notes.CROSSVAL_CHOSE) == 1
    skipped = next(n for n in result.notes if n.kind == notes.UNREADABLE_SKIPPED)
    assert skipped.values == {"count": 1} and describe(skipped) == "1 image could not be read and was skipped."
    chosen = next(n for n in result.notes if n.kind == notes.CROSSVAL_CHOSE)
    assert chosen.values["searched"] and len(chosen.values["l2s"]) == 5
    assert set(chosen.values["l2s"]) <= set(L2_CANDIDATES) and result.config.l2 == chosen.values["final_l2"]
    assert describe(chosen).startswith("Each of the 5 folds chose its regularisation on its own validation images")
    assert list(result.failed) == [str(root / "red" / "cut_off.jpg")]
    # The run keeps them, as data and as the words shown.
    run = runs.record_training(root, result)
    stored = json.loads((run.folder / "run.json").read_text())["figures"]
    assert [Note.from_dict(d) for d in stored["notes"]] == result.notes
    assert stored["warnings"] == [describe(n) for n in result.notes]
    assert ModelBundle.load(run.model_path).config == result.config


def test_without_validation_images_one_note_says_what_happened(tmp_path, fake_backbone):  # noqa: F811
    root = _project(tmp_path / "proj", per_class=6)
    result = train(TrainConfig(backbone=fake_backbone.id, epochs=3, validation_percent=0), root)
    [note] = [n for n in result.notes if n.kind == notes.NO_VALIDATION]
    assert note.values == {"l2": L2_CANDIDATES[1]} and result.config.l2 == L2_CANDIDATES[1]
    [chose] = [n for n in result.notes if n.kind == notes.CROSSVAL_CHOSE]
    assert not chose.values["searched"] and chose.values["final_epochs"] == 3


def test_the_backbone_is_prepared_as_its_own_stage_before_extraction(tmp_path, fake_backbone, monkeypatch):  # noqa: F811
    root = _project(tmp_path / "proj", per_class=4)
    prepared = []
    monkeypatch.setattr(backbones, "needs_preparation", lambda backbone_id: not prepared)
    monkeypatch.setattr(backbones, "prepare_backbone", prepared.append)
    progress, stages = [], []
    config = TrainConfig(backbone=fake_backbone.id, epochs=2, l2=1e-3)
    train(config, root, on_stage=lambda n: stages.append((n.kind, len(progress))),
          on_extract_progress=lambda done, total: progress.append(done))
    assert prepared == [fake_backbone.id]
    kinds = [kind for kind, _ in stages]
    assert kinds == [notes.STAGE_CHECKING, notes.STAGE_PREPARING_BACKBONE, notes.STAGE_EXTRACTING] + \
        [notes.STAGE_FOLD] * 4 + [notes.STAGE_FINAL_MODEL, notes.STAGE_EVALUATING]  # 4 images a class: 4 folds
    assert dict(stages)[notes.STAGE_EXTRACTING] == 0  # prepared before extraction counted anything
    stages.clear()
    train(config, root, on_stage=lambda n: stages.append((n.kind, 0)))
    assert notes.STAGE_PREPARING_BACKBONE not in dict(stages) and prepared == [fake_backbone.id]  # first use only
    assert describe(Note(notes.STAGE_PREPARING_BACKBONE, {"backbone": "EfficientNet-Lite0"})) == \
        "Preparing EfficientNet-Lite0 (first use only)"


def test_more_augmented_copies_never_make_cached_images_look_uncached(tmp_path, fake_backbone):  # noqa: F811
    root = _project(tmp_path / "proj", per_class=5)
    train(TrainConfig(backbone=fake_backbone.id, epochs=2, l2=1e-3), root)
    summary = summarize(root, TrainConfig(backbone=fake_backbone.id, augment_variants=2))
    assert summary.cached == 15 and summary.remaining == 0  # every bottleneck is cached
    assert summary.copies_to_compute == 30  # only the new copies are still to compute
    train(TrainConfig(backbone=fake_backbone.id, epochs=2, l2=1e-3, augment_variants=2), root)
    again = summarize(root, TrainConfig(backbone=fake_backbone.id, augment_variants=2))
    assert (again.cached, again.copies_to_compute) == (15, 0)


def test_the_summary_names_the_small_classes_as_data(tmp_path, fake_backbone):  # noqa: F811
    root = _project(tmp_path / "proj", per_class=3)
    summary = summarize(root, TrainConfig(backbone=fake_backbone.id))
    [note] = [n for n in summary.notes if n.kind == notes.FEW_IMAGES]
    assert note.values["classes"] == [["blue", 3], ["green", 3], ["red", 3]]
