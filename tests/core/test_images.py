"""Decoding any file a user may drop into a class folder: good ones right, bad ones explained."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imgclf_gui.core.images.decode import ImageError, image_info, load_for_network, load_rgb, to_network_input
from tests.conftest import write_image


def _save(path: Path, image: Image.Image, **params) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **params)
    return path


def _reason(path: Path, **kwargs) -> str:
    with pytest.raises(ImageError) as info:
        load_rgb(path, **kwargs)
    assert info.value.path == path
    return info.value.reason


@pytest.fixture(autouse=True)
def _no_warning_escapes():
    """Pillow must never print a warning at the user: any warning fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.mark.parametrize(
    "name, fmt",
    [("a.jpg", "JPEG"), ("a.png", "PNG"), ("a.bmp", "BMP"), ("a.gif", "GIF"), ("a.tif", "TIFF"), ("a.webp", "WEBP")],
)
def test_every_supported_format_decodes_to_rgb_uint8(tmp_path, name, fmt):
    path = write_image(tmp_path / name, size=(40, 30), color=(10, 200, 30), fmt=fmt)
    rgb = load_rgb(path)
    assert rgb.dtype == np.uint8 and rgb.shape == (30, 40, 3)
    assert abs(int(rgb[..., 1].mean()) - 200) < 30  # mostly green, channels not swapped
    assert image_info(path).format == fmt


def test_gif_animation_gives_first_frame(tmp_path):
    frames = [Image.new("RGB", (20, 10), c) for c in [(255, 0, 0), (0, 0, 255)]]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    rgb = load_rgb(path)
    assert rgb.shape == (10, 20, 3) and rgb[0, 0, 0] > 200 and rgb[0, 0, 2] < 50


def test_exif_orientation_6_turns_a_landscape_file_into_a_portrait_picture(tmp_path):
    image = Image.new("RGB", (60, 40), (0, 0, 0))
    image.paste((255, 255, 255), (0, 0, 10, 10))  # white mark top-left as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    path = _save(tmp_path / "rotated.jpg", image, exif=exif.tobytes(), quality=95)
    rgb = load_rgb(path)
    assert rgb.shape == (60, 40, 3)
    assert rgb[2:8, -8:-2].mean() > 200  # top-left mark is now top-right
    assert (image_info(path).width, image_info(path).height) == (40, 60)
    # Draft mode must not lose the orientation either.
    assert load_for_network(path, 16).shape == (16, 16, 3)
    assert load_rgb(path, max_side=10).shape[0] > load_rgb(path, max_side=10).shape[1]


def test_big_jpeg_decodes_in_draft_mode_but_never_below_the_requested_size(tmp_path):
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 255, (3000, 4000, 3), dtype=np.uint8)
    path = _save(tmp_path / "camera.jpg", Image.fromarray(arr), quality=80)
    small = load_rgb(path, max_side=224)
    assert small.shape[0] < 3000 and min(small.shape[:2]) >= 224
    assert small.shape[:2] == (375, 500)  # 1/8 scale: the largest step that keeps both sides >= 224
    assert load_rgb(path, max_side=1000).shape[:2] == (1500, 2000)
    assert load_for_network(path, 224, "center").shape == (224, 224, 3)


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "CMYK", "1", "P"])
def test_colour_modes_become_rgb(tmp_path, mode):
    base = Image.new("RGB", (16, 12), (30, 60, 90))
    image = base.convert(mode) if mode not in ("LA", "RGBA") else base.convert(mode)
    fmt = "TIFF" if mode == "CMYK" else "PNG"
    path = _save(tmp_path / f"m.{fmt.lower()}", image, format=fmt)
    rgb = load_rgb(path)
    assert rgb.shape == (12, 16, 3) and rgb.dtype == np.uint8


def test_cmyk_jpeg(tmp_path):
    path = _save(tmp_path / "cmyk.jpg", Image.new("RGB", (16, 12), (200, 20, 20)).convert("CMYK"), quality=95)
    rgb = load_rgb(path)
    assert rgb.shape == (12, 16, 3) and rgb[..., 0].mean() > 150 and rgb[..., 1].mean() < 80


def test_transparent_pixels_are_white_not_black(tmp_path):
    rgba = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    rgba.paste((255, 0, 0, 255), (0, 0, 5, 10))
    rgb = load_rgb(_save(tmp_path / "t.png", rgba))
    assert tuple(rgb[5, 8]) == (255, 255, 255) and tuple(rgb[5, 2]) == (255, 0, 0)
    la = Image.new("LA", (4, 4), (0, 0))
    assert tuple(load_rgb(_save(tmp_path / "la.png", la))[0, 0]) == (255, 255, 255)


def test_palette_with_transparency_is_composited(tmp_path):
    image = Image.new("P", (8, 8), 0)
    image.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    image.paste(1, (0, 0, 4, 8))
    path = _save(tmp_path / "p.png", image, transparency=0)
    rgb = load_rgb(path)
    assert tuple(rgb[0, 6]) == (255, 255, 255) and tuple(rgb[0, 1]) == (0, 255, 0)
    gif = _save(tmp_path / "p.gif", image, transparency=0)
    assert tuple(load_rgb(gif)[0, 6]) == (255, 255, 255)


