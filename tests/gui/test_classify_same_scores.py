"""Every way to classify a file gives the same scores for it: `imgclf classify`, `imgclf evaluate`,
`imgclf imagenet`, the Classify tab (one image dropped, and a folder) and the export self-test.

The tab and the self-test are compared to the last bit; the commands at the precision they print
(`classify --csv` six decimals, `imagenet` five), except `evaluate --json`, whose mistakes carry the
exact probability (every image is put into a wrong class folder, so every image is a mistake)."""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from imgclf_gui.cli import main
from imgclf_gui.core.models.bundle import ModelBundle
from imgclf_gui.core.models.exporter import self_test_reference
from imgclf_gui.core.models.predict import ModelSource
from tests.conftest import write_image
from tests.gui.conftest import COLORS, _drop, _ready_tab


def _two_colour(size: tuple[int, int], left, right, seed: int) -> Image.Image:
    """Left half one colour, right half another, with noise: a decode that rotates, crops or resizes
    differently moves the colours between the backbone's cells and changes the scores."""
    rng = np.random.default_rng(seed)
    w, h = size
    arr = np.empty((h, w, 3), np.int16)
    arr[:, : w // 2] = left
    arr[:, w // 2:] = right
    arr += rng.integers(-25, 25, arr.shape, dtype=np.int16)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _files(folder: Path) -> list[Path]:
    colours = list(COLORS.values())
    files = [write_image(folder / f"plain{i:02d}.png", size=(30 + 7 * i, 24 + 3 * i), color=colours[i % 3],
                         seed=300 + i) for i in range(14)]
    big = folder / "camera.jpg"  # decoded in draft mode (1/8) by every path, or the scores differ
    _two_colour((1600, 1200), COLORS["red"], COLORS["blue"], 1).save(big, quality=88)
    rotated = folder / "rotated.jpg"  # EXIF orientation 6: shown (and scored) rotated by 90 degrees
    image = _two_colour((90, 60), COLORS["green"], COLORS["red"], 2)
    exif = image.getexif()
    exif[0x0112] = 6
    image.save(rotated, exif=exif, quality=95)
    rgba = folder / "transparent.png"  # composited on white
    rgba_arr = np.asarray(_two_colour((40, 40), COLORS["blue"], COLORS["green"], 3).convert("RGBA")).copy()
    rgba_arr[:20, :, 3] = 0
    Image.fromarray(rgba_arr).save(rgba)
    grey = folder / "grey.png"
    _two_colour((50, 40), (30, 30, 30), (220, 220, 220), 4).convert("L").save(grey)
    return [*files, big, rotated, rgba, grey]


def _tab_scores(tab, qtbot, folder: Path, files: list[Path]) -> tuple[dict[Path, np.ndarray], dict[Path, np.ndarray]]:
    """(one image dropped at a time, the folder dropped) -> scores by path."""
    single = {}
    for path in files:
        with qtbot.waitSignal(tab.classifier.prediction_ready, timeout=10_000) as blocker:
            _drop(tab, [path])
        assert blocker.args[0].path == path
        single[path] = blocker.args[0].scores
    with qtbot.waitSignal(tab.classifier.batch_finished, timeout=20_000):
        _drop(tab, [folder])
    rows = tab.batch.model.rows
    assert sorted(r.path for r in rows if r.scores is None) == [folder / "zz-broken.jpg"]
    return single, {r.path: r.scores for r in rows if r.scores is not None}


def test_commands_tab_and_export_self_test_give_the_same_scores(window, qtbot, tiny_model, tmp_path, capsys):
    folder = tmp_path / "new"
    files = _files(folder)
    (folder / "zz-broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    tab = _ready_tab(window, qtbot, ModelSource.bundle(tiny_model))
    names = tab.classifier.class_names
    single, batch = _tab_scores(tab, qtbot, folder, files)
    assert len(files) > 16, "two batches: the folder's rows do not all share one network call"
    for path in files:
        assert np.array_equal(single[path], batch[path]), path.name

    # the export self-test's "app probabilities" for the same files
    bundle = ModelBundle.load(tiny_model)
    bundle.validation_paths = [str(p) for p in files]
    reference = self_test_reference(bundle, max_images=len(files))
    assert reference.paths == files and reference.checked_on == "validation images"
    for path, probabilities in zip(files, reference.probabilities):
        assert np.array_equal(probabilities, single[path]), path.name

    # imgclf classify --csv: every class score, as written
    capsys.readouterr()
    assert main(["classify", str(tiny_model), str(folder), "--csv", str(tmp_path / "out.csv"), "--quiet"]) == 0
    with open(tmp_path / "out.csv", newline="") as f:
        written = {Path(r["path"]): r for r in csv.DictReader(f)}
    assert sorted(written) == sorted(files)
    for path in files:
        assert [written[path][n] for n in names] == [f"{v:.6f}" for v in single[path]], path.name

    # imgclf evaluate --json: each image in a wrong class folder, so each is a mistake with its exact scores
    labelled = tmp_path / "labelled"
    for path in files:
        wrong = names[(int(np.argmax(single[path])) + 1) % len(names)]
        (labelled / wrong).mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, labelled / wrong / path.name)
    capsys.readouterr()
    assert main(["evaluate", str(tiny_model), str(labelled), "--json", "-"]) == 0
    mistakes = {Path(m["path"]).name: m for m in json.loads(capsys.readouterr().out)["mistakes"]}
    assert sorted(mistakes) == sorted(p.name for p in files)
    for path in files:
        scores, mistake = single[path].astype(np.float64), mistakes[path.name]
        assert mistake["confidence"] == float(scores.max()), path.name
        p_true = float(scores[names.index(mistake["true"])])
        assert mistake["loss"] == float(-np.log(max(p_true, 1e-12))), path.name


def test_imagenet_command_and_tab_give_the_same_scores(window, qtbot, tmp_path, capsys, fake_backbone):
    folder = tmp_path / "new"
    files = _files(folder)
    (folder / "zz-broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    tab = _ready_tab(window, qtbot, ModelSource.imagenet(fake_backbone.id))
    names = tab.classifier.class_names
    single, batch = _tab_scores(tab, qtbot, folder, files)
    for path in files:
        assert np.array_equal(single[path], batch[path]), path.name
    capsys.readouterr()
    assert main(["imagenet", *map(str, files), "--backbone", fake_backbone.id, "--top", "5"]) == 0
    printed: dict[str, list[str]] = {}
    current = ""
    for line in capsys.readouterr().out.splitlines():
        if line.startswith("  "):
            printed[current].append(line.strip())
        else:
            current = line.removesuffix(":")
            printed[current] = []
    for path in files:
        top = np.argsort(single[path])[::-1][:5]
        assert printed[str(path)] == [f"{names[i]} (score = {single[path][i]:.5f})" for i in top], path.name
