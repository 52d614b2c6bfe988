"""Network inputs: each image decoded once to S x S, normalised per item."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from artrec.errors import BadInputError
from artrec.transfer.inputs import ArrayImageDataset, load_square_images


def test_images_are_resized_square_and_normalised(tmp_path: Path) -> None:
    Image.new("RGB", (40, 20), (255, 0, 0)).save(tmp_path / "a.jpg", quality=95)
    Image.new("RGB", (10, 30), (0, 0, 255)).save(tmp_path / "b.png")
    images = load_square_images(tmp_path, ["a.jpg", "b.png"], 16)
    assert images.shape == (2, 16, 16, 3) and images.dtype == np.uint8
    assert images[0, 8, 8, 0] > 240 and images[1, 8, 8, 2] > 240
    dataset = ArrayImageDataset(images, np.array([1, 0]), [0.5] * 3, [0.5] * 3)
    tensor, label = dataset[0]
    assert tensor.shape == (3, 16, 16) and label == 1
    assert abs(float(tensor[0, 8, 8]) - 1.0) < 0.02 and abs(float(tensor[2, 8, 8]) + 1.0) < 0.05


def test_a_broken_image_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "bad.jpg").write_bytes(b"<html>not an image</html>")
    with pytest.raises(BadInputError, match="bad.jpg"):
        load_square_images(tmp_path, ["bad.jpg"], 16)
