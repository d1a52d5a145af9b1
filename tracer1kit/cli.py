"""The ``tracer1kit`` command line: run the notebooks, generate data, train, evaluate, check params.

An error the kit raises on purpose (bad params, bad training input, a missing file it names…) prints as one
``error:`` message with a non-zero exit (2 for bad input, 1 otherwise); ``--debug`` or ``TRACER1KIT_DEBUG=1``
shows its traceback instead. Anything else is a bug and keeps its traceback. Commands that write a run directory
(run, generate, train, evaluate) hold its write lock while they run: a second writer is refused at once.
"""

from __future__ import annotations

import argparse
import linecache
import os
import re
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from .params import Params, ParamsError, load_params
from .training.preflight import TrainingInputError, preflight
from .progress import show_progress
from .runlock import run_lock
from .training.processes import SeveralProcessesError, is_main_process

PACKAGE = Path(__file__).resolve().parent
INPUT_ERRORS = (ParamsError, TrainingInputError, SeveralProcessesError)  # exit status 2


def input_problems(params: Params) -> list[str]:
    """Every problem ``train`` or ``evaluate`` would refuse these params for that the params alone decide: the
    training preflight of the params and of each training the evaluation plans (variants, grids)."""
    from .evaluation.variants import plan_evaluations, trainings_needed

    problems = preflight(params)
    try:
        trainings = trainings_needed(plan_evaluations(params))
    except ValueError as exc:
        return problems + [str(exc)]
    for training, stages in trainings.items():
        where = ", ".join(f"{k}={v}" for k, v in training.overrides)
        for problem in preflight(training.params(params), stages):
            labelled = f"{problem} (in the evaluation's training with {where})"
            if problem not in problems and labelled not in problems:
                problems.append(labelled)
    return problems


def input_notes(params: Params) -> list[str]:
    """What ``check`` cannot decide but a user should know: a public dataset's folder missing here."""
    data = params.data
    if data.source != "miniwob" and data.path and not Path(data.path).exists():
        return [f"data.path {data.path} does not exist here (from {Path.cwd()}): loading {data.source} needs it "
                "(nothing is downloaded; see docs/datasets.md)"]
    return []


def _cmd_check(args: argparse.Namespace) -> int:
    if args.explain:
        from .paramdocs import explain

        print(explain(args.explain, load_params(args.params) if args.params else None, args.params or ""))
        return 0
    if args.params is None:
        raise ParamsError("check: name a params file (e.g. params/quickstart.yaml), or --explain KEY")
    params = load_params(args.params)
    problems = input_problems(params)
    for problem in problems:
        print(f"error: {args.params}: {problem}", file=sys.stderr)
    if problems:
        return 2
    for note in input_notes(params):
        print(f"note: {args.params}: {note}")
    from .domains.registry import active

    tasks = ", ".join(f"{len({t for t, _ in d.jobs(params, 'train')})} {d.name}" for d in active(params))
    print(f"{args.params}: ok (model {params.model.spec}, horizon {params.planner.horizon}, "
          f"training tasks: {tasks or 'none'})")
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
    from .domains.data import generate_expert_data
    from .runs import RunDir

    counts = generate_expert_data(load_params(args.params), RunDir.create(args.run_dir).episodes_dir)
    for source, splits in counts.items():
        print(f"expert episodes ({source}): " + ", ".join(f"{k} {v}" for k, v in splits.items()))
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from .training.pipeline import train
    from .training.processes import is_main_process

    summary = train(load_params(args.params), args.run_dir, stages=args.stage, resume=args.resume)
    for line in summary if is_main_process() else ():  # under accelerate launch: printed once, by the main process
        print(line)
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluation import evaluate

    report = evaluate(load_params(args.params), args.run_dir)
    print(f"report: {report}")
    return 0


def plain_text(doc: str) -> str:
    """A docstring as terminal text: reStructuredText's ````literal```` marks become plain quotes."""
    return re.sub(r"``(.+?)``", r'"\1"', doc).strip()


