"""Kedro datasets specific to this project."""

from artrec.kedro_io.directory import DirectoryDataset
from artrec.kedro_io.figure import FigureDataset

__all__ = ["DirectoryDataset", "FigureDataset"]
