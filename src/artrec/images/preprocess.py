"""Resize a whole image collection once, in parallel, to the input version a model trains on.

The MAMe paper (section 4.2) trains on two versions of each image: HR&VS (shorter side exactly
500 px, aspect ratio kept) and LR&FS (256 x 256, deformed). The public baseline code adds
area-preserving versions (about 65k or 360k pixels). Resizing the 10 MP originals on every epoch
would dominate training time, so this stage writes the resized images once; random augmentation
happens later, on the small images.

One mechanism does the work, in three parts:

- :func:`preprocess_partitions`: the resized images as lazy partitions, one callable per image
  returning its encoded bytes (``None`` for an unusable input: no file), optionally followed by
  the bad-fraction check as an :class:`~artrec.utils.partitions.AfterWrite` partition;
- :func:`artrec.utils.partitions.write_partitions` evaluates them (process pool, atomic writes,
  resume of an interrupted write); in the pipeline it runs inside
  ``artrec.kedro_io.directory.DirectoryDataset``, which writes a work folder and swaps it in;
- :func:`summarise_outputs`: the manifest and the quarantine read back from the written folder
  (an input without output is decoded again for its reason); raises
  :class:`TooManyBadImagesError` when more than ``max_bad_fraction`` of the inputs are unusable.

:func:`preprocess_dataset` composes the three for a plain folder. In the pipeline the check runs
inside the save, before the swap, so a failing stage leaves the previous folder intact.
"""

from __future__ import annotations

import functools
import io
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, NamedTuple

from PIL import Image

from artrec.errors import BadInputError
from artrec.images.decode import (
    DEFAULT_DRAFT_HEADROOM,
    DEFAULT_MAX_PIXELS,
    BadImageError,
    load_resized,
)
from artrec.utils.partitions import AfterWrite, Partitions, write_partitions

if TYPE_CHECKING:
    import pandas as pd

ResizeMode = Literal["short_side", "fixed", "area"]
OutputFormat = Literal["jpeg", "png"]


