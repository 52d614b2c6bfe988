import numpy as np
import pytest
import torch
from PIL import Image

from artrec.training.transforms import ProportionalCrop, build_transforms, crop_size


def _image(width: int, height: int, seed: int = 0) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def _expected_eval(image: Image.Image) -> torch.Tensor:
    pixels = torch.from_numpy(np.array(image)).permute(2, 0, 1).float() / 255.0
    height, width = pixels.shape[-2:]
    crop_h, crop_w = crop_size(height, width)
    top, left = round((height - crop_h) / 2), round((width - crop_w) / 2)
    return (pixels[:, top : top + crop_h, left : left + crop_w] - 0.5) / 0.5


def test_crop_size_matches_the_paper_for_256():
    assert crop_size(256, 256) == (224, 224)
    assert crop_size(500, 1000) == (round(437.5), 875)


@pytest.mark.parametrize("version", ["lrfs", "hrvs"])
def test_eval_is_a_centre_crop_scaled_and_normalised(version):
    image = _image(64, 64) if version == "lrfs" else _image(96, 64)
    out = build_transforms(version, train=False)(image)
    assert type(out) is torch.Tensor and out.dtype == torch.float32
    torch.testing.assert_close(out, _expected_eval(image))


def test_lrfs_train_output_shape_range_and_determinism():
    image = _image(64, 64)
    transform = build_transforms("lrfs", train=True)
    torch.manual_seed(3)
    first = transform(image)
    torch.manual_seed(3)
    again = transform(image)
    assert first.shape == (3, 56, 56)
    assert first.min() >= -1.0 and first.max() <= 1.0
    assert torch.equal(first, again)
    outputs = {transform(image).sum().item() for _ in range(5)}
    assert len(outputs) > 1  # augmentation is random


def test_hrvs_train_crops_a_fraction_of_the_current_size():
    transform = build_transforms("hrvs", train=True)
    for width, height in [(96, 64), (64, 150), (73, 73)]:
        out = transform(_image(width, height))
        assert out.shape == (3, *crop_size(height, width))


def test_lrfs_rejects_non_square_input():
    with pytest.raises(ValueError, match="square"):
        build_transforms("lrfs", train=False)(_image(80, 64))


def test_unknown_input_version_is_rejected():
    with pytest.raises(ValueError, match="input_version"):
        build_transforms("hr", train=True)


def test_random_crop_stays_inside_and_covers_positions():
    torch.manual_seed(0)
    crop = ProportionalCrop(0.5, random=True)
    image = torch.arange(16 * 16, dtype=torch.float32).reshape(1, 16, 16)
    corners = set()
    for _ in range(50):
        out = crop(image)
        assert out.shape == (1, 8, 8)
        corners.add(int(out[0, 0, 0]))
    assert len(corners) > 1
    assert all(0 <= c // 16 <= 8 and 0 <= c % 16 <= 8 for c in corners)


# ---- square centre-cropped inputs (the Tate poster) ---------------------------------------------
def test_square_transforms_resize_the_shorter_side_and_crop_the_centre():
    from artrec.training.transforms import build_square_transforms

    # a portrait image: left half black, right half white, a red band at the top
    pixels = np.zeros((90, 60, 3), dtype=np.uint8)
    pixels[:, 30:] = 255
    pixels[:10] = (255, 0, 0)
    image = Image.fromarray(pixels)
    out = build_square_transforms(20)(image)
    assert out.shape == (3, 20, 20) and out.dtype == torch.float32
    assert out.min() >= -1.0 and out.max() <= 1.0  # normalised with mean 0.5, std 0.5
    assert out[0, 0, 0] == out[1, 0, 0]  # the red band at the top was cropped away
    assert out[:, :, :8].mean() < 0 < out[:, :, 12:].mean()
    imagenet = build_square_transforms(20, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
    assert imagenet(image).max() > 2.0
    torch.manual_seed(0)
    augmented = build_square_transforms(20, augment=True)
    crops = [augmented(image) for _ in range(6)]
    assert all(c.shape == (3, 20, 20) for c in crops)
    assert any(not torch.equal(crops[0], c) for c in crops[1:])
