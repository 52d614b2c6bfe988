"""The Met studies beyond the main table: the pieces of Table 4, Table B.1 (share of distractors),
Figure B.1 (metrics vs PCAw dimension), Figure 8 (accuracy by training images per class) and the
mini database (thesis appendix B.4).

Every function takes descriptor arrays and class labels (-1 = distractor) and returns plain
numbers or DataFrames, so the Kedro nodes only pick inputs and write outputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from artrec.retrieval.knn import (
    DEFAULT_KS,
    DEFAULT_TAUS,
    METRICS,
    IndexSpec,
    KNNClassifier,
    search,
    tune_knn,
)
from artrec.retrieval.metrics import DISTRACTOR, evaluate
from artrec.retrieval.whitening import PCAWhitening, apply_pca_whitening, learn_pca_whitening

IndexChoice = IndexSpec | Mapping[str, Any] | None


@dataclass(frozen=True)
class DescriptorSplits:
    """Descriptors and class labels of the database (train) and of the two query sets."""

    train: np.ndarray
    train_labels: np.ndarray
    val: np.ndarray
    val_labels: np.ndarray
    test: np.ndarray
    test_labels: np.ndarray

    def whitened(self, dim: int | None, shrinkage: float = 1.0) -> DescriptorSplits:
        """PCA whitening learned on the database, applied to all three, L2-renormalised."""
        return self.apply_whitening(learn_pca_whitening(self.train, shrinkage=shrinkage, dim=dim))

    def apply_whitening(self, pcaw: PCAWhitening) -> DescriptorSplits:
        """A given whitening applied to all three, L2-renormalised."""
        return DescriptorSplits(
            apply_pca_whitening(self.train, pcaw),
            self.train_labels,
            apply_pca_whitening(self.val, pcaw),
            self.val_labels,
            apply_pca_whitening(self.test, pcaw),
            self.test_labels,
        )

    def subset_database(self, keep: np.ndarray) -> DescriptorSplits:
        """The same queries against a smaller database (e.g. the mini database)."""
        return DescriptorSplits(
            self.train[keep],
            self.train_labels[keep],
            self.val,
            self.val_labels,
            self.test,
            self.test_labels,
        )


@dataclass(frozen=True)
class KNNEvaluation:
    """Tuned (k, tau), the validation grid and the test metrics/predictions at that pair.

    ``test_nearest``: database index of each test query's nearest neighbour (the image whose
    class is predicted).
    """

    k: int
    tau: float
    val_metrics: dict[str, float]
    test_metrics: dict[str, float]
    grid: pd.DataFrame
    test_predictions: np.ndarray
    test_confidence: np.ndarray
    test_nearest: np.ndarray
    test_rank_key: tuple[np.ndarray, ...] = ()


def evaluate_knn(
    splits: DescriptorSplits,
    *,
    ks: Sequence[int] = DEFAULT_KS,
    taus: Sequence[float] = DEFAULT_TAUS,
    tune_without_distractors: bool = False,
    use_gpu: bool | None = None,
    index: IndexChoice = None,
) -> KNNEvaluation:
    """Tune (k, tau) by validation GAP with one search at max(ks), then evaluate on test.

    ``tune_without_distractors`` tunes on the Met validation queries only (Table 4, row 6).
    ``index`` chooses the search index (default exact).
    """
    classifier = KNNClassifier(splits.train, splits.train_labels, use_gpu=use_gpu, index=index)
    val, val_labels = splits.val, splits.val_labels
    if tune_without_distractors:
        met = val_labels != DISTRACTOR
        val, val_labels = val[met], val_labels[met]
    result = classifier.tune_and_predict(val, val_labels, splits.test, ks, taus)
    _, nearest = search(classifier.index, splits.test, 1)
    return KNNEvaluation(
        k=result.k,
        tau=result.tau,
        val_metrics=result.tuning.val_metrics,
        test_metrics=result.test.metrics(splits.test_labels),
        grid=result.tuning.grid,
        test_predictions=result.test.labels,
        test_confidence=result.test.confidence,
        test_nearest=nearest[:, 0],
        test_rank_key=tuple(result.test.rank_key),
    )


def bootstrap_difference(
    a: KNNEvaluation,
    b: KNNEvaluation,
    true_labels: np.ndarray,
    n_resamples: int = 1000,
    seed: int = 0,
) -> dict[str, tuple[float, float, float]]:
    """Test metric of ``a`` minus that of ``b``, with a 95% bootstrap interval over test queries.

    Queries are resampled with replacement (the same resample for both), so the interval says
    how much of a difference the size of the query set can explain. Returns, per metric,
    (difference on the full set, 2.5th percentile, 97.5th percentile), as fractions.
    """
    true_labels = np.asarray(true_labels)
    rng = np.random.default_rng(seed)
    n = len(true_labels)
    full = {m: a.test_metrics[m] - b.test_metrics[m] for m in METRICS}
    samples = {m: np.empty(n_resamples) for m in METRICS}
    for r in range(n_resamples):
        pick = rng.integers(0, n, size=n)
        metrics = [
            evaluate(
                e.test_predictions[pick],
                e.test_confidence[pick],
                true_labels[pick],
                tuple(key[pick] for key in e.test_rank_key) or None,
            )
            for e in (a, b)
        ]
        for m in METRICS:
            samples[m][r] = metrics[0][m] - metrics[1][m]
    return {
        m: (
            float(full[m]),
            float(np.percentile(samples[m], 2.5)),
            float(np.percentile(samples[m], 97.5)),
        )
        for m in METRICS
    }


def keep_share_of_distractors(labels: np.ndarray, share: float, seed: int = 0) -> np.ndarray:
    """Indices of all Met queries plus ``share`` (0..1) of the distractors, chosen at random.

    Table B.1 lowers the ratio of distractors "by removing the appropriate amount of distractor
    queries"; the choice is seeded so that a share's subset is the same in every run.
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be in [0, 1], got {share}")
    labels = np.asarray(labels)
    met = np.flatnonzero(labels != DISTRACTOR)
    distractors = np.flatnonzero(labels == DISTRACTOR)
    rng = np.random.default_rng(seed)
    kept = rng.permutation(distractors)[: round(share * len(distractors))]
    return np.sort(np.concatenate([met, kept]))


