"""A Kedro dataset for a model's ``state_dict`` (written atomically, read with weights_only)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from artrec.utils.atomic import atomic_write_bytes


class TorchStateDataset(AbstractDataset[dict[str, Any], dict[str, Any]]):
    """A ``.pt`` file holding a mapping of tensors (and plain values)."""

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None):
        self._filepath = Path(filepath)
        self.metadata = metadata

    def _save(self, state: dict[str, Any]) -> None:
        import torch  # imported here: the catalog loads this module in every stage

        buffer = io.BytesIO()
        torch.save(state, buffer)
        atomic_write_bytes(self._filepath, buffer.getvalue())

    def _load(self) -> dict[str, Any]:
        if not self._filepath.is_file():
            raise DatasetError(
                f"Model {self._filepath} does not exist; run the stage that makes it."
            )
        import torch

        # weights_only: a model file is data, never code.
        return torch.load(self._filepath, map_location="cpu", weights_only=True)

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