def _cmd_export_data(args: argparse.Namespace) -> int:
    from .domains.export import export_dataset
    from .export_model import push_folder, run_params
    from .models.loading import sees_images
    from .runs import RunDir

    run = RunDir(Path(args.run_dir).resolve())
    params = load_params(args.params) if args.params else run_params(run)
    counts = export_dataset(params, run.episodes_dir, Path(args.to), use_image=sees_images(params.model))
    print(f"dataset: {', '.join(f'{split} {n} rows' for split, n in counts.items())} → {args.to} (parquet + README.md)")
    if args.push_to_hub:
        print(f"pushed: {push_folder(Path(args.to), args.push_to_hub, 'dataset')}")
    return 0


def _cmd_export_model(args: argparse.Namespace) -> int:
    from .export_model import export_model, push_folder

    model = export_model(args.run_dir, args.to, args.variant)
    print(f"model: {model.variant} (after {model.stage}, from {model.folder}) → {args.to} (weights, processor, README.md)")
    if args.push_to_hub:
        print(f"pushed: {push_folder(Path(args.to), args.push_to_hub)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tracer1kit", description=plain_text(__doc__ or ""),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    debug_help = "show the traceback of an error instead of one message (also: TRACER1KIT_DEBUG=1)"
    parser.add_argument("--debug", action="store_true", help=debug_help)

    def add(name: str, help_text: str, func, params_nargs: str | None = None) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("params", nargs=params_nargs, help="a params YAML file (see params/)")
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=debug_help)
        p.set_defaults(func=func)
        return p

    p = add("check", "validate a params file and every input check decidable before training, then exit",
            _cmd_check, params_nargs="?")
    p.add_argument("--explain", metavar="KEY", help="print what a params key means instead (dotted, e.g. "
                   "planner.horizon): its description, type, default and allowed values; with a params file, also "
                   "its value there (every key: docs/params.md)")
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

    def export(name: str, help_text: str, func) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("run_dir", metavar="RUN", help="a run directory (tracer1kit train / generate / evaluate)")
        p.add_argument("--to", required=True, metavar="DIR", help="the folder to write (new or empty)")
        p.add_argument("--push-to-hub", metavar="REPO", help="then upload the folder to this Hub repository (online)")
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=debug_help)
        p.set_defaults(func=func)
        return p

    p = export("export-data", "write the run's expert episodes as a parquet dataset with a dataset card",
               _cmd_export_data)
    p.add_argument("--params", help="the params the episodes were generated with (default: RUN/params.yaml)")
    p = export("export-model", "write a trained model as a Hub-ready folder with a model card", _cmd_export_model)
    p.add_argument("--variant", help="sft, stage1, stage2 (default: the last stage trained in RUN) or an evaluated "
                   "variant (tracer1, reactive, …)")
    return parser


def raised_on_purpose(exc: BaseException) -> bool:
    """Whether the kit raised ``exc`` for bad input: one of its own exception classes, or a ``ValueError`` /
    ``OSError`` from a ``raise`` statement in its code (not a library's error, not a failed builtin call)."""
    if type(exc).__module__.split(".")[0] == "tracer1kit":
        return True
    if not isinstance(exc, (ValueError, OSError)) or exc.__traceback__ is None:
        return False
    tb = exc.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    filename = Path(tb.tb_frame.f_code.co_filename).resolve()
    return PACKAGE in filename.parents and linecache.getline(str(filename), tb.tb_lineno).lstrip().startswith("raise")


WRITERS = ("run", "generate", "train", "evaluate")  # the commands that write a run directory (exports only read one)


def writing(args: argparse.Namespace) -> AbstractContextManager[object]:
    """The run directory's write lock for a command that writes one (held by the main process of a launch)."""
    if args.command not in WRITERS or not is_main_process():
        return nullcontext()
    return run_lock(args.run_dir, f"tracer1kit {args.command} {args.params}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    debug = args.debug or os.environ.get("TRACER1KIT_DEBUG", "") not in ("", "0")
    show_progress(is_main_process())
    try:
        with writing(args):
            return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug or not raised_on_purpose(exc):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, INPUT_ERRORS) else 1


if __name__ == "__main__":
    sys.exit(main())
