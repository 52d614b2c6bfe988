"""Kedro datasets for the Met retrieval artifacts: descriptor pickles and PCA whitenings."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
from kedro.io import AbstractDataset, DatasetError

from artrec.utils.atomic import atomic_write_bytes


class DescriptorPickleDataset(AbstractDataset[dict[str, np.ndarray], dict[str, np.ndarray]]):
    """Descriptors in the public Met layout: a pickle of ``{"train_descriptors": (N, D), ...}``.

    Written with the plain pickler (numpy arrays only); read back with the restricted loader of
    :mod:`artrec.retrieval.descriptors`, the same one ``artrec evaluate-descriptors`` uses, so
    our own output and a downloaded file go through one code path.
    """

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = Path(filepath)
        self.metadata = metadata

    def _save(self, descriptors: dict[str, np.ndarray]) -> None:
        arrays = {str(k): np.ascontiguousarray(v, dtype=np.float32) for k, v in descriptors.items()}
        atomic_write_bytes(self._filepath, pickle.dumps(arrays, protocol=4))

    def _load(self) -> dict[str, np.ndarray]:
        from artrec.retrieval.descriptors import load_descriptor_pickle

        if not self._filepath.is_file():
            raise DatasetError(f"{self._filepath} does not exist; run the embed stage first.")
        return load_descriptor_pickle(self._filepath)

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}


class WhiteningDataset(AbstractDataset[Any, Any]):
    """A :class:`~artrec.retrieval.whitening.PCAWhitening` as an ``.npz`` file (no pickles)."""

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = Path(filepath)
        self.metadata = metadata

    def _save(self, pcaw: Any) -> None:
        from artrec.retrieval.whitening import save_whitening

        save_whitening(pcaw, self._filepath)

    def _load(self) -> Any:
        from artrec.retrieval.whitening import load_whitening

        if not self._filepath.is_file():
            raise DatasetError(f"{self._filepath} does not exist; run the pcaw stage first.")
        return load_whitening(self._filepath)

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
