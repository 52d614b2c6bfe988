"""Hostile Rijksmuseum Challenge collections: malformed and malicious XML records, bad encodings,
missing elements, unsafe or unexpected files, a refused 'official' source.

Every case ends in a :class:`BadInputError` whose one-line message names the file, the problem and
the fix; nothing expands an entity or follows a link out of the collection.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from artrec.datasets.rijksmuseum import (
    IMAGES_DIR,
    MAX_RECORD_BYTES,
    RECORDS_DIR,
    load_collection,
    parse_record,
    record_xml,
)
from artrec.errors import BadInputError
from artrec.pipelines.ingest.nodes import ingest_collection
from artrec.utils.partitions import write_partitions
from tests.reliability.hostile import noise_jpeg

GOOD = record_xml(
    "RP-P-1992-35",
    creators=["prentmaker: Coornhert, Dirck Volckertsz"],
    types=["prent"],
    materials=["papier"],
)
TEXT = GOOD.decode()
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
BODY = TEXT.removeprefix(DECLARATION)

# Entity expansion (billion laughs), an external entity and a DTD: all refused before parsing.
BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE record [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
        for i in range(1, 10)
    )
    + "]>\n"
    + BODY.replace("Coornhert", "&lol9;")
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?>\n<!DOCTYPE record [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
    + BODY.replace("Coornhert", "&secret;")
)

RECORD_CASES: dict[str, tuple[bytes, str]] = {
    "empty": (b"", "empty"),
    "whitespace": (b"  \n", "empty"),
    "truncated": (GOOD[: len(GOOD) // 2], "malformed XML"),
    "not_xml": (b"<html><body>Not found</body>", "malformed XML"),
    "unclosed_element": (GOOD.replace(b"</dc:type>", b""), "malformed XML"),
    "billion_laughs": (BILLION_LAUGHS.encode(), "DTD or entity"),
    "external_entity": (EXTERNAL_ENTITY.encode(), "DTD or entity"),
    "doctype_only": (("<!DOCTYPE record>\n" + BODY).encode(), "DTD or entity"),
    "latin1_bytes": (GOOD.replace(b"Coornhert", "Coörnhert".encode("latin-1")), "not UTF-8"),
    "utf16": (TEXT.encode("utf-16"), "not UTF-8"),
    "declares_latin1": (
        GOOD.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"'),
        "declares encoding",
    ),
    "wrong_root": (
        GOOD.replace(b"<record ", b"<recrod ").replace(b"</record>", b"</recrod>"),
        "not an OAI <record>",
    ),
    "no_header": (
        TEXT.replace(TEXT[TEXT.index("  <header>") : TEXT.index("  <metadata>")], "").encode(),
        "no <header>",
    ),
    "no_identifier": (
        GOOD.replace(b"<identifier>", b"<ident>").replace(b"</identifier>", b"</ident>"),
        "no <identifier>",
    ),
    "identifier_not_oai": (
        GOOD.replace(b"oai:rijksmuseum.nl/collection:", b"RP-P-"),
        "not an OAI identifier",
    ),
    "no_metadata": (
        TEXT.replace(TEXT[TEXT.index("  <metadata>") : TEXT.index("</record>")], "").encode(),
        "no <metadata>",
    ),
    "no_dublin_core": (GOOD.replace(b"oai_dc:dc", b"oai_dc:dx"), "no <oai_dc:dc>"),
}


def _one_line(error: BaseException, *needles: str) -> str:
    message = str(error)
    assert "\n" not in message and "Fix:" in message, message
    for needle in needles:
        assert needle in message, (needle, message)
    return message


@pytest.mark.parametrize("case", sorted(RECORD_CASES))
def test_bad_record_is_refused_with_one_line(tmp_path: Path, case: str) -> None:
    data, problem = RECORD_CASES[case]
    path = tmp_path / "0000001.xml"
    path.write_bytes(data)
    with pytest.raises(BadInputError) as caught:
        parse_record(path)
    _one_line(caught.value, str(path), problem)


def test_entities_are_never_expanded(tmp_path: Path) -> None:
    # The refusal comes before any expansion: the message is short, nothing "lol" in it.
    path = tmp_path / "0000001.xml"
    path.write_bytes(BILLION_LAUGHS.encode())
    with pytest.raises(BadInputError) as caught:
        parse_record(path)
    assert "lollol" not in str(caught.value) and len(str(caught.value)) < 600


def test_oversized_record_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "0000001.xml"
    path.write_bytes(GOOD + b" " * (MAX_RECORD_BYTES + 1))
    with pytest.raises(BadInputError) as caught:
        parse_record(path)
    _one_line(caught.value, "bytes")


def _collection(root: Path, count: int = 2) -> Path:
    (root / IMAGES_DIR).mkdir(parents=True)
    (root / RECORDS_DIR).mkdir(parents=True)
    for number in range(1, count + 1):
        stem = f"{number:07d}"
        (root / IMAGES_DIR / f"{stem}.jpg").write_bytes(noise_jpeg(16, 16, number))
        (root / RECORDS_DIR / f"{stem}.xml").write_bytes(
            record_xml(f"SK-A-{number}", types=["schilderij"])
        )
    return root


def _link_out(root: Path) -> None:
    outside = root.parent / "secret.xml"
    outside.write_bytes(GOOD)
    (root / RECORDS_DIR / "0000003.xml").symlink_to(outside)
    (root / IMAGES_DIR / "0000003.jpg").write_bytes(noise_jpeg(8, 8))


def _fifo(root: Path) -> None:
    os.mkfifo(root / IMAGES_DIR / "0000003.jpg")


LAYOUT_CASES: dict[str, tuple[Callable[[Path], None], str, str]] = {
    "no_images_folder": (lambda r: _rm(r / IMAGES_DIR), "jpg2", "no jpg2/ folder"),
    "no_records_folder": (lambda r: _rm(r / RECORDS_DIR), "xml2", "no xml2/ folder"),
    "image_without_record": (
        lambda r: (r / IMAGES_DIR / "0000009.jpg").write_bytes(noise_jpeg(8, 8)),
        "0000009.jpg",
        "no counterpart in xml2/",
    ),
    "record_without_image": (
        lambda r: (r / RECORDS_DIR / "0000009.xml").write_bytes(GOOD),
        "0000009.xml",
        "no counterpart in jpg2/",
    ),
    "symlink_out_of_the_folder": (_link_out, "0000003.xml", "symbolic link"),
    "not_a_regular_file": (_fifo, "0000003.jpg", "not a regular file"),
    "copy_like_name": (
        lambda r: (r / RECORDS_DIR / "0000003 (1).xml").write_bytes(GOOD),
        "0000003 (1).xml",
        "unexpected file name",
    ),
    "other_extension": (
        lambda r: (r / IMAGES_DIR / "0000003.png").write_bytes(b"png"),
        "0000003.png",
        "unexpected file name",
    ),
    "duplicate_object": (
        lambda r: (r / RECORDS_DIR / "0000002.xml").write_bytes(
            record_xml("SK-A-1", types=["schilderij"])
        ),
        "0000002.xml",
        "also in",
    ),
    "one_bad_record": (
        lambda r: (r / RECORDS_DIR / "0000002.xml").write_bytes(b"<record"),
        "0000002.xml",
        "malformed XML",
    ),
}


def _rm(folder: Path) -> None:
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()


@pytest.mark.parametrize("case", sorted(LAYOUT_CASES))
def test_bad_collection_is_refused_naming_the_file(tmp_path: Path, case: str) -> None:
    damage, where, problem = LAYOUT_CASES[case]
    root = _collection(tmp_path / "collection")
    damage(root)
    with pytest.raises(BadInputError) as caught:
        load_collection(root)
    _one_line(caught.value, where, problem)


def test_an_intact_collection_reads(tmp_path: Path) -> None:
    assert len(load_collection(_collection(tmp_path / "collection", 3))) == 3


@pytest.mark.parametrize("name", ["rijksmuseum", "antwerp"])
def test_official_source_is_refused_with_instructions(name: str) -> None:
    with pytest.raises(BadInputError) as caught:
        ingest_collection({"source": "official"}, "downloads", {}, 0, name)
    _one_line(caught.value, f"data.{name}.source", "jpg2/ and xml2/")


def test_missing_source_folder_is_refused(tmp_path: Path) -> None:
    partitions = ingest_collection(
        {"source": str(tmp_path / "nowhere")}, str(tmp_path), {}, 0, "rijksmuseum"
    )
    # The folder's files are fetched when the partitions are written (DirectoryDataset).
    with pytest.raises(BadInputError) as caught:
        write_partitions(tmp_path / "out", partitions)
    _one_line(caught.value, "nowhere")
