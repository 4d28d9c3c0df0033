"""Every export agrees with the app within 1e-4, or is refused and deleted."""
import numpy as np
import pytest

from imgclf_gui.core.models.bundle import ModelBundle
from imgclf_gui.core.training.config import TrainConfig
from imgclf_gui.core.training.head import HeadOptions, train_head
from tests.conftest import write_image
from tests.fakes import fake_features


def _bundle(spec, tmp_path, hidden=0):
    colors = [(220, 40, 40), (40, 200, 40), (40, 40, 220)]
    paths, labels = [], []
    for c, color in enumerate(colors):
        for i in range(6):
            paths.append(write_image(tmp_path / "imgs" / f"{c}_{i}.png", size=(40, 30), color=color, seed=i + 10 * c))
            labels.append(c)
    from imgclf_gui.core.images.decode import load_for_network

    x = fake_features(np.stack([load_for_network(p, spec.input_size) for p in paths]))
    y = np.array(labels)
    res = train_head(x, y, x, y, HeadOptions(epochs=20, hidden_units=hidden, learning_rate=0.01))
    return ModelBundle.create(head=res.head, class_names=["red", "green", "blue"], spec=spec,
                              config=TrainConfig(backbone=spec.id, hidden_units=hidden),
                              validation_paths=[str(p) for p in paths])


@pytest.mark.slow
@pytest.mark.parametrize("fmt,name,hidden", [("keras", "m.keras", 4), ("savedmodel", "m_saved", 0),
                                             ("tflite", "m.tflite", 0)])
def test_export_self_test_within_tolerance(tmp_path, fake_backbone, fmt, name, hidden):
    bundle = _bundle(fake_backbone, tmp_path, hidden)
    result = bundle.export(fmt, tmp_path / "out" / name, source="“colours” (1 Jan 2026 10:00, 93.1%) of project demo")
    assert result.path.exists() and result.checked == 18 and result.checked_on == "validation images"
    assert "Model: “colours” (1 Jan 2026 10:00, 93.1%) of project demo." in result.readme_path.read_text()
    assert result.max_abs_diff <= 1e-4
    assert result.labels_path.read_text().split() == ["red", "green", "blue"]
    assert "BILINEAR" in result.readme_path.read_text()


@pytest.mark.slow
def test_disagreeing_export_is_deleted(tmp_path, fake_backbone, monkeypatch):
    import imgclf_gui.core.models.exporter as export
    from imgclf_gui.core.models.exporter import ExportError

    bundle = _bundle(fake_backbone, tmp_path)
    real = export._run_keras
    monkeypatch.setattr(export, "_run_keras", lambda path, images: real(path, images) + 1e-3)
    with pytest.raises(ExportError, match="disagrees"):
        bundle.export("keras", tmp_path / "out" / "m.keras")
    assert list((tmp_path / "out").iterdir()) == []
