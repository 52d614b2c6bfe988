"""The MAMe label map: normalisation, the four coherency criteria, precedence, checks, coverage."""

from __future__ import annotations

import importlib
from pathlib import Path

import pandas as pd
import pytest
import yaml

from artrec.curation.labelmap import (
    LabelMap,
    LabelMapError,
    coverage_summary,
    label_map_coverage,
    tate_coverage,
)
from artrec.curation.mame import MAME_LABELS

LABEL_MAP_PATH = Path(__file__).resolve().parents[2] / "conf" / "base" / "mame_label_map.yml"


@pytest.fixture(scope="module")
def label_map() -> LabelMap:
    return LabelMap.load(LABEL_MAP_PATH)


def test_classes_are_the_29_mame_labels_in_official_order(label_map: LabelMap) -> None:
    assert label_map.classes == list(MAME_LABELS)


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("  Faïence,  TIN-GLAZED\r\n", "faience tin glazed"),
        ("Hand-coloured etching", "hand colored etching"),
        ("Handcoloured Etching", "hand colored etching"),
        ("Pen & brown ink", "pen and brown ink"),
        ("Graphite on paper. Verso: graphite and ink on paper", "graphite on paper"),
        ("Recto: graphite on paper. Verso: chalk", "graphite on paper"),
        ("Terra cotta", "terracotta"),
        (None, ""),
        (float("nan"), ""),
    ],
)
def test_written_coherency_normalisation(label_map: LabelMap, raw: object, normalised: str) -> None:
    assert label_map.normalise(raw) == normalised


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # written coherency
        ("Bronze", "Bronze"),
        ("bronze", "Bronze"),
        ("  BRONZE ", "Bronze"),
        ("Line-engraving on paper", "Engraving"),
        # terminology coherency: synonyms
        ("Pottery", "Ceramic"),
        ("Earthenware", "Ceramic"),
        ("Stoneware", "Ceramic"),
        ("Reduced stoneware", "Ceramic"),
        # taxonomic coherency: subtypes merge into the parent ...
        ("Terracotta", "Ceramic"),
        ("Portland stone", "Limestone"),
        ("Carrara marble", "Marble"),
        # ... unless the parent keeps the subtype as its own class
        ("Porcelain", "Porcelain"),
        ("Earthenware, tin-glazed", "Faience"),
        ("Egyptian faience", "Faience"),
        ("Unfired clay", "Clay"),
        # visual coherency
        ("Hard-paste porcelain", "Porcelain"),
        ("Soft-paste porcelain", "Porcelain"),
        ("Cotton", "Woven fabric"),
        ("Linen", "Woven fabric"),
        ("Silk", "Woven fabric"),
        ("Silk, metal thread", "Silk and metal thread"),
        ("Silk and metallic thread", "Silk and metal thread"),
        ("Oil paint on wood", "Polychromed wood"),
        ("Wood, polychromed", "Polychromed wood"),
        ("Limewood with paint and gilding", "Polychromed wood"),
        ("Oak", "Wood"),
        ("Watercolor on ivory", "Ivory"),
        # descriptions
        ("Oil paint on canvas", "Oil on canvas"),
        ("Oil on canvas, mounted on panel", "Oil on canvas"),
        ("Oil paint on paper on canvas", None),
        ("Acrylic paint on canvas", None),
        ("Lithograph on paper", "Lithograph"),
        ("Graphite on paper", "Graphite"),
        ("Graphite on off-white wove paper", "Graphite"),
        ("Graphite on paper. Verso: graphite and watercolour on paper", "Graphite"),
        ("Graphite and watercolour on paper", None),
        ("Pen and brown ink, brush and brown wash, over black chalk", "Pen and brown ink"),
        ("Pen and ink on paper", None),
        ("Albumen silver print from glass negative", "Albumen photograph"),
        ("Woodblock print; ink and color on paper", "Woodblock"),
        ("Ink and gouache on woodblock", None),
        ("Woodcut on paper", "Woodcut"),
        ("Bronze on marble base", "Bronze"),
        ("Steel, gold, leather", "Steel"),
        ("Iron gall ink on paper", None),
        ("Silver gilt", None),
        # explicit exclusions veto everything
        ("Screenprint on paper", None),
        ("Screenprint and lithograph on paper", None),
        ("Photogravure", None),
        ("Photograph, gelatin silver print on paper", None),
        ("Stained glass", None),
        ("", None),
        (None, None),
    ],
)
def test_maps_raw_strings_to_classes(
    label_map: LabelMap, raw: object, expected: str | None
) -> None:
    assert label_map.map(raw) == expected