@dataclass(frozen=True)
class ResizeSpec:
    """How to resize: ``mode`` and one ``size`` whose meaning depends on the mode.

    - ``short_side``: the shorter side becomes exactly ``size`` px, aspect ratio kept (HR&VS);
    - ``fixed``: ``size`` x ``size``, deforming (LR&FS and the fixed-shape area variants);
    - ``area``: about ``size`` pixels in total, aspect ratio kept (variable-shape area variants).
    """

    mode: ResizeMode
    size: int

    def __post_init__(self) -> None:
        if self.mode not in ("short_side", "fixed", "area"):
            raise ValueError(f"unknown resize mode {self.mode!r}")
        if self.size < 1:
            raise ValueError(f"resize size must be positive, got {self.size}")

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) of the output for an input of ``width`` x ``height``."""
        if self.mode == "fixed":
            return self.size, self.size
        if self.mode == "short_side":
            # Rounding as in the public MAMe baseline code (DownAxisDataset).
            if width <= height:
                return self.size, max(1, round(height * self.size / width))
            return max(1, round(width * self.size / height)), self.size
        # Truncation as in the public MAMe baseline code (ReduceKeepARPreprocess).
        aspect = width / height
        return (
            max(1, int(math.sqrt(self.size * aspect))),
            max(1, int(math.sqrt(self.size / aspect))),
        )


# Paper sizes; pass a smaller ``size`` to ``resize_spec`` for the CPU profiles.
# The paper's two input versions (HR&VS, LR&FS); PRESETS may hold more sizes (area65k/360k).
INPUT_VERSIONS: tuple[str, ...] = ("lrfs", "hrvs")

PRESETS: dict[str, ResizeSpec] = {
    "hrvs": ResizeSpec("short_side", 500),
    "lrfs": ResizeSpec("fixed", 256),
    "area65k_vs": ResizeSpec("area", 65_536),
    "area360k_vs": ResizeSpec("area", 360_000),
    "area65k_fs": ResizeSpec("fixed", 256),
    "area360k_fs": ResizeSpec("fixed", 600),
}


def resize_spec(preset: str, size: int | None = None) -> ResizeSpec:
    """The named preset, with its ``size`` replaced when one is given."""
    if preset not in PRESETS:
        raise ValueError(f"unknown resize preset {preset!r}; choose one of {sorted(PRESETS)}")
    spec = PRESETS[preset]
    return spec if size is None else replace(spec, size=size)


@dataclass
class PreprocessResult:
    """``manifest``: image_file, path (relative to the output folder), width, height, for every
    usable image in input order; ``quarantine``: image_file, reason, for every unusable one."""

    manifest: pd.DataFrame
    quarantine: pd.DataFrame


class TooManyBadImagesError(BadInputError):
    """More inputs were unusable than the stage tolerates; ``result`` holds both tables."""

    def __init__(
        self, path: str | os.PathLike[str], problem: str, fix: str, result: PreprocessResult
    ) -> None:
        super().__init__(path, problem, fix)
        self.result = result


class _Job(NamedTuple):
    image_file: str
    source: Path
    output: Path


class _Outcome(NamedTuple):
    image_file: str
    width: int
    height: int
    reason: str | None


def preprocess_dataset(
    rows: Sequence[tuple[str, str | os.PathLike[str]]] | pd.DataFrame,
    out_dir: str | os.PathLike[str],
    spec: ResizeSpec,
    workers: int | None = None,
    max_bad_fraction: float = 0.01,
    quality: int = 95,
    *,
    output_format: OutputFormat = "jpeg",
    max_pixels: int = DEFAULT_MAX_PIXELS,
    draft_headroom: float = DEFAULT_DRAFT_HEADROOM,
    progress: bool = True,
) -> PreprocessResult:
    """Resize every ``(image_file, source path)`` to ``out_dir/<image_file>`` following ``spec``.

    ``rows`` is a sequence of pairs or a DataFrame with columns ``image_file`` and ``source_path``.
    ``workers``: processes to use (``None``: the available cores, at most 8; 1: no subprocess).
    Outputs are JPEG at ``quality`` (suffix ``.jpg`` unless ``image_file`` ends in .jpg/.jpeg)
    or, with ``output_format="png"``, lossless PNG (suffix ``.png``). Raises
    :class:`TooManyBadImagesError`, after finishing every other image, when more than
    ``max_bad_fraction`` of the inputs are unusable. The caller writes the manifest.

    The pipeline's mechanism on a plain folder: the image partitions of
    :func:`preprocess_partitions`, written by ``write_partitions`` (an interrupted run resumes;
    a finished one is rewritten on a rerun, to the same bytes), then :func:`summarise_outputs`.
    """
    _check_arguments(max_bad_fraction, output_format)
    out_dir = Path(out_dir)
    options = _options(spec, output_format, max_pixels, draft_headroom)
    # Bad rows are refused here, naming the folder, before anything is written.
    jobs = _make_jobs(_as_pairs(rows), out_dir, output_format)
    write_partitions(
        out_dir,
        _image_partitions(jobs, out_dir, quality, options),
        workers=workers,
        progress=progress,
    )
    return _summarise(jobs, out_dir, max_bad_fraction, options)


def _check_arguments(max_bad_fraction: float | None, output_format: str) -> None:
    if max_bad_fraction is not None and not 0.0 <= max_bad_fraction <= 1.0:
        raise ValueError(f"max_bad_fraction must be in [0, 1], got {max_bad_fraction}")
    if output_format not in ("jpeg", "png"):
        raise ValueError(f"output_format must be 'jpeg' or 'png', got {output_format!r}")


def _options(
    spec: ResizeSpec, output_format: OutputFormat, max_pixels: int, draft_headroom: float
) -> dict[str, Any]:
    """How every input is decoded and resized, shared by the images and their summary."""
    return {
        "spec": spec,
        "output_format": output_format,
        "max_pixels": max_pixels,
        "draft_headroom": draft_headroom,
    }


def _result(
    jobs: list[_Job], outcomes: list[_Outcome], out_dir: Path, max_bad_fraction: float
) -> PreprocessResult:
    """The manifest and the quarantine; raises when too many inputs were unusable."""
    # Imported here, not at module level: every worker process imports this module, and pandas
    # would add about a second to each worker's start-up.
    import pandas as pd

    by_file = {job.image_file: job for job in jobs}
    done = [o for o in outcomes if o.reason is None]
    bad = [o for o in outcomes if o.reason is not None]
    manifest = pd.DataFrame(
        {
            "image_file": [o.image_file for o in done],
            "path": [by_file[o.image_file].output.relative_to(out_dir).as_posix() for o in done],
            "width": pd.Series([o.width for o in done], dtype="int64"),
            "height": pd.Series([o.height for o in done], dtype="int64"),
        }
    )
    quarantine = pd.DataFrame(
        {"image_file": [o.image_file for o in bad], "reason": [o.reason for o in bad]},
        dtype="object",
    )
    result = PreprocessResult(manifest=manifest, quarantine=quarantine)
    if jobs and len(bad) > max_bad_fraction * len(jobs):
        examples = "; ".join(f"{o.image_file}: {o.reason}" for o in bad[:5])
        sources = [str(by_file[o.image_file].source.parent) for o in bad]
        raise TooManyBadImagesError(
            os.path.commonpath(sources),
            f"{len(bad)} of {len(jobs)} images are unusable ({len(bad) / len(jobs):.1%}), more "
            f"than max_bad_fraction={max_bad_fraction} allows (the {len(done)} good outputs are "
            f"kept in {out_dir}); first ones: {examples}",
            "replace those files with readable copies, remove their rows from the dataset, or "
            "raise preprocess.mame.max_bad_fraction to quarantine them",
            result,
        )
    return result


def preprocess_partitions(
    rows: Sequence[tuple[str, str | os.PathLike[str]]] | pd.DataFrame,
    spec: ResizeSpec,
    quality: int = 95,
    *,
    output_format: OutputFormat = "jpeg",
    max_pixels: int = DEFAULT_MAX_PIXELS,
    draft_headroom: float = DEFAULT_DRAFT_HEADROOM,
    max_bad_fraction: float | None = None,
) -> Partitions:
    """The resized images as lazy partitions (``artrec.utils.partitions``): output file name
    (as :func:`preprocess_dataset` names it) -> a callable returning its bytes, or ``None`` for
    an unusable input (no file; :func:`summarise_outputs` quarantines it with the reason).

    With ``max_bad_fraction``, the partitions end with the check of :func:`summarise_outputs`
    (an ``AfterWrite`` under the key ``""``, writing nothing): the write raises
    :class:`TooManyBadImagesError` once the images are written, before a ``DirectoryDataset``
    swaps its work folder in.
    """
    _check_arguments(max_bad_fraction, output_format)
    options = _options(spec, output_format, max_pixels, draft_headroom)
    jobs = _make_jobs(_as_pairs(rows), Path("."), output_format)
    partitions: dict[str, Any] = _image_partitions(jobs, Path("."), quality, options)
    if max_bad_fraction is not None:
        check = functools.partial(_check_written, jobs, max_bad_fraction, options)
        partitions[""] = AfterWrite(check)
    return partitions


def summarise_outputs(
    rows: Sequence[tuple[str, str | os.PathLike[str]]] | pd.DataFrame,
    out_dir: str | os.PathLike[str],
    spec: ResizeSpec,
    max_bad_fraction: float = 0.01,
    *,
    output_format: OutputFormat = "jpeg",
    max_pixels: int = DEFAULT_MAX_PIXELS,
    draft_headroom: float = DEFAULT_DRAFT_HEADROOM,
) -> PreprocessResult:
    """The tables of :func:`preprocess_dataset` for the folder :func:`preprocess_partitions`
    filled: sizes read from the outputs' headers; an input without output is decoded again for
    the reason it is unusable. Raises :class:`TooManyBadImagesError` like the stage."""
    _check_arguments(max_bad_fraction, output_format)
    out_dir = Path(out_dir)
    jobs = _make_jobs(_as_pairs(rows), out_dir, output_format)
    options = _options(spec, output_format, max_pixels, draft_headroom)
    return _summarise(jobs, out_dir, max_bad_fraction, options)


def _image_partitions(
    jobs: list[_Job], root: Path, quality: int, options: dict[str, Any]
) -> dict[str, Any]:
    return {
        job.output.relative_to(root).as_posix(): functools.partial(
            _resized_or_none, job.source, quality=quality, **options
        )
        for job in jobs
    }


def _check_written(
    jobs: list[_Job], max_bad_fraction: float, options: dict[str, Any], folder: Path
) -> None:
    """The bad-fraction check of a folder just written from :func:`preprocess_partitions`."""
    placed = [job._replace(output=folder / job.output) for job in jobs]
    _summarise(placed, folder, max_bad_fraction, options)


def _summarise(
    jobs: list[_Job], out_dir: Path, max_bad_fraction: float, options: dict[str, Any]
) -> PreprocessResult:
    spec: ResizeSpec = options["spec"]
    outcomes = []
    for job in jobs:
        if job.output.is_file():
            with Image.open(job.output) as done:
                outcomes.append(_Outcome(job.image_file, *done.size, None))
            continue
        try:
            load_resized(
                job.source,
                spec.output_size,
                max_pixels=options["max_pixels"],
                draft_headroom=options["draft_headroom"],
            )
        except BadImageError as exc:
            outcomes.append(_Outcome(job.image_file, 0, 0, exc.reason))
            continue
        raise BadInputError(
            job.output,
            f"no output for {job.image_file}, whose input {job.source} decodes",
            "rerun the preprocess stage (the folder was not written by it, or was altered)",
        )
    return _result(jobs, outcomes, out_dir, max_bad_fraction)


def _resized_or_none(source: Path, **options: Any) -> bytes | None:
    """One resized image's file (in a worker process), or ``None`` for an unusable input."""
    try:
        return resized_bytes(source, **options)
    except BadImageError:
        return None


