"""Every output of the command line on a read-only or full disk: one sentence, exit code 1, no partial
file, and every input untouched.

Three ways a disk lets a user down: read-only from the start, full from the start (both refused before
the work where the command can tell), and full by the time the results are written (another program
filled it while we worked: the write fails, and what was partly written is removed). Real disks are
small tmpfs mounts (root only); the full disk is also simulated (ENOSPC from the write calls), so the
clean-up is checked everywhere.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from imgclf_gui.cli import main
from tests.conftest import write_image
from tests.core.disks import fill, remount_read_only, simulate_full_disk, tmpfs, tree

COLORS = {"blue": (30, 40, 220), "green": (40, 200, 40), "red": (220, 40, 40)}


@dataclass
class Setup:
    project: Path
    model: Path
    images: Path
    out: Path  #: the folder on the disk under test
    labelled: Path  #: images the model was not trained on, in class folders (for evaluate)
    backbone: str


def _project(root: Path, seed: int = 0) -> Path:
    for name, color in COLORS.items():
        for i in range(6):
            write_image(root / name / f"{name}{i}.png", size=(40, 30), color=color, seed=seed + i + 100 * len(name))
    return root


def _model(folder: Path, spec) -> Path:
    """A model of the three colours, made directly (what it answers does not matter here; training does)."""
    import numpy as np

    from imgclf_gui.core.models.bundle import ModelBundle
    from imgclf_gui.core.training.config import TrainConfig
    from imgclf_gui.core.training.head import HeadModel

    rng = np.random.default_rng(0)
    head = HeadModel(np.zeros(spec.dim, np.float32), np.ones(spec.dim, np.float32),
                     [(rng.normal(size=(spec.dim, 3)).astype(np.float32), np.zeros(3, np.float32))])
    return ModelBundle.create(head=head, class_names=sorted(COLORS), spec=spec,
                              config=TrainConfig(backbone=spec.id)).save(folder)


@pytest.fixture
def setup(tmp_path, fake_backbone) -> Setup:
    project = _project(tmp_path / "project")
    model = _model(tmp_path / "colors.imgclf-model", fake_backbone)
    images = tmp_path / "new"
    for i in range(4):
        write_image(images / f"new{i}.png", color=(210, 50, 50), seed=900 + i)
    return Setup(project, model, images, tmp_path / "disk", _project(tmp_path / "labelled", seed=5000),
                 fake_backbone.id)


#: each output: the command line (writing into ``s.out``), the inputs it must leave untouched, and the
#: core function after which the disk fills up in the "full while working" case
OUTPUTS: dict[str, tuple[Callable[[Setup], list[str]], Callable[[Setup], list[Path]], str]] = {
    "classify --csv": (lambda s: ["classify", str(s.model), str(s.images), "--csv", str(s.out / "scores.csv")],
                       lambda s: [s.model, s.images], "imgclf_gui.core.models.predict.score_files"),
    "classify --sort-into": (lambda s: ["classify", str(s.model), str(s.images), "--sort-into", str(s.out / "sorted")],
                             lambda s: [s.model, s.images], "imgclf_gui.core.models.predict.score_files"),
    "train --out": (lambda s: ["train", str(s.project), "--out", str(s.out / "m.imgclf-model"), "--backbone",
                               s.backbone, "--epochs", "3", "--folds", "2", "--quiet"],
                    lambda s: [s.project], "imgclf_gui.core.training.trainer.train"),
    "train --json": (lambda s: ["train", str(s.project), "--out", str(s.project.parent / "other.imgclf-model"),
                                "--json", str(s.out / "report.json"), "--backbone", s.backbone, "--epochs", "3",
                                "--folds", "2", "--quiet"],
                     lambda s: [s.project], "imgclf_gui.core.training.trainer.train"),
    "evaluate --json": (lambda s: ["evaluate", str(s.model), str(s.labelled), "--json", str(s.out / "report.json")],
                        lambda s: [s.model, s.labelled], "imgclf_gui.core.models.predict.score_files"),
    "check --json": (lambda s: ["check", str(s.project), "--json", str(s.out / "report.json")],
                     lambda s: [s.project], "imgclf_gui.core.review.health.check_health"),
    "demo": (lambda s: ["demo", str(s.out / "demo"), "--per-class", "4"], lambda s: [],
             "imgclf_gui.core.project.demo_project.draw_shape_image"),
}


def _run(setup: Setup, name: str, capsys) -> tuple[int, str, str]:
    argv, inputs, _ = OUTPUTS[name]
    before = {p: tree(p) for p in inputs(setup)}
    listing = _listing(setup.out)
    capsys.readouterr()
    code = main(argv(setup))
    out, err = capsys.readouterr()
    assert {p: tree(p) for p in inputs(setup)} == before, "an input changed"
    assert _listing(setup.out) == listing, "something was left on the disk"
    return code, out, err


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != ".filler")


def _one_sentence(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("imgclf ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _fill_after(monkeypatch, target: str, fill_now: Callable[[], None], calls: int = 1) -> None:
    module_name, attr = target.rsplit(".", 1)
    module = __import__(module_name, fromlist=[attr])
    original = getattr(module, attr)
    count = [0]

    def wrapped(*args, **kwargs):
        result = original(*args, **kwargs)
        count[0] += 1
        if count[0] == calls:
            fill_now()
        return result

    monkeypatch.setattr(module, attr, wrapped)


@pytest.mark.parametrize("name", list(OUTPUTS))
def test_read_only_disk(setup, name, capsys):
    with tmpfs(setup.out):
        remount_read_only(setup.out)
        code, out, err = _run(setup, name, capsys)
    assert code == 1 and "read-only disk" in _one_sentence(err)
    assert "epoch" not in out and "Extracting" not in out  # refused before the work


@pytest.mark.parametrize("name", list(OUTPUTS))
def test_full_disk_before_the_work(setup, name, capsys):
    with tmpfs(setup.out):
        fill(setup.out)
        code, out, err = _run(setup, name, capsys)
    sentence = _one_sentence(err)
    assert code == 1 and ("not enough room" in sentence or "is full" in sentence), sentence
    assert "Wrote" not in out and "Copied" not in out


@pytest.mark.parametrize("name", list(OUTPUTS))
def test_disk_full_while_working(setup, name, capsys, monkeypatch):
    calls = 6 if name == "demo" else 1  # the demo: after a few pictures are written
    with tmpfs(setup.out):
        _fill_after(monkeypatch, OUTPUTS[name][2], lambda: fill(setup.out), calls)
        code, out, err = _run(setup, name, capsys)
        (setup.out / ".filler").unlink()
    sentence = _one_sentence(err)
    assert code == 1 and "is full" in sentence and "nothing was left behind" in sentence, sentence


@pytest.mark.parametrize("name", list(OUTPUTS))
def test_simulated_full_disk_while_working(setup, name, capsys, monkeypatch):
    setup.out.mkdir()
    _fill_after(monkeypatch, OUTPUTS[name][2], lambda: simulate_full_disk(monkeypatch), 6 if name == "demo" else 1)
    code, out, err = _run(setup, name, capsys)
    sentence = _one_sentence(err)
    assert code == 1 and "is full" in sentence and "nothing was left behind" in sentence, sentence


def test_read_only_project_refuses_before_training_and_names_out(tmp_path, fake_backbone, capsys):
    with tmpfs(tmp_path / "disk") as disk:
        project = _project(disk / "project")
        remount_read_only(disk)
        before = tree(project)
        assert main(["train", str(project), "--backbone", fake_backbone.id, "--epochs", "3"]) == 1
        out, err = capsys.readouterr()
        assert tree(project) == before
    sentence = _one_sentence(err)
    assert "read-only disk" in sentence and "--out" in sentence and "epoch" not in out


@pytest.mark.skipif(__import__("os").geteuid() == 0, reason="root writes into read-only folders")
@pytest.mark.parametrize("name", list(OUTPUTS))
def test_folder_without_write_permission(setup, name, capsys):
    setup.out.mkdir()
    setup.out.chmod(0o555)
    try:
        code, _, err = _run(setup, name, capsys)
    finally:
        setup.out.chmod(0o755)
    assert code == 1 and "no permission" in _one_sentence(err)


def test_output_under_a_file_is_refused_before_the_work(setup, capsys):
    # what root cannot be kept out of by permissions: a path whose 'folder' is a file
    blocker = setup.project.parent / "a-file"
    blocker.write_text("x")
    assert main(["classify", str(setup.model), str(setup.images), "--csv", str(blocker / "out.csv")]) == 1
    out, err = capsys.readouterr()
    assert "is a file, not a folder" in _one_sentence(err) and "new0.png" not in out


@pytest.mark.parametrize("argv", [
    lambda s: ["classify", str(s.model), str(s.images), "--csv", str(s.images)],  # a folder for a file
    lambda s: ["classify", str(s.model), str(s.images), "--sort-into", str(s.images / "new0.png")],
    lambda s: ["train", str(s.project), "--out", str(s.images), "--backbone", s.backbone],  # not a model
    lambda s: ["evaluate", str(s.model), str(s.labelled), "--json", str(s.project)],
    lambda s: ["demo", str(s.images / "new0.png")],
])
def test_an_output_of_the_wrong_kind_is_wrong_usage(setup, argv, capsys):
    before = tree(setup.images)
    assert main(argv(setup)) == 2
    out, err = capsys.readouterr()
    assert "epoch" not in out and "new0.png:" not in out and len(err.strip().splitlines()) == 1, err
    assert tree(setup.images) == before


def _export_argv(s: Setup) -> list[str]:
    return ["export", str(s.model), "--format", "tflite", "--out", str(s.out / "colors")]


@pytest.mark.parametrize("disk", ["read-only", "full"])
def test_export_is_refused_before_tensorflow_starts(setup, disk, capsys):
    with tmpfs(setup.out):
        remount_read_only(setup.out) if disk == "read-only" else fill(setup.out)
        before, listing = tree(setup.model), _listing(setup.out)
        assert main(_export_argv(setup)) == 1
        _, err = capsys.readouterr()
        assert tree(setup.model) == before and _listing(setup.out) == listing
    sentence = _one_sentence(err)
    assert "read-only disk" in sentence if disk == "read-only" else "not enough room" in sentence, sentence


@pytest.mark.slow
@pytest.mark.parametrize("simulated", [False, True])
def test_export_on_a_disk_that_fills_while_converting(setup, simulated, capsys, monkeypatch):
    def fill_now() -> None:
        simulate_full_disk(monkeypatch) if simulated else fill(setup.out)

    with tmpfs(setup.out, size="64m") if not simulated else _folder(setup.out):
        _fill_after(monkeypatch, "imgclf_gui.core.models.exporter.build_keras_model", fill_now)
        before, listing = tree(setup.model), _listing(setup.out)
        assert main(_export_argv(setup)) == 1
        _, err = capsys.readouterr()
        assert tree(setup.model) == before and _listing(setup.out) == listing
    sentence = _one_sentence(err)
    assert "is full" in sentence and "nothing was left behind" in sentence, sentence


def _folder(path: Path):
    from contextlib import nullcontext

    path.mkdir()
    return nullcontext(path)
