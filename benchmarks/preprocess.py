"""Benchmark the image preprocessing stage against a naive full-resolution resize.

Generates high-resolution JPEGs with realistic detail (multi-scale texture, grain, strokes and
edges; flat images decode unrealistically fast), then measures on the same images and output size
(HR&VS, shorter side 500 px as in the MAMe paper):

- per core: images/second of the naive path (full decode, convert to RGB, Lanczos resize) and of
  this stage's path (JPEG draft decoding + Lanczos), the speed-up, and the PSNR between outputs;
- scaling: images/second of ``preprocess_dataset`` (decode, resize, JPEG encode, atomic write,
  then the manifest read back) over worker counts, pool start-up included; its process pool is
  the pipeline's, ``artrec.utils.partitions.write_partitions``.

Run: ``python benchmarks/preprocess.py [--n 8] [--megapixels 10] [--workers 1,2]``.
Timings are best-of-``--repeat`` per image, to damp noise from other processes on the machine.
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from artrec.images.decode import DEFAULT_DRAFT_HEADROOM, load_resized
from artrec.images.preprocess import ResizeSpec, preprocess_dataset, save_output

SPEEDUP_TARGET = 3.0
PSNR_TARGET_DB = 35.0
SCALING_EFFICIENCY_TARGET = 0.8


def make_detailed_jpeg(path: Path, megapixels: float, seed: int, quality: int = 92) -> None:
    """A 3:2 JPEG with roughly 1/f texture, film grain and sharp strokes, like a painting photo."""
    rng = np.random.default_rng(seed)
    height = int(round(np.sqrt(megapixels * 1e6 / 1.5)))
    width = int(round(height * 1.5))
    canvas = np.full((height, width, 3), 128.0, dtype=np.float32)
    # Octaves from whole-image colour fields down to ~3 px detail, amplitude falling with scale;
    # the fine octaves and the grain are mostly luminance, as in photographs of paintings.
    octaves = ((3, 70.0, 3), (12, 45.0, 3), (48, 28.0, 3), (192, 16.0, 1), (1024, 10.0, 1))
    for cells, amplitude, channels in octaves:
        shape = (cells, int(cells * 1.5) + 1, channels)
        coarse = rng.integers(0, 256, size=shape, dtype=np.uint8)
        field = Image.fromarray(coarse.squeeze(-1) if channels == 1 else coarse)
        field = np.asarray(field.resize((width, height), Image.Resampling.BICUBIC), np.float32)
        field = field[..., None] if channels == 1 else field
        canvas += (field - 127.5) * (amplitude / 127.5)
    canvas += rng.standard_normal((height, width, 1), dtype=np.float32) * 5.0
    image = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(300):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        colour = tuple(int(v) for v in rng.integers(0, 256, size=3))
        stroke = int(rng.integers(1, 10))
        if rng.random() < 0.5:
            radius = int(rng.integers(5, height // 4))
            draw.ellipse(
                [x - radius, y - radius, x + radius, y + radius], outline=colour, width=stroke
            )
        else:
            dx, dy = (int(v) for v in rng.integers(-width // 4, width // 4, size=2))
            draw.line([x, y, x + dx, y + dy], fill=colour, width=stroke)
    image.save(path, format="JPEG", quality=quality)


def naive_resize(path: Path, spec: ResizeSpec) -> Image.Image:
    with Image.open(path) as im:
        rgb = im.convert("RGB")
    return rgb.resize(spec.output_size(*rgb.size), Image.Resampling.LANCZOS)


def psnr_db(reference: Image.Image, other: Image.Image) -> float:
    a = np.asarray(reference, dtype=np.float64)
    b = np.asarray(other, dtype=np.float64)
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def jpeg_round_trip(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    save_output(image, buffer, "jpeg", quality)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def best_time(function: Callable[[], Image.Image], repeat: int) -> tuple[float, Image.Image]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def load_average() -> str:
    # Other processes on a shared machine take cores away from the scaling run; say how many.
    if not hasattr(os, "getloadavg"):
        return "load average unknown"
    return "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> None:
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=8, help="number of generated images")
    parser.add_argument("--megapixels", type=float, default=10.0, help="size of each image")
    parser.add_argument("--size", type=int, default=500, help="HR&VS shorter side of the output")
    parser.add_argument(
        "--workers",
        default=",".join(str(w) for w in range(1, (nproc or 1) + 1)),
        help="comma-separated worker counts for the scaling run (default 1..nproc)",
    )
    parser.add_argument(
        "--headroom",
        default=f"{DEFAULT_DRAFT_HEADROOM:g},2",
        help="comma-separated draft headrooms to compare; the first is used for the targets and scaling",
    )
    parser.add_argument("--repeat", type=int, default=3, help="timings are best of this many")
    parser.add_argument(
        "--scaling-images",
        type=int,
        default=96,
        help="images per worker count in the scaling run (enough to amortise the pool start-up)",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    worker_counts = [int(w) for w in args.workers.split(",")]
    headrooms = [float(h) for h in args.headroom.split(",")]
    spec = ResizeSpec("short_side", args.size)

    with tempfile.TemporaryDirectory(prefix="artrec-bench-") as tmp:
        tmp_dir = Path(tmp)
        start = time.perf_counter()
        sources = []
        for i in range(args.n):
            path = tmp_dir / f"src_{i:03d}.jpg"
            make_detailed_jpeg(path, args.megapixels, seed=args.seed + i)
            sources.append(path)
        with Image.open(sources[0]) as first:
            size = first.size
        mean_mb = np.mean([p.stat().st_size for p in sources]) / 1e6
        print(
            f"generated {args.n} JPEGs of {size[0]}x{size[1]} ({args.megapixels:g} MP, "
            f"mean {mean_mb:.1f} MB) in {time.perf_counter() - start:.1f} s; "
            f"output: shorter side {args.size} px; {nproc} cores visible; {load_average()}"
        )

        # Naive and fast paths are timed back to back on each image so that load from other
        # processes on the machine affects both alike.
        naive_s, encode_psnrs = [], []
        fast_s = {h: [] for h in headrooms}
        psnrs = {h: [] for h in headrooms}
        for path in sources:
            seconds, reference = best_time(lambda path=path: naive_resize(path, spec), args.repeat)
            naive_s.append(seconds)
            encode_psnrs.append(psnr_db(reference, jpeg_round_trip(reference, quality=95)))
            for headroom in headrooms:

                def fast(path: Path = path, headroom: float = headroom) -> Image.Image:
                    return load_resized(path, spec.output_size, draft_headroom=headroom)

                seconds, out = best_time(fast, args.repeat)
                fast_s[headroom].append(seconds)
                psnrs[headroom].append(psnr_db(reference, out))

        naive_ms = 1000 * np.mean(naive_s)
        print("\nper core (one process, decode + resize, no encode):")
        print(
            f"  naive full decode + Lanczos     {naive_ms:7.1f} ms/img {1000 / naive_ms:6.2f} img/s"
        )
        summary = {}
        for headroom in headrooms:
            fast_ms = 1000 * np.mean(fast_s[headroom])
            speedup = naive_ms / fast_ms
            psnr_mean, psnr_min = float(np.mean(psnrs[headroom])), float(np.min(psnrs[headroom]))
            summary[headroom] = speedup, psnr_mean, psnr_min
            print(
                f"  draft decode, headroom {headroom:<4g}     {fast_ms:7.1f} ms/img "
                f"{1000 / fast_ms:6.2f} img/s  speed-up {speedup:4.2f}x  "
                f"PSNR mean {psnr_mean:5.2f} dB, min {psnr_min:5.2f} dB"
            )

        print(
            f"  (for scale: saving the naive output as the stage does, JPEG q95 4:4:4, gives PSNR mean "
            f"{np.mean(encode_psnrs):5.2f} dB, min {np.min(encode_psnrs):5.2f} dB)"
        )

        print(
            "\nscaling (preprocess_dataset: decode, resize, encode q95, atomic write; "
            f"{load_average()}):"
        )
        # The generated images are reused under several names to give every worker enough work.
        rows = [(f"{i:04d}.jpg", sources[i % len(sources)]) for i in range(args.scaling_images)]
        rates = {}
        for workers in worker_counts:
            start = time.perf_counter()
            preprocess_dataset(
                rows,
                tmp_dir / f"out_w{workers}",
                spec,
                workers=workers,
                max_bad_fraction=0.0,
                draft_headroom=headrooms[0],
                progress=False,
            )
            rates[workers] = len(rows) / (time.perf_counter() - start)
        base = rates[worker_counts[0]] / worker_counts[0]
        for workers, rate in rates.items():
            print(
                f"  {workers:2d} worker(s): {rate:6.2f} img/s over {len(rows)} images, "
                f"efficiency {rate / (workers * base):4.2f}"
            )

    print("\ntargets (the machine is shared: timings are noisy):")
    speedup, psnr_mean, psnr_min = summary[headrooms[0]]
    print(
        f"  {verdict(speedup >= SPEEDUP_TARGET)}: per-core speed-up {speedup:.2f}x >= "
        f"{SPEEDUP_TARGET:g}x (headroom {headrooms[0]:g})"
    )
    print(
        f"  {verdict(psnr_min >= PSNR_TARGET_DB)}: PSNR min {psnr_min:.2f} dB (mean "
        f"{psnr_mean:.2f}) >= {PSNR_TARGET_DB:g} dB (headroom {headrooms[0]:g})"
    )
    most = max(worker_counts)
    efficiency = rates[most] / (most * base)
    print(
        f"  {verdict(efficiency >= SCALING_EFFICIENCY_TARGET)}: scaling efficiency "
        f"{efficiency:.2f} at {most} workers >= {SCALING_EFFICIENCY_TARGET:g}"
    )


if __name__ == "__main__":
    main()
