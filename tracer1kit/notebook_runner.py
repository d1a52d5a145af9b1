"""Execute the kit's notebooks in order with papermill into a run directory (``tracer1kit run``)."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

from .params import Params, load_params
from .runs import RunDir, atomic_write_text

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
DONE_FILE = ".completed.json"


class NotebookFailed(RuntimeError):
    """A notebook raised: the message names the notebook, the cell's error and the executed copy."""


@dataclass(frozen=True)
class NotebookResult:
    name: str
    status: str          # "executed" or "skipped"
    seconds: float
    output: Path
    html: Path | None


def params_digest(params: Params) -> str:
    return hashlib.sha256(json.dumps(params.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:16]


def run_notebooks(params_path: str | Path, run_dir: str | Path, *, force: bool = False,
                  notebooks_dir: Path = NOTEBOOKS_DIR, only: list[str] | None = None,
                  progress: bool = True) -> list[NotebookResult]:
    """Run ``params.run.notebooks`` (or ``only``) in order; skip those already completed for the same params."""
    import papermill
    from tqdm.auto import tqdm

    params = load_params(params_path)
    run = RunDir.create(run_dir)
    run.save_params(params)
    digest = params_digest(params)
    done_path = run.notebooks_dir / DONE_FILE
    done = json.loads(done_path.read_text()) if done_path.exists() else {}
    names = only or params.run.notebooks
    missing = [n for n in names if not (notebooks_dir / f"{n}.ipynb").exists()]
    if missing:
        raise FileNotFoundError(f"no notebook named {missing} in {notebooks_dir} (check run.notebooks in {params_path})")
    results = []
    bar = tqdm(names, desc="notebooks", unit="nb", disable=not progress)
    for name in bar:
        bar.set_postfix_str(name)
        output = run.notebooks_dir / f"{name}.ipynb"
        if not force and done.get(name) == digest and output.exists():
            results.append(NotebookResult(name, "skipped", 0.0, output, None))
            continue
        start = time.perf_counter()
        try:
            papermill.execute_notebook(
                str(notebooks_dir / f"{name}.ipynb"), str(output),
                parameters={"params_path": str(run.params_path), "run_dir": str(run.root)},
                kernel_name="python3", progress_bar=False, cwd=str(notebooks_dir),
            )
        except papermill.PapermillExecutionError as exc:
            raise NotebookFailed(
                f"notebook {name} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}\n"
                f"executed copy (with the traceback): {output}") from None
        html = export_html(output, run.reports_dir / f"{name}.html")
        done[name] = digest
        atomic_write_text(done_path, json.dumps(done, indent=2))
        results.append(NotebookResult(name, "executed", time.perf_counter() - start, output, html))
    return results


def export_html(notebook: Path, target: Path) -> Path:
    """A static HTML export of an executed notebook: plotly figures embedded, plotly.js in it once."""
    import nbformat
    from nbconvert import HTMLExporter

    from .viz.figures import plotlyjs_once

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(notebook, as_version=4))
    atomic_write_text(target, plotlyjs_once(body))
    return target
