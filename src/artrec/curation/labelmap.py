"""Map raw museum medium descriptions to MAMe classes with a declarative, expert-editable map.

The map lives in a YAML file (``conf/base/mame_label_map.yml``, whose header documents the
format): spelling variants, exclusions, per-class synonym terms and ordered pattern rules. This
module normalises text (written coherency), checks the file and applies it; every curatorial
decision is in the YAML, none here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from artrec.datasets.tate import read_tate_artworks

_CONDITIONS = ("starts_with", "contains", "media", "support", "unless")
_POSITIVE_CONDITIONS = ("starts_with", "contains", "media", "support")
_RULE_KEYS = {"class", "note", *_CONDITIONS}
_TOP_KEYS = {"version", "normalisation", "exclude", "classes", "rules"}
_NON_WORD = re.compile(r"[^a-z0-9]+")


class LabelMapError(ValueError):
    """The label-map file is malformed; the message names the file and the entry at fault."""


def basic_normalise(raw: object) -> str:
    """Lower-case ASCII words separated by single spaces ("Faïence, tin-glazed" -> "faience
    tin glazed"). Missing values become the empty string."""
    if raw is None or (isinstance(raw, float) and raw != raw):
        return ""
    text = unicodedata.normalize("NFKD", str(raw))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = text.replace("&", " and ").replace("+", " and ")
    return _NON_WORD.sub(" ", text).strip()


def _has_phrase(text: str, phrase: str) -> bool:
    return f" {phrase} " in f" {text} "


def _starts_with(text: str, phrase: str) -> bool:
    return f"{text} ".startswith(f"{phrase} ")


def split_media_support(text: str) -> tuple[str, str]:
    """Split a normalised description at its first " on ": (medium part, support part)."""
    media, _, support = f" {text} ".partition(" on ")
    return media.strip(), support.strip()


@dataclass(frozen=True)
class Rule:
    """One ordered pattern rule; all given conditions must hold (alternatives within each)."""

    label: str
    number: int
    starts_with: tuple[str, ...] = ()
    contains: tuple[str, ...] = ()
    media: tuple[str, ...] = ()
    support: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()

    def matches(self, text: str, media: str, support: str) -> bool:
        if self.starts_with and not any(_starts_with(text, p) for p in self.starts_with):
            return False
        if self.contains and not any(_has_phrase(text, p) for p in self.contains):
            return False
        if self.media and media not in self.media:
            return False
        if self.support and not any(_starts_with(support, p) for p in self.support):
            return False
        return not any(_has_phrase(text, p) for p in self.unless)


@dataclass(frozen=True)
class Decision:
    """The class a description maps to (None: unmapped) and which entry decided it."""

    label: str | None
    decided_by: str


class LabelMap:
    """Raw medium description -> MAMe class, as declared in a label-map YAML file."""

    def __init__(
        self,
        classes: list[str],
        terms: Mapping[str, str],
        rules: list[Rule],
        exclusions: list[str],
        spelling: Mapping[str, str],
        cut_at: list[str],
    ) -> None:
        self.classes = list(classes)
        self.terms = dict(terms)
        self.rules = list(rules)
        self.exclusions = list(exclusions)
        self._spelling = [
            (re.compile(rf"(?<!\S){re.escape(old)}(?!\S)"), new) for old, new in spelling.items()
        ]
        self._cut_at = list(cut_at)

    # ---- construction ---------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path) -> LabelMap:
        """Read and check a label-map YAML file."""
        path = Path(path)
        try:
            config = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            raise LabelMapError(f"{path}: cannot read the label map: {error}") from error
        return cls.from_dict(config, source=str(path))

    @classmethod
    def from_dict(cls, config: Any, source: str = "<label map>") -> LabelMap:
        """Build a map from the parsed YAML structure, naming the faulty entry on error."""

        def fail(where: str, message: str) -> LabelMapError:
            return LabelMapError(f"{source}: {where}: {message}")

        if not isinstance(config, dict):
            raise fail("top level", "expected a mapping with 'classes' and 'rules'")
        unknown = set(config) - _TOP_KEYS
        if unknown:
            raise fail("top level", f"unknown keys {sorted(unknown)}; allowed {sorted(_TOP_KEYS)}")

        norm = config.get("normalisation") or {}
        if not isinstance(norm, dict) or set(norm) - {"spelling", "cut_at"}:
            raise fail("normalisation", "expected a mapping with 'spelling' and 'cut_at'")
        spelling_raw = norm.get("spelling") or {}
        if not isinstance(spelling_raw, dict):
            raise fail("normalisation.spelling", "expected a mapping variant -> spelling")
        spelling: dict[str, str] = {}
        for old, new in spelling_raw.items():
            key = basic_normalise(old)
            if not key:
                raise fail(f"normalisation.spelling[{old!r}]", "empty variant")
            spelling[key] = basic_normalise(new)
        cut_at = [
            basic_normalise(w)
            for w in _string_list(norm.get("cut_at"), "normalisation.cut_at", fail)
        ]

        # Phrases in the file go through the same normalisation as descriptions.
        label_map = cls([], {}, [], [], spelling, [w for w in cut_at if w])
        phrase = label_map.normalise

        exclusions = [phrase(p) for p in _string_list(config.get("exclude"), "exclude", fail)]
        if "" in exclusions:
            raise fail("exclude", "a phrase is empty after normalisation")

        classes_raw = config.get("classes")
        if not isinstance(classes_raw, dict) or not classes_raw:
            raise fail("classes", "expected a mapping class name -> {terms: [...]}")
        classes: list[str] = []
        terms: dict[str, str] = {}
        for name, entry in classes_raw.items():
            where = f"classes[{name!r}]"
            if not isinstance(name, str) or not name.strip():
                raise fail(where, "class names must be non-empty strings")
            entry = entry or {}
            if not isinstance(entry, dict) or set(entry) - {"terms"}:
                raise fail(where, "expected a mapping with a 'terms' list")
            classes.append(name)
            for term in [name, *_string_list(entry.get("terms"), f"{where}.terms", fail)]:
                key = phrase(term)
                if not key:
                    raise fail(where, f"term {term!r} is empty after normalisation")
                if terms.get(key, name) != name:
                    raise fail(where, f"term {term!r} is also a term of {terms[key]!r}")
                vetoed = [p for p in exclusions if _has_phrase(key, p)]
                if vetoed:
                    raise fail(where, f"term {term!r} is vetoed by the exclusion {vetoed[0]!r}")
                terms[key] = name

        rules_raw = config.get("rules") or []
        if not isinstance(rules_raw, list):
            raise fail("rules", "expected a list of rules")
        rules: list[Rule] = []
        for number, entry in enumerate(rules_raw, start=1):
            where = f"rules[{number}]"
            if not isinstance(entry, dict):
                raise fail(where, "expected a mapping with 'class' and conditions")
            unknown = set(entry) - _RULE_KEYS
            if unknown:
                raise fail(where, f"unknown keys {sorted(unknown)}; allowed {sorted(_RULE_KEYS)}")
            if entry.get("class") not in classes:
                raise fail(where, f"unknown class {entry.get('class')!r}")
            conditions = {
                key: tuple(phrase(p) for p in _string_list(entry.get(key), f"{where}.{key}", fail))
                for key in _CONDITIONS
            }
            if any("" in phrases for phrases in conditions.values()):
                raise fail(where, "a phrase is empty after normalisation")
            if not any(conditions[key] for key in _POSITIVE_CONDITIONS):
                raise fail(where, f"needs at least one of {list(_POSITIVE_CONDITIONS)}")
            rules.append(Rule(label=entry["class"], number=number, **conditions))

        return cls(classes, terms, rules, exclusions, spelling, label_map._cut_at)

    # ---- mapping --------------------------------------------------------------------------
    def normalise(self, raw: object) -> str:
        """Written coherency: basic normalisation, spelling variants, then cut at "verso"."""
        text = basic_normalise(raw)
        for pattern, replacement in self._spelling:
            text = pattern.sub(replacement, text)
        text = " ".join(text.split())
        for marker in self._cut_at:
            at = f" {text} ".find(f" {marker} ")
            if at >= 0:
                text = text[:at].strip()
        return text

    def explain(self, raw: object) -> Decision:
        """Map one description and say which exclusion, term or rule decided it."""
        text = self.normalise(raw)
        if not text:
            return Decision(None, "empty")
        for phrase in self.exclusions:
            if _has_phrase(text, phrase):
                return Decision(None, f"excluded: {phrase}")
        media, support = split_media_support(text)
        for candidate in (text, media):
            if candidate in self.terms:
                return Decision(self.terms[candidate], f"term: {candidate}")
        for rule in self.rules:
            if rule.matches(text, media, support):
                return Decision(rule.label, f"rule {rule.number}")
        return Decision(None, "no rule")

    def map(self, raw: object) -> str | None:
        """The MAMe class of one raw medium description, or None when unmapped."""
        return self.explain(raw).label

    def map_series(self, raw: pd.Series) -> pd.Series:
        """Map a column of descriptions (each distinct value decided once); None = unmapped."""
        lookup = {value: self.map(value) for value in pd.unique(raw.dropna())}
        values = [lookup.get(value) if isinstance(value, str) else None for value in raw]
        return pd.Series(values, index=raw.index, name=raw.name, dtype=object)


def _string_list(value: Any, where: str, fail: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise fail(where, "expected a list of strings")
    return [str(v) for v in value]


# ---- coverage reports ---------------------------------------------------------------------------
COVERAGE_COLUMNS = ["raw", "count", "class", "decided_by"]


def label_map_coverage(raw: pd.Series, label_map: LabelMap) -> pd.DataFrame:
    """Every distinct raw description with its count, class (None: unmapped) and deciding entry,
    most frequent first. Missing values are not descriptions and are left out."""
    counts = raw.dropna().astype(str).value_counts()
    decisions = [label_map.explain(value) for value in counts.index]
    coverage = pd.DataFrame(
        {
            "raw": counts.index.astype(object),
            "count": counts.to_numpy(dtype="int64"),
            "class": pd.Series([d.label for d in decisions], dtype=object),
            "decided_by": [d.decided_by for d in decisions],
        }
    )
    return coverage.sort_values(["count", "raw"], ascending=[False, True], ignore_index=True)


def coverage_summary(coverage: pd.DataFrame, top: int = 20) -> dict[str, Any]:
    """Shares of rows and of distinct descriptions mapped, rows per class, top unmapped."""
    mapped = coverage["class"].notna()
    rows = int(coverage["count"].sum())
    unmapped = coverage[~mapped].head(top)
    per_class = coverage[mapped].groupby("class")["count"].sum().sort_values(ascending=False)
    return {
        "rows": rows,
        "distinct": len(coverage),
        "mapped_rows": int(coverage.loc[mapped, "count"].sum()),
        "mapped_distinct": int(mapped.sum()),
        "share_rows_mapped": float(coverage.loc[mapped, "count"].sum() / rows) if rows else 0.0,
        "share_distinct_mapped": float(mapped.mean()) if len(coverage) else 0.0,
        "rows_per_class": {str(k): int(v) for k, v in per_class.items()},
        "unmapped_rows": int(coverage.loc[~mapped, "count"].sum()),
        "top_unmapped": [
            {"raw": raw, "count": int(count), "decided_by": decided_by}
            for raw, count, decided_by in zip(
                unmapped["raw"], unmapped["count"], unmapped["decided_by"], strict=True
            )
        ],
    }


def tate_coverage(csv_gz_path: str | Path, label_map: LabelMap, top: int = 20) -> dict[str, Any]:
    """Apply the map to the Tate collection's ``medium`` column (real, untidy descriptions), read
    and validated by the project's one Tate reader (``artrec.datasets.tate``)."""
    path = Path(csv_gz_path)
    medium = read_tate_artworks(path)["medium"]
    media = medium.where(medium != "").astype("string")  # an empty cell is no description
    coverage = label_map_coverage(media, label_map)
    summary = coverage_summary(coverage, top=top)
    mapped = coverage[coverage["class"].notna()].head(top)
    return {
        "available": True,
        "source": path.name,
        "records": len(media),
        "records_without_medium": int(media.isna().sum()),
        **summary,
        "top_mapped": [
            {"raw": raw, "count": int(count), "class": label}
            for raw, count, label in zip(
                mapped["raw"], mapped["count"], mapped["class"], strict=True
            )
        ],
    }
