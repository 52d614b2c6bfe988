"""The Rijksmuseum Challenge 2014 on disk: every assumption about its format, in one place.

The collection (Mensink and van Gemert, "The Rijksmuseum Challenge: Museum-Centered Visual
Recognition", ICMR 2014; https://staff.fnwi.uva.nl/t.e.j.mensink/uva12/rijks/) is one JPEG and
one XML metadata file per object. The transfer-learning paper (Sabatelli et al. 2018) derives
three labels from the metadata, shown in its table ``ImageId, dc_creator, dc_materiaal,
dc_type`` (e.g. ``0000004_RP-P-1992-35, " Coornhert, Dirck Volckertsz", papier, prent``).

Layout (``root`` is the folder ``data.rijksmuseum.source`` names, or the synthetic one)::

    root/jpg2/0000001.jpg     the object's photograph, named by a running number
    root/xml2/0000001.xml     its metadata: one OAI-PMH record, same number

What is confirmed and what is assumed:

- ``jpg2/`` holding the images as ``<number>.jpg``: public code that reads the official files
  pairs ``sorted(glob("jpg2/*.jpg"))`` with the ground truth ``rijksgt.mat``; the paper's ImageId
  ``0000001_SK-A-4878`` shows a 7-digit number joined to the object number. Confirmed.
- ``xml2/`` holding ``<number>.xml``: ASSUMED by analogy with ``jpg2/`` (the metadata folder of
  the download could not be checked from here). Rename the folder if yours differs.
- The record format is the Rijksmuseum OAI-PMH Dublin Core of 2013-2014 (the Rijksmuseum's own
  "Uitleg Rijksmuseum OAI API" page), values in Dutch::

      <record xmlns="http://www.openarchives.org/OAI/2.0/">
        <header>
          <identifier>oai:rijksmuseum.nl/collection:SK-A-4881</identifier>
          <datestamp>2013-11-05T09:14:17Z</datestamp>
        </header>
        <metadata>
          <oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"
                     xmlns:dc="http://purl.org/dc/elements/1.1/">
            <dc:identifier>SK-A-4881</dc:identifier>        object number
            <dc:identifier>COLLECT.5216</dc:identifier>     database record
            <dc:title>...</dc:title>                        repeated: current title first
            <dc:creator>schilder: Maes, Nicolaes</dc:creator>   "role: name", repeated
            <dc:date>1655 - 1660</dc:date>
            <dc:type>schilderij</dc:type>                   hierarchical: broad type first
            <dc:format>hoogte 62 cm x breedte 50 cm</dc:format>
            <dc:format>materiaal: olieverf</dc:format>      repeated
            <dc:format>techniek: ...</dc:format>
            <dc:language>Dutch</dc:language>
            <dc:publisher>Rijksmuseum</dc:publisher>
          </oai_dc:dc>
        </metadata>
      </record>

  The OAI envelope (``record``, ``header``, ``identifier``, ``metadata``) is matched by local
  name, with or without the OAI namespace (harvest dumps differ); the container must be
  ``oai_dc:dc`` and the elements must be in the Dublin Core namespace.

Labels, as in the paper's table (one label per object and challenge):

- ``dc_creator``: the name part of the FIRST ``dc:creator`` (after ``role:``; the whole text when
  there is no role). The paper's table keeps the space after the colon (`` Coornhert, ...``);
  we strip it. ``anoniem`` and ``onbekend`` (anonymous, unknown) are kept here and dropped by
  the artist challenge, as the paper's code drops ``" anoniem"`` and empty creators.
- ``dc_materiaal``: the FIRST ``dc:format`` that starts with ``materiaal:`` (absent: None; the
  Antwerp collection has no material metadata).
- ``dc_type``: the FIRST ``dc:type`` (absent: None).
- ``ImageId``: ``<number>_<object number>``; the object number is the first ``dc:identifier``
  (else the part of the header identifier after its last ``:``).

The Antwerp collection of the paper (a DAMS sample shared by its authors on request) is read in
the same layout; its records name their repository in the header identifier.

Files are parsed with defusedxml with DTDs forbidden (entity-expansion bombs and external
entities are refused before anything expands) and must be UTF-8. Every problem is a
:class:`~artrec.errors.BadInputError` naming the file, the problem and the fix. The writer
``record_xml`` produces exactly this format (the synthetic collections use it), so the same
reader reads both.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import pandas as pd
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from artrec.errors import BadInputError

IMAGES_DIR = "jpg2"
RECORDS_DIR = "xml2"
# A running number, as in the official file names; the synthetic files use 7 digits too.
FILE_STEM = re.compile(r"^[0-9]{1,12}$")
OAI_NS = "http://www.openarchives.org/OAI/2.0/"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC_NS = "http://purl.org/dc/elements/1.1/"
RIJKSMUSEUM_OAI_PREFIX = "oai:rijksmuseum.nl/collection:"
MATERIAL_PREFIX = "materiaal:"
# Creators that name nobody; the artist challenge leaves their objects out.
NO_ARTIST = frozenset({"anoniem", "onbekend", ""})
# The paper's table columns, then the files.
COLUMNS = ("ImageId", "dc_creator", "dc_materiaal", "dc_type", "object_number", "image", "record")
# Records are a few kB; anything far larger is not a record (and is not read into memory).
MAX_RECORD_BYTES = 1 << 20

PAGE = "https://staff.fnwi.uva.nl/t.e.j.mensink/uva12/rijks/"
_OFFICIAL_FIX = (
    f"restore the file from the Rijksmuseum Challenge download ({PAGE}), or regenerate the "
    "synthetic collection (data.rijksmuseum.source: synthetic)"
)


class RecordError(BadInputError):
    """A metadata record or the collection's layout is unusable; names the file and the fix."""

    def __init__(self, path: str | os.PathLike[str], problem: str, fix: str = _OFFICIAL_FIX):
        super().__init__(path, problem, fix)


