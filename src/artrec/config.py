"""Parameters: ``params.yaml`` at the project root is the single source for DVC and Kedro.

The file holds the embedded default values plus a ``profiles:`` section of overlays. The key
``profile`` selects one overlay (``default`` selects none), which is deep-merged over the
defaults. DVC tracks the raw keys (``dvc.yaml`` lists them per stage); Kedro reads the merged
result through :class:`artrec.settings.ProjectConfigLoader`, and the ``artrec`` command-line
tool through :func:`load_params`.

Validation (:func:`load_params`, every time parameters are read): the valid keys are those of
the defaults at the top of ``params.yaml``, so a key in a profile overlay or a ``--params``
override that the defaults lack is a typo, named with the nearest valid key. An overlay or
override value must have the type of the default it replaces (numbers for numbers, a mapping
for a mapping, ...; any type where the default is null), and a few critical values are checked
for range (:class:`ParamsSchema`, a pydantic model). Errors are
:class:`artrec.errors.BadInputError`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from omegaconf import OmegaConf
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from artrec.errors import BadInputError

PARAMS_FILE = "params.yaml"
DEFAULT_PROFILE = "default"
PROFILES_KEY = "profiles"
OVERRIDES_SOURCE = "--params"


def find_project_root(start: Path | None = None) -> Path:
    """Return the closest folder at or above ``start`` (default: cwd) that holds ``params.yaml``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / PARAMS_FILE).is_file() and (folder / "pyproject.toml").is_file():
            return folder
    raise FileNotFoundError(
        f"No {PARAMS_FILE} found at or above {here}; run this from the artrec project folder."
    )


