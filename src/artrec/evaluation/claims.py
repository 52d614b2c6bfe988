"""The papers' qualitative claims, decided on our numbers with a paired bootstrap.

A claim says system A beats system B on a metric. Its row carries both numbers, their
difference, a 95% interval and a verdict:

- HOLDS: the whole interval lies above zero;
- DOES NOT HOLD: the whole interval lies below zero (B is better);
- INCONCLUSIVE: the interval contains zero, so the test set (and seeds) cannot tell;
- NOT RUN: the systems the claim compares do not exist in this run.

The interval comes from a paired bootstrap: both systems are scored on the same resampled test
items, so item difficulty cancels out. With several seeds, each resample also draws seeds with
replacement, so seed-to-seed variation widens the interval as it should.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

HOLDS = "HOLDS"
DOES_NOT_HOLD = "DOES NOT HOLD"
INCONCLUSIVE = "INCONCLUSIVE"
NOT_RUN = "NOT RUN"


@dataclass(frozen=True)
class Claim:
    """One row of the claims table. Numbers are in the metric's unit (percent for accuracies)."""

    id: str
    paper: str
    claim: str
    metric: str
    system_a: str
    system_b: str
    a: float | None = None
    b: float | None = None
    difference: float | None = None
    low95: float | None = None
    high95: float | None = None
    verdict: str = NOT_RUN
    test_items: int | None = None
    seeds: int | None = None
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def verdict(low: float, high: float) -> str:
    """HOLDS when the interval excludes zero from above, DOES NOT HOLD from below."""
    if low > 0:
        return HOLDS
    if high < 0:
        return DOES_NOT_HOLD
    return INCONCLUSIVE


def _group_means(correct: np.ndarray, picks: list[np.ndarray]) -> np.ndarray:
    """Mean over groups of the per-group mean of ``correct`` for each resample.

    ``picks[g]`` has shape (resamples, n_g): the resampled item positions of group g.
    """
    return np.mean([correct[p].mean(axis=1) for p in picks], axis=0)


def paired_bootstrap(
    correct_a: Sequence[np.ndarray] | np.ndarray,
    correct_b: Sequence[np.ndarray] | np.ndarray,
    groups: np.ndarray | None = None,
    n_resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float, float, float]:
    """Difference of a per-item score's (group-balanced) mean, A minus B, with a 95% interval.

    ``correct_a``/``correct_b``: one array per seed (or a single array) of per-item scores
    (1/0 for correct/wrong) on the same test items in the same order. ``groups`` (e.g. the true
    class) makes the metric the mean over groups of the per-group mean, i.e. mean per-class
    accuracy (scikit-learn's balanced accuracy), and resamples items within each group, so every
    class stays in every resample as in the real test set.

    Returns (score A, score B, difference, 2.5th percentile, 97.5th percentile) of the
    difference, all averaged over seeds.
    """
    runs_a = [np.asarray(x, dtype=float) for x in np.atleast_2d(correct_a)]
    runs_b = [np.asarray(x, dtype=float) for x in np.atleast_2d(correct_b)]
    if len(runs_a) != len(runs_b) or any(
        a.shape != b.shape for a, b in zip(runs_a, runs_b, strict=False)
    ):
        raise ValueError("paired bootstrap needs both systems scored on the same items and seeds")
    n_items = runs_a[0].shape[0]
    if n_items == 0:
        raise ValueError("paired bootstrap needs at least one test item")
    groups = np.zeros(n_items, dtype=int) if groups is None else np.asarray(groups)
    members = [np.flatnonzero(groups == g) for g in np.unique(groups)]

    rng = np.random.default_rng(seed)
    n_seeds = len(runs_a)
    # Seeds resampled with replacement (a single seed stays itself), then items within groups.
    seed_picks = rng.integers(0, n_seeds, size=(n_resamples, n_seeds)) if n_seeds > 1 else None
    item_picks = [m[rng.integers(0, len(m), size=(n_resamples, len(m)))] for m in members]

    def score(runs: list[np.ndarray]) -> tuple[float, np.ndarray]:
        full = float(np.mean([_group_means(r, [m[None, :] for m in members])[0] for r in runs]))
        per_seed = np.stack([_group_means(r, item_picks) for r in runs])  # (seeds, resamples)
        if seed_picks is None:
            return full, per_seed[0]
        return full, np.take_along_axis(per_seed.T, seed_picks, axis=1).mean(axis=1)

    full_a, boot_a = score(runs_a)
    full_b, boot_b = score(runs_b)
    diffs = boot_a - boot_b
    low, high = np.percentile(diffs, [2.5, 97.5])
    return full_a, full_b, full_a - full_b, float(low), float(high)


def decided_claim(
    template: Claim,
    a: float,
    b: float,
    low: float,
    high: float,
    test_items: int,
    seeds: int,
    note: str = "",
) -> Claim:
    """``template`` (id, names, metric) completed with measured numbers and the verdict."""
    return Claim(
        **{
            **template.as_dict(),
            "a": a,
            "b": b,
            "difference": a - b,
            "low95": low,
            "high95": high,
            "verdict": verdict(low, high),
            "test_items": test_items,
            "seeds": seeds,
            "note": note or template.note,
        }
    )
