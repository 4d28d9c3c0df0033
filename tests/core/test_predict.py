"""The one file -> scores path: decoded once as training decodes, the same scores alone or in any batch,
unreadable files reported without stopping the others; the unsure rule; CSV and sorted copies."""
from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image

from imgclf_gui.core.images.decode import load_for_network
from imgclf_gui.core.models.bundle import ModelBundle
from imgclf_gui.core.models.outputs import copy_no_overwrite, safe_folder_name, sort_into, write_csv
from imgclf_gui.core.models.predict import (
    UNSURE,
    UNSURE_BELOW,
    ModelSource,
    ResultRow,
    bundle_predictor,
    classify_file,
    decode_file,
    describe,
    is_unsure,
    open_predictor,
    score_files,
    verdict,
)
from imgclf_gui.core.support.tasks_api import Cancelled
from imgclf_gui.core.training.head import HeadOptions, train_head
from imgclf_gui.core.training.trainer import TrainConfig
from tests.conftest import write_image
from tests.fakes import fake_features

COLORS = {"red": (220, 40, 40), "green": (40, 200, 40), "blue": (40, 40, 220)}


def _model(spec, tmp_path, hidden: int = 0) -> ModelBundle:
    paths, labels = [], []
    for c, color in enumerate(COLORS.values()):
        for i in range(5):
            paths.append(write_image(tmp_path / "train" / f"{c}_{i}.png", size=(40, 30), color=color, seed=i + 9 * c))
            labels.append(c)
    x = fake_features(np.stack([load_for_network(p, spec.input_size) for p in paths]))
    y = np.array(labels)
    head = train_head(x, y, x, y, HeadOptions(epochs=15, hidden_units=hidden, learning_rate=0.01)).head
    bundle = ModelBundle.create(head=head, class_names=list(COLORS), spec=spec,
                                config=TrainConfig(backbone=spec.id, hidden_units=hidden))
    bundle.save(tmp_path / "colors.imgclf-model")
    return bundle


def _images(folder, count: int) -> list:
    return [write_image(folder / f"img{i:02d}.png", size=(50 + i, 37), color=list(COLORS.values())[i % 3], seed=i)
            for i in range(count)]


@pytest.mark.parametrize("hidden", [0, 6])
def test_an_image_gets_the_same_scores_alone_and_in_any_batch(tmp_path, fake_backbone, hidden):
    predictor = open_predictor(ModelSource.bundle(_model(fake_backbone, tmp_path, hidden).path))
    files = _images(tmp_path / "new", 21)
    rows = score_files(predictor, files)
    assert [r.path for r in rows] == files
    for batch_size in (1, 5, 16, 32):
        again = score_files(predictor, files, batch_size=batch_size)
        assert all(np.array_equal(a.scores, b.scores) for a, b in zip(rows, again)), batch_size
    for row in rows:
        single = classify_file(predictor, row.path)
        assert np.array_equal(single.scores, row.scores), "the display path scores exactly like a batch"
        assert single.size == Image.open(row.path).size
    assert [r.best for r in rows] == [i % 3 for i in range(21)]


def test_files_are_decoded_as_training_decodes_them(tmp_path, fake_backbone):
    predictor = bundle_predictor(_model(fake_backbone, tmp_path))
    big = tmp_path / "big.jpg"  # large enough for draft mode (1/8 scale) to apply
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (600, 800, 3), np.uint8)).save(big, quality=90)
    rotated = tmp_path / "rotated.jpg"
    image = Image.fromarray(np.random.default_rng(1).integers(0, 256, (60, 90, 3), np.uint8))
    exif = image.getexif()
    exif[0x0112] = 6  # EXIF orientation: rotate 90 degrees
    image.save(rotated, exif=exif)
    for path in (big, rotated, write_image(tmp_path / "small.png")):
        decoded = decode_file(predictor, path, keep_picture=True)
        assert np.array_equal(decoded.inputs[0], load_for_network(path, fake_backbone.input_size))
    assert decode_file(predictor, big, keep_picture=True).picture.shape == (75, 100, 3), "draft mode, 1/8"


def test_unreadable_files_get_a_reason_and_never_stop_the_others(tmp_path, fake_backbone):
    predictor = open_predictor(ModelSource.bundle(_model(fake_backbone, tmp_path).path))
    good = _images(tmp_path / "new", 3)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    files = [good[0], broken, good[1], empty, tmp_path / "gone.png", good[2]]
    streamed, progress = [], []
    rows = score_files(predictor, files, batch_size=4, on_rows=streamed.append,
                       on_progress=lambda d, t: progress.append((d, t)))
    assert [r.path for r in rows] == files and [len(b) for b in streamed] == [4, 2]
    assert [r.scores is None for r in rows] == [False, True, False, True, True, False]
    assert "not an image" in rows[1].error and "empty" in rows[3].error and rows[4].error
    assert progress == [(0, 6), (4, 6), (6, 6)]
    assert np.isnan(rows[1].confidence) and rows[1].best == -1


