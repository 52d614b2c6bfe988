"""The Rijksmuseum Challenge reader: records written by ``record_xml`` read back with the paper's
labels, a collection in jpg2/ + xml2/ read in running-number order."""

from __future__ import annotations

from pathlib import Path

import pytest

from artrec.datasets.rijksmuseum import (
    IMAGES_DIR,
    RECORDS_DIR,
    file_stem,
    is_artist,
    load_collection,
    parse_record,
    record_xml,
)
from tests.reliability.hostile import noise_jpeg


def _write(folder: Path, number: int, xml: bytes, image: bool = True) -> None:
    (folder / IMAGES_DIR).mkdir(parents=True, exist_ok=True)
    (folder / RECORDS_DIR).mkdir(parents=True, exist_ok=True)
    (folder / RECORDS_DIR / f"{file_stem(number)}.xml").write_bytes(xml)
    if image:
        (folder / IMAGES_DIR / f"{file_stem(number)}.jpg").write_bytes(noise_jpeg(16, 12))


def test_record_round_trip_gives_the_papers_labels(tmp_path: Path) -> None:
    xml = record_xml(
        "RP-P-1992-35",
        creators=["prentmaker: Coornhert, Dirck Volckertsz", "naar ontwerp van: Heemskerck, M."],
        types=["prent", "historieprent"],
        materials=["papier", "dekverf"],
        titles=["Allegorie <op> de tijd & het geluk"],
        date="1550 - 1551",
        dimensions="hoogte 20 cm x breedte 25 cm",
        record_id="COLLECT.100",
    )
    path = tmp_path / "0000004.xml"
    path.write_bytes(xml)
    record = parse_record(path)
    assert record.image_id == "0000004_RP-P-1992-35"
    assert record.creator == "Coornhert, Dirck Volckertsz"  # the first maker, role removed
    assert record.material == "papier"  # the first 'materiaal:' format
    assert record.type == "prent"  # the broad type comes first
    assert b"&lt;op&gt; de tijd &amp; het" in xml


def test_a_record_without_material_or_creator_role(tmp_path: Path) -> None:
    path = tmp_path / "0000001.xml"
    path.write_bytes(
        record_xml(
            "MAS-1", creators=["anoniem"], types=["munt"], repository="oai:dams.antwerpen.be:"
        )
    )
    record = parse_record(path)
    assert (record.material, record.creator, record.type) == (None, "anoniem", "munt")
    assert not is_artist(record.creator) and not is_artist(None) and is_artist("Maes, Nicolaes")


def test_record_xml_is_deterministic() -> None:
    kwargs = dict(
        creators=["schilder: Maes, Nicolaes"], types=["schilderij"], materials=["olieverf"]
    )
    assert record_xml("SK-A-4881", **kwargs) == record_xml("SK-A-4881", **kwargs)


def test_the_record_envelope_may_carry_the_oai_prefix(tmp_path: Path) -> None:
    # The Rijksmuseum's later dumps write <oai:header>... with a prefix; the local names match.
    xml = record_xml("SK-C-5", types=["schilderij"]).decode()
    xml = xml.replace(
        '<record xmlns="http://www.openarchives.org/OAI/2.0/">',
        '<record xmlns:oai="http://www.openarchives.org/OAI/2.0/">',
    )
    for tag in ("header", "identifier", "datestamp", "metadata"):
        xml = xml.replace(f"<{tag}>", f"<oai:{tag}>").replace(f"</{tag}>", f"</oai:{tag}>")
    path = tmp_path / "0000009.xml"
    path.write_text(xml, encoding="utf-8")
    assert parse_record(path).object_number == "SK-C-5"


def test_load_collection_orders_objects_by_number(tmp_path: Path) -> None:
    for number in (10, 2, 1):
        _write(
            tmp_path,
            number,
            record_xml(
                f"SK-A-{number}",
                creators=[f"schilder: P{number}"],
                types=["schilderij"],
                materials=["olieverf"],
            ),
        )
    frame = load_collection(tmp_path)
    assert frame["ImageId"].tolist() == ["0000001_SK-A-1", "0000002_SK-A-2", "0000010_SK-A-10"]
    assert frame["image"].iloc[0] == "jpg2/0000001.jpg"
    assert frame["record"].iloc[2] == "xml2/0000010.xml"
    assert frame["dc_creator"].tolist() == ["P1", "P2", "P10"]


def test_hidden_files_are_no_objects(tmp_path: Path) -> None:
    _write(tmp_path, 1, record_xml("SK-A-1", types=["schilderij"]))
    (tmp_path / IMAGES_DIR / ".DS_Store").write_bytes(b"\0")
    assert len(load_collection(tmp_path)) == 1


@pytest.mark.parametrize("challenge_column", ["dc_creator", "dc_materiaal", "dc_type"])
def test_columns_are_the_papers(tmp_path: Path, challenge_column: str) -> None:
    _write(
        tmp_path,
        1,
        record_xml(
            "SK-A-1", creators=["schilder: X"], types=["schilderij"], materials=["olieverf"]
        ),
    )
    assert challenge_column in load_collection(tmp_path).columns
