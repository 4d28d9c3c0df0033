"""The Dataset Map window, through its widgets: it opens from the Dataset tab, hover shows a thumbnail, a
click previews, a rectangle or lasso selection goes to a class (undo brings it back), the inbox is grey and
suspected mislabels carry a ring."""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from imgclf_gui.core.features.extraction import extract_features
from imgclf_gui.core.project import scan
from imgclf_gui.core.training.config import TrainConfig, save_project_config
from imgclf_gui.gui.dataset.map_plot import INBOX_GREY, LASSO, RECTANGLE
from tests.conftest import write_image
from tests.gui.conftest import open_window

COLOURS = {"red": (220, 40, 40), "green": (40, 200, 40), "blue": (30, 40, 220)}


def write_map_project(root: Path, fake_backbone, per_class: int = 8) -> Path:
    """Three colour classes and a yellow inbox, bottlenecks cached, the fake backbone chosen for training."""
    past = time.time() - 60
    for k, (name, colour) in enumerate(COLOURS.items()):
        for i in range(per_class):
            write_image(root / name / f"{name}{i}.png", size=(40, 40), color=colour, seed=20 * k + i)
    for i in range(4):
        write_image(root / "unsorted" / f"u{i}.png", size=(40, 40), color=(210, 210, 30), seed=90 + i)
    paths = [s.path for s in scan.scan_samples(root)] + scan.list_images(root / "unsorted")
    for path in paths:
        os.utime(path, (past, past))  # older than the stat index's 3-second window
    extract_features(paths, fake_backbone.id, root)
    save_project_config(root, TrainConfig(backbone=fake_backbone.id))
    return root


def open_map_window(qtbot, root: Path):
    win = open_window(qtbot, root, size=(1100, 700))
    tab = win.tabs["Dataset"]
    qtbot.mouseClick(tab.map_button, Qt.MouseButton.LeftButton)
    window = tab.map_window
    qtbot.waitUntil(lambda: window.dmap is not None and not window.dmap.pending and
                    not window.progress.isVisible(), timeout=30000)
    window.resize(1000, 650)
    qtbot.waitExposed(window)
    return win, window


def on_screen(window, xy) -> QPoint:
    """Where the map point at view coordinates ``xy`` is, in the plot's viewport."""
    plot = window.plot
    scene = plot.view.mapViewToScene(QPointF(float(xy[0]), float(xy[1])))
    return plot.mapFromScene(scene)


def mouse(widget, kind: QEvent.Type, pos: QPoint, buttons: Qt.MouseButton) -> None:
    button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton
    event = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def drag(qtbot, widget, points: list[QPoint]) -> None:
    """Press at the first point, move through the others with the left button held, release at the last.
    At a hand's pace: pyqtgraph drops mouse moves closer than 10 ms apart (its ``mouseRateLimit``)."""
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    mouse(widget, QEvent.Type.MouseButtonPress, points[0], left)
    for point in points[1:]:
        qtbot.wait(12)
        mouse(widget, QEvent.Type.MouseMove, point, left)
    mouse(widget, QEvent.Type.MouseButtonRelease, points[-1], none)


def colour_of(window, row: int):
    item_index = int(np.flatnonzero(window.plot.shown == row)[0])
    return window.plot.points.data["brush"][item_index].color()


def choose_mode(qtbot, window, mode: str) -> None:
    button = next(b for b in window.mode_buttons.buttons() if b.property("mode") == mode)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_a_rectangle_sent_to_a_class_moves_those_files_and_undo_restores_them(qtbot, tmp_path, fake_backbone):
    root = write_map_project(tmp_path / "proj", fake_backbone)
    win, window = open_map_window(qtbot, root)
    dmap = window.dmap
    red = [i for i, label in enumerate(dmap.labels) if label == "red"]
    spots = np.array([[p.x(), p.y()] for p in (on_screen(window, xy) for xy in window.plot.xy)])
    low, high = spots[red].min(axis=0) - 8, spots[red].max(axis=0) + 8  # pixels around the red images
    choose_mode(qtbot, window, RECTANGLE)
    corners = [QPoint(*map(int, low)), QPoint(*map(int, high))]
    drag(qtbot, window.plot.viewport(), [corners[0], (corners[0] + corners[1]) / 2, corners[1]])
    inside = np.flatnonzero(((spots > low + 1) & (spots < high - 1)).all(axis=1))
    assert set(red) <= set(window.plot.selection.tolist()) and set(inside) <= set(window.plot.selection.tolist())
    assert window.send_button.isEnabled() and "selected" in window.selection_label.text()
    before = window.selected_paths()

    blue_colour = colour_of(window, next(i for i, label in enumerate(dmap.labels) if label == "blue"))
    action = next(a for a in window.send_menu.actions() if a.text() == "blue")
    action.trigger()
    qtbot.waitUntil(lambda: all(not p.exists() for p in before))
    assert all((root / "blue" / p.name).exists() for p in before)
    assert all(colour_of(window, r) == blue_colour for r in red)  # same places, the new class's colour

    win.undo_action.trigger()
    qtbot.waitUntil(lambda: all(p.exists() for p in before))
    assert all(colour_of(window, r) != blue_colour for r in red)
    assert {dmap.labels[r] for r in red} == {"red"}


