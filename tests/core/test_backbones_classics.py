"""The keras.applications classics with no network: say which file to get, never hang."""
from __future__ import annotations

import time
import urllib.error

import pytest

from imgclf_gui.core import backbones
from imgclf_gui.core.backbones import keras_apps

INCEPTION_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"


@pytest.fixture(autouse=True)
def _no_weights_anywhere(tmp_path, monkeypatch):
    """Point every place a weights file could be at empty folders (the real ~/.keras may hold some)."""
    monkeypatch.setenv("IMGCLF_WEIGHTS_DIR", str(tmp_path / "weights-dir"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.setenv("IMGCLF_CACHE_DIR", str(tmp_path / "cache"))


def test_offline_classic_is_unavailable_with_a_reason_naming_the_file():
    ok, reason = backbones.availability("inception-v3")
    assert not ok
    assert INCEPTION_FILE in reason and "weights" in reason


def test_loading_an_offline_classic_fails_fast_with_instructions():
    started = time.monotonic()
    with pytest.raises(backbones.BackboneUnavailable, match=INCEPTION_FILE):
        backbones.load_keras_backbone("inception-v3")
    with pytest.raises(backbones.BackboneUnavailable, match=INCEPTION_FILE):
        backbones.open_extractor("inception-v3")
    # A generous bound: it guards against a network attempt hanging, not against slowness.
    assert time.monotonic() - started < 10.0


def test_a_failed_download_becomes_backbone_unavailable(monkeypatch):
    import keras

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(keras.utils, "get_file", no_network)
    with pytest.raises(backbones.BackboneUnavailable, match="could not download.*no route to host"):
        backbones.load_keras_backbone("mobilenet-v2", allow_download=True)


def test_a_weights_file_put_in_the_weights_folder_is_found(tmp_path):
    folder = tmp_path / "weights-dir"
    folder.mkdir()
    (folder / INCEPTION_FILE).write_bytes(b"not really weights")
    assert backbones.availability("inception-v3") == (True, "")
    assert keras_apps.find_weights(INCEPTION_FILE) == folder / INCEPTION_FILE


def test_a_damaged_weights_file_is_reported_not_crashed_on(tmp_path):
    folder = tmp_path / "weights-dir"
    folder.mkdir()
    name = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5"
    (folder / name).write_bytes(b"not an h5 file")
    with pytest.raises(backbones.BackboneUnavailable, match="damaged"):
        backbones.load_keras_backbone("mobilenet-v2")
