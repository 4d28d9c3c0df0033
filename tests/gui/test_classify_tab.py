"""The Classify tab through its real widgets, with a tiny model trained on the fake backbone."""
from __future__ import annotations

import csv
from pathlib import Path

from PySide6.QtCore import Qt

from imgclf_gui.core.models.predict import ModelSource
from imgclf_gui.core.support.settings import Settings
from imgclf_gui.gui.shell.main_window import MainWindow
from tests.conftest import write_image
from tests.gui.conftest import COLORS, _drop, _ready_tab


def test_drop_one_image_shows_sorted_bars_and_verdict(window, qtbot, tiny_model, tmp_path):
    tab = _ready_tab(window, qtbot, ModelSource.bundle(tiny_model))
    image = write_image(tmp_path / "drop" / "reddish.png", color=(215, 45, 35), seed=77)
    with qtbot.waitSignal(tab.classifier.prediction_ready, timeout=10_000):
        _drop(tab, [image])
    names = [n for n, _ in tab.bars.shown]
    scores = [s for _, s in tab.bars.shown]
    assert sorted(names) == sorted(COLORS) and names[0] == "red"
    assert scores == sorted(scores, reverse=True) and abs(sum(scores) - 1) < 1e-4
    assert "red" in tab.verdict.text() and "sure" in tab.verdict.text()
    assert tab.drop_area.has_image() and tab.pages.currentIndex() == 0
    # a threshold above the top score turns the verdict to "unsure"
    tab.threshold_spin.setValue(100)
    assert "unsure" in tab.verdict.text()


def test_this_is_really_copies_into_class_and_undo_removes_it(window, qtbot, tiny_model, tmp_path):
    tab = _ready_tab(window, qtbot, ModelSource.bundle(tiny_model))
    image = write_image(tmp_path / "drop" / "mystery.png", color=(215, 45, 35), seed=78)
    with qtbot.waitSignal(tab.classifier.prediction_ready, timeout=10_000):
        _drop(tab, [image])
    tab.correct.combo.setCurrentText("green")
    qtbot.mouseClick(tab.correct.add_button, Qt.MouseButton.LeftButton)
    copy = window.project.root / "green" / "mystery.png"
    assert copy.exists() and image.exists(), "copied, original kept"
    assert {c.name: c.count for c in window.project.classes()}["green"] == 2
    assert tab.correct.undo_button.isEnabled()
    qtbot.mouseClick(tab.correct.undo_button, Qt.MouseButton.LeftButton)
    assert not copy.exists() and image.exists()
    assert not tab.correct.undo_button.isEnabled()


def test_folder_drop_fills_table_and_csv_matches(window, qtbot, tiny_model, tmp_path):
    tab = _ready_tab(window, qtbot, ModelSource.bundle(tiny_model))
    folder = tmp_path / "many"
    for i in range(20):
        name = list(COLORS)[i % 3]
        write_image(folder / f"img{i:02d}.png", color=COLORS[name], seed=200 + i)
    (folder / "sub").mkdir()
    (folder / "sub" / "broken.jpg").write_bytes(b"not a jpeg at all")
    with qtbot.waitSignal(tab.classifier.batch_finished, timeout=20_000):
        _drop(tab, [folder])
    page = tab.batch
    assert tab.pages.currentWidget() is page
    assert page.model.rowCount() == 21
    broken = [r for r in page.model.rows if r.scores is None]
    assert len(broken) == 1 and broken[0].path.name == "broken.jpg" and broken[0].error
    predicted = {r.path.name: page.model.label(r) for r in page.model.rows if r.scores is not None}
    assert all(predicted[f"img{i:02d}.png"] == list(COLORS)[i % 3] for i in range(20))
    # sort by confidence, descending: the table and the CSV agree row by row
    page.table.sortByColumn(3, Qt.SortOrder.DescendingOrder)
    shown = [page.proxy.index(r, 1).data() for r in range(page.proxy.rowCount())]
    out = tmp_path / "table.csv"
    assert page.export_csv(out) == 21
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    # the File column names each file by its place in the dropped folder
    assert [Path(r["path"]).relative_to(folder).as_posix() for r in rows] == shown
    confidences = [float(r["confidence"]) for r in rows if r["confidence"]]
    assert confidences == sorted(confidences, reverse=True)
    assert rows[-1]["error"] and not rows[-1]["label"], "the unreadable file sorts last, with its reason"
    # filter: one class only
    index = page.filter_combo.findText("Class: red")
    page.filter_combo.setCurrentIndex(index)
    page.filter_combo.activated.emit(index)
    assert page.proxy.rowCount() == 6 == sum(1 for i in range(20) if i % 3 == 2)
    # copy into class folders of another directory: originals stay
    target = tmp_path / "sorted"
    page.sort_into(target)
    with qtbot.waitSignal(page._copy_task.finished, timeout=10_000):
        pass
    assert len(list((target / "red").glob("*.png"))) == 6 and (folder / "img00.png").exists()


def test_first_drop_while_loading_shows_loading_then_bars(window, qtbot, tiny_model, tmp_path):
    tab = window.tabs["Classify"]
    image = write_image(tmp_path / "drop" / "g.png", color=COLORS["green"], seed=9)
    tab.use_model(ModelSource.bundle(tiny_model))
    assert tab.classifier.state == "loading" and tab.model_status.full_text == "Loading model…"
    with qtbot.waitSignal(tab.classifier.prediction_ready, timeout=10_000):
        _drop(tab, [image])
        assert tab.drop_area._text == "Loading model…", "the drop waits for the model, visibly"
    assert tab.bars.shown[0][0] == "green"


def test_project_active_model_is_used_and_followed(qtbot, tmp_path, tiny_model):
    from imgclf_gui.core.models import runs
    from imgclf_gui.core.models.bundle import ModelBundle

    root = tmp_path / "proj2"
    for name in COLORS:
        write_image(root / name / "a.png", color=COLORS[name])
    bundle = ModelBundle.load(tiny_model)
    first = runs.save_run(root, bundle, settings={}, figures={})
    runs.set_active_run(root, first.run_id)
    win = MainWindow(settings=Settings())
    qtbot.addWidget(win)
    tab = win.tabs["Classify"]
    with qtbot.waitSignal(tab.classifier.model_changed, timeout=10_000):
        assert win.open_project(root)
    assert tab.classifier.source.path == first.model_path and tab.classifier.state == "ready"
    assert tab.model_combo.currentText().startswith("Active model: run of ")
    # a new run made active (by the Training tab) is picked up when the tab is shown again
    second = runs.save_run(root, bundle, settings={}, figures={})
    runs.set_active_run(root, second.run_id)
    with qtbot.waitSignal(tab.classifier.model_changed, timeout=10_000):
        win.tab_widget.setCurrentWidget(tab)
        win.show()
    assert tab.classifier.source.path == second.model_path
