"""Mutation testing of the modules that define the method, one module at a time, in bounded time.

For each module this copies the package and the tests into a scratch folder, writes a ``[tool.mutmut]`` section
that mutates that module only and collects only its fast covering tests (``MODULES`` below; never the browser or
slow tests), runs ``mutmut run`` with at most ``--workers`` processes, and prints the score: killed / total and
every surviving mutant by line. Timeouts count as killed (the mutant made a test loop); mutants no test reaches
count as survivors. The shared settings are ``[tool.mutmut]`` in pyproject.toml; see docs/testing.md.

    .venv/bin/python scripts/mutation.py                 # every module
    .venv/bin/python scripts/mutation.py rewards params  # some of them
    .venv/bin/python scripts/mutation.py --list          # the module → tests mapping

Exit status 1 when a module scores below ``--fail-under`` (default 0: report only).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: mutmut depends on toml there
    import toml as tomllib  # type: ignore[no-redef]

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "tracer1kit"

# module → (its source file, the fast tests that cover it): its own test file first (tests are named by subject).
MODULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "actions": ("tracer1kit/actions.py", ("tests/test_actions.py",)),
    "rewards": ("tracer1kit/rewards.py", ("tests/test_rewards.py", "tests/test_loop.py")),
    "metrics": ("tracer1kit/metrics.py", ("tests/test_metrics.py",)),
    "params": ("tracer1kit/params.py", ("tests/test_params.py", "tests/test_train_params.py")),
    "calculator": ("tracer1kit/tools/calculator.py", ("tests/test_tools.py",)),
    "preflight": ("tracer1kit/training/preflight.py", ("tests/test_preflight.py", "tests/test_tracking.py",
                                                       "tests/test_grpo_options.py")),
    "stats": ("tracer1kit/evaluation/stats.py", ("tests/test_stats.py",)),
    "results": ("tracer1kit/evaluation/results.py", ("tests/test_results.py", "tests/test_evaluation.py")),
    "variants": ("tracer1kit/evaluation/variants.py", ("tests/test_variants.py", "tests/test_evaluation.py")),
    "feedback": ("tracer1kit/agents/feedback.py", ("tests/test_feedback.py", "tests/test_loop.py")),
}

KILLED = {"killed", "timeout", "caught by type check", "segfault"}
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", ".pytest_cache")


@dataclass
class Score:
    """One module's result: mutants by status and the survivors as ``path:line  change``."""

    module: str
    path: str
    status: dict[str, int] = field(default_factory=dict)
    survivors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    note: str = ""

    @property
    def total(self) -> int:
        return sum(self.status.values())

    @property
    def killed(self) -> int:
        return sum(n for s, n in self.status.items() if s in KILLED)

    @property
    def percent(self) -> float:
        return 100.0 * self.killed / self.total if self.total else 0.0

    def line(self) -> str:
        others = ", ".join(f"{n} {s}" for s, n in sorted(self.status.items()) if s not in KILLED | {"survived"})
        return (f"{self.module:<11} {self.killed:>4} / {self.total:<4} {self.percent:5.1f}%  "
                f"{self.status.get('survived', 0):>3} survived{', ' + others if others else ''}  "
                f"{self.seconds:6.0f} s{'  ' + self.note if self.note else ''}")


def _toml_value(value: object) -> str:
    """A TOML literal for the simple values a [tool.mutmut] section holds (JSON spells them the same way)."""
    if not isinstance(value, (str, bool, int, float, list)):
        raise TypeError(f"[tool.mutmut]: cannot write {value!r}; use strings, numbers, booleans or lists")
    return json.dumps(value)


def _shared_config() -> dict:
    """The repository's [tool.mutmut] section."""
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8")).get("tool", {}).get("mutmut", {})


def _pyproject_for(module_path: str, tests: tuple[str, ...]) -> str:
    """The repository's pyproject.toml with a [tool.mutmut] section for one module."""
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    shared = _shared_config()
    text = re.sub(r"(?ms)^\[tool\.mutmut\]\n.*?(?=^\[|\Z)", "", text)
    section = {**shared, "source_paths": [PACKAGE], "only_mutate": [module_path],
               "pytest_add_cli_args_test_selection": list(tests)}
    return text.rstrip() + "\n\n[tool.mutmut]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in section.items())


def prepare(workdir: Path, module_path: str, tests: tuple[str, ...]) -> None:
    """A scratch copy of the package, the tests folder, what ``also_copy`` names (the tests read params/) and a
    pyproject.toml configured for one module."""
    if not (REPO / module_path).exists():
        raise SystemExit(f"scripts/mutation.py: {module_path} is missing (run it from a full checkout)")
    for name in (PACKAGE, "tests", *_shared_config().get("also_copy", [])):
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, workdir / name, ignore=_SKIP)
        else:
            shutil.copy2(REPO / name, workdir / name)
    (workdir / "pyproject.toml").write_text(_pyproject_for(module_path, tests), encoding="utf-8")


def run_mutmut(workdir: Path, workers: int, limit_s: float, log: Path) -> str:
    """Run ``mutmut run`` in ``workdir``; stop it (its whole process group) after ``limit_s`` seconds."""
    env = {**os.environ, "PYTHONHASHSEED": "0", "HYPOTHESIS_PROFILE": os.environ.get("HYPOTHESIS_PROFILE", "default")}
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "mutmut", "run", "--max-children", str(workers)], cwd=workdir,
                                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            proc.wait(timeout=limit_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            return f"stopped after {limit_s:.0f} s (--time-limit): unchecked mutants count as survivors"
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-15:]
        return f"mutmut failed (exit {proc.returncode}):\n    " + "\n    ".join(tail)
    return ""


