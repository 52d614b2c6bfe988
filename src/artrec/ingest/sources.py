"""Declarative description of a dataset's official files, and fetching them from a source.

A *source* says where the official files come from; ``fetch_from`` tells the kinds apart by this
rule, applied in order:

1. ``"official"``: the URLs published by the dataset's authors (``OfficialFile.url``).
2. A string with a URL scheme (``http://``, ``https://``, ``file://``): a base URL (a mirror)
   serving the official file names, fetched as ``<source>/<name>``; md5 sums are still checked.
3. Anything else is a local folder. For each official file, in this order:
   a. the archive itself, ``<folder>/<name>``: its md5 is checked, then it is extracted from
      where it is (not copied);
   b. the content it unpacks to, already unpacked: every path in ``OfficialFile.contents`` is in
      the folder. Those paths are hard-linked (same filesystem) or copied into ``extract_to``.
      No checksum is possible here: the published md5 is that of the archive.
   Neither -> ``FileNotFoundError`` naming the folder, the archive and the content looked for.

The source is only ever read. Downloaded archives are kept in ``dest_dir`` (a re-run finds them);
after a successful extraction a marker ``extract_to/.<name>.extracted`` holding the archive's md5
lets later runs skip both download and extraction, even once the archive has been deleted to
save space. Delete the marker to force a fresh extraction.

The ingest stage returns its raw folder as lazy partitions (``artrec.utils.partitions``), but an
archive is not a list of independent files: a ``.tar.gz`` member can only be read by
decompressing everything before it, and extraction has to check the whole member list first. So
the partition is one archive, not one member: :func:`fetched_partitions` is the callable the
ingest node returns, evaluated when the folder is saved. It fetches each official file into its
own cache folder ``<dest_dir>/unpacked/<name>/`` (downloaded, md5-checked, safely extracted,
all resumable as above) and returns the top-level entries found there as paths; the folder's
dataset hard-links them into place (copies across filesystems), so the unpacked files take no
second copy on disk. Delete ``<dest_dir>/unpacked`` to reclaim the space once the raw folder has
been replaced or removed.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from artrec.errors import BadInputError, MissingInputError
from artrec.ingest.archive import DEFAULT_MAX_TOTAL_BYTES, safe_extract
from artrec.ingest.download import ChecksumError, download, file_md5
from artrec.utils.atomic import atomic_write_text
from artrec.utils.partitions import link_or_copy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OfficialFile:
    """One file published with a dataset.

    ``extract``: unpack it into the extraction folder (an archive) or place it there as is.
    ``contents``: top-level paths the archive unpacks to; a local folder holding all of them is
    recognised as an already-unpacked copy.
    ``md5``: the published checksum, or None where the authors publish none (then the download
    is only checked for completeness against its announced length).
    ``into``: sub-folder of the extraction folder that the file unpacks into ("" = the folder).
    ``optional_in_folder``: a local folder may lack this file (e.g. the MAMe metadata without
    its 90 GB of images: curation and its statistics still run); downloads always fetch it.
    ``max_unpacked_bytes``: extraction refuses an archive declaring (or inflating to) more; a few
    times the real size, so that a bomb under the official name is stopped early.
    """

    name: str
    url: str
    md5: str | None
    extract: bool = True
    contents: tuple[str, ...] = ()
    into: str = ""
    optional_in_folder: bool = False
    max_unpacked_bytes: int = DEFAULT_MAX_TOTAL_BYTES


_GIB = 1 << 30


MAME_OFFICIAL_FILES: tuple[OfficialFile, ...] = (
    OfficialFile(
        name="MAMe_metadata.zip",
        url="https://storage.hpai.bsc.es/mame-dataset/MAMe_metadata.zip",
        md5="0bca980978e3883f753f01ccad955981",
        contents=("MAMe_dataset.csv", "MAMe_labels.csv", "MAMe_toy_dataset.csv"),
        max_unpacked_bytes=_GIB,  # about 4 MB of CSV
    ),
    OfficialFile(
        name="MAMe_data.zip",
        url="https://storage.hpai.bsc.es/mame-dataset/MAMe_data.zip",
        md5="39b11ef14dba807faf284f74ec2576d3",
        contents=("data",),
        optional_in_folder=True,
        max_unpacked_bytes=256 * _GIB,  # about 90 GB of images
    ),
)


# The Met (http://cmp.felk.cvut.cz/met/): image tars unpack to their own folder (MET/,
# test_met/, ...) under images/, the ground truth tar to the JSON files. The authors publish no
# checksums, so md5 is None: put a known md5 here once you have verified a copy.
_MET_BASE = "http://ptak.felk.cvut.cz/met/dataset"
MET_OFFICIAL_FILES: tuple[OfficialFile, ...] = (
    OfficialFile(
        name="ground_truth.tar.gz",
        url=f"{_MET_BASE}/ground_truth.tar.gz",
        md5=None,
        contents=("MET_database.json", "mini_MET_database.json", "valset.json", "testset.json"),
        max_unpacked_bytes=4 * _GIB,  # tens of MB of JSON
    ),
    *(
        OfficialFile(
            name=f"{folder}.tar.gz",
            url=f"{_MET_BASE}/{folder}.tar.gz",
            md5=None,
            contents=(folder,),
            into="images",
            max_unpacked_bytes=256 * _GIB,  # the exhibit images are tens of GB
        )
        for folder in ("MET", "test_met", "test_other", "test_noart")
    ),
)


# The Rijksmuseum Challenge (layout and record format: artrec.datasets.rijksmuseum). The archive
# names are NOT verified and no checksums are published, so there is no scripted download
# (source 'official' is refused with instructions); a local folder holding these archives, or
# their unpacked jpg2/ and xml2/, is read. The Antwerp collection uses the same declaration.
RIJKSMUSEUM_PAGE = "https://staff.fnwi.uva.nl/t.e.j.mensink/uva12/rijks/"
RIJKSMUSEUM_OFFICIAL_FILES: tuple[OfficialFile, ...] = tuple(
    OfficialFile(
        name=f"{folder}.tar",
        url=f"{RIJKSMUSEUM_PAGE}{folder}.tar",
        md5=None,
        contents=(folder,),
        max_unpacked_bytes=64 * _GIB,  # 112,039 photographs
    )
    for folder in ("jpg2", "xml2")
)


def fetch_official(
    files: tuple[OfficialFile, ...] | list[OfficialFile],
    dest_dir: Path,
    extract_to: Path,
    *,
    progress: bool = True,
) -> Path:
    """Download each file from its official URL into ``dest_dir`` and unpack it into ``extract_to``.

    Downloads resume and are md5-checked (see ``download``); extraction is safe and resumable
    (see ``safe_extract``). Returns ``extract_to``.
    """
    for official in files:
        _fetch_one(official, official.url, Path(dest_dir), Path(extract_to), progress)
    return Path(extract_to)


def fetch_from(
    source: str,
    files: tuple[OfficialFile, ...] | list[OfficialFile],
    dest_dir: Path,
    extract_to: Path,
    *,
    progress: bool = True,
) -> Path:
    """Fetch ``files`` from ``source`` (see the module docstring for the rule) into ``extract_to``.

    Returns ``extract_to``.
    """
    dest_dir, extract_to = Path(dest_dir), Path(extract_to)
    if source == "synthetic":
        raise BadInputError(
            "data source 'synthetic'",
            "is generated by the ingest stage, not fetched",
            "run the ingest stage, or call the synthetic generators",
        )
    if source == "official":
        return fetch_official(files, dest_dir, extract_to, progress=progress)
    if len(urlsplit(source).scheme) > 1:  # one letter would be a Windows drive
        base = source.rstrip("/")
        for official in files:
            _fetch_one(official, f"{base}/{official.name}", dest_dir, extract_to, progress)
        return extract_to
    folder = Path(source).expanduser()
    if not folder.is_dir():
        raise MissingInputError(
            source,
            "the data source is not 'official', a URL, or an existing folder",
            "set data.<dataset>.source in params.yaml to 'synthetic', 'official', an http(s) "
            "URL or an existing folder",
        )
    for official in files:
        _fetch_from_folder(official, folder, extract_to)
    return extract_to


def fetched_partitions(
    source: str, files: tuple[OfficialFile, ...] | list[OfficialFile], dest_dir: Path
) -> dict[str, Path]:
    """Fetch ``files`` from ``source`` into ``dest_dir/unpacked/<name>/`` (:func:`fetch_from`,
    resumable) and return what each unpacked to: relative path in the dataset folder -> path.

    An optional file missing from a local folder contributes nothing.
    """
    entries: dict[str, Path] = {}
    for official in files:
        unpacked = Path(dest_dir) / "unpacked" / official.name
        fetch_from(source, (official,), Path(dest_dir), unpacked, progress=False)
        root = unpacked / official.into
        if not root.is_dir():
            continue
        for path in sorted(root.iterdir()):
            if path.name == _marker(official, unpacked).name:
                continue
            key = f"{official.into}/{path.name}" if official.into else path.name
            if key in entries:
                raise BadInputError(
                    path,
                    f"{official.name} unpacks {key}, which another official file unpacks too",
                    "correct the file declarations in src/artrec/ingest/sources.py",
                )
            entries[key] = path
    return entries


def _marker(official: OfficialFile, extract_to: Path) -> Path:
    return extract_to / f".{official.name}.extracted"


def _is_done(official: OfficialFile, extract_to: Path) -> bool:
    marker = _marker(official, extract_to)
    return marker.is_file() and marker.read_text().strip() == str(official.md5)


def _fetch_one(
    official: OfficialFile, url: str, dest_dir: Path, extract_to: Path, progress: bool
) -> None:
    if _is_done(official, extract_to):
        log.info("%s already in %s; skipped", official.name, extract_to)
        return
    archive = download(url, dest_dir / official.name, official.md5, progress=progress)
    _unpack(official, archive, extract_to)


def _unpack(official: OfficialFile, archive: Path, extract_to: Path) -> None:
    target = extract_to / official.into
    if official.extract:
        safe_extract(archive, target, max_total_bytes=official.max_unpacked_bytes)
    else:
        link_or_copy(archive, target / official.name)
    atomic_write_text(_marker(official, extract_to), f"{official.md5}\n")


def _fetch_from_folder(official: OfficialFile, folder: Path, extract_to: Path) -> None:
    archive = folder / official.name
    if archive.is_file():
        if _is_done(official, extract_to):
            return
        actual = file_md5(archive)
        if official.md5 is not None and actual != official.md5:
            raise ChecksumError(
                archive,
                f"checksum mismatch: expected md5 {official.md5}, got {actual} (the file was "
                "left as it is)",
                f"replace it with a correct copy from {official.url}",
            )
        _unpack(official, archive, extract_to)
        return
    # An unpacked copy is looked for where the archive would put it, or at the folder's top.
    base = folder / official.into if (folder / official.into).is_dir() else folder
    missing = [c for c in official.contents if not (base / c).exists()]
    if official.contents and not missing:
        for content in official.contents:
            _link_or_copy_tree(base / content, extract_to / official.into / content, folder)
        log.info("Used the unpacked content of %s found in %s", official.name, folder)
        return
    if official.optional_in_folder:
        log.warning(
            "%s holds neither %s nor its unpacked content; continuing without it (stages that "
            "need it will fail; md5 %s, from %s)",
            folder,
            official.name,
            official.md5,
            official.url,
        )
        return
    looked_for = f" nor its unpacked content (missing: {', '.join(missing)})" if missing else ""
    raise MissingInputError(
        folder,
        f"holds neither {official.name}{looked_for}",
        f"place the official file (md5 {official.md5}, from {official.url}) there, or use "
        "source 'official'",
    )


def _link_or_copy_tree(source: Path, dest: Path, folder: Path) -> None:
    """Copy ``source`` (a file or a folder) to ``dest``, refusing links inside it that lead out.

    ``source`` itself may be a link (images kept on another disk); what it holds may not point
    outside it, so a crafted folder cannot pull other files of the machine into the dataset.
    """
    if not source.is_dir():
        link_or_copy(_inside(source, source.resolve().parent, folder), dest)
        return
    root = source.resolve()
    for dirpath, dirnames, filenames in os.walk(source):
        for dirname in dirnames:
            # os.walk lists a linked folder but does not enter it: its files would be missed
            # without a word.
            if (Path(dirpath) / dirname).is_symlink():
                raise BadInputError(
                    Path(dirpath) / dirname,
                    "is a symbolic link to a folder, which is not followed",
                    "replace the link with the folder itself",
                )
        for filename in filenames:
            path = Path(dirpath) / filename
            link_or_copy(_inside(path, root, folder), dest / path.relative_to(source))


def _inside(path: Path, root: Path, folder: Path) -> Path:
    """``path`` when it (through any link) is a regular file inside ``root``; else an error."""
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        raise BadInputError(
            path,
            f"leads to {resolved}, outside {root} (a symbolic link?)",
            f"copy the file itself into the data source {folder}",
        )
    if not resolved.is_file():
        raise BadInputError(
            path, "is not a regular file (a broken link, a device?)", "replace it with the file"
        )
    return path