@pytest.mark.parametrize(
    ("raw", "specific", "general"),
    [
        ("Hand-coloured etching", "Hand-colored etching", "Etching"),
        ("Etching and watercolour on paper", "Hand-colored etching", "Etching"),
        ("Engraving, hand-colored", "Hand-colored engraving", "Engraving"),
        ("Wood engraving on paper", "Wood engraving", "Engraving"),
        ("Wood engraving", "Wood engraving", "Wood"),
        ("Engraving on wood (end-grain)", "Wood engraving", "Engraving"),
        ("Painted wood", "Polychromed wood", "Wood"),
        ("Silk and gilt metal thread", "Silk and metal thread", "Woven fabric"),
    ],
)
def test_specific_rules_take_precedence(
    label_map: LabelMap, raw: str, specific: str, general: str
) -> None:
    assert label_map.map(raw) == specific
    # the general class is a real candidate: some later rule of it would match the text too
    text = label_map.normalise(raw)
    words = set(text.split())
    general_rules = [r for r in label_map.rules if r.label == general]
    assert any(any(set(p.split()) <= words for p in r.starts_with) for r in general_rules)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Etching and aquatint on paper", "Etching"),
        ("Etching and engraving", "Etching"),
        ("Engraving and etching on paper", "Engraving"),
        ("Etching and line engraving on paper", "Etching"),
        ("Lithograph and woodcut on paper", "Lithograph"),
        ("Aquatint and etching on paper", None),
    ],
)
def test_first_named_print_technique_decides(
    label_map: LabelMap, raw: str, expected: str | None
) -> None:
    assert label_map.map(raw) == expected


def test_explain_names_the_deciding_entry(label_map: LabelMap) -> None:
    assert label_map.explain("Screenprint on paper").decided_by == "excluded: screenprint"
    assert label_map.explain("Bronze on wooden base").decided_by == "term: bronze"
    decision = label_map.explain("Etching and aquatint on paper")
    assert decision.label == "Etching"
    assert label_map.rules[int(decision.decided_by.split()[1]) - 1].label == "Etching"
    assert label_map.explain("Watercolour on paper").decided_by == "no rule"


def test_map_series_keeps_index_and_gives_none_when_unmapped(label_map: LabelMap) -> None:
    raw = pd.Series(["Bronze", None, "Screenprint", "Bronze"], index=[10, 11, 12, 13], name="m")
    mapped = label_map.map_series(raw)
    assert list(mapped.index) == [10, 11, 12, 13]
    assert mapped.name == "m"
    assert mapped.tolist() == ["Bronze", None, None, "Bronze"]


def test_coverage_lists_every_distinct_string_by_count(label_map: LabelMap) -> None:
    raw = pd.Series(["Bronze"] * 3 + ["Screenprint on paper"] * 2 + ["Watercolour", None])
    coverage = label_map_coverage(raw, label_map)
    assert coverage.columns.tolist() == ["raw", "count", "class", "decided_by"]
    assert coverage["raw"].tolist() == ["Bronze", "Screenprint on paper", "Watercolour"]
    assert coverage["count"].tolist() == [3, 2, 1]
    assert coverage["class"].tolist() == ["Bronze", None, None]
    summary = coverage_summary(coverage)
    assert summary["rows"] == 6
    assert summary["mapped_rows"] == 3
    assert summary["share_rows_mapped"] == pytest.approx(0.5)
    assert summary["share_distinct_mapped"] == pytest.approx(1 / 3)
    assert summary["rows_per_class"] == {"Bronze": 3}
    assert [u["raw"] for u in summary["top_unmapped"]] == ["Screenprint on paper", "Watercolour"]