def test_16_bit_and_float_images_are_scaled_to_8_bit(tmp_path):
    ramp16 = np.linspace(0, 65535, 64, dtype=np.uint16).reshape(8, 8)
    path16 = _save(tmp_path / "16.png", Image.fromarray(ramp16))
    rgb = load_rgb(path16)
    assert rgb.dtype == np.uint8 and rgb.max() == 255 and rgb.min() == 0
    tif16 = _save(tmp_path / "16.tif", Image.fromarray(ramp16))
    assert load_rgb(tif16).max() == 255
    ints = Image.fromarray(np.arange(64, dtype=np.int32).reshape(8, 8) * 100_000)  # beyond 16 bits: stretched
    assert load_rgb(_save(tmp_path / "i.tif", ints)).max() == 255
    floats = Image.fromarray(np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8))
    rgb = load_rgb(_save(tmp_path / "f.tif", floats))
    assert rgb.max() == 255 and rgb.min() == 0


def test_truncated_jpeg_is_an_image_error(tmp_path):
    path = write_image(tmp_path / "t.jpg", size=(200, 150))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert "truncated" in _reason(path)
    assert "truncated" in _reason(path, max_side=16)


def test_truncated_png_is_an_image_error(tmp_path):
    path = write_image(tmp_path / "t.png", size=(200, 150))
    path.write_bytes(path.read_bytes()[:300])
    _reason(path)


def test_corrupt_data_is_an_image_error(tmp_path):
    path = write_image(tmp_path / "c.png", size=(50, 50))
    data = bytearray(path.read_bytes())
    data[60:160] = os.urandom(100)
    path.write_bytes(bytes(data))
    _reason(path)


def test_text_file_named_jpg_is_not_an_image(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("shopping list: milk, eggs\n")
    assert "not an image" in _reason(path)


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    assert "empty" in _reason(path)


def test_vanished_file(tmp_path):
    assert "no longer exists" in _reason(tmp_path / "gone.jpg")


def test_folder_named_like_an_image(tmp_path):
    (tmp_path / "odd.jpg").mkdir()
    assert "folder" in _reason(tmp_path / "odd.jpg")


def test_permission_denied(tmp_path, monkeypatch):
    path = write_image(tmp_path / "secret.png")
    real_open = os.open

    def deny(file, *args, **kwargs):
        # Running as root ignores chmod, so the refusal the OS would give is simulated.
        if os.fspath(file) == os.fspath(path):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", deny)
    assert "permission denied" in _reason(path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_permission_denied_for_real(tmp_path):
    path = write_image(tmp_path / "secret.png")
    path.chmod(0)
    assert "permission denied" in _reason(path)


def test_decompression_bomb_warning_is_an_error_with_the_pixel_count(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    path = write_image(tmp_path / "bomb.png", size=(40, 40))  # 1600 pixels: Pillow only warns
    reason = _reason(path)
    assert "1,600 pixels" in reason and "too large" in reason
    huge = write_image(tmp_path / "huge.png", size=(100, 100))  # 10,000: Pillow refuses
    assert "too large" in _reason(huge)
    with pytest.raises(ImageError):
        image_info(huge)


def test_big_jpeg_in_draft_mode_is_not_a_bomb(tmp_path, monkeypatch):
    path = write_image(tmp_path / "big.jpg", size=(160, 120))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)  # 19,200 pixels: warning range
    assert "too large" in _reason(path)
    assert load_rgb(path, max_side=16).shape == (30, 40, 3)  # decoded at 1/4: 1,200 pixels


def test_network_input_squash_and_center(tmp_path):
    arr = np.zeros((40, 80, 3), np.uint8)
    arr[:, :20] = 255  # left quarter white
    squashed = to_network_input(arr, 20, "squash")
    centred = to_network_input(arr, 20, "center")
    assert squashed.shape == centred.shape == (20, 20, 3)
    assert squashed[:, :4].mean() > 200  # the white strip survives a squash
    assert centred[:, 2:].max() == 0  # and is cut off by a centre crop
    path = _save(tmp_path / "x.png", Image.fromarray(arr))
    assert np.array_equal(load_for_network(path, 20, "center"), centred)
    with pytest.raises(ValueError):
        to_network_input(arr, 20, "stretch")


def test_image_info_reads_only_the_header(tmp_path):
    path = write_image(tmp_path / "i.png", size=(33, 21))
    info = image_info(path)
    assert (info.width, info.height, info.format, info.mode) == (33, 21, "PNG", "RGB")


def test_no_garbage_input_raises_anything_but_image_error(tmp_path):
    rng = np.random.default_rng(1)
    good = write_image(tmp_path / "g.jpg", size=(64, 64)).read_bytes()
    for i in range(40):
        data = bytearray(good)
        cut = int(rng.integers(2, len(data)))
        data = data[:cut]
        for _ in range(int(rng.integers(0, 5))):
            data[int(rng.integers(0, len(data)))] = int(rng.integers(0, 256))
        path = tmp_path / f"fuzz{i}.jpg"
        path.write_bytes(bytes(data))
        try:
            rgb = load_rgb(path, max_side=8 if i % 2 else None)
        except ImageError:
            continue
        assert rgb.dtype == np.uint8 and rgb.ndim == 3


def test_decode_for_network_from_bytes_equals_the_path_functions(tmp_path):
    from imgclf_gui.core.images.decode import decode_for_network, load_rgb_from_bytes

    path = write_image(tmp_path / "b.jpg", size=(900, 700))
    data = path.read_bytes()
    plain, rgb = decode_for_network(data, path, 64, "center", keep_rgb=True)
    assert np.array_equal(plain, load_for_network(path, 64, "center"))
    assert np.array_equal(rgb, load_rgb(path, max_side=64))
    assert np.array_equal(load_rgb_from_bytes(data, path, max_side=64), rgb)
    assert decode_for_network(data, path, 64)[1] is None
    with pytest.raises(ImageError) as info:
        decode_for_network(b"", path, 64)
    assert "empty" in info.value.reason
