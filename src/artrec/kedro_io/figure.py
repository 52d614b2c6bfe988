"""A Kedro dataset for a figure: saved from a matplotlib Figure as PNG, loaded back as PNG bytes.

The report embeds figures, so it needs to load what earlier stages saved; kedro-datasets'
MatplotlibDataset is write-only.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on servers and CI
import matplotlib.pyplot as plt  # noqa: E402
from kedro.io import AbstractDataset, DatasetError  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from artrec.utils.atomic import atomic_write_bytes  # noqa: E402


class FigureDataset(AbstractDataset[Figure, bytes]):
    """A PNG file written from a matplotlib figure."""

    def __init__(self, filepath: str, dpi: int = 110, metadata: dict[str, Any] | None = None):
        self._filepath = Path(filepath)
        self._dpi = dpi
        self.metadata = metadata

    def _save(self, figure: Figure) -> None:
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=self._dpi, bbox_inches="tight")
        plt.close(figure)
        atomic_write_bytes(self._filepath, buffer.getvalue())

    def _load(self) -> bytes:
        if not self._filepath.is_file():
            raise DatasetError(
                f"Figure {self._filepath} does not exist; run the stage that makes it."
            )
        return self._filepath.read_bytes()

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "dpi": self._dpi}
