"""The ``artrec`` command: user-facing tools beside the DVC/Kedro pipeline.

    artrec params [--profile P]                     print the resolved parameters
    artrec synth mame-raw OUT [--profile P]         raw museum records (input of curation)
    artrec synth mame OUT [--profile P]             a ready MAMe-format dataset
    artrec synth met OUT [--profile P]              a Met-format dataset
    artrec evaluate-descriptors --descriptors F.pkl --ground-truth DIR [--autotune | --k K --tau T]
                                [--dim D] [--raw]   GAP / GAP- / ACC of pre-extracted descriptors

Sizes for ``synth`` come from ``params.yaml`` (profile applied) when run inside the project,
and from the embedded defaults of the generators otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml


def _params(profile: str | None) -> dict[str, Any]:
    from artrec.config import find_project_root, load_params

    try:
        return load_params(find_project_root(), profile=profile)
    except FileNotFoundError:
        return {}


def _cmd_params(args: argparse.Namespace) -> int:
    print(yaml.safe_dump(_params(args.profile), sort_keys=False), end="")
    return 0


def _cmd_synth(args: argparse.Namespace) -> int:
    params = _params(args.profile)
    seed = args.seed if args.seed is not None else int(params.get("seed", 0))
    synth = params.get("synth", {})
    out = Path(args.out)
    if args.dataset == "mame-raw":
        from artrec.synth.mame import generate_museum_records

        spec = synth.get("mame", {})
        generate_museum_records(
            out, seed=seed, **_pick(spec, "classes", "images_per_class", "scale")
        )
    elif args.dataset == "mame":
        from artrec.synth.mame import write_mame_dataset

        spec = synth.get("mame", {})
        split = params.get("curate", {}).get("mame", {}).get("split")
        extra = {"split_sizes": dict(split)} if split else {}
        write_mame_dataset(out, seed=seed, **_pick(spec, "classes", "scale"), **extra)
    else:
        from artrec.synth.met import generate_met_dataset

        generate_met_dataset(out, seed=seed, **synth.get("met", {}))
    print(f"wrote a synthetic {args.dataset} dataset to {out}")
    return 0


def _pick(spec: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: spec[key] for key in keys if key in spec}


def _cmd_evaluate_descriptors(args: argparse.Namespace) -> int:
    from artrec.retrieval.descriptors import evaluate_descriptors, load_descriptor_pickle

    if not args.autotune and (args.k is None or args.tau is None):
        print("error: give --autotune, or both --k and --tau", file=sys.stderr)
        return 2
    descriptors = load_descriptor_pickle(Path(args.descriptors))
    result = evaluate_descriptors(
        descriptors,
        Path(args.ground_truth),
        autotune=args.autotune,
        k=args.k,
        tau=args.tau,
        dim=args.dim,
        raw=args.raw,
    )
    print(json.dumps(result))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="artrec", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    show = commands.add_parser("params", help="print the resolved parameters")
    show.add_argument("--profile", help="default, tiny or paper (default: params.yaml's)")
    show.set_defaults(func=_cmd_params)

    synth = commands.add_parser("synth", help="write an embedded synthetic dataset")
    synth.add_argument("dataset", choices=["mame-raw", "mame", "met"])
    synth.add_argument("out", help="output folder")
    synth.add_argument("--profile", help="parameter profile giving the sizes")
    synth.add_argument("--seed", type=int, help="random seed (default: params.yaml's)")
    synth.set_defaults(func=_cmd_synth)

    evaluate = commands.add_parser(
        "evaluate-descriptors", help="evaluate a Met descriptor pickle (GAP, GAP-, ACC)"
    )
    evaluate.add_argument("--descriptors", required=True, help="pickle with *_descriptors arrays")
    evaluate.add_argument("--ground-truth", required=True, help="folder with the Met JSON files")
    evaluate.add_argument("--autotune", action="store_true", help="tune k and tau on val GAP")
    evaluate.add_argument("--k", type=int, help="number of neighbours")
    evaluate.add_argument("--tau", type=float, help="soft-max temperature")
    evaluate.add_argument("--dim", type=int, help="PCA-whitening output dimension")
    evaluate.add_argument("--raw", action="store_true", help="no PCA whitening")
    evaluate.set_defaults(func=_cmd_evaluate_descriptors)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    sys.exit(args.func(args))
