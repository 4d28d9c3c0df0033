"""What every export is checked against: images as the networks see them, and the app's own scores for them.

- :func:`self_test_reference`: up to 32 of the model's validation images (``ModelBundle.validation_paths``),
  decoded and scored through ``predict.py`` like every other caller; seeded noise when they are gone.
- :func:`example_images`: the files an export's predict.py is run on (the same images; the noise written
  as PNG files), with their network inputs and the app's probabilities.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class SelfTestReference:
    """What every export is checked against: images as the networks see them, and the app's own scores."""

    #: float32 (N, S, S, 3) RGB 0..255 per network input of the model, in the order of
    #: ``export_formats.model_inputs``: the export's inputs
    inputs: tuple[np.ndarray, ...]
    probabilities: np.ndarray  #: float32 (N, classes): what imgclf itself says for them
    paths: list[Path]  #: the validation images used (empty for synthetic images)
    checked_on: str  #: "validation images" or "synthetic images"

    @property
    def images(self) -> np.ndarray:
        """The first (for most models the only) input."""
        return self.inputs[0]


def self_test_reference(bundle: Any, max_images: int = 32, *, predictor: Any = None) -> SelfTestReference:
    """Up to ``max_images`` of the model's validation images, decoded and scored by the app's one path
    (``predict.decode_file`` then ``Predictor.score_decoded``, as ``imgclf classify`` and the Classify tab
    do); seeded noise if fewer than two of them can still be read."""
    from imgclf_gui.core.images.decode import ImageError
    from imgclf_gui.core.models.predict import bundle_predictor, decode_file

    predictor = predictor or bundle_predictor(bundle)
    decoded, used = [], []
    for p in [Path(p) for p in bundle.validation_paths if Path(p).is_file()][:max_images]:
        try:
            decoded.append(decode_file(predictor, p))
        except ImageError:
            continue
        used.append(p)
    if len(decoded) >= 2:
        inputs = tuple(np.stack([d.inputs[k] for d in decoded]).astype(np.float32)
                       for k in range(len(predictor.inputs)))
        return SelfTestReference(inputs, predictor.score_decoded(decoded), used, "validation images")
    # Noise pictures, each network's input made from the same one (as a decode would make them)
    from imgclf_gui.core.models.predict import network_inputs

    rng = np.random.default_rng(0)
    s = predictor.decode_side
    pictures = rng.integers(0, 256, (8, s, s, 3)).astype(np.uint8)
    batches = [np.stack(b) for b in zip(*(network_inputs(predictor, picture) for picture in pictures))]
    return SelfTestReference(tuple(b.astype(np.float32) for b in batches), predictor.score(batches), [],
                             "synthetic images")


def example_images(reference: SelfTestReference, predictor: Any, folder: Path
                    ) -> tuple[list[Path], tuple[np.ndarray, ...], np.ndarray]:
    """Files to run predict.py on, their network inputs and the app's probabilities: the validation images,
    or the synthetic ones written as PNG files (and decoded back, as the app would)."""
    if reference.paths:
        return list(reference.paths), reference.inputs, reference.probabilities
    from PIL import Image

    from imgclf_gui.core.models.predict import decode_file

    # the same noise at the largest side, as PNG files: a PNG decodes alike for every network's side
    rng = np.random.default_rng(0)
    s = predictor.decode_side
    paths = []
    for i, picture in enumerate(rng.integers(0, 256, (8, s, s, 3)).astype(np.uint8)):
        path = folder / f"synthetic-{i}.png"
        Image.fromarray(picture, "RGB").save(path, format="PNG")
        paths.append(path)
    decoded = [decode_file(predictor, p) for p in paths]
    inputs = tuple(np.stack([d.inputs[k] for d in decoded]).astype(np.float32) for k in range(len(predictor.inputs)))
    return paths, inputs, predictor.score_decoded(decoded)