def resized_bytes(
    source: str | os.PathLike[str],
    *,
    spec: ResizeSpec,
    quality: int,
    output_format: OutputFormat,
    max_pixels: int,
    draft_headroom: float,
) -> bytes:
    """Decode and resize one input and encode it as the stage stores it (raises BadImageError)."""
    image = load_resized(
        source, spec.output_size, max_pixels=max_pixels, draft_headroom=draft_headroom
    )
    buffer = io.BytesIO()
    save_output(image, buffer, output_format, quality)
    return buffer.getvalue()


def save_output(
    image: Image.Image, handle: BinaryIO, output_format: OutputFormat = "jpeg", quality: int = 95
) -> None:
    """Encode a preprocessed image as the stage stores it: JPEG at ``quality`` or lossless PNG."""
    if output_format == "png":
        image.save(handle, format="PNG")
    else:
        # Full-resolution chroma (4:4:4): at a few hundred pixels, 4:2:0 subsampling visibly blurs
        # the colour texture that tells media apart.
        image.save(handle, format="JPEG", quality=quality, subsampling=0)


def _as_pairs(
    rows: Sequence[tuple[str, str | os.PathLike[str]]] | pd.DataFrame,
) -> list[tuple[str, Path]]:
    if hasattr(rows, "columns"):  # a DataFrame
        missing = {"image_file", "source_path"} - set(rows.columns)
        if missing:
            raise BadInputError(
                "the image table",
                f"rows is missing column(s) {sorted(missing)}",
                "pass a table with the columns image_file and source_path",
            )
        rows = list(zip(rows["image_file"], rows["source_path"], strict=True))
    return [(str(image_file), Path(source)) for image_file, source in rows]


