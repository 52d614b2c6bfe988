"""The ``artrec`` command: user-facing tools beside the DVC/Kedro pipeline.

    artrec params [--profile P] [--params K=V,...] [--out FILE]
                                                     print (or write) the resolved, validated parameters
    artrec synth mame-raw OUT [--profile P]         raw museum records (input of curation)
    artrec synth mame OUT [--profile P]             a ready MAMe-format dataset
    artrec synth met OUT [--profile P]              a Met-format dataset
    artrec evaluate-descriptors --descriptors F.pkl --ground-truth DIR [--autotune | --k K --tau T]
                                [--dim D] [--raw]   GAP / GAP- / ACC of pre-extracted descriptors

Sizes for ``synth`` come from ``params.yaml`` (profile applied) when run inside the project,
and from the embedded defaults of the generators otherwise.

Errors in what a user hands the tool (a bad file, an unknown parameter) end the command with
exit code 2 and one line on stderr, ``error: <file>: <problem>. Fix: <fix>``; any other failure
with exit code 1 and one line naming it (``ARTREC_TRACEBACK=1`` prints the traceback as well).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import traceback
from pathlib import Path
from typing import Any

import yaml

from artrec import predict as predict_parser
from artrec.errors import BadInputError, find_artrec_error, one_line_message

EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1
RESOLVED_HEADER = (
    "# Written by the resolve_params stage (`artrec params --out`) from params.yaml with its\n"
    "# profile applied. Do not edit: edit params.yaml. DVC stages track their values here.\n"
)


def _params(profile: str | None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    from artrec.config import find_project_root, load_params

    try:
        root = find_project_root()
    except FileNotFoundError:
        return {}
    return load_params(root, profile=profile, overrides=overrides)


def _parse_overrides(text: str | None) -> dict[str, Any]:
    """``a.b=1,c=x`` as a nested mapping, values parsed as ``kedro run --params`` parses them."""
    if not text:
        return {}
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    items = [item.strip() for item in text.split(",") if item.strip()]
    bad = [item for item in items if "=" not in item or not item.partition("=")[0].strip()]
    if bad:
        raise BadInputError("--params", f"{bad[0]!r} is not KEY=VALUE", "write --params a.b=1,c=x")
    try:
        return OmegaConf.to_container(OmegaConf.from_dotlist(items))  # type: ignore[return-value]
    except OmegaConfBaseException as error:
        raise BadInputError("--params", str(error), "write --params a.b=1,c=x") from None


def _cmd_params(args: argparse.Namespace) -> int:
    params = _params(args.profile, _parse_overrides(args.params))
    text = yaml.safe_dump(params, sort_keys=False)
    if args.out is None:
        print(text, end="")
    else:
        # The resolved_params DVC stage: every other stage tracks the values it reads in this
        # file, so a profile change reruns only the stages whose values it changes.
        from artrec.utils.atomic import atomic_write_text

        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(Path(args.out), RESOLVED_HEADER + text)
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
            out, seed=seed, **_pick(spec, "classes", "images_per_class", "scale", "fine_cycles")
        )
    elif args.dataset == "mame":
        from artrec.synth.mame import write_mame_dataset

        spec = synth.get("mame", {})
        split = params.get("curate", {}).get("mame", {}).get("split")
        extra = {"split_sizes": dict(split)} if split else {}
        write_mame_dataset(
            out, seed=seed, **_pick(spec, "classes", "scale", "fine_cycles"), **extra
        )
    else:
        from artrec.synth.met import generate_met_dataset

        generate_met_dataset(out, seed=seed, **synth.get("met", {}))
    print(f"wrote a synthetic {args.dataset} dataset to {out}")
    return 0


def _pick(spec: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: spec[key] for key in keys if key in spec}


def _cmd_evaluate_descriptors(args: argparse.Namespace) -> int:
    from artrec.datasets.met import load_met_ground_truth
    from artrec.retrieval.descriptors import (
        check_descriptors,
        evaluate_descriptors,
        load_descriptor_pickle,
    )

    if not args.autotune and (args.k is None or args.tau is None):
        print("error: give --autotune, or both --k and --tau", file=sys.stderr)
        return EXIT_BAD_INPUT
    for name in ("k", "dim"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise BadInputError(f"--{name}", f"{value} is not a positive integer", "give 1 or more")
    if args.tau is not None and not 0 < args.tau < math.inf:  # also refuses nan
        raise BadInputError(
            "--tau", f"{args.tau} is not a finite positive number", "give a finite tau > 0"
        )
    descriptors = load_descriptor_pickle(Path(args.descriptors))
    # Checked here, before any work, so that a mismatch names the pickle and the ground truth.
    truth = load_met_ground_truth(Path(args.ground_truth), check_images=False)
    rows = {
        "train_descriptors": len(truth.train_paths),
        "val_descriptors": len(truth.val_paths),
        "test_descriptors": len(truth.test_paths),
    }
    check_descriptors(descriptors, rows, args.descriptors, args.ground_truth)
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
    show.add_argument(
        "--params", help="overrides as for kedro run, e.g. train.mame.epochs=2,seed=1"
    )
    show.add_argument("--out", help="write them to this file instead of printing them")
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
    predict_parser.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        code = 130
    except Exception as error:  # one line instead of a traceback, whatever went wrong
        show_traceback = bool(os.environ.get("ARTREC_TRACEBACK"))
        if show_traceback:
            traceback.print_exc()
        actionable = find_artrec_error(error)
        hint = "" if actionable or show_traceback else " (ARTREC_TRACEBACK=1 shows the traceback)"
        print(f"error: {one_line_message(error)}{hint}", file=sys.stderr)
        code = EXIT_BAD_INPUT if isinstance(actionable, BadInputError) else EXIT_FAILURE
    sys.exit(code)
