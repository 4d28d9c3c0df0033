"""Turning any file into pixels, safely: decoding, augmentation, thumbnails.

Entry points: ``decode.load_rgb``, ``decode.load_for_network``, ``decode.ImageError``,
``augment.augment``, ``thumbnails.ThumbnailCache``.
"""