def _make_jobs(
    pairs: Iterable[tuple[str, Path]], out_dir: Path, output_format: OutputFormat
) -> list[_Job]:
    jobs, owner_of_output, problems = [], {}, []
    for image_file, source in pairs:
        relative = PurePosixPath(image_file)
        escapes = relative.is_absolute() or ".." in relative.parts or "\\" in image_file
        if not image_file or escapes or "\x00" in image_file:
            problems.append(f"{image_file!r}: image_file must be a relative path inside out_dir")
            continue
        output = out_dir / _output_name(relative, output_format)
        if output in owner_of_output:
            problems.append(
                f"{image_file!r}: same output file as {owner_of_output[output]!r} (listed twice?)"
            )
        owner_of_output[output] = image_file
        jobs.append(_Job(image_file, source, output))
    if problems:
        raise BadInputError(
            out_dir,
            f"{len(problems)} bad image_file entries: " + "; ".join(problems[:10]),
            "correct the Image file column of the dataset table (one row per image, paths "
            "relative to the images folder)",
        )
    return jobs


def _output_name(image_file: PurePosixPath, output_format: OutputFormat) -> PurePosixPath:
    # The suffix always names the stored format, so no reader is misled by a .png holding a JPEG.
    if output_format == "png":
        return image_file.with_suffix(".png")
    return (
        image_file
        if image_file.suffix.lower() in (".jpg", ".jpeg")
        else image_file.with_suffix(".jpg")
    )