@contextmanager
def _inside(workdir: Path) -> Iterator[None]:
    """mutmut reads its config and mutants from the current folder."""
    here = Path.cwd()
    os.chdir(workdir)
    try:
        yield
    finally:
        os.chdir(here)


def _changed_line(diff: str, first_line: int) -> tuple[int, str]:
    """The source line of a mutant's first change and the change as ``old  →  new`` (from mutmut's diff of the
    function, which starts at ``first_line``)."""
    old = new = ""
    line, offset = first_line, 0
    for row in diff.splitlines():
        if row.startswith("@@"):
            offset = int(re.match(r"@@ -(\d+)", row).group(1)) - 1  # type: ignore[union-attr]
        elif row.startswith(("---", "+++")):
            continue
        elif row.startswith("-") and not old:
            old, line = row[1:].strip(), first_line + offset
        elif row.startswith("+") and not new:
            new = row[1:].strip()
        elif not old and not row.startswith("+"):
            offset += 1
    return line, f"{old[:90]}  →  {new[:90]}"


def _function_starts(source: str) -> dict[str, int]:
    """Line of each top-level function and method (decorators included), keyed as mutmut names them."""
    import ast

    starts: dict[str, int] = {}
    for node in ast.parse(source).body:
        items = [(node, "")] if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else []
        if isinstance(node, ast.ClassDef):
            items = [(n, node.name) for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for fn, cls in items:
            first = min([fn.lineno] + [d.lineno for d in fn.decorator_list])
            starts[f"xǁ{cls}ǁ{fn.name}" if cls else f"x_{fn.name}"] = first
    return starts


def collect(workdir: Path, module: str, module_path: str) -> Score:
    """Read mutmut's results for one module from its scratch folder."""
    score = Score(module, module_path)
    meta = workdir / "mutants" / (module_path + ".meta")
    if not meta.exists():
        score.note = "no results"
        return score
    with _inside(workdir):
        from mutmut.configuration import reset_config
        from mutmut.mutation.diff_apply import get_diff_for_mutant
        from mutmut.stats import status_by_exit_code

        reset_config()
        starts = _function_starts((workdir / module_path).read_text(encoding="utf-8"))
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        rows = []
        for name, code in codes.items():
            status = status_by_exit_code[code]
            score.status[status] = score.status.get(status, 0) + 1
            if status in KILLED:
                continue
            function = name.rpartition(".")[2].rpartition("__mutmut_")[0]
            try:
                line, change = _changed_line(get_diff_for_mutant(name, path=module_path), starts.get(function, 0))
            except Exception as exc:  # noqa: BLE001 -- a diff mutmut cannot show must not hide the score
                line, change = 0, f"(no diff: {type(exc).__name__})"
            rows.append((line, f"{status:<9} {module_path}:{line:<4} {name.rpartition('.')[2]:<40} {change}"))
        score.survivors = [text for _, text in sorted(rows)]
    return score


def run_module(module: str, workers: int, limit_s: float, keep: Path | None) -> Score:
    module_path, listed = MODULES[module]
    tests = tuple(t for t in listed if (REPO / t).exists())
    if len(tests) < len(listed):
        print(f"    (not found, skipped: {', '.join(t for t in listed if t not in tests)})")
    workdir = (keep / module) if keep else Path(tempfile.mkdtemp(prefix=f"mutation-{module}-"))
    if keep and workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        prepare(workdir, module_path, tests)
        note = run_mutmut(workdir, workers, limit_s, workdir / "mutmut.log")
        score = collect(workdir, module, module_path)
        score.note = score.note or note
    finally:
        if keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    score.seconds = time.monotonic() - started
    return score


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", help=f"modules to test (default: all of {', '.join(MODULES)})")
    parser.add_argument("--workers", type=int, default=2, help="mutmut worker processes (default 2)")
    parser.add_argument("--time-limit", type=float, default=1800, help="seconds per module before it is stopped")
    parser.add_argument("--keep", type=Path, help="keep each module's scratch folder under this folder "
                                                  "(then: cd KEEP/MODULE && mutmut show NAME)")
    parser.add_argument("--json", type=Path, help="also write the scores to this JSON file")
    parser.add_argument("--fail-under", type=float, default=0.0, help="exit 1 if a module scores below this percent")
    parser.add_argument("--list", action="store_true", help="print the module → tests mapping and exit")
    args = parser.parse_args(argv)
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        parser.error(f"unknown module {', '.join(unknown)} (choose from {', '.join(MODULES)})")
    if args.list:
        for name, (path, tests) in MODULES.items():
            print(f"{name:<11} {path:<36} {' '.join(tests)}")
        return 0
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    scores = []
    for module in args.modules or list(MODULES):
        print(f"{module}: mutating {MODULES[module][0]} …", flush=True)
        score = run_module(module, args.workers, args.time_limit, args.keep)
        for survivor in score.survivors:
            print("    " + survivor)
        print(score.line(), flush=True)
        scores.append(score)
    print("\nmodule      killed/total  score  survived            time")
    for score in scores:
        print(score.line())
    killed, total = sum(s.killed for s in scores), sum(s.total for s in scores)
    print(f"{'all':<11} {killed:>4} / {total:<4} {100.0 * killed / max(total, 1):5.1f}%"
          f"  {sum(s.seconds for s in scores):.0f} s in all")
    if args.json:
        args.json.write_text(json.dumps([{"module": s.module, "path": s.path, "killed": s.killed, "total": s.total,
                                          "percent": round(s.percent, 1), "status": s.status,
                                          "survivors": s.survivors, "seconds": round(s.seconds), "note": s.note}
                                         for s in scores], indent=2, ensure_ascii=False) + "\n")
    return 1 if any(s.percent < args.fail_under for s in scores) else 0


if __name__ == "__main__":
    sys.exit(main())