def deep_merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``base`` with ``overlay`` merged in, by OmegaConf (Kedro's configuration library):
    nested mappings merge, everything else (scalars, lists) replaces."""
    merged = OmegaConf.merge(OmegaConf.create(dict(base)), OmegaConf.create(dict(overlay)))
    return OmegaConf.to_container(merged, resolve=False)


def resolve_profile(
    raw: Mapping[str, Any], profile: str | None = None, source: str = PARAMS_FILE
) -> dict[str, Any]:
    """Apply the overlay named by ``profile`` (or by ``raw['profile']``) to the raw parameters."""
    raw = dict(raw)
    profiles = raw.pop(PROFILES_KEY, None) or {}
    name = profile or raw.get("profile") or DEFAULT_PROFILE
    if not isinstance(name, str) or (name != DEFAULT_PROFILE and name not in profiles):
        known = [DEFAULT_PROFILE, *profiles]
        raise BadInputError(
            source,
            f"unknown parameter profile {name!r}",
            f"{_did_you_mean(str(name), known)}use one of {', '.join(known)}",
        )
    params = deep_merge(raw, profiles.get(name) or {})
    params["profile"] = name
    return params


def load_params(
    root: Path | None = None,
    profile: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Load ``params.yaml`` from ``root``, apply the selected profile, then ``overrides``.

    Every profile overlay and the ``overrides`` are checked against the defaults (unknown keys,
    types) and the result against :class:`ParamsSchema` (ranges); the first problem raises
    :class:`artrec.errors.BadInputError` naming the file (or ``--params``), the key and the fix.
    """
    path = (root or find_project_root()) / PARAMS_FILE
    raw = read_params_file(path)
    defaults = {key: value for key, value in raw.items() if key != PROFILES_KEY}
    profiles = raw.get(PROFILES_KEY) or {}
    if not isinstance(profiles, Mapping):
        raise BadInputError(
            path, f"'{PROFILES_KEY}' must map profile names to overlays", "fix its indentation"
        )
    for name, overlay in profiles.items():
        if not isinstance(overlay, Mapping):
            raise BadInputError(
                path,
                f"profile {name!r} must be a mapping of parameters, got {type(overlay).__name__}",
                "indent its parameters under the profile name",
            )
        check_overlay(overlay, defaults, f"{path} (profile {name!r})", f"{PROFILES_KEY}.{name}.")
    overrides = dict(overrides or {})
    chosen_by = (
        "--profile" if profile else OVERRIDES_SOURCE if "profile" in overrides else str(path)
    )
    profile = profile or overrides.pop("profile", None)
    check_overlay(overrides, defaults, OVERRIDES_SOURCE)
    params = deep_merge(resolve_profile(raw, profile, chosen_by), overrides)
    check_ranges(params, lambda key: _source_of(key, path, params["profile"], profiles, overrides))
    return params


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice in one mapping (PyYAML keeps the last)."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def read_params_file(path: Path) -> dict[str, Any]:
    """The parameters file as a mapping; YAML errors and duplicate keys name the line."""
    try:
        with path.open(encoding="utf-8") as handle:
            raw = yaml.load(handle, Loader=_UniqueKeyLoader)
    except FileNotFoundError as error:
        raise BadInputError(
            path, "parameters file not found", "run from the project folder"
        ) from error
    except UnicodeDecodeError as error:
        raise BadInputError(path, f"not UTF-8 text ({error})", "save it as UTF-8") from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise BadInputError(
            path, f"{where}invalid YAML ({problem})", "correct the YAML syntax there"
        ) from error
    if not raw:
        # Every stage would fail later on a missing key; say so now.
        raise BadInputError(path, "the parameters file is empty", "restore it from git")
    if not isinstance(raw, dict):
        raise BadInputError(
            path,
            f"must hold a mapping at the top level, got {type(raw).__name__}",
            "restore it from git",
        )
    return raw


def check_overlay(
    overlay: Mapping[str, Any], defaults: Mapping[str, Any], source: str, prefix: str = ""
) -> None:
    """Refuse keys of ``overlay`` that ``defaults`` lacks and values of another type."""
    for key, value in overlay.items():
        dotted = f"{prefix}{key}"
        if key not in defaults:
            valid = [str(k) for k in defaults]
            everything = [".".join(p) for p in _key_paths(defaults)]
            hint = _did_you_mean(str(key), valid) or _did_you_mean(dotted, everything)
            raise BadInputError(
                source,
                f"unknown parameter {dotted!r}",
                f"{hint}valid keys here: {', '.join(valid)}",
            )
        default = defaults[key]
        problem = _type_problem(value, default)
        if problem:
            raise BadInputError(
                source,
                f"parameter {dotted!r} is {_describe(value)}, {problem}",
                f"give a value like the default ({_describe(default)})",
            )
        if isinstance(default, Mapping):
            check_overlay(value, default, source, f"{dotted}.")


def _type_problem(value: Any, default: Any) -> str:
    """Why ``value`` cannot replace ``default`` ("" when it can)."""
    if default is None:
        return ""  # a null default takes any type (an optional setting)
    if isinstance(default, bool):
        return "" if isinstance(value, bool) else "expected true or false"
    if isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return "" if ok else "expected an integer"
    if isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return "" if ok else "expected a number"
    if isinstance(default, str):
        return "" if isinstance(value, str) else "expected a string"
    if isinstance(default, Mapping):
        return "" if isinstance(value, Mapping) else "expected a mapping of parameters"
    if isinstance(default, list):
        if not isinstance(value, list):
            return "expected a list"
        # Lists of numbers or strings keep their element type.
        for element in default[:1]:
            for item in value:
                problem = _type_problem(item, element)
                if problem:
                    return f"an element {item!r} is wrong ({problem})"
    return ""


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def _did_you_mean(word: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


def _key_paths(tree: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for key, value in tree.items():
        yield (*prefix, str(key))
        if isinstance(value, Mapping):
            yield from _key_paths(value, (*prefix, str(key)))


def _source_of(
    key: tuple[str, ...],
    path: Path,
    profile: str,
    profiles: Mapping[str, Any],
    overrides: Mapping[str, Any],
) -> str:
    """Where the value of ``key`` came from: the overrides, the selected profile or the defaults."""

    def has(tree: Any) -> bool:
        for part in key:
            if isinstance(tree, list):
                return True  # a list is replaced as a whole: its elements share its origin
            if not isinstance(tree, Mapping) or part not in tree:
                return False
            tree = tree[part]
        return True

    if has(overrides):
        return OVERRIDES_SOURCE
    if has(profiles.get(profile) or {}):
        return f"{path} (profile {profile!r})"
    return str(path)


# ---- ranges of the critical values -------------------------------------------------------------
# Only values whose wrong range would fail late (after hours of work) or silently are listed;
# every field is optional and unknown fields are allowed, so the schema never has to follow each
# new key of params.yaml (those are checked against the defaults instead). strict: no "3" for 3.
PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]
PositiveFloat = Annotated[float, Field(gt=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]
NonEmptyStr = Annotated[str, Field(min_length=1)]


class _Section(BaseModel):
    # allow_inf_nan=False: an infinite learning rate or GeM exponent is never meant.
    model_config = ConfigDict(extra="allow", strict=True, allow_inf_nan=False)


class _Source(_Section):
    source: NonEmptyStr | None = None


class _Data(_Section):
    mame: _Source | None = None
    met: _Source | None = None
    tate: _Source | None = None
    rijksmuseum: _Source | None = None
    antwerp: _Source | None = None
    downloads_dir: NonEmptyStr | None = None


class _SynthMame(_Section):
    classes: Annotated[list[NonEmptyStr], Field(min_length=1)] | None = None
    images_per_class: PositiveInt | None = None
    scale: PositiveFloat | None = None


class _SynthMet(_Section):
    n_exhibits: PositiveInt | None = None
    max_side: Annotated[int, Field(ge=8)] | None = None


class _SynthTate(_Section):
    records: PositiveInt | None = None
    thumbnail_size: Annotated[int, Field(ge=8)] | None = None
    fine_cycles: PositiveFloat | None = None


class _SynthCollection(_Section):
    objects: PositiveInt | None = None
    artists: NonNegativeInt | None = None
    artist_zipf: Annotated[float, Field(ge=0)] | None = None
    anonymous_share: Fraction | None = None
    unsigned_share: Fraction | None = None
    min_side: Annotated[int, Field(ge=8)] | None = None
    max_side: Annotated[int, Field(ge=8)] | None = None
    fine_cycles: PositiveFloat | None = None


class _Synth(_Section):
    mame: _SynthMame | None = None
    met: _SynthMet | None = None
    tate: _SynthTate | None = None
    rijksmuseum: _SynthCollection | None = None
    antwerp: _SynthCollection | None = None


class _Split(_Section):
    train: PositiveInt | None = None
    val: NonNegativeInt | None = None
    test: NonNegativeInt | None = None


class _CurateMame(_Section):
    min_product_size: NonNegativeInt | None = None
    drop_greyscale: bool | None = None
    min_images_per_class: PositiveInt | None = None
    split: _Split | None = None


class _CurateTate(_Section):
    n_classes: Annotated[int, Field(ge=2)] | None = None
    split: _Split | None = None


class _FractionSplit(_Section):
    train: Annotated[float, Field(gt=0, lt=1)] | None = None
    val: Annotated[float, Field(gt=0, lt=1)] | None = None


class _CurateTransfer(_Section):
    split: _FractionSplit | None = None
    challenges: dict[str, list[Literal["material", "type", "artist"]]] | None = None


class _Curate(_Section):
    mame: _CurateMame | None = None
    tate: _CurateTate | None = None
    transfer: _CurateTransfer | None = None


class _Version(_Section):
    preset: NonEmptyStr | None = None
    size: PositiveInt | None = None


class _PreprocessMame(_Section):
    max_bad_fraction: Fraction | None = None
    max_image_pixels: PositiveInt | None = None
    quality: Annotated[int, Field(ge=1, le=100)] | None = None
    versions: dict[str, _Version] | None = None


class _Preprocess(_Section):
    mame: _PreprocessMame | None = None


class _Inputs(_Section):
    batch_size: PositiveInt | None = None
    eval_batch_size: PositiveInt | None = None


class _TrainRuntime(_Section):
    num_workers: NonNegativeInt | None = None
    stop_after_epoch: PositiveInt | None = None


class _TrainMame(_Section):
    epochs: PositiveInt | None = None
    width_mult: PositiveFloat | None = None
    runtime: _TrainRuntime | None = None
    lr: dict[str, dict[str, PositiveFloat]] | None = None
    inputs: dict[str, _Inputs] | None = None


class _TrainTate(_Section):
    image_size: Annotated[int, Field(ge=8)] | None = None
    epochs: PositiveInt | None = None
    batch_size: PositiveInt | None = None
    eval_batch_size: PositiveInt | None = None
    width_mult: PositiveFloat | None = None
    runtime: _TrainRuntime | None = None
    lr: dict[str, PositiveFloat] | None = None


class _TrainMetInputs(_Section):
    image_size: Annotated[int, Field(ge=32)] | None = None  # GeM needs a feature map at 1/32
    crop_scale: Annotated[list[Fraction], Field(min_length=2, max_length=2)] | None = None
    color_jitter: (
        Annotated[list[Annotated[float, Field(ge=0)]], Field(min_length=4, max_length=4)] | None
    ) = None
    color_jitter_p: Fraction | None = None
    grayscale_p: Fraction | None = None


class _TrainMetOptim(_Section):
    lr_backbone: PositiveFloat | None = None
    lr_head: PositiveFloat | None = None
    weight_decay: Annotated[float, Field(ge=0)] | None = None


class _TrainMetFamily(_Section):
    epochs: PositiveInt | None = None
    batch_size: Annotated[int, Field(ge=2)] | None = None  # SimSiam's batch norm needs two
    margin: PositiveFloat | None = None
    negatives_pool: PositiveInt | None = None
    temperature: PositiveFloat | None = None
    arcface_scale: PositiveFloat | None = None
    arcface_margin: Annotated[float, Field(ge=0, lt=3.1416)] | None = None
    prototype_init: Literal["imprint", "random"] | None = None
    projector_dim: PositiveInt | None = None
    predictor_dim: PositiveInt | None = None


class _TrainMetPretrain(_Section):
    objects: Annotated[int, Field(ge=2)] | None = None
    photos_per_object: PositiveInt | None = None
    val_every: PositiveInt | None = None
    width_mult: PositiveFloat | None = None
    epochs: PositiveInt | None = None
    batch_size: PositiveInt | None = None
    lr: PositiveFloat | None = None


class _TrainMet(_Section):
    pretrain: _TrainMetPretrain | None = None
    inputs: _TrainMetInputs | None = None
    optim: _TrainMetOptim | None = None
    dnet: _TrainMetFamily | None = None
    simsiam: _TrainMetFamily | None = None
    contrastive: _TrainMetFamily | None = None
    runtime: _TrainRuntime | None = None


class _Train(_Section):
    mame: _TrainMame | None = None
    tate: _TrainTate | None = None
    met: _TrainMet | None = None


class _EmbedMet(_Section):
    gem_p: PositiveFloat | None = None
    max_side: PositiveInt | None = None
    max_image_pixels: PositiveInt | None = None
    batch_size: PositiveInt | None = None
    num_workers: NonNegativeInt | None = None
    chunk_size: PositiveInt | None = None


class _Embed(_Section):
    met: _EmbedMet | None = None


class _PcawMet(_Section):
    shrinkage: Fraction | None = None
    dim: PositiveInt | None = None


class _Pcaw(_Section):
    met: _PcawMet | None = None


class _KnnMet(_Section):
    ks: Annotated[list[PositiveInt], Field(min_length=1)] | None = None
    taus: Annotated[list[PositiveFloat], Field(min_length=1)] | None = None
    distractor_shares: list[Fraction] | None = None
    pcaw_dims: list[PositiveInt] | None = None
    mini_pcaw_dim: PositiveInt | None = None
    examples_per_row: PositiveInt | None = None


class _Knn(_Section):
    met: _KnnMet | None = None


class _TransferNetwork(_Section):
    width_mult: PositiveFloat | None = None
    batch_norm: bool | None = None
    input_size: Annotated[int, Field(ge=32)] | None = None
    mean: Annotated[list[float], Field(min_length=3, max_length=3)] | None = None
    std: Annotated[list[PositiveFloat], Field(min_length=3, max_length=3)] | None = None


class _TransferOptimiser(_Section):
    optimizer: Literal["rmsprop", "sgd", "adam", "amsgrad"] | None = None
    lr: PositiveFloat | None = None


class _TransferTraining(_Section):
    batch_size: PositiveInt | None = None
    max_epochs: PositiveInt | None = None
    patience: PositiveInt | None = None


class _Transfer(_Section):
    architectures: Annotated[list[NonEmptyStr], Field(min_length=1)] | None = None
    scratch_architectures: list[NonEmptyStr] | None = None
    networks: dict[str, _TransferNetwork] | None = None
    off_the_shelf: _TransferOptimiser | None = None
    fine_tuning: _TransferOptimiser | None = None
    training: _TransferTraining | None = None
    runtime: _TrainRuntime | None = None


class ParamsSchema(_Section):
    """Ranges of the critical parameters (the resolved values, profile and overrides applied)."""

    profile: NonEmptyStr | None = None
    seed: NonNegativeInt | None = None
    data: _Data | None = None
    synth: _Synth | None = None
    curate: _Curate | None = None
    preprocess: _Preprocess | None = None
    train: _Train | None = None
    embed: _Embed | None = None
    pcaw: _Pcaw | None = None
    knn: _Knn | None = None
    transfer: _Transfer | None = None


def check_ranges(params: Mapping[str, Any], source_of: Callable[[tuple[str, ...]], str]) -> None:
    """Validate ``params`` against :class:`ParamsSchema`; ``source_of(key)`` names the origin."""
    try:
        ParamsSchema.model_validate(dict(params))
    except ValidationError as error:
        first = error.errors()[0]
        # pydantic adds the union member tried ("int", "float", ...) to the location; drop it.
        key = tuple(str(part) for part in first["loc"] if not _is_type_tag(part))
        dotted = ".".join(key)
        value = _lookup(params, key)
        wanted = str(first["msg"]).removeprefix("Input should be ")
        article = "" if wanted.startswith(("a ", "an ")) else "a value "
        raise BadInputError(
            source_of(key),
            f"parameter {dotted!r} = {value!r} is invalid: it should be {wanted}",
            f"set {dotted} to {article}{wanted}",
        ) from None


def _is_type_tag(part: Any) -> bool:
    return isinstance(part, str) and (
        part in ("int", "float", "str", "bool", "list", "dict", "none")
        or part.startswith(("constrained-", "function-", "_"))
    )


def _lookup(tree: Any, key: tuple[str, ...]) -> Any:
    for part in key:
        if isinstance(tree, Mapping) and part in tree:
            tree = tree[part]
        elif isinstance(tree, list) and part.isdigit() and int(part) < len(tree):
            tree = tree[int(part)]
        else:
            return None
    return tree