@dataclass(frozen=True)
class Record:
    """What the challenges need from one record."""

    number: str
    object_number: str
    creator: str | None
    material: str | None
    type: str | None

    @property
    def image_id(self) -> str:
        return f"{self.number}_{self.object_number}"


# ---- reading ---------------------------------------------------------------------------------
def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _child(parent, name: str, path: Path):
    found = [child for child in parent if _local(child.tag) == name]
    if not found:
        raise RecordError(path, f"no <{name}> element in <{_local(parent.tag)}>")
    return found[0]


def _texts(container, name: str) -> list[str]:
    return [" ".join((el.text or "").split()) for el in container.iter(f"{{{DC_NS}}}{name}")]


def _decode(path: Path, data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RecordError(
            path,
            f"not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start})",
            "re-encode the file as UTF-8, or " + _OFFICIAL_FIX,
        ) from None
    declared = re.match(r"""\s*<\?xml[^>]*encoding=["']([A-Za-z0-9._-]+)["']""", text)
    if declared and declared.group(1).lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise RecordError(
            path,
            f"declares encoding {declared.group(1)!r}; records must be UTF-8",
            "re-encode the file as UTF-8 and fix its XML declaration",
        )
    return text


def parse_record(path: str | os.PathLike[str], number: str | None = None) -> Record:
    """Read one record file; ``number`` defaults to the file's stem."""
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_RECORD_BYTES:
        raise RecordError(path, f"{size} bytes, far more than a metadata record")
    data = path.read_bytes()
    if not data.strip():
        raise RecordError(path, "the file is empty")
    text = _decode(path, data)
    try:
        root = SafeET.fromstring(text, forbid_dtd=True)
    except DefusedXmlException as error:
        # A DTD is where entity-expansion bombs and external entities live; records need none.
        raise RecordError(
            path,
            f"refused: the XML carries a DTD or entity declaration ({type(error).__name__})",
            "remove the <!DOCTYPE ...> part, or " + _OFFICIAL_FIX,
        ) from None
    except SafeET.ParseError as error:
        # expat's message already says where: "not well-formed (invalid token): line 3, column 4".
        raise RecordError(path, f"malformed XML ({error})") from None
    if _local(root.tag) != "record":
        raise RecordError(path, f"the root element is <{_local(root.tag)}>, not an OAI <record>")
    header = _child(root, "header", path)
    identifier = " ".join((_child(header, "identifier", path).text or "").split())
    if not identifier.startswith("oai:") or identifier.count(":") < 2:
        raise RecordError(
            path,
            f"header identifier {identifier!r} is not an OAI identifier "
            "('oai:<repository>:<object number>')",
        )
    metadata = _child(root, "metadata", path)
    containers = [el for el in metadata if el.tag == f"{{{OAI_DC_NS}}}dc"]
    if not containers:
        raise RecordError(path, "no <oai_dc:dc> Dublin Core container in <metadata>")
    dc = containers[0]
    identifiers = [t for t in _texts(dc, "identifier") if t]
    object_number = identifiers[0] if identifiers else identifier.rsplit(":", 1)[1].strip()
    if not object_number:
        raise RecordError(path, "no object number (empty dc:identifier and header identifier)")
    creators = _texts(dc, "creator")
    materials = [
        f[len(MATERIAL_PREFIX) :].strip()
        for f in _texts(dc, "format")
        if f.lower().startswith(MATERIAL_PREFIX)
    ]
    types = [t for t in _texts(dc, "type") if t]
    return Record(
        number=number if number is not None else path.stem,
        object_number=object_number,
        creator=_creator_name(creators[0]) if creators else None,
        material=(materials[0] or None) if materials else None,
        type=types[0] if types else None,
    )


def _creator_name(text: str) -> str:
    """The name in ``role: name`` (a name holds commas, never a colon)."""
    return text.split(":", 1)[1].strip() if ":" in text else text.strip()


def is_artist(creator: str | None) -> bool:
    """Whether a creator names a maker (not anonymous, unknown or missing)."""
    return creator is not None and creator.strip().lower() not in NO_ARTIST


def _regular_files(folder: Path, root: Path, suffix: str) -> dict[str, Path]:
    """``{stem: path}`` of the folder's files, each checked to be a plain file inside ``root``."""
    files: dict[str, Path] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue  # hidden files (.DS_Store, extraction markers) are no objects
        if entry.is_symlink() or not entry.is_file():
            kind = "a symbolic link" if entry.is_symlink() else "not a regular file"
            raise RecordError(
                entry,
                f"is {kind}; only plain files are read",
                "replace it with the file itself, inside the collection folder",
            )
        if not entry.resolve().is_relative_to(root):
            raise RecordError(entry, f"lies outside {root}", "copy the file into the folder")
        stem, dot, ext = entry.name.partition(".")
        if dot != "." or ext.lower() != suffix or not FILE_STEM.match(stem):
            raise RecordError(
                entry,
                f"unexpected file name; {folder.name}/ holds only <number>.{suffix} files",
                "remove or rename the file",
            )
        files[stem] = entry
    return files


def load_collection(root: str | os.PathLike[str]) -> pd.DataFrame:
    """Every object of the collection at ``root``: the paper's label columns and the files.

    Columns ``COLUMNS``; ``image`` and ``record`` are paths relative to ``root``. Rows are in the
    order of the running number. Every image needs its record and every record its image.
    """
    root = Path(root)
    folders = {name: root / name for name in (IMAGES_DIR, RECORDS_DIR)}
    for name, folder in folders.items():
        if not folder.is_dir() or folder.is_symlink():
            raise RecordError(
                folder,
                f"the collection has no {name}/ folder (layout: {IMAGES_DIR}/<number>.jpg and "
                f"{RECORDS_DIR}/<number>.xml)",
                "unpack the download there (rename its folders if they differ), or set "
                "data.<collection>.source to the right folder",
            )
    base = root.resolve()
    images = _regular_files(folders[IMAGES_DIR], base, "jpg")
    records = _regular_files(folders[RECORDS_DIR], base, "xml")
    for missing_in, extra in (
        (RECORDS_DIR, set(images) - set(records)),
        (IMAGES_DIR, set(records) - set(images)),
    ):
        if extra:
            first = sorted(extra)[0]
            owner = images[first] if missing_in == RECORDS_DIR else records[first]
            raise RecordError(
                owner,
                f"has no counterpart in {missing_in}/ ({len(extra)} such file(s))",
                "restore the missing file, or remove the orphan",
            )
    if not images:
        raise RecordError(folders[IMAGES_DIR], "the collection is empty")
    rows = []
    seen: dict[str, Path] = {}
    for stem in sorted(images, key=lambda s: (len(s), s)):
        record = parse_record(records[stem])
        if record.object_number in seen:
            raise RecordError(
                records[stem],
                f"object number {record.object_number!r} also in {seen[record.object_number]}",
                "remove the duplicate record and its image",
            )
        seen[record.object_number] = records[stem]
        rows.append(
            {
                "ImageId": record.image_id,
                "dc_creator": record.creator,
                "dc_materiaal": record.material,
                "dc_type": record.type,
                "object_number": record.object_number,
                "image": f"{IMAGES_DIR}/{images[stem].name}",
                "record": f"{RECORDS_DIR}/{records[stem].name}",
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


# ---- writing (the synthetic collections) -----------------------------------------------------
def file_stem(number: int) -> str:
    """The running number as the official files spell it (7 digits)."""
    return f"{number:07d}"


def record_xml(
    object_number: str,
    *,
    creators: Sequence[str] = (),
    types: Sequence[str] = (),
    materials: Sequence[str] = (),
    titles: Sequence[str] = (),
    date: str | None = None,
    dimensions: str | None = None,
    record_id: str | None = None,
    repository: str = RIJKSMUSEUM_OAI_PREFIX,
    datestamp: str = "2013-11-05T09:14:17Z",
    publisher: str = "Rijksmuseum",
) -> bytes:
    """One record in the format above, as UTF-8 bytes (deterministic: the same input, the same
    bytes). ``creators`` are ``"role: name"`` strings; ``materials`` plain names."""

    def element(name: str, value: str) -> str:
        return f"      <dc:{name}>{escape(value)}</dc:{name}>\n"

    body = [element("identifier", object_number)]
    if record_id:
        body.append(element("identifier", record_id))
    body += [element("title", t) for t in titles]
    body += [element("creator", c) for c in creators]
    if date:
        body.append(element("date", date))
    body += [element("type", t) for t in types]
    if dimensions:
        body.append(element("format", dimensions))
    body += [element("format", f"{MATERIAL_PREFIX} {m}") for m in materials]
    body += [element("language", "Dutch"), element("publisher", publisher)]
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<record xmlns="{OAI_NS}">\n'
        "  <header>\n"
        f"    <identifier>{escape(repository + object_number)}</identifier>\n"
        f"    <datestamp>{escape(datestamp)}</datestamp>\n"
        "  </header>\n"
        "  <metadata>\n"
        f'    <oai_dc:dc xmlns:oai_dc="{OAI_DC_NS}" xmlns:dc="{DC_NS}">\n'
        + "".join(body)
        + "    </oai_dc:dc>\n"
        "  </metadata>\n"
        "</record>\n"
    )
    return text.encode("utf-8")