def test_stopping_raises_between_batches_after_delivering_the_rows_so_far(tmp_path, fake_backbone):
    predictor = open_predictor(ModelSource.bundle(_model(fake_backbone, tmp_path).path))
    streamed: list[list[ResultRow]] = []
    with pytest.raises(Cancelled):
        score_files(predictor, _images(tmp_path / "new", 10), batch_size=4, on_rows=streamed.append,
                    should_stop=lambda: len(streamed) >= 2)
    assert [len(b) for b in streamed] == [4, 4]


def test_imagenet_mode_shows_the_backbone_classes(tmp_path, fake_backbone):
    predictor = open_predictor(ModelSource.imagenet(fake_backbone.id, crop="center"))
    assert len(predictor.class_names) == 1000 and predictor.show_top == 5 and predictor.bundle is None
    assert predictor.inputs[0].crop == "center"
    [row] = score_files(predictor, _images(tmp_path, 1))
    assert row.scores.shape == (1000,) and abs(float(row.scores.sum()) - 1) < 1e-4


def test_one_unsure_rule():
    assert UNSURE_BELOW == 0.5
    assert is_unsure(0.49) and not is_unsure(0.5) and not is_unsure(0.2, threshold=0.0)
    scores = np.array([0.1, 0.45, 0.45 - 1e-9], np.float32)
    assert verdict(scores, ["a", "b", "c"]) == ("b", pytest.approx(0.45), True)
    assert describe(scores, ["a", "b", "c"]) == f"{UNSURE}: perhaps b (45%)"
    assert describe(scores, ["a", "b", "c"], threshold=0.4) == "b (45% sure)"
    assert describe(np.array([0.997, 0.003]), ["a", "b"]) == "a (99.7% sure)"


def _rows(tmp_path) -> list[ResultRow]:
    files = _images(tmp_path / "in", 3)
    return [ResultRow(files[0], np.array([0.9, 0.1], np.float32)),
            ResultRow(files[1], np.array([0.4, 0.6], np.float32)),
            ResultRow(tmp_path / "in" / "bad.jpg", None, "the file is empty (0 bytes)"),
            ResultRow(files[2], np.array([0.2, 0.8], np.float32))]


def test_csv_has_every_score_and_the_unreadable_only_with_an_error_column(tmp_path):
    rows = _rows(tmp_path)
    assert write_csv(tmp_path / "out.csv", rows, ["cat", "dog"]) == 3
    with open(tmp_path / "out.csv", newline="") as f:
        written = list(csv.DictReader(f))
    assert [r["label"] for r in written] == ["cat", "dog", "dog"] and written[1]["dog"] == "0.600000"
    assert write_csv(tmp_path / "table.csv", rows, ["cat", "dog"], error_column=True) == 4
    with open(tmp_path / "table.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert table[2]["error"] == "the file is empty (0 bytes)" and table[2]["label"] == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out.csv", "table.csv"], "no temporary left"


def test_sort_into_copies_by_the_unsure_rule_never_overwriting_never_moving(tmp_path):
    rows = _rows(tmp_path)
    target = tmp_path / "sorted"
    assert sort_into(rows, target, ["cat", "dog"], 0.7) == {"cat": 1, UNSURE: 1, "dog": 1}
    assert (target / UNSURE / rows[1].path.name).exists() and all(r.path.exists() for r in rows if r.scores is not None)
    assert sort_into(rows, target, ["cat", "dog"]) == {"cat": 1, "dog": 2}, "the default threshold is the app's"
    assert (target / "dog" / f"{rows[3].path.stem} (2).png").exists()
    assert (target / "dog" / rows[1].path.name).exists() and (target / UNSURE / rows[1].path.name).exists()
    with pytest.raises(Cancelled):
        sort_into(rows, tmp_path / "other", ["cat", "dog"], should_stop=lambda: True)


def test_copy_no_overwrite_and_folder_names(tmp_path):
    src = write_image(tmp_path / "a.png")
    first, second = copy_no_overwrite(src, tmp_path / "out"), copy_no_overwrite(src, tmp_path / "out")
    assert (first.name, second.name) == ("a.png", "a (2).png") and first.read_bytes() == src.read_bytes()
    assert safe_folder_name("ski/snowboard") == "ski-snowboard" and safe_folder_name(" ..") == "unnamed"


@pytest.mark.slow
def test_the_real_network_scores_an_image_alike_alone_and_in_any_batch(tmp_path):
    """LiteRT runs batches of 8 (the last one padded) and single images: the scores must not differ."""
    predictor = open_predictor(ModelSource.imagenet())
    files = _images(tmp_path, 11)
    rows = score_files(predictor, files)
    for batch_size in (3, 5):
        again = score_files(predictor, files, batch_size=batch_size)
        assert all(np.array_equal(a.scores, b.scores) for a, b in zip(rows, again)), batch_size
    for row in rows:
        assert np.array_equal(classify_file(predictor, row.path).scores, row.scores)
