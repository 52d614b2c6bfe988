import faiss
import numpy as np
import pytest

from artrec.retrieval.knn import (
    IndexSpec,
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
    ivf = build_index(database, {"type": "ivf_flat", "nlist": 4, "nprobe": 4}, use_gpu=False)
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


# ---------------------------------------------------------------------------------------------
# Index choice


def _exact_neighbours(database, queries, k):
    """Today's exact search, written directly with FAISS (the reference for the flat spec)."""
    index = faiss.IndexFlatIP(database.shape[1])
    index.add(database)
    return search(index, queries, k)


def _recall(approximate, exact):
    k = exact.shape[1]
    return np.mean([len(set(a) & set(e)) / k for a, e in zip(approximate, exact, strict=True)])


def test_flat_spec_gives_todays_exact_results_bit_for_bit(tmp_path):
    database, _, queries, _ = _clustered(n_classes=300, dim=32)
    expected = _exact_neighbours(database, queries, 10)
    np.save(tmp_path / "database.npy", database)
    mapped = np.load(tmp_path / "database.npy", mmap_mode="r")
    for source, spec in (
        (database, None),
        (database, {}),
        (database, {"type": "flat"}),
        # Added block by block: a memory map, and an array that needs converting to float32.
        (mapped, {"type": "flat", "add_rows": 37}),
        (database.astype(np.float64), {"add_rows": 100}),
    ):
        got = search(build_index(source, spec, use_gpu=False), queries, 10)
        np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_array_equal(got[1], expected[1])


@pytest.mark.parametrize(
    "spec,min_recall",
    [
        ({"type": "ivf_flat", "nlist": 16, "nprobe": 8}, 0.85),
        ({"type": "ivf_pq", "nlist": 16, "nprobe": 8, "pq_m": 8}, 0.6),
    ],
)
def test_ivf_recall_against_exact_search(spec, min_recall):
    # Clustered data, as descriptors are: the nearest cells hold the nearest neighbours.
    database, _, queries, _ = _clustered(seed=6, n_classes=600, n_queries=200, dim=32, noise=0.3)
    _, exact = _exact_neighbours(database, queries, 10)
    index = build_index(database, {**spec, "add_rows": 500}, use_gpu=False)
    assert index.ntotal == len(database)
    _, approximate = search(index, queries, 10)
    assert _recall(approximate, exact) >= min_recall
    assert _recall(approximate, exact) < 1.0  # the test would not notice an exact search
    # Probing every cell makes IVF-Flat exact; IVF-PQ stays approximate (compressed vectors).
    faiss.extract_index_ivf(index).nprobe = 16
    _, all_cells = search(index, queries, 10)
    if spec["type"] == "ivf_flat":
        assert _recall(all_cells, exact) == 1.0
    assert _recall(all_cells, exact) >= _recall(approximate, exact)


def test_ivf_pq_needs_a_training_vector_per_code():
    database, _, _, _ = _clustered(n_classes=20)
    with pytest.raises(ValueError, match="256 training vectors"):
        build_index(database, {"type": "ivf_pq", "nlist": 2, "pq_m": 8}, use_gpu=False)


def test_index_spec_from_params_and_its_factory_strings():
    assert IndexSpec.from_params(None) == IndexSpec() == IndexSpec.from_params({})
    assert IndexSpec().factory_string(512, 397_121) == "Flat"
    ivf = IndexSpec.from_params({"type": "ivf_flat", "nprobe": 8})
    # About 4 sqrt(N) cells as a power of two, at most N / 39.
    assert ivf.lists_for(397_121) == 2048 and ivf.lists_for(1_000) == 25
    assert ivf.factory_string(512, 397_121) == "IVF2048,Flat"
    pq = IndexSpec(type="ivf_pq", nlist=1024, pq_m=32)
    assert pq.factory_string(512, 10**6) == "IVF1024,PQ32x8np"
    assert IndexSpec(type="ivf_pq", nlist=8).factory_string(512, 10**6) == "IVF8,PQ64x8np"
    assert pq.train_rows(10**6) == 64 * 1024 and pq.train_rows(50_000) == 50_000
    assert IndexSpec(type="ivf_pq", nlist=16).train_rows(10**6) == 64 * 256  # PQ codebooks
    with pytest.raises(ValueError, match="does not divide"):
        IndexSpec(type="ivf_pq", pq_m=48).factory_string(512, 10**6)
    with pytest.raises(ValueError, match="does not divide"):
        IndexSpec(type="ivf_pq").factory_string(100, 10**6)
    with pytest.raises(ValueError, match="unknown index parameters \\['nlists'\\]"):
        IndexSpec.from_params({"type": "ivf_flat", "nlists": 4})
    with pytest.raises(ValueError, match="not one of"):
        IndexSpec(type="hnsw")
    with pytest.raises(ValueError, match="nprobe"):
        IndexSpec(nprobe=0)
    with pytest.raises(ValueError, match="gpu"):
        IndexSpec(gpu="yes")


@pytest.mark.skipif(faiss.get_num_gpus() > 0, reason="checks the CPU-only behaviour")
def test_gpu_required_without_gpu_is_an_error_and_auto_stays_on_cpu():
    database, _, _, _ = _clustered()
    assert type(build_index(database, {"gpu": "auto"})) is faiss.IndexFlat  # not GPU shards
    with pytest.raises(RuntimeError, match="no GPU"):
        build_index(database, {"gpu": True})


def test_search_in_query_chunks_equals_one_search():
    database, _, queries, _ = _clustered(n_classes=300, dim=32, n_queries=101)
    index = build_index(database, use_gpu=False)
    whole = search(index, queries, 7)
    chunked = search(index, queries, 7, query_rows=10)
    np.testing.assert_array_equal(chunked[0], whole[0])
    np.testing.assert_array_equal(chunked[1], whole[1])


def test_classifier_over_an_index_built_elsewhere():
    database, labels, queries, _ = _clustered(seed=2)
    built = KNNClassifier(database, labels, use_gpu=False)
    wrapped = KNNClassifier.from_index(build_index(database, use_gpu=False), labels)
    assert wrapped.n_classes == built.n_classes
    a, b = built.predict(queries, 5, 10.0), wrapped.predict(queries, 5, 10.0)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.confidence, b.confidence)
    with pytest.raises(ValueError, match="labels"):
        KNNClassifier.from_index(built.index, labels[:-1])


def test_tune_and_predict_is_tuning_then_a_search_at_the_chosen_k():
    database, labels, queries, query_labels = _clustered(seed=7, n_queries=120)
    val, val_labels, test = queries[:60], query_labels[:60], queries[60:]
    classifier = KNNClassifier(database, labels, use_gpu=False)
    result = classifier.tune_and_predict(val, val_labels, test, ks=[1, 3, 10], taus=[1.0, 50.0])
    tuning = classifier.tune(val, val_labels, ks=[1, 3, 10], taus=[1.0, 50.0])
    assert (result.k, result.tau) == (tuning.k, tuning.tau)
    assert result.tuning.val_metrics == tuning.grid["GAP"].pipe(
        lambda gap: tuning.grid.loc[gap.idxmax(), ["GAP", "GAP-", "ACC"]].to_dict()
    )
    expected = classifier.predict(test, tuning.k, tuning.tau)
    np.testing.assert_array_equal(result.test.labels, expected.labels)
    np.testing.assert_array_equal(result.test.log_confidence, expected.log_confidence)
