import numpy as np
import pytest

from artrec.retrieval.knn import KNNClassifier, tune_knn
from artrec.retrieval.metrics import evaluate
from artrec.retrieval.studies import (
    DescriptorSplits,
    accuracy_by_training_images,
    dimension_sweep,
    distractor_share_table,
    evaluate_knn,
    keep_share_of_distractors,
)

KS = (1, 3, 5)
TAUS = (1.0, 10.0, 100.0)


def _normalise(x):
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _queries(rng, centres, n, noise, distractor_share):
    labels = rng.integers(0, len(centres), size=n)
    x = centres[labels] + noise * rng.normal(size=(n, centres.shape[1]))
    distractor = rng.random(n) < distractor_share
    x[distractor] = rng.normal(size=(distractor.sum(), centres.shape[1]))
    labels[distractor] = -1
    return _normalise(x), labels


def _splits(seed=0, n_classes=30, dim=24, noise=0.4) -> DescriptorSplits:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, dim))
    sizes = rng.integers(1, 6, size=n_classes)
    train_labels = np.repeat(np.arange(n_classes), sizes)
    train = _normalise(
        np.repeat(centres, sizes, axis=0) + noise * rng.normal(size=(len(train_labels), dim))
    )
    val, val_labels = _queries(rng, centres, 60, noise, 0.5)
    test, test_labels = _queries(rng, centres, 80, noise, 0.5)
    return DescriptorSplits(train, train_labels, val, val_labels, test, test_labels)


def test_evaluate_knn_matches_tuning_then_prediction_by_hand():
    splits = _splits()
    result = evaluate_knn(splits, ks=KS, taus=TAUS)
    classifier = KNNClassifier(splits.train, splits.train_labels)
    tuning = tune_knn(
        classifier.neighbours(splits.val, 5), splits.val_labels, classifier.n_classes, KS, TAUS
    )
    assert (result.k, result.tau) == (tuning.k, tuning.tau)
    expected = classifier.predict(splits.test, tuning.k, tuning.tau).metrics(splits.test_labels)
    assert result.test_metrics == pytest.approx(expected)
    # Clustered queries are recognised well above chance.
    assert result.test_metrics["ACC"] > 0.8
    # The nearest neighbour's class is the prediction.
    np.testing.assert_array_equal(splits.train_labels[result.test_nearest], result.test_predictions)


def test_tuning_without_distractors_uses_only_met_queries():
    splits = _splits()
    result = evaluate_knn(splits, ks=KS, taus=TAUS, tune_without_distractors=True)
    met = splits.val_labels >= 0
    classifier = KNNClassifier(splits.train, splits.train_labels)
    tuning = tune_knn(
        classifier.neighbours(splits.val[met], 5),
        splits.val_labels[met],
        classifier.n_classes,
        KS,
        TAUS,
    )
    assert (result.k, result.tau) == (tuning.k, tuning.tau)


def test_keep_share_of_distractors_keeps_every_met_query_and_is_seeded():
    labels = np.array([-1, 3, -1, -1, 5, -1, -1, 2, -1, -1, -1, -1])
    n_distractors = int((labels == -1).sum())
    for share in (0.0, 0.25, 0.5, 1.0):
        keep = keep_share_of_distractors(labels, share, seed=1)
        assert set(np.flatnonzero(labels >= 0)) <= set(keep)
        assert (labels[keep] == -1).sum() == round(share * n_distractors)
        np.testing.assert_array_equal(keep, keep_share_of_distractors(labels, share, seed=1))
    assert keep_share_of_distractors(labels, 1.0).tolist() == list(range(len(labels)))
    with pytest.raises(ValueError, match="share"):
        keep_share_of_distractors(labels, 1.5)


