"""How the batch table names files: by their place in what was dropped (Qt-free rules)."""
from __future__ import annotations

from pathlib import Path

from imgclf_gui.gui.classify.path_labels import distinct_suffixes, path_labeller


def test_one_dropped_folder_names_files_inside_it():
    label = path_labeller([Path("/photos/2024")])
    assert label(Path("/photos/2024/garden/IMG_0000.jpg")) == "garden/IMG_0000.jpg"
    assert label(Path("/photos/2024/IMG_0001.jpg")) == "IMG_0001.jpg"


def test_several_dropped_folders_put_their_own_names_in_front():
    label = path_labeller([Path("/a/trip"), Path("/b/trip"), Path("/c/home")])
    assert label(Path("/a/trip/IMG_0000.jpg")) == "a/trip/IMG_0000.jpg"
    assert label(Path("/b/trip/IMG_0000.jpg")) == "b/trip/IMG_0000.jpg"
    assert label(Path("/c/home/x/IMG_0000.jpg")) == "home/x/IMG_0000.jpg"


def test_dropped_files_get_as_many_folders_as_it_takes():
    files = [Path("/cam/2023/june/IMG_0000.jpg"), Path("/cam/2024/june/IMG_0000.jpg"), Path("/tmp/cat.png")]
    assert distinct_suffixes(files) == {files[0]: "2023/june/IMG_0000.jpg", files[1]: "2024/june/IMG_0000.jpg",
                                        files[2]: "cat.png"}
    label = path_labeller(files)
    assert [label(f) for f in files] == ["2023/june/IMG_0000.jpg", "2024/june/IMG_0000.jpg", "cat.png"]


def test_a_folder_dropped_with_a_folder_inside_it_names_by_the_deeper_one():
    label = path_labeller([Path("/p"), Path("/p/q")])
    assert label(Path("/p/q/x.jpg")) == "q/x.jpg" and label(Path("/p/y.jpg")) == "p/y.jpg"
