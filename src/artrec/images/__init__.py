"""Image decoding and resizing: safe, memory-bounded conversion of museum images to 8-bit RGB."""

from artrec.images.decode import (
    DEFAULT_MAX_PIXELS,
    BadImageError,
    load_resized,
    load_rgb,
    read_size,
    to_rgb,
)
from artrec.images.preprocess import (
    PRESETS,
    PreprocessResult,
    ResizeSpec,
    TooManyBadImagesError,
    preprocess_dataset,
    preprocess_partitions,
    resize_spec,
    summarise_outputs,
)

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "PRESETS",
    "BadImageError",
    "PreprocessResult",
    "ResizeSpec",
    "TooManyBadImagesError",
    "load_resized",
    "load_rgb",
    "preprocess_dataset",
    "preprocess_partitions",
    "read_size",
    "resize_spec",
    "summarise_outputs",
    "to_rgb",
]
