"""Pixels cross threads as numpy arrays; QImage and QPixmap are made on the GUI thread only
(gui/common/pictures.py says why: a QImage made on a worker hung the tests, once in CI and once in some
340 runs here)."""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt

import imgclf_gui.gui
from tests.conftest import write_image
from tests.gui.conftest import open_window, write_colour_project


def test_no_background_task_of_the_gui_names_a_qt_class():
    """A task is ``fn(state, *args)`` (gui/common/tasks.py): none of them may build a Qt object."""
    offenders = []
    tasks = 0
    for path in Path(imgclf_gui.gui.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.args.args and node.args.args[0].arg == "state":
                tasks += 1
                named = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
                named |= {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}
                qt = sorted(name for name in named if name[:1] == "Q" and name[1:2].isupper())
                if qt:
                    offenders.append(f"{path.name}:{node.lineno} {node.name} uses {', '.join(qt)}")
    assert tasks >= 15, "the scan found the tasks"
    assert not offenders, offenders


def test_a_grid_thumbnail_shows_the_image_colours_the_right_way_up(qtbot, tmp_path):
    from PIL import Image

    root = write_colour_project(tmp_path / "proj", per_class=1)
    picture = np.zeros((60, 80, 3), np.uint8)
    picture[:30] = (230, 20, 20)  # red above, blue below
    picture[30:] = (20, 20, 230)
    Image.fromarray(picture).save(root / "red" / "halves.png")
    write_image(root / "red" / "other.png")
    tab = open_window(qtbot, root).tabs["Dataset"]
    tab.show_class("red")
    model = tab.thumb_model
    row = model.paths.index(root / "red" / "halves.png")
    qtbot.waitUntil(lambda: model.paths[row] in model._pixmaps, timeout=10_000)
    image = model._pixmaps[model.paths[row]].toImage()
    assert (image.width(), image.height()) == (80, 60)  # small pictures are never enlarged
    top, bottom = image.pixelColor(40, 10), image.pixelColor(40, 50)
    assert top.red() > 200 and top.blue() < 60, top.getRgb()
    assert bottom.blue() > 200 and bottom.red() < 60, bottom.getRgb()
    assert model.data(model.index(row), Qt.ItemDataRole.DecorationRole) is not None


def test_a_batch_table_thumbnail_arrives_in_its_colours_and_size(qtbot, tmp_path):
    from imgclf_gui.gui.classify.batch_results import LazyThumbnails
    from imgclf_gui.gui.common.tasks import TaskRunner

    tasks = TaskRunner()
    thumbs = LazyThumbnails(tasks, side=40)
    path = write_image(tmp_path / "red.png", size=(120, 60), color=(230, 20, 20))
    with qtbot.waitSignal(thumbs.ready, timeout=10_000) as ready:
        assert thumbs.get(path) is None  # asked for: it comes from a worker
    assert ready.args == [path]
    image = thumbs.get(path).toImage()
    assert (image.width(), image.height()) == (40, 20)
    colour = image.pixelColor(20, 10)
    assert colour.red() > 180 and colour.green() < 80 and colour.blue() < 80, colour.getRgb()
    assert tasks.shutdown(5000)
