"""Counts in words for the Classify tab: "1 image", "2 images", never "1 images" or "image(s)"."""
from __future__ import annotations


def count_of(count: int, singular: str, plural: str | None = None) -> str:
    """``count_of(1, "image")`` -> "1 image"; ``count_of(3, "class", "classes")`` -> "3 classes"."""
    return f"{count} {singular if count == 1 else plural or singular + 's'}"
