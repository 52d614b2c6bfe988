import json
import os
import pickle

import numpy as np
import pytest

from artrec.datasets.met import MetGroundTruthError, load_met_ground_truth
from artrec.retrieval.descriptors import (
    evaluate_descriptor_sets,
    evaluate_descriptors,
    load_descriptor_pickle,
)
from artrec.retrieval.knn import DEFAULT_KS, DEFAULT_TAUS, KNNClassifier


class _RunsShell:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _CallsEval:
    def __reduce__(self):
        return (eval, ("1 + 1",))


def test_malicious_pickle_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "descriptors.pkl"
    payload = {"train_descriptors": np.zeros((2, 3), np.float32), "x": _RunsShell(marker)}
    path.write_bytes(pickle.dumps(payload))
    with pytest.raises(
        pickle.UnpicklingError, match=r"refusing to load global '(posix|os)\.system'"
    ):
        load_descriptor_pickle(path)
    assert not marker.exists()

    for protocol in (2, 5):
        path.write_bytes(pickle.dumps([_CallsEval()], protocol=protocol))
        with pytest.raises(pickle.UnpicklingError, match=r"(__builtin__|builtins)\.eval"):
            load_descriptor_pickle(path)


def test_python2_style_container_globals_are_mapped(tmp_path):
    path = tmp_path / "sets.pkl"
    path.write_bytes(pickle.dumps({"a": np.ones(2), "s": {1, 2}}, protocol=2))
    with pytest.raises(ValueError, match="'s' is not a numeric array"):
        load_descriptor_pickle(path)  # the set itself was unpickled, then rejected as non-array


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_numpy_array_pickles_load_for_every_protocol(tmp_path, protocol):
    rng = np.random.default_rng(0)
    data = {
        "train_descriptors": rng.random((5, 4)).astype(np.float32),
        "val_descriptors": rng.random((2, 4)),  # float64 becomes float32
        "test_descriptors": np.asfortranarray(rng.random((3, 4)).astype(np.float32)),
    }
    path = tmp_path / "descriptors.pkl"
    path.write_bytes(pickle.dumps(data, protocol=protocol))
    loaded = load_descriptor_pickle(path)
    assert set(loaded) == set(data)
    for key, value in data.items():
        assert loaded[key].dtype == np.float32
        np.testing.assert_allclose(loaded[key], value, rtol=1e-6)


def test_numpy1_module_names_are_accepted(tmp_path):
    blob = pickle.dumps({"a": np.arange(6, dtype=np.float32).reshape(2, 3)}, protocol=2)
    old_style = blob.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert old_style != blob
    path = tmp_path / "old.pkl"
    path.write_bytes(old_style)
    np.testing.assert_array_equal(load_descriptor_pickle(path)["a"], np.arange(6).reshape(2, 3))


def test_non_numeric_content_is_rejected(tmp_path):
    path = tmp_path / "strings.pkl"
    path.write_bytes(pickle.dumps({"train_descriptors": ["a", "b"]}))
    with pytest.raises(ValueError, match="train_descriptors"):
        load_descriptor_pickle(path)


def _met_like(tmp_path, seed=0, n_classes=60, dim=24):
    """Ground-truth JSON files in the official format and descriptors in their order."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, dim))
    ids = rng.permutation(10_000)[:n_classes]
    sizes = rng.integers(1, 4, size=n_classes)
    train_labels = np.repeat(ids, sizes)
    train = np.repeat(centres, sizes, axis=0) + 0.6 * rng.normal(size=(len(train_labels), dim))

    def queries(n, split):
        cls = rng.integers(0, n_classes, size=n)
        x = centres[cls] + 0.6 * rng.normal(size=(n, dim))
        distractor = rng.random(n) < 0.6
        x[distractor] = rng.normal(size=(distractor.sum(), dim))
        entries = [
            {"path": f"{split}_other/{i}.jpg"}
            if distractor[i]
            else {"path": f"{split}/{i}.jpg", "MET_id": int(ids[c])}
            for i, c in enumerate(cls)
        ]
        return x, entries

    val, val_entries = queries(50, "val")
    test, test_entries = queries(80, "test")
    database = [{"id": int(c), "path": f"{c}/{i}.jpg"} for i, c in enumerate(train_labels)]
    (tmp_path / "MET_database.json").write_text(json.dumps(database))
    (tmp_path / "valset.json").write_text(json.dumps(val_entries))
    (tmp_path / "testset.json").write_text(json.dumps(test_entries))

    def norm(x):
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)

    return {
        "train_descriptors": norm(train),
        "val_descriptors": norm(val),
        "test_descriptors": norm(test),
    }


@pytest.mark.parametrize("raw", [True, False])
def test_evaluate_descriptors_tunes_on_val_and_reports_test(tmp_path, raw):
    descriptors = _met_like(tmp_path)
    result = evaluate_descriptors(descriptors, tmp_path, autotune=True, dim=16, raw=raw)
    assert set(result) == {"GAP", "GAP-", "ACC", "k", "tau"}
    assert result["k"] in DEFAULT_KS and result["tau"] in DEFAULT_TAUS
    assert 0 < result["ACC"] <= 1 and 0 < result["GAP"] <= result["GAP-"] + 1e-12

    # Fixed (k, tau) without tuning reproduces the test metrics of the tuned pair.
    fixed = evaluate_descriptors(
        descriptors, tmp_path, autotune=False, k=result["k"], tau=result["tau"], dim=16, raw=raw
    )
    assert fixed == result


def test_tuned_pair_is_the_best_validation_pair(tmp_path):
    descriptors = _met_like(tmp_path, seed=1)
    truth = load_met_ground_truth(tmp_path, check_images=False)
    evaluation = evaluate_descriptor_sets(
        descriptors["train_descriptors"],
        truth.train_ids,
        descriptors["val_descriptors"],
        truth.val_ids,
        descriptors["test_descriptors"],
        truth.test_ids,
        raw=True,
    )
    assert evaluation.grid is not None and len(evaluation.grid) == 9 * 12
    assert evaluation.val_metrics["GAP"] == evaluation.grid["GAP"].max()
    classifier = KNNClassifier(descriptors["train_descriptors"], truth.train_ids, use_gpu=False)
    direct = classifier.predict(descriptors["test_descriptors"], evaluation.k, evaluation.tau)
    assert evaluation.metrics == direct.metrics(truth.test_ids)


def test_bad_inputs_are_named(tmp_path):
    descriptors = _met_like(tmp_path)
    with pytest.raises(KeyError, match="test_descriptors"):
        evaluate_descriptors({"train_descriptors": descriptors["train_descriptors"]}, tmp_path)
    short = {**descriptors, "val_descriptors": descriptors["val_descriptors"][:-1]}
    with pytest.raises(ValueError, match="val descriptors"):
        evaluate_descriptors(short, tmp_path)
    with pytest.raises(ValueError, match="k and tau"):
        evaluate_descriptors(descriptors, tmp_path, autotune=False)
    with pytest.raises(MetGroundTruthError, match="mini_MET_database.json"):
        evaluate_descriptors(descriptors, tmp_path, database="mini_MET_database.json")
