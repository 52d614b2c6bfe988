import pickle

import numpy as np
import pytest
from kedro.io import DatasetError

from artrec.kedro_io import DescriptorPickleDataset, WhiteningDataset
from artrec.retrieval.whitening import learn_pca_whitening


def test_descriptor_pickle_round_trip_in_the_public_layout(tmp_path):
    path = tmp_path / "descriptors.pkl"
    data = {
        "train_descriptors": np.random.default_rng(0).normal(size=(5, 4)),
        "val_descriptors": np.zeros((2, 4), np.float32),
        "test_descriptors": np.ones((3, 4), np.float32),
    }
    dataset = DescriptorPickleDataset(str(path))
    dataset.save(data)
    # Plain pickle of numpy arrays, as the published descriptors.pkl.
    with path.open("rb") as handle:
        assert set(pickle.load(handle)) == set(data)
    loaded = dataset.load()
    assert loaded["train_descriptors"].dtype == np.float32
    np.testing.assert_allclose(loaded["train_descriptors"], data["train_descriptors"], rtol=1e-6)
    assert [f.name for f in tmp_path.iterdir()] == ["descriptors.pkl"]  # no temporary left


def test_descriptor_pickle_refuses_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"train_descriptors": Evil()}))
    with pytest.raises(DatasetError, match="refusing to load global .builtins.print"):
        DescriptorPickleDataset(str(path)).load()


def test_whitening_round_trip(tmp_path):
    x = np.random.default_rng(1).normal(size=(50, 6)).astype(np.float32)
    pcaw = learn_pca_whitening(x, dim=3)
    dataset = WhiteningDataset(str(tmp_path / "pcaw.npz"))
    dataset.save(pcaw)
    loaded = dataset.load()
    np.testing.assert_array_equal(loaded.projection, pcaw.projection)
    np.testing.assert_array_equal(loaded.mean, pcaw.mean)