def test_distractor_share_table_full_share_is_the_plain_evaluation():
    splits = _splits()
    table = distractor_share_table(splits, [0.0, 1.0], ks=KS, taus=TAUS)
    assert len(table) == 4
    full = table[(table["val_share"] == 1.0) & (table["test_share"] == 1.0)].iloc[0]
    result = evaluate_knn(splits, ks=KS, taus=TAUS)
    assert full["GAP"] == pytest.approx(result.test_metrics["GAP"])
    # Without distractors GAP equals GAP-; GAP- and ACC never depend on the share.
    none = table[table["test_share"] == 0.0]
    np.testing.assert_allclose(none["GAP"], none["GAP-"])
    for _, rows in table.groupby("val_share"):
        assert rows["ACC"].nunique() == 1
        assert rows["GAP-"].nunique() == 1
        # More distractors in the test set can only lower GAP.
        assert rows.sort_values("test_share")["GAP"].is_monotonic_decreasing


def test_dimension_sweep_caps_dimensions_by_the_data():
    splits = _splits(dim=12)
    table = dimension_sweep(splits, [2, 4, 12, 64, 512], ks=KS, taus=TAUS)
    assert table["dim"].tolist() == [2, 4, 12]
    full = evaluate_knn(splits.whitened(12), ks=KS, taus=TAUS)
    assert table.iloc[-1]["GAP"] == pytest.approx(full.test_metrics["GAP"])


def test_accuracy_by_training_images_bins_queries_by_their_class_size():
    train_labels = np.array([0, 1, 1, 2, 2, 2, 2, 3])  # class sizes 1, 2, 4, 1
    true = np.array([0, 1, 2, 3, -1, 2])
    pred = np.array([0, 2, 2, 1, 0, 0])
    table = accuracy_by_training_images(pred, true, train_labels, bins=(1, 2, 4))
    assert table["training_images"].tolist() == ["1", "2-3", "4+"]
    assert table["queries"].tolist() == [2, 1, 2]  # the distractor is not counted
    assert table["correct"].tolist() == [1, 0, 1]
    assert table["ACC"].tolist() == [0.5, 0.0, 0.5]


def test_subset_database_and_whitening_keep_queries():
    splits = _splits()
    keep = np.arange(0, len(splits.train), 2)
    smaller = splits.subset_database(keep)
    assert len(smaller.train) == len(keep)
    np.testing.assert_array_equal(smaller.test, splits.test)
    whitened = splits.whitened(8)
    assert whitened.train.shape[1] == 8
    np.testing.assert_allclose(np.linalg.norm(whitened.test, axis=1), 1.0, rtol=1e-5)
    assert evaluate(np.zeros(1, int), np.ones(1), np.array([-1]))["GAP"] == 0.0


def test_evaluate_knn_takes_an_index_choice():
    splits = _splits(seed=2)
    exact = evaluate_knn(splits, ks=KS, taus=TAUS)
    # Every cell probed: the IVF index finds the exact neighbours, so everything agrees.
    ivf = evaluate_knn(
        splits, ks=KS, taus=TAUS, index={"type": "ivf_flat", "nlist": 2, "nprobe": 2}
    )
    assert (ivf.k, ivf.tau, ivf.test_metrics) == (exact.k, exact.tau, exact.test_metrics)
    np.testing.assert_array_equal(ivf.test_nearest, exact.test_nearest)


def test_knn_stage_searches_exactly_unless_knn_met_index_says_otherwise():
    from artrec.pipelines.knn.nodes import _grid
    from artrec.retrieval.knn import IndexSpec

    params = {"ks": [1, 3], "taus": [1, 10]}
    assert _grid(params) == {"ks": [1, 3], "taus": [1.0, 10.0], "index": IndexSpec()}
    chosen = _grid({**params, "index": {"type": "ivf_pq", "nlist": 64, "pq_m": 16}})
    assert chosen["index"] == IndexSpec(type="ivf_pq", nlist=64, pq_m=16)
    with pytest.raises(ValueError, match="unknown index parameters"):
        _grid({**params, "index": {"kind": "flat"}})
