"""Descriptor extraction on 2 CPU processes (gloo) equals extraction in one process."""

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torch.utils.data import Dataset

from artrec import distributed
from artrec.retrieval.embedder import MULTI_SCALE, Embedder, inference_transform
from artrec.retrieval.extract import ImageListDataset, extract_descriptors

# Nine images: with chunks of 4 the last chunk has one image, so one process has an empty share.
SIZES = [(20, 16), (16, 20), (20, 16), (24, 24), (20, 16), (16, 20), (30, 12), (16, 16), (18, 22)]


class Recording(Dataset):
    """Records which items this process loaded; can fail once at an item (an interruption)."""

    def __init__(self, dataset, fail_at=None):
        self.dataset, self.fail_at, self.loaded = dataset, fail_at, []

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        if i == self.fail_at:
            raise KeyboardInterrupt
        self.loaded.append(i)
        return self.dataset[i]


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


def _extract_on_every_rank(embedder, runs):
    """Runs ``extract_descriptors`` for each (dataset, kwargs); per run: rank 0's result, the
    items loaded by all processes, and whether every process got the same result."""
    out = []
    for dataset, kwargs in runs:
        result = extract_descriptors(embedder, dataset, progress=False, **kwargs)
        every = distributed.all_gather_objects((result, getattr(dataset, "loaded", [])))
        same = all(
            np.array_equal(r.descriptors, result.descriptors) and np.array_equal(r.ids, result.ids)
            for r, _ in every
        )
        loaded = sorted(i for _, items in every for i in items)
        out.append((result, loaded, same, distributed.world_size()))
    return out


def test_two_processes_give_the_descriptors_of_one_in_the_original_order(image_list, tmp_path):
    torch.set_num_threads(1)
    embedder = _embedder()
    subset = [5, 1, 8, 0, 3]
    out_dir = tmp_path / "descs"
    one = [
        extract_descriptors(embedder, image_list, batch_size=2, progress=False),
        extract_descriptors(
            embedder, image_list, scales=MULTI_SCALE, indices=subset, batch_size=3, progress=False
        ),
    ]
    # A one-process run on out_dir is interrupted after its first chunk (items 0-3) ...
    with pytest.raises(KeyboardInterrupt):
        extract_descriptors(
            embedder,
            Recording(image_list, fail_at=5),
            out_dir=out_dir,
            chunk_size=4,
            progress=False,
        )

    # ... and two processes finish it.
    runs = [
        (image_list, dict(batch_size=2)),
        (image_list, dict(scales=MULTI_SCALE, indices=subset, batch_size=3)),
        (Recording(image_list), dict(out_dir=out_dir, chunk_size=4, batch_size=2)),
    ]
    two = distributed.launch(_extract_on_every_rank, 2, embedder, runs)

    assert all(world == 2 and same for _, _, same, world in two)
    for (result, _, _, _), reference in zip(two, one + [one[0]], strict=True):
        np.testing.assert_allclose(result.descriptors, reference.descriptors, rtol=1e-5, atol=1e-6)
        assert result.ids.tolist() == reference.ids.tolist()
    assert two[1][0].ids.tolist() == [f"id{i}" for i in subset]
    resumed, loaded, _, _ = two[2]
    assert loaded == [4, 5, 6, 7, 8]  # the finished chunk was not described again
    np.testing.assert_array_equal(np.load(out_dir / "descriptors.npy"), resumed.descriptors)
    assert not (out_dir / "chunks").exists()
