import numpy as np
import pytest

from artrec.training.sampler import AspectRatioBucketBatchSampler, ShardSampler


def _sizes(n: int = 53, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    aspect = np.exp(rng.uniform(-1.2, 1.2, size=n))
    short = 100
    widths = np.where(aspect >= 1, np.round(short * aspect), short).astype(int)
    heights = np.where(aspect >= 1, short, np.round(short / aspect)).astype(int)
    return widths, heights


def test_each_index_once_per_epoch_and_len_matches():
    widths, heights = _sizes()
    sampler = AspectRatioBucketBatchSampler(widths, heights, batch_size=8, seed=1)
    for epoch in range(4):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert len(batches) == len(sampler)
        assert sorted(i for b in batches for i in b) == list(range(len(widths)))
        assert all(1 <= len(b) <= 8 for b in batches)


def test_batches_are_runs_of_neighbouring_aspect_ratios():
    widths, heights = _sizes()
    aspect = widths / heights
    sampler = AspectRatioBucketBatchSampler(widths, heights, batch_size=6, seed=2)
    for batch in sampler:
        low, high = aspect[batch].min(), aspect[batch].max()
        between = np.flatnonzero((aspect > low) & (aspect < high))
        assert set(between) <= set(batch)


def test_deterministic_per_epoch_and_different_across_epochs():
    widths, heights = _sizes()
    a = AspectRatioBucketBatchSampler(widths, heights, batch_size=8, seed=5)
    b = AspectRatioBucketBatchSampler(widths, heights, batch_size=8, seed=5)
    a.set_epoch(3)
    b.set_epoch(3)
    assert list(a) == list(b)
    b.set_epoch(4)
    assert list(a) != list(b)
    # The random offset changes which neighbours share a batch.
    memberships = set()
    for epoch in range(6):
        a.set_epoch(epoch)
        memberships.add(frozenset(frozenset(batch) for batch in a))
    assert len(memberships) > 1


def test_no_shuffle_yields_sorted_order():
    widths, heights = _sizes()
    sampler = AspectRatioBucketBatchSampler(widths, heights, batch_size=8, shuffle=False)
    order = [i for batch in sampler for i in batch]
    aspect = widths / heights
    assert np.all(np.diff(aspect[order]) >= 0)
    assert [len(b) for b in sampler][:-1] == [8] * (len(widths) // 8)


def test_drop_last_keeps_only_full_batches():
    widths, heights = _sizes()
    sampler = AspectRatioBucketBatchSampler(widths, heights, batch_size=8, drop_last=True, seed=0)
    for epoch in range(5):
        sampler.set_epoch(epoch)
        assert all(len(batch) == 8 for batch in sampler)


def test_replicas_get_equal_disjoint_shares():
    widths, heights = _sizes()
    shards = []
    for rank in range(3):
        sampler = AspectRatioBucketBatchSampler(
            widths, heights, batch_size=4, seed=7, num_replicas=3, rank=rank
        )
        sampler.set_epoch(2)
        shards.append(list(sampler))
    assert len({len(shard) for shard in shards}) == 1
    covered = {i for shard in shards for batch in shard for i in batch}
    assert covered == set(range(len(widths)))


def test_bad_sizes_are_rejected():
    with pytest.raises(ValueError, match="positive"):
        AspectRatioBucketBatchSampler([10, 0], [10, 10], batch_size=2)
    with pytest.raises(ValueError, match="equally long"):
        AspectRatioBucketBatchSampler([10, 10], [10], batch_size=2)


def test_shard_sampler_shares_cover_every_index_once_without_padding():
    shares = [list(ShardSampler(7, num_replicas=3, rank=r)) for r in range(3)]
    assert shares == [[0, 3, 6], [1, 4], [2, 5]]
    assert [len(ShardSampler(7, num_replicas=3, rank=r)) for r in range(3)] == [3, 2, 2]
    with pytest.raises(ValueError, match="rank"):
        ShardSampler(7, num_replicas=2, rank=2)
