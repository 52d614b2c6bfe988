import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from artrec.training.data import ImageManifestDataset, build_dataloader, collate_center_crop
from artrec.training.transforms import build_transforms


def _write_images(folder, sizes, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i, (width, height) in enumerate(sizes):
        pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
        name = f"img_{i}.png"
        Image.fromarray(pixels).save(folder / name)
        rows.append({"path": name, "label": i % 3, "width": width, "height": height})
    return pd.DataFrame(rows)


def test_dataset_reads_rgb_images_and_labels(tmp_path):
    manifest = _write_images(tmp_path, [(20, 20), (20, 20), (20, 20)])
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(tmp_path / "img_0.png")  # grey-scale file
    dataset = ImageManifestDataset(manifest, build_transforms("lrfs", train=False), root=tmp_path)
    image, label = dataset[0]
    assert len(dataset) == 3
    assert image.shape == (3, 18, 18) and label == 0
    assert torch.all(image == -1.0)


def test_image_sizes_come_from_the_manifest_or_the_files(tmp_path):
    sizes = [(30, 20), (20, 40), (25, 25)]
    manifest = _write_images(tmp_path, sizes)
    with_sizes = ImageManifestDataset(manifest, root=tmp_path)
    without = ImageManifestDataset(manifest[["path", "label"]], root=tmp_path)
    for dataset in (with_sizes, without):
        widths, heights = dataset.image_sizes()
        assert list(zip(widths, heights, strict=True)) == sizes


def test_bad_manifest_and_missing_file_give_clear_errors(tmp_path):
    manifest = _write_images(tmp_path, [(10, 10)])
    with pytest.raises(ValueError, match="label"):
        ImageManifestDataset(manifest.assign(label=["Bronze"]), root=tmp_path)
    with pytest.raises(ValueError, match="path"):
        ImageManifestDataset(manifest.drop(columns="path"), root=tmp_path)
    dataset = ImageManifestDataset(manifest.assign(path=["gone.png"]), root=tmp_path)
    with pytest.raises(RuntimeError, match="gone.png"):
        dataset[0]


def test_collate_center_crop_takes_the_middle_of_larger_images():
    small = torch.zeros(3, 4, 6)
    large = torch.arange(3 * 6 * 8, dtype=torch.float32).reshape(3, 6, 8)
    images, labels = collate_center_crop([(small, 1), (large, 2)])
    assert images.shape == (2, 3, 4, 6)
    assert torch.equal(images[1], large[:, 1:5, 1:7])
    assert labels.tolist() == [1, 2]


def test_lrfs_loader_stacks_fixed_shape_batches(tmp_path):
    manifest = _write_images(tmp_path, [(16, 16)] * 10)
    dataset = ImageManifestDataset(manifest, build_transforms("lrfs", train=True), root=tmp_path)
    loader = build_dataloader(dataset, batch_size=4, train=True, seed=0)
    shapes = [images.shape for images, _ in loader]
    assert shapes == [(4, 3, 14, 14), (4, 3, 14, 14), (2, 3, 14, 14)]


def test_bucketed_loader_keeps_more_pixels_than_random_batches(tmp_path):
    rng = np.random.default_rng(1)
    sizes = [(int(32 * a), 32) for a in rng.uniform(1.0, 2.0, 12)]
    sizes += [(32, int(32 * a)) for a in rng.uniform(1.0, 2.0, 12)]
    manifest = _write_images(tmp_path, sizes)
    dataset = ImageManifestDataset(manifest, build_transforms("hrvs", train=False), root=tmp_path)
    loader = build_dataloader(dataset, batch_size=4, train=True, seed=0, bucketing=True)
    full_pixels = sum(image.shape[-2] * image.shape[-1] for image, _ in dataset)
    kept_bucketed = sum(images[0, 0].numel() * len(images) for images, _ in loader)
    random_batches = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(0))
    kept_random = sum(
        collate_center_crop([dataset[int(i)] for i in chunk])[0][0, 0].numel() * len(chunk)
        for chunk in random_batches.split(4)
    )
    assert kept_random < kept_bucketed <= full_pixels
    assert sum(len(labels) for _, labels in loader) == len(sizes)
