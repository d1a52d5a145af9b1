"""Execute the kit's notebooks in order with papermill into a run directory (``tracer1kit run``)."""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .params import Params, load_params
from .progress import duration, log
from .runs import RunDir, atomic_write_text

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
DONE_FILE = ".completed.json"
ENGINE = "tracer1kit-cell-progress"
#: The kernels talk over local sockets (IPC), not TCP: nothing is exposed on a port, and ipykernel does not warn
#: at every start that its TCP traffic is unencrypted.
KERNEL_CONFIG = {"KernelManager": {"transport": "ipc"}}


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
    """Run ``params.run.notebooks`` (or ``only``) in order; skip those already completed for the same params.

    With ``progress``, each code cell's start is reported on the ``tracer1kit`` logger (``notebook 1/6
    00_quickstart: cell 9/14 · 6 · Train: SFT → Stage 1 → Stage 2``) and the kernel's output (the kit's own
    progress lines: training steps with an ETA, evaluation rows) is streamed to this process's stderr."""
    import papermill
    from traitlets.config import Config

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
    for number, name in enumerate(names, start=1):
        output = run.notebooks_dir / f"{name}.ipynb"
        if not force and done.get(name) == digest and output.exists():
            log.info(f"notebook {number}/{len(names)} {name}: already run for these params, skipped (--force re-runs it)")
            results.append(NotebookResult(name, "skipped", 0.0, output, None))
            continue
        start = time.perf_counter()
        shown = ({"engine_name": _cell_progress_engine(), "notebook_label": f"notebook {number}/{len(names)} {name}",
                  "stdout_file": sys.stderr, "stderr_file": sys.stderr} if progress else {})
        try:
            papermill.execute_notebook(
                str(notebooks_dir / f"{name}.ipynb"), str(output),
                parameters={"params_path": str(run.params_path), "run_dir": str(run.root)},
                kernel_name="python3", progress_bar=False, cwd=str(notebooks_dir), config=Config(KERNEL_CONFIG), **shown,
            )
        except papermill.PapermillExecutionError as exc:
            raise NotebookFailed(
                f"notebook {name} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}\n"
                f"executed copy (with the traceback): {output}") from None
        html = export_html(output, run.reports_dir / f"{name}.html")
        done[name] = digest
        atomic_write_text(done_path, json.dumps(done, indent=2))
        seconds = time.perf_counter() - start
        log.info(f"notebook {number}/{len(names)} {name}: done in {duration(seconds)}")
        results.append(NotebookResult(name, "executed", seconds, output, html))
    return results


def cell_titles(cells: list[Any]) -> list[str]:
    """Per code cell, what it is about: the last markdown heading before it, else its first line."""
    titles, heading = [], ""
    for cell in cells:
        source = "".join(cell.source) if isinstance(cell.source, list) else cell.source
        if cell.cell_type == "markdown":
            found = [line.lstrip("#").strip() for line in source.splitlines() if line.startswith("#")]
            heading = found[-1] if found else heading
        elif cell.cell_type == "code":
            titles.append(heading or (source.strip().splitlines() or [""])[0][:70])
    return titles


def _cell_progress_engine() -> str:
    """Register (once) a papermill engine that reports each code cell's start, and return its name."""
    from papermill.engines import NBClientEngine, papermill_engines

    class CellProgress(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, notebook_label: str = "notebook",
                                     **kwargs: Any) -> Any:
            titles = cell_titles(nb_man.nb.cells)
            codes = [i for i, cell in enumerate(nb_man.nb.cells) if cell.cell_type == "code"]
            started = nb_man.cell_start

            def cell_start(cell: Any, cell_index: int | None = None, **kw: Any) -> Any:
                if cell_index in codes:
                    k = codes.index(cell_index)
                    log.info(f"{notebook_label}: cell {k + 1}/{len(codes)} · {titles[k]}")
                return started(cell, cell_index, **kw)

            nb_man.cell_start = cell_start
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

    papermill_engines.register(ENGINE, CellProgress)
    return ENGINE


def export_html(notebook: Path, target: Path) -> Path:
    """A static HTML export of an executed notebook: plotly figures embedded, plotly.js in it once."""
    import nbformat
    from nbconvert import HTMLExporter

    from .viz.figures import plotlyjs_once

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(notebook, as_version=4))
    atomic_write_text(target, plotlyjs_once(body))
    return target
