"""Evaluation metrics of the Met benchmark (paper section 2, thesis section 3.5.2).

A query whose true label is -1 is a distractor (no Met exhibit); a distractor is never counted as
correctly predicted, whatever its predicted label.

- ACC: fraction of Met queries whose prediction is correct.
- GAP (global average precision, micro-AP): rank ALL queries by confidence, descending, and
  compute (1/M) sum_i p(i) r(i), with p(i) the precision among the first i queries, r(i) = 1 when
  the query at rank i is correct, and M the number of Met queries. Distractors above a correct
  query lower its precision; distractors below all correct queries cost nothing.
- GAP-: the same on the Met queries only.

Ranking: by ``rank_key`` when given (the kNN classifier passes its log-domain confidence and the
nearest-neighbour similarity, which stay distinct where the soft-max confidence rounds to 1.0),
else by ``conf``; remaining ties keep the query order (lower index first), so the result is
deterministic (the public code's ``np.argsort(-score)`` leaves ties to the sort algorithm).

With no Met queries (M = 0) every metric is defined as 0.0: nothing can be recognised, and a
tuning loop over such a set must not stop on a division by zero.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# The label of a distractor query (a Met query without MET_id): the one definition.
DISTRACTOR = -1

RankKey = np.ndarray | Sequence[np.ndarray]


def ranking(conf: np.ndarray, rank_key: RankKey | None = None) -> np.ndarray:
    """Query indices ordered by descending key(s); ties by ascending query index.

    ``rank_key`` is one array or a sequence of arrays (most significant first), each sorted in
    descending order; without it ``conf`` is the key.
    """
    keys = [np.asarray(conf)] if rank_key is None else _key_list(rank_key)
    n = len(keys[0])
    for key in keys:
        if key.shape != (n,):
            raise ValueError(f"rank keys must all have shape ({n},), got {key.shape}")
    # np.lexsort sorts by the LAST key first and is stable; negate for descending order.
    return np.lexsort([np.arange(n)] + [-k.astype(np.float64) for k in reversed(keys)])


def gap(
    pred: np.ndarray, conf: np.ndarray, true: np.ndarray, rank_key: RankKey | None = None
) -> float:
    """Global average precision over all queries (Met queries and distractors)."""
    pred, conf, true = _check(pred, conf, true)
    return _average_precision(_correct(pred, true), ranking(conf, rank_key), _n_met(true))


def gap_minus(
    pred: np.ndarray, conf: np.ndarray, true: np.ndarray, rank_key: RankKey | None = None
) -> float:
    """GAP- : global average precision over the Met queries only (distractors removed)."""
    pred, conf, true = _check(pred, conf, true)
    met = true != DISTRACTOR
    keys = None if rank_key is None else [k[met] for k in _key_list(rank_key)]
    order = ranking(conf[met], keys)
    return _average_precision(_correct(pred[met], true[met]), order, int(met.sum()))


def accuracy(pred: np.ndarray, true: np.ndarray) -> float:
    """Classification accuracy over the Met queries (distractors ignored)."""
    pred, true = np.asarray(pred), np.asarray(true)
    if pred.shape != true.shape:
        raise ValueError(f"pred {pred.shape} and true {true.shape} differ in shape")
    n_met = _n_met(true)
    return float(_correct(pred, true).sum() / n_met) if n_met else 0.0


def evaluate(
    pred: np.ndarray, conf: np.ndarray, true: np.ndarray, rank_key: RankKey | None = None
) -> dict[str, float]:
    """{"GAP", "GAP-", "ACC"} as fractions in [0, 1]."""
    pred, conf, true = _check(pred, conf, true)
    correct, met = _correct(pred, true), true != DISTRACTOR
    n_met = int(met.sum())
    order = ranking(conf, rank_key)
    # Dropping the distractors from the full ranking is the ranking of the Met queries alone.
    met_order = order[met[order]]
    return {
        "GAP": _average_precision(correct, order, n_met),
        "GAP-": _average_precision(correct, met_order, n_met),
        "ACC": float(correct.sum() / n_met) if n_met else 0.0,
    }


def _average_precision(correct: np.ndarray, order: np.ndarray, n_met: int) -> float:
    if n_met == 0:
        return 0.0
    relevant = correct[order]
    precision = np.cumsum(relevant) / np.arange(1, len(relevant) + 1)
    return float((precision * relevant).sum() / n_met)


def _correct(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    return (pred == true) & (true != DISTRACTOR)


def _n_met(true: np.ndarray) -> int:
    return int((true != DISTRACTOR).sum())


def _key_list(rank_key: RankKey) -> list[np.ndarray]:
    if isinstance(rank_key, np.ndarray):
        return [rank_key] if rank_key.ndim == 1 else list(rank_key)
    return [np.asarray(k) for k in rank_key]


def _check(pred, conf, true) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pred, conf, true = np.asarray(pred), np.asarray(conf, dtype=np.float64), np.asarray(true)
    if not (pred.shape == conf.shape == true.shape) or pred.ndim != 1:
        raise ValueError(
            f"pred {pred.shape}, conf {conf.shape} and true {true.shape} must be equal 1-D shapes"
        )
    return pred, conf, true
