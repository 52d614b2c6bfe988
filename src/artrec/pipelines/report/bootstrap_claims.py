"""A report claim decided on per-item correctness: the paired bootstrap and the completed claim
of :mod:`artrec.evaluation.claims`, scores and interval in percent."""

from __future__ import annotations

import numpy as np

from artrec.evaluation.claims import Claim, decided_claim, paired_bootstrap


def bootstrap_claim(
    template: Claim,
    correct_a: np.ndarray,
    correct_b: np.ndarray,
    *,
    n_resamples: int,
    seed: int,
    groups: np.ndarray | None = None,
    note: str = "",
) -> Claim:
    """``template`` decided by A's and B's correctness (1/0) on the same test items in the same
    order, one seed; ``groups`` makes the score the mean per-group accuracy, resampled within
    each group (see :func:`artrec.evaluation.claims.paired_bootstrap`)."""
    score_a, score_b, _, low, high = paired_bootstrap(
        correct_a, correct_b, groups=groups, n_resamples=n_resamples, seed=seed
    )
    return decided_claim(
        template,
        100 * score_a,
        100 * score_b,
        100 * low,
        100 * high,
        test_items=len(correct_a),
        seeds=1,
        note=note,
    )
