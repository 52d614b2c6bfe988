import numpy as np

from artrec.evaluation.claims import Claim, paired_bootstrap
from artrec.pipelines.report.bootstrap_claims import bootstrap_claim

TEMPLATE = Claim("a_beats_b", "paper", "A beats B", "accuracy (%)", "A", "B")


def test_claim_is_the_paired_bootstrap_in_percent():
    rng = np.random.default_rng(0)
    a = (rng.random(60) < 0.8).astype(int)
    b = (rng.random(60) < 0.4).astype(int)
    groups = np.arange(60) % 3
    claim = bootstrap_claim(TEMPLATE, a, b, groups=groups, n_resamples=200, seed=1, note="n")
    score_a, score_b, _, low, high = paired_bootstrap(a, b, groups, n_resamples=200, seed=1)
    assert (claim.a, claim.b) == (100 * score_a, 100 * score_b)
    assert (claim.low95, claim.high95) == (100 * low, 100 * high)
    assert claim.test_items == 60 and claim.seeds == 1 and claim.note == "n"
    assert claim.verdict != TEMPLATE.verdict  # decided, no longer NOT RUN
