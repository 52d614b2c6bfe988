"""Kedro datasets specific to this project."""

from artrec.kedro_io.directory import DirectoryDataset
from artrec.kedro_io.figure import FigureDataset
from artrec.kedro_io.provenance import ProvenanceRecordsDataset
from artrec.kedro_io.retrieval import DescriptorPickleDataset, WhiteningDataset
from artrec.kedro_io.torch_state import TorchStateDataset

__all__ = [
    "DescriptorPickleDataset",
    "DirectoryDataset",
    "FigureDataset",
    "ProvenanceRecordsDataset",
    "TorchStateDataset",
    "WhiteningDataset",
]