def distractor_share_table(
    splits: DescriptorSplits,
    shares: Sequence[float],
    *,
    ks: Sequence[int] = DEFAULT_KS,
    taus: Sequence[float] = DEFAULT_TAUS,
    seed: int = 0,
    use_gpu: bool | None = None,
    index: IndexChoice = None,
) -> pd.DataFrame:
    """Table B.1: test GAP for every (validation share, test share) of distractors kept.

    (k, tau) are tuned on the validation queries with that share of distractors. Columns:
    val_share, test_share, k, tau, GAP, GAP-, ACC (GAP- and ACC do not depend on distractors).
    """
    # The validation queries are searched once; each share tunes on a subset of their rows.
    classifier = KNNClassifier(splits.train, splits.train_labels, use_gpu=use_gpu, index=index)
    val_neighbours = classifier.neighbours(splits.val, max(ks))
    rows = []
    for val_share in shares:
        keep_val = keep_share_of_distractors(splits.val_labels, val_share, seed)
        tuning = tune_knn(
            _rows(val_neighbours, keep_val),
            splits.val_labels[keep_val],
            classifier.n_classes,
            ks,
            taus,
        )
        prediction = classifier.predict(splits.test, tuning.k, tuning.tau)
        for test_share in shares:
            keep_test = keep_share_of_distractors(splits.test_labels, test_share, seed + 1)
            metrics = _subset_metrics(prediction, keep_test, splits.test_labels)
            rows.append(
                {
                    "val_share": float(val_share),
                    "test_share": float(test_share),
                    "k": tuning.k,
                    "tau": tuning.tau,
                    **metrics,
                }
            )
    return pd.DataFrame(rows)


def dimension_sweep(
    splits: DescriptorSplits,
    dims: Sequence[int],
    *,
    ks: Sequence[int] = DEFAULT_KS,
    taus: Sequence[float] = DEFAULT_TAUS,
    use_gpu: bool | None = None,
    index: IndexChoice = None,
) -> pd.DataFrame:
    """Figure B.1: tuned test metrics after PCAw to each dimension (capped by the data).

    Dimensions that the cap makes equal are evaluated once. Columns: dim, k, tau, GAP, GAP-, ACC.
    """
    cap = min(splits.train.shape)
    rows = []
    for dim in sorted({min(int(d), cap) for d in dims}):
        result = evaluate_knn(splits.whitened(dim), ks=ks, taus=taus, use_gpu=use_gpu, index=index)
        rows.append({"dim": dim, "k": result.k, "tau": result.tau, **result.test_metrics})
    return pd.DataFrame(rows)


def accuracy_by_training_images(
    predictions: np.ndarray,
    true_labels: np.ndarray,
    train_labels: np.ndarray,
    bins: Sequence[int] = (1, 2, 4, 7, 11),
) -> pd.DataFrame:
    """Figure 8: accuracy of the Met queries grouped by their class's number of training images.

    ``bins`` are left edges; the last edge is open (e.g. 1, 2-3, 4-6, 7-10, 11+). Columns:
    training_images (label), queries, correct, ACC.
    """
    true_labels = np.asarray(true_labels)
    met = true_labels != DISTRACTOR
    counts = np.bincount(np.asarray(train_labels), minlength=int(true_labels.max(initial=0)) + 1)
    per_query = counts[true_labels[met]]
    correct = np.asarray(predictions)[met] == true_labels[met]
    edges = [*bins, np.inf]
    rows = []
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        in_bin = (per_query >= low) & (per_query < high)
        label = _bin_label(int(low), high)
        n = int(in_bin.sum())
        hits = int(correct[in_bin].sum())
        rows.append(
            {
                "training_images": label,
                "queries": n,
                "correct": hits,
                "ACC": hits / n if n else np.nan,
            }
        )
    return pd.DataFrame(rows)


def _bin_label(low: int, high: float) -> str:
    if high == np.inf:
        return f"{low}+"
    if high - low == 1:
        return str(low)
    return f"{low}-{int(high) - 1}"


def _rows(neighbours, keep: np.ndarray):
    """The neighbours of a subset of the queries."""
    return type(neighbours)(
        neighbours.similarities[keep], neighbours.labels[keep], neighbours.valid[keep]
    )


def _subset_metrics(prediction, keep: np.ndarray, true: np.ndarray) -> dict[str, float]:
    return evaluate(
        prediction.labels[keep],
        prediction.confidence[keep],
        true[keep],
        tuple(key[keep] for key in prediction.rank_key),
    )
