"""Getting a dataset's official files onto disk: resumable verified downloads, safe extraction."""

from artrec.ingest.archive import ArchiveError, UnsafeArchiveError, safe_extract
from artrec.ingest.download import ChecksumError, DownloadError, download, file_md5, partial_path
from artrec.ingest.sources import MAME_OFFICIAL_FILES, OfficialFile, fetch_from, fetch_official

__all__ = [
    "MAME_OFFICIAL_FILES",
    "ArchiveError",
    "ChecksumError",
    "DownloadError",
    "OfficialFile",
    "UnsafeArchiveError",
    "download",
    "fetch_from",
    "fetch_official",
    "file_md5",
    "partial_path",
    "safe_extract",
]
