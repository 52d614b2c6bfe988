"""Machine-independence harness for the synthetic data generators.

The generators must write byte-identical files for a seed on any x86-64 or arm64 machine. Two
machines differ in which CPU-specific code paths their libraries pick at run time: numpy's SIMD
kernels (AVX2/AVX512 variants of exp, sin, power...), OpenBLAS kernels (einsum, linalg), glibc's
libm variants (FMA or not: math.sin, math.exp...) and libjpeg-turbo's SIMD encoder. This module
switches all of them off in a subprocess and compares the files with those of a default run.

    uv run --frozen python -m tests.synth.portability generate OUT [--large]  # write the set
    uv run --frozen python -m tests.synth.portability compare [--large]       # default vs. off

``compare`` prints the files whose SHA-256 differs and exits 1 if any does. A CPU-specific
result changes a byte only now and then (a last-bit difference must cross a rounding boundary
of the 8-bit pixels), so the small set catches gross regressions in seconds and ``--large``
(about ten times the pixels) is the thorough check.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from artrec.synth.mame import MAME_CLASSES, generate_museum_records, write_mame_dataset
from artrec.synth.met import generate_met_dataset
from artrec.synth.rijksmuseum import write_collection
from artrec.synth.tate import generate_tate_dataset

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_SEED = 11
# Small sizes, but every MAMe drawer, every raw-record kind and every Met image kind appears.
RECORD_CLASSES = ["Engraving", "Etching", "Oil on canvas", "Silk and metal thread", "Gold"]
MET_SIZES = {
    "n_exhibits": 24,
    "max_side": 160,
    "n_val_queries": 4,
    "n_test_queries": 6,
    "n_val_other_art": 4,
    "n_val_non_art": 4,
    "n_test_other_art": 6,
    "n_test_non_art": 8,
}

# glibc's x86-64 libm picks FMA/AVX2 variants of sin, cos, exp, log, pow, atan2... by CPU.
_GLIBC_HWCAPS_OFF = "glibc.cpu.hwcaps=" + ",".join(
    f"-{name}"
    for name in (
        "AVX",
        "AVX2",
        "FMA",
        "FMA4",
        "AVX512F",
        "AVX512DQ",
        "AVX512VL",
        "AVX512BW",
        "AVX512CD",
        "AVX_VNNI",
    )
)


def write_sample_set(out_dir: str | os.PathLike[str], large: bool = False) -> None:
    """Write the sample set: raw museum records, a MAMe dataset, a Met dataset, a Tate folder.

    ``large`` multiplies the image counts by about three and the pixels per image by four.
    """
    out = Path(out_dir)
    count, scale = (3, 0.2) if large else (1, 0.1)
    generate_museum_records(
        out / "mame_raw", RECORD_CLASSES, images_per_class=2 * count, seed=SAMPLE_SEED, scale=scale
    )
    # Every MAMe class, so every drawer, draws at least two images.
    splits = {"train": count, "test": count}
    write_mame_dataset(out / "mame", list(MAME_CLASSES), splits, seed=SAMPLE_SEED, scale=scale)
    met_sizes = {name: value * count for name, value in MET_SIZES.items()}
    met_sizes["max_side"] = MET_SIZES["max_side"] * (2 if large else 1)
    generate_met_dataset(out / "met", seed=SAMPLE_SEED, **met_sizes)
    write_tate_sample(out / "tate", count)
    write_transfer_sample(out, count)


def write_transfer_sample(out_dir: Path, count: int = 1) -> None:
    """Both transfer-learning collections (jpg2/ + xml2/), a few dozen objects each: most looks,
    signed, unsigned and anonymous objects."""
    for name, objects, artists in (("rijksmuseum", 24, 8), ("antwerp", 16, 5)):
        write_collection(
            out_dir / name,
            name,
            objects=objects * count,
            artists=artists,
            seed=SAMPLE_SEED,
            min_side=40 * count,
            max_side=48 * count,
            workers=1,
        )


def write_tate_sample(out_dir: Path, count: int = 1) -> None:
    """The Tate metadata and two thumbnails (times ``count``) of each of the ten classes, so every
    Tate look (MAMe drawers, watercolour wash, intaglio's two drawers) is drawn."""
    from artrec.curation.medium_tags import MediumTagger

    generate_tate_dataset(
        out_dir,
        facts_path=REPO_ROOT / "conf" / "base" / "tate_media.csv",
        records=1500,
        n_classes=10,
        images_per_class=2 * count,
        thumbnail_size_px=40 * count,
        fine_cycles=16,
        seed=SAMPLE_SEED,
        tagger=MediumTagger.load(REPO_ROOT / "conf" / "base" / "tate_medium_tags.yml"),
    )


def file_digests(root: str | os.PathLike[str]) -> dict[str, str]:
    """SHA-256 of every file under ``root``, keyed by its path relative to ``root``."""
    base = Path(root)
    return {
        path.relative_to(base).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(base.rglob("*"))
        if path.is_file()
    }


def cpu_features_off_env() -> dict[str, str]:
    """Environment variables that make this machine take its plainest code paths."""
    from numpy._core import _multiarray_umath as numpy_core

    found = [f for f in numpy_core.__cpu_dispatch__ if numpy_core.__cpu_features__.get(f)]
    env = {
        # numpy's run-time dispatched SIMD kernels (X86_V3 = AVX2/FMA, X86_V4 = AVX512...).
        "NPY_DISABLE_CPU_FEATURES": " ".join(found),
        # libjpeg-turbo: plain C encoder instead of SSE2/AVX2 (or NEON).
        "JSIMD_FORCENONE": "1",
    }
    if platform.machine() in {"x86_64", "AMD64"}:
        env["OPENBLAS_CORETYPE"] = "Prescott"
        env["GLIBC_TUNABLES"] = _GLIBC_HWCAPS_OFF
    return env


def generate_in_subprocess(
    out_dir: str | os.PathLike[str],
    extra_env: dict[str, str] | None = None,
    large: bool = False,
    timeout: float = 1800,
) -> dict[str, str]:
    """Write the sample set in a fresh interpreter (with ``extra_env``); return its digests."""
    env = dict(os.environ)
    env.update(extra_env or {})
    command = [sys.executable, "-m", "tests.synth.portability", "generate", str(out_dir)]
    command += ["--large"] if large else []
    result = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout)


def differing_files(first: dict[str, str], second: dict[str, str]) -> list[str]:
    """Paths whose digests differ, or that only one of the two runs wrote."""
    return sorted(
        path for path in first.keys() | second.keys() if first.get(path) != second.get(path)
    )


def compare(large: bool = False) -> int:
    """Generate the sample set with default and with CPU features off; report differences."""
    off = cpu_features_off_env()
    with tempfile.TemporaryDirectory() as scratch:
        default = generate_in_subprocess(Path(scratch) / "default", large=large)
        plain = generate_in_subprocess(Path(scratch) / "plain", off, large=large)
    differing = differing_files(default, plain)
    print("features off:", json.dumps(off, indent=1))
    print(f"{len(default)} files; {len(differing)} differ")
    for path in differing:
        print("  differs:", path)
    return 1 if differing else 0


def main(argv: list[str]) -> int:
    large = "--large" in argv
    args = [a for a in argv if a != "--large"]
    if len(args) == 2 and args[0] == "generate":
        write_sample_set(args[1], large=large)
        print(json.dumps(file_digests(args[1]), indent=1))
        return 0
    if args == ["compare"]:
        return compare(large=large)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
