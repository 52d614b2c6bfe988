import faiss
import numpy as np
import pytest

from artrec.retrieval.knn import (
    KNNClassifier,
    Neighbours,
    build_index,
    first_occurrence,
    knn_predict,
    neighbours_from_search,
    search,
    tune_knn,
)
from artrec.retrieval.metrics import evaluate


def _normalise(x):
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _clustered(seed=0, n_classes=40, n_queries=60, dim=16, noise=0.5):
    """Database of 1-4 images per class around class centres; queries: half Met, half
    distractors."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, dim))
    sizes = rng.integers(1, 5, size=n_classes)
    labels = np.repeat(np.arange(n_classes) * 10 + 100, sizes)  # non-contiguous class ids
    database = _normalise(
        np.repeat(centres, sizes, axis=0) + noise * rng.normal(size=(len(labels), dim))
    )
    query_class = rng.integers(0, n_classes, size=n_queries)
    queries = centres[query_class] + noise * rng.normal(size=(n_queries, dim))
    query_labels = query_class * 10 + 100
    distractor = rng.random(n_queries) < 0.5
    queries[distractor] = rng.normal(size=(distractor.sum(), dim))
    query_labels[distractor] = -1
    return database, labels, _normalise(queries), query_labels


def _public_predict(sims, nbr_labels, tau, n_classes):
    """Per-query confidence as in the public knn_classifier.py (float64 soft-max)."""
    preds, confs = [], []
    for i in range(len(sims)):
        unique = np.unique(nbr_labels[i])
        total = np.zeros(len(unique))
        for j in range(len(nbr_labels[i])):
            idx = np.where(unique == nbr_labels[i][j])[0]
            total[idx] = max(total[idx], sims[i][j])
        total = np.exp(tau * total)
        total /= total.sum() + (n_classes - total.shape[0]) * np.exp(0)
        preds.append(unique[total.argmax()])
        confs.append(total.max())
    return np.array(preds), np.array(confs)


def test_first_occurrence_matches_naive_scan():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 4, size=(50, 9))
    valid = rng.random((50, 9)) > 0.1
    got = first_occurrence(labels, valid)
    for q in range(50):
        seen = set()
        for j in range(9):
            expected = bool(valid[q, j]) and labels[q, j] not in seen
            if valid[q, j]:
                seen.add(labels[q, j])
            assert got[q, j] == expected


@pytest.mark.parametrize("k,tau", [(1, 1.0), (3, 15.0), (7, 50.0), (20, 0.01)])
def test_confidences_match_public_per_query_code(k, tau):
    database, labels, queries, _ = _clustered()
    classifier = KNNClassifier(database, labels, use_gpu=False)
    prediction = classifier.predict(queries, k, tau)
    sims, idx = search(classifier.index, queries, k)
    public_pred, public_conf = _public_predict(sims, labels[idx], tau, classifier.n_classes)
    np.testing.assert_array_equal(prediction.labels, public_pred)
    np.testing.assert_allclose(prediction.confidence, public_conf, rtol=1e-9, atol=0)
    np.testing.assert_allclose(np.exp(prediction.log_confidence), public_conf, rtol=1e-9)


def test_negative_similarities_count_as_absent_classes():
    neighbours = Neighbours(
        similarities=np.array([[0.5, -0.2, -0.4]], np.float32),
        labels=np.array([[1, 2, 3]]),
        valid=np.ones((1, 3), bool),
    )
    # Classes 2 and 3 score 0 like the 7 absent classes: rest = 9 exp(-tau 0.5).
    prediction = knn_predict(neighbours, k=3, tau=2.0, n_classes=10)
    assert prediction.confidence[0] == pytest.approx(1 / (1 + 9 * np.exp(-1.0)))


def test_log_confidence_does_not_saturate_at_large_tau():
    database, labels, queries, _ = _clustered(noise=0.05)
    classifier = KNNClassifier(database, labels, use_gpu=False)
    prediction = classifier.predict(queries, 5, 500.0)
    saturated = prediction.confidence == 1.0
    assert saturated.sum() >= 5  # the float64 soft-max cannot rank these queries
    # ... the log-domain key still separates them, in the order of the exact confidence.
    keys = prediction.log_confidence[saturated]
    assert np.all(keys < 0)
    assert len(np.unique(keys)) == len(keys)


def test_tuning_grid_equals_independent_searches_per_grid_point():
    database, labels, queries, query_labels = _clustered(seed=3)
    classifier = KNNClassifier(database, labels, use_gpu=False)
    ks, taus = [1, 2, 5, 10], [0.1, 10.0, 500.0]
    tuning = classifier.tune(queries, query_labels, ks=ks, taus=taus)
    assert list(zip(tuning.grid["k"], tuning.grid["tau"], strict=True)) == [
        (k, t) for k in ks for t in taus
    ]
    for row in tuning.grid.to_dict("records"):
        # A fresh search at this k (what the public code does for each grid point).
        expected = classifier.predict(queries, row["k"], row["tau"]).metrics(query_labels)
        assert {key: row[key] for key in ("GAP", "GAP-", "ACC")} == expected
    best = tuning.grid["GAP"].max()
    assert tuning.grid.query("k == @tuning.k and tau == @tuning.tau")["GAP"].item() == best


def test_tuning_ties_go_to_smallest_k_then_smallest_tau():
    database, labels, queries, _ = _clustered(seed=4)
    # All validation queries are distractors: GAP is 0 for every grid point.
    tuning = KNNClassifier(database, labels, use_gpu=False).tune(
        queries, np.full(len(queries), -1), ks=[3, 1, 2], taus=[5.0, 0.1]
    )
    assert (tuning.grid["GAP"] == 0).all()
    assert (tuning.k, tuning.tau) == (1, 0.1)


def test_database_smaller_than_k_uses_every_image():
    database, labels, queries, query_labels = _clustered(n_classes=3)
    classifier = KNNClassifier(database, labels, use_gpu=False)
    assert classifier.index.ntotal < 50
    tuning = classifier.tune(queries, query_labels, ks=[1, 50], taus=[1.0])
    prediction = classifier.predict(queries, 50, 1.0)
    assert (
        tuning.grid.iloc[-1]["GAP"]
        == evaluate(prediction.labels, prediction.confidence, query_labels, prediction.rank_key)[
            "GAP"
        ]
    )


def test_missing_neighbours_are_ignored():
    sims = np.array([[0.9, 0.5, -3e38]], np.float32)
    idx = np.array([[0, 1, -1]])
    neighbours = neighbours_from_search(sims, idx, np.array([7, 8]))
    assert neighbours.valid.tolist() == [[True, True, False]]
    prediction = knn_predict(neighbours, 3, 1.0, n_classes=2)
    assert prediction.confidence[0] == pytest.approx(np.exp(0.9) / (np.exp(0.9) + np.exp(0.5)))


def test_ivf_index_with_all_lists_probed_is_exact():
    database, labels, queries, _ = _clustered(n_classes=200, dim=8)
    flat = build_index(database, use_gpu=False)
    ivf = build_index(database, use_gpu=False, ivf_nlist=4, ivf_nprobe=4)
    flat_sims, flat_idx = search(flat, queries, 5)
    ivf_sims, ivf_idx = search(ivf, queries, 5)
    np.testing.assert_allclose(ivf_sims, flat_sims, rtol=1e-5)
    assert isinstance(ivf, faiss.IndexIVFFlat)


@pytest.mark.skipif(faiss.get_num_gpus() == 0, reason="needs a GPU for FAISS")
def test_gpu_index_matches_cpu():
    database, labels, queries, _ = _clustered()
    cpu_sims, _ = search(build_index(database, use_gpu=False), queries, 5)
    gpu_sims, _ = search(build_index(database, use_gpu=True), queries, 5)
    np.testing.assert_allclose(gpu_sims, cpu_sims, rtol=1e-4, atol=1e-5)


def test_rejects_mismatched_labels():
    with pytest.raises(ValueError, match="labels"):
        KNNClassifier(np.zeros((3, 4), np.float32), np.arange(2), use_gpu=False)


def test_tune_knn_accepts_precomputed_neighbours():
    database, labels, queries, query_labels = _clustered(seed=5)
    classifier = KNNClassifier(database, labels, use_gpu=False)
    neighbours = classifier.neighbours(queries, 10)
    tuning = tune_knn(neighbours, query_labels, classifier.n_classes, ks=[10], taus=[20.0])
    assert (tuning.k, tuning.tau) == (10, 20.0)
    assert 0.0 <= tuning.grid["GAP"].item() <= 1.0


def test_search_blocking_gives_default_results_and_restores_faiss_setting():
    database, _, queries, _ = _clustered(n_classes=400, dim=32)
    index = build_index(database, use_gpu=False)
    before = faiss.cvar.distance_compute_blas_database_bs
    sims, idx = search(index, queries, 5, blas_database_rows=64)
    assert faiss.cvar.distance_compute_blas_database_bs == before
    default_sims, default_idx = index.search(queries, 5)
    np.testing.assert_array_equal(sims, default_sims)
    np.testing.assert_array_equal(idx, default_idx)
