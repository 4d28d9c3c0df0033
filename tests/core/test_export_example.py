"""An export's predict.py decodes an image file exactly as imgclf does: draft-mode JPEG, EXIF rotation,
transparency on white, CMYK, grey and 16-bit images, squash or centre crop, Pillow BILINEAR."""
import runpy

import numpy as np
import pytest
from PIL import Image

from imgclf_gui.core.images.decode import load_rgb, to_network_input
from imgclf_gui.core.models.export_example import example_text


def _pattern(w, h, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), (x + y) % 256], axis=-1)
    return np.clip(base + rng.integers(-30, 30, base.shape), 0, 255).astype(np.uint8)


def _images(folder):
    folder.mkdir()
    exif = Image.Exif()
    exif[0x0112] = 6  # taken with the camera on its side: shown rotated
    Image.fromarray(_pattern(2000, 1500)).save(folder / "camera.jpg", quality=90, exif=exif.tobytes())
    Image.fromarray(_pattern(300, 200, 1)).convert("CMYK").save(folder / "print.jpg")
    Image.fromarray(_pattern(120, 90, 2)).save(folder / "progressive.jpg", progressive=True)
    Image.fromarray(_pattern(64, 48, 3)).convert("L").save(folder / "grey.png")
    rgba = np.dstack([_pattern(80, 60, 4), np.tile(np.arange(80, dtype=np.uint8) * 3, (60, 1))])
    Image.fromarray(rgba, "RGBA").save(folder / "transparent.png")
    Image.fromarray(rgba, "RGBA").convert("LA").save(folder / "grey_alpha.png")
    palette = Image.fromarray(_pattern(50, 70, 5)).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    palette.save(folder / "palette.png", transparency=3)
    sixteen = (_pattern(70, 50, 6)[..., 0].astype(np.uint16) * 257 + 100).clip(0, 65535)
    Image.fromarray(sixteen.astype(np.uint16)).save(folder / "sixteen.png")
    Image.fromarray(_pattern(40, 40, 7)[..., 1].astype(np.float32) / 255.0).save(folder / "float.tif")
    return sorted(folder.iterdir())


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return _images(tmp_path_factory.mktemp("decode") / "images")


@pytest.mark.parametrize("crop", ["squash", "center"])
@pytest.mark.parametrize("side", [32, 224])
def test_the_example_feeds_the_network_what_imgclf_feeds_it(tmp_path, images, crop, side):
    script = tmp_path / "predict.py"
    script.write_text(example_text("tflite", model_name="model.tflite", inputs=[("image", side)], crop=crop,
                                   runtime="LiteRT"))
    example = runpy.run_path(str(script), run_name="example")  # its functions, without running main
    for path in images:
        app = to_network_input(load_rgb(path, max_side=side), side, crop)  # predict.decode_file's steps
        ours = example["network_input"](example["load_picture"](path, side), side)
        assert ours.dtype == np.float32 and ours.shape == (side, side, 3)
        assert np.array_equal(ours, app.astype(np.float32)), path.name