def test_a_lasso_selection_is_shown_in_the_grid(qtbot, tmp_path, fake_backbone):
    root = write_map_project(tmp_path / "proj", fake_backbone)
    win, window = open_map_window(qtbot, root)
    inbox = [i for i, label in enumerate(window.dmap.labels) if label == "unsorted"]
    spots = np.array([[p.x(), p.y()] for p in (on_screen(window, window.plot.xy[i]) for i in inbox)])
    centre = spots.mean(axis=0)
    radius = np.linalg.norm(spots - centre, axis=1).max() + 15  # pixels
    ring = [QPoint(*map(int, centre + radius * np.array([np.cos(a), np.sin(a)])))
            for a in np.linspace(0, 2 * np.pi, 24)]
    choose_mode(qtbot, window, LASSO)
    drag(qtbot, window.plot.viewport(), ring)
    chosen = set(window.selected_paths())
    assert {window.dmap.paths[i] for i in inbox} <= chosen
    qtbot.mouseClick(window.grid_button, Qt.MouseButton.LeftButton)
    tab = win.tabs["Dataset"]
    assert set(tab.thumb_model.paths) == chosen
    assert "Selected on the map" in tab.heading.text()


def test_hover_shows_the_thumbnail_name_and_class_and_a_click_previews(qtbot, tmp_path, fake_backbone):
    root = write_map_project(tmp_path / "proj", fake_backbone)
    _win, window = open_map_window(qtbot, root)
    row = window.dmap.paths.index(root / "green" / "green3.png")
    spot = on_screen(window, window.plot.xy[row])
    mouse(window.plot.viewport(), QEvent.Type.MouseMove, spot, Qt.MouseButton.NoButton)
    qtbot.waitUntil(lambda: window.card.isVisible())
    hovered = window.dmap.paths[window.plot._hover]
    assert hovered.name in window.card.text.text() and "class green" in window.card.text.text()
    qtbot.waitUntil(lambda: window.card.picture.pixmap() is not None and not window.card.picture.pixmap().isNull())

    qtbot.mouseClick(window.plot.viewport(), Qt.MouseButton.LeftButton, pos=spot)
    qtbot.waitUntil(lambda: window.preview.isVisible())
    assert window.preview.caption.text() == str(hovered)


def test_the_inbox_is_grey_and_suspected_mislabels_carry_a_ring(qtbot, tmp_path, fake_backbone):
    from imgclf_gui.core.models.runs import record_training
    from imgclf_gui.core.training.trainer import train

    root = write_map_project(tmp_path / "proj", fake_backbone, per_class=12)
    strays = [root / "green" / f"stray{i}.png" for i in range(2)]
    for i, path in enumerate(strays):  # red pictures filed as green
        write_image(path, size=(40, 40), color=COLOURS["red"], seed=500 + i)
        os.utime(path, (time.time() - 60,) * 2)
    record_training(root, train(TrainConfig(backbone=fake_backbone.id, epochs=30), root))
    _win, window = open_map_window(qtbot, root)
    dmap = window.dmap
    assert dmap.suspects and set(dmap.suspects) <= set(strays)  # the red pictures filed as green, nothing else
    rings = np.column_stack([window.plot.marks.data["x"], window.plot.marks.data["y"]])
    assert len(rings) == len(dmap.suspects)
    for path in dmap.suspects:
        assert np.isclose(rings, window.plot.xy[dmap.paths.index(path)]).all(axis=1).any()
    assert "suspected mislabel" in window.status.text()
    for row, label in enumerate(dmap.labels):
        if label == "unsorted":
            assert colour_of(window, row) == INBOX_GREY
        else:
            assert colour_of(window, row) != INBOX_GREY


def test_images_without_a_bottleneck_are_named_and_computed_on_request(qtbot, tmp_path, fake_backbone):
    root = write_map_project(tmp_path / "proj", fake_backbone)
    late = write_image(root / "unsorted" / "late.png", size=(40, 40), color=COLOURS["blue"], seed=400)
    _win, window = open_map_window(qtbot, root)
    assert late not in window.dmap.paths
    assert window.compute_button.isVisible() and "1 image not on the map" in window.missing_label.text()
    qtbot.mouseClick(window.compute_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: late in window.dmap.paths and not window.dmap.pending, timeout=30000)
    assert not window.compute_button.isVisible()
    assert np.isfinite(window.plot.xy[window.dmap.paths.index(late)]).all()  # placed into the saved map


def test_the_quick_layout_can_be_chosen_and_the_status_says_which_is_shown(qtbot, tmp_path, fake_backbone):
    root = write_map_project(tmp_path / "proj", fake_backbone)
    _win, window = open_map_window(qtbot, root)
    assert "(t-SNE" in window.status.text()
    np.testing.assert_array_equal(window.plot.xy, window.dmap.refined)
    window.layout_choice.setCurrentText("Quick (PCA)")
    assert "(PCA" in window.status.text()
    np.testing.assert_array_equal(window.plot.xy, window.dmap.pca)