def _write(tmp_path: Path, config: dict) -> Path:
    path = tmp_path / "map.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def _minimal() -> dict:
    return {
        "exclude": ["screenprint"],
        "classes": {"Etching": {"terms": []}, "Bronze": {"terms": ["cast bronze"]}},
        "rules": [{"class": "Etching", "starts_with": ["etching"]}],
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c["rules"][0].update({"class": "Etchng"}), r"rules\[1\]: unknown class"),
        (lambda c: c["rules"][0].update({"startswith": ["x"]}), r"rules\[1\]: unknown keys"),
        (lambda c: c["rules"][0].pop("starts_with"), r"rules\[1\]: needs at least one"),
        (
            lambda c: c["classes"]["Etching"].update({"terms": ["Cast  Bronze"]}),
            r"classes\['Bronze'\]: term 'cast bronze' is also a term of 'Etching'",
        ),
        (
            lambda c: c["classes"]["Bronze"].update({"terms": ["screenprint on bronze"]}),
            r"vetoed by the exclusion 'screenprint'",
        ),
        (lambda c: c.update({"clases": {}}), r"top level: unknown keys"),
        (lambda c: c["rules"][0].update({"unless": "etching"}), r"rules\[1\]\.unless"),
        (lambda c: c["rules"][0].update({"contains": [" - "]}), r"rules\[1\]: a phrase is empty"),
    ],
)
def test_load_names_the_faulty_entry(tmp_path: Path, change, message: str) -> None:
    config = _minimal()
    change(config)
    with pytest.raises(LabelMapError, match=message) as error:
        LabelMap.load(_write(tmp_path, config))
    assert "map.yml" in str(error.value)


def test_load_reports_yaml_syntax_errors(tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    path.write_text("classes: [unclosed\n", encoding="utf-8")
    with pytest.raises(LabelMapError, match="broken.yml"):
        LabelMap.load(path)


def test_minimal_map_applies_terms_and_rules(tmp_path: Path) -> None:
    label_map = LabelMap.load(_write(tmp_path, _minimal()))
    assert label_map.classes == ["Etching", "Bronze"]
    assert label_map.map("Cast bronze") == "Bronze"
    assert label_map.map("Etching, second state") == "Etching"
    assert label_map.map("Screenprint and etching") is None


# ---- real, untidy input: the Tate collection ---------------------------------------------------
def test_tate_frequent_descriptions_land_in_their_classes(
    shared_dir: Path, label_map: LabelMap
) -> None:
    path = shared_dir / "data" / "tate" / "tate_artworks.csv.gz"
    if not path.is_file():
        pytest.skip("Tate metadata not present")
    report = tate_coverage(path, label_map, top=200)
    assert report["records"] == 69202
    assert report["records_without_medium"] == 6384
    assert report["rows"] == 69202 - 6384
    mapped = {item["raw"]: item["class"] for item in report["top_mapped"]}
    assert mapped["Graphite on paper"] == "Graphite"
    assert mapped["Oil paint on canvas"] == "Oil on canvas"
    assert mapped["Lithograph on paper"] == "Lithograph"
    assert mapped["Etching on paper"] == "Etching"
    assert mapped["Engraving on paper"] == "Engraving"
    assert mapped["Line engraving on paper"] == "Engraving"
    assert mapped["Wood engraving on paper"] == "Wood engraving"
    assert mapped["Woodcut on paper"] == "Woodcut"
    assert mapped["Bronze"] == "Bronze"
    unmapped = {item["raw"] for item in report["top_unmapped"]}
    assert "Screenprint on paper" in unmapped
    assert mapped["Etching and engraving on paper"] == "Etching"
    # coverage figures agree with each other
    assert report["mapped_rows"] == sum(report["rows_per_class"].values())
    assert report["mapped_rows"] + report["unmapped_rows"] == report["rows"]
    assert report["share_rows_mapped"] == pytest.approx(report["mapped_rows"] / report["rows"])
    assert 0 < report["mapped_distinct"] < report["distinct"]


# ---- the synthetic generator's raw strings ------------------------------------------------------
def _synthetic_variants():
    try:
        module = importlib.import_module("artrec.synth.mame")
    except ModuleNotFoundError:
        pytest.skip("artrec.synth.mame is not there yet")
    return module


def test_every_synthetic_variant_maps_to_its_class(label_map: LabelMap) -> None:
    module = _synthetic_variants()
    wrong = {
        raw: (label, label_map.map(raw))
        for label, variants in module.RAW_MEDIUM_VARIANTS.items()
        for raw in variants
        if label_map.map(raw) != label
    }
    assert not wrong, f"variant -> (expected, got): {wrong}"


def test_no_unmapped_synthetic_medium_maps(label_map: LabelMap) -> None:
    module = _synthetic_variants()
    mapped = {raw: label_map.map(raw) for raw in module.UNMAPPED_RAW_MEDIA}
    assert all(label is None for label in mapped.values()), mapped
