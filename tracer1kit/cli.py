"""The ``tracer1kit`` command line: run the notebooks, generate data, train, evaluate, check params."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .params import ParamsError, load_params


def _cmd_check(args: argparse.Namespace) -> int:
    params = load_params(args.params)
    print(f"{args.params}: ok (model {params.model.spec}, horizon {params.planner.horizon}, "
          f"{len(params.env.tasks)} tasks)")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from .notebook_runner import NotebookFailed, run_notebooks

    try:
        results = run_notebooks(args.params, args.run_dir, force=args.force, only=args.only)
    except NotebookFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for r in results:
        print(f"  {r.name:32s} {r.status:9s} {r.seconds:7.1f}s  {r.output}")
    run_dir = Path(args.run_dir).resolve()
    print(f"done: executed notebooks in {run_dir / 'notebooks'}, HTML exports and report in {run_dir / 'reports'}")
    return 0


def _cmd_generate(args: argparse.Namespace) -> int:
    from .experts.data import generate_expert_data
    from .runs import RunDir

    counts = generate_expert_data(load_params(args.params), RunDir.create(args.run_dir).episodes_dir)
    for source, splits in counts.items():
        print(f"expert episodes ({source}): " + ", ".join(f"{k} {v}" for k, v in splits.items()))
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from .training.pipeline import train

    summary = train(load_params(args.params), args.run_dir, stages=args.stage, resume=args.resume)
    for line in summary:
        print(line)
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluation import evaluate

    report = evaluate(load_params(args.params), args.run_dir)
    print(f"report: {report}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tracer1kit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, help_text: str, func) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("params", help="a params YAML file (see params/)")
        p.set_defaults(func=func)
        return p

    add("check", "validate a params file and exit", _cmd_check)
    p = add("run", "execute the notebooks in order with papermill into a run directory", _cmd_run)
    p.add_argument("--run-dir", required=True, help="the run directory (created if missing)")
    p.add_argument("--force", action="store_true", help="re-run notebooks already completed for these params")
    p.add_argument("--only", nargs="+", metavar="NOTEBOOK", help="run just these notebooks (names without .ipynb)")
    p = add("generate", "generate expert reference episodes (train/val/test/heldout splits)", _cmd_generate)
    p.add_argument("--run-dir", required=True)
    p = add("train", "train SFT → Stage 1 → Stage 2 (or chosen stages)", _cmd_train)
    p.add_argument("--run-dir", required=True)
    p.add_argument("--stage", nargs="+", default=["sft", "stage1", "stage2"], choices=["sft", "stage1", "stage2"])
    p.add_argument("--resume", action="store_true", help="continue each stage from its last checkpoint")
    p = add("evaluate", "evaluate the variants and write the report", _cmd_evaluate)
    p.add_argument("--run-dir", required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ParamsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
