import json

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torch.utils.data import Dataset

from artrec.errors import BadInputError
from artrec.retrieval.embedder import MULTI_SCALE, Embedder, inference_transform
from artrec.retrieval.extract import ImageListDataset, extract_descriptors

SIZES = [(20, 16), (16, 20), (20, 16), (24, 24), (20, 16), (16, 20), (30, 12)]


@pytest.fixture
def image_list(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for i, (w, h) in enumerate(SIZES):
        path = tmp_path / "images" / f"img{i}.png"
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 255, size=(h, w, 3), dtype=np.uint8)).save(path)
        paths.append(path.name)
    ids = [f"id{i}" for i in range(len(paths))]
    return ImageListDataset(paths, inference_transform(16), ids=ids, root=tmp_path / "images")


def _embedder():
    torch.manual_seed(0)
    return Embedder(nn.Sequential(nn.Conv2d(3, 6, 3), nn.ReLU()), 6)


class Flaky(Dataset):
    """Counts loads and fails once at a given item (an interrupted run)."""

    def __init__(self, dataset, fail_at=None):
        self.dataset, self.fail_at, self.loaded = dataset, fail_at, []

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        if i == self.fail_at:
            self.fail_at = None
            raise KeyboardInterrupt
        self.loaded.append(i)
        return self.dataset[i]


def test_batched_extraction_equals_one_image_at_a_time(image_list):
    embedder = _embedder()
    single = extract_descriptors(embedder, image_list, batch_size=1, progress=False)
    batched = extract_descriptors(embedder, image_list, batch_size=4, scales=(1.0,), progress=False)
    assert single.descriptors.dtype == np.float32
    assert single.descriptors.shape == (len(SIZES), 6)
    np.testing.assert_allclose(batched.descriptors, single.descriptors, atol=1e-6)
    assert single.ids.tolist() == [f"id{i}" for i in range(len(SIZES))]
    # the longer side (30 px) of the last image was capped at 16
    assert image_list[6][0].shape == (3, 6, 16)


def test_multiscale_extraction_and_subset(image_list):
    embedder = _embedder()
    out = extract_descriptors(
        embedder, image_list, scales=MULTI_SCALE, indices=[5, 1], batch_size=2, progress=False
    )
    assert out.ids.tolist() == ["id5", "id1"]
    with torch.inference_mode():
        expected = embedder.multiscale(image_list[5][0][None], MULTI_SCALE)[0].numpy()
    np.testing.assert_allclose(out.descriptors[0], expected, atol=1e-6)
    assert embedder.training  # training flag restored


def test_interrupted_run_resumes_from_finished_chunks(image_list, tmp_path):
    embedder = _embedder()
    reference = extract_descriptors(embedder, image_list, progress=False)
    out_dir = tmp_path / "descs"

    flaky = Flaky(image_list, fail_at=4)
    with pytest.raises(KeyboardInterrupt):
        extract_descriptors(embedder, flaky, out_dir=out_dir, chunk_size=3, progress=False)
    assert sorted(p.name for p in (out_dir / "chunks").iterdir()) == [
        "chunk_00000.ids.npy",
        "chunk_00000.npy",
    ]

    flaky.loaded.clear()
    resumed = extract_descriptors(embedder, flaky, out_dir=out_dir, chunk_size=3, progress=False)
    assert flaky.loaded == [3, 4, 5, 6]  # chunk 0 (items 0-2) was not recomputed
    np.testing.assert_allclose(resumed.descriptors, reference.descriptors, atol=1e-6)
    assert resumed.ids.tolist() == reference.ids.tolist()
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "descriptors.npy",
        "ids.npy",
        "manifest.json",
    ]
    np.testing.assert_array_equal(np.load(out_dir / "descriptors.npy"), resumed.descriptors)

    flaky.loaded.clear()
    again = extract_descriptors(embedder, flaky, out_dir=out_dir, chunk_size=3, progress=False)
    assert flaky.loaded == []
    np.testing.assert_array_equal(again.descriptors, resumed.descriptors)


def test_a_different_extraction_in_the_same_folder_is_refused(image_list, tmp_path):
    embedder = _embedder()
    out_dir = tmp_path / "descs"
    extract_descriptors(embedder, image_list, out_dir=out_dir, chunk_size=4, progress=False)
    assert json.loads((out_dir / "manifest.json").read_text())["n_items"] == len(SIZES)
    with pytest.raises(ValueError, match="different extraction"):
        extract_descriptors(
            embedder, image_list, out_dir=out_dir, chunk_size=4, indices=[0, 1], progress=False
        )
    with torch.no_grad():
        embedder.trunk[0].bias.add_(1.0)
    with pytest.raises(ValueError, match="fingerprint"):
        extract_descriptors(embedder, image_list, out_dir=out_dir, chunk_size=4, progress=False)


def test_unreadable_image_is_named(tmp_path):
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    dataset = ImageListDataset(["broken.jpg"], inference_transform(), root=tmp_path)
    with pytest.raises(BadInputError, match="broken.jpg: unreadable") as caught:
        extract_descriptors(_embedder(), dataset, progress=False)
    assert "\n" not in str(caught.value) and "Fix:" in str(caught.value)
