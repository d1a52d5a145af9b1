"""The repo's notebooks stay clean: no outputs or execution counts, the kernelspec metadata JupyterLab would write
(so opening one does not mark it modified), saved byte for byte as Jupyter saves them; an exported notebook holds
plotly.js once; notebook 05 reads the run without rewriting it.

Fix a failure with ``.venv/bin/jupyter nbconvert --clear-output --inplace notebooks/NAME.ipynb`` (outputs), or
by copying the metadata of another notebook (kernelspec)."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import nbformat
import pytest
from ipykernel.ipkernel import IPythonKernel
from jupyter_client.kernelspec import KernelSpecManager
from plotly.offline import get_plotlyjs

from tracer1kit.episodes import EpisodeStore
from tracer1kit.viz.figures import plotlyjs_once

REPO = Path(__file__).resolve().parents[1]
PLOTLYJS_BANNER = "* plotly.js v"
LEFTOVERS = {"execution", "papermill", "ExecuteTime", "collapsed", "scrolled"}  # what running or viewing adds


def tracked_notebooks() -> list[Path]:
    """The notebooks git tracks (every ``notebooks/*.ipynb`` where git is unavailable)."""
    try:
        names = subprocess.run(["git", "ls-files", "notebooks/*.ipynb"], cwd=REPO, capture_output=True, text=True,
                               check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        names = []
    return [REPO / n for n in names] or sorted((REPO / "notebooks").glob("*.ipynb"))


NOTEBOOKS = tracked_notebooks()
IDS = [p.stem for p in NOTEBOOKS]


def test_every_notebook_is_checked() -> None:
    assert len(NOTEBOOKS) >= 6 and all(p.exists() for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_carries_no_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, (f"{path.name}: cells {dirty} carry outputs or execution counts; strip them with "
                       f"`jupyter nbconvert --clear-output --inplace {path.relative_to(REPO)}`")
    left = {key for c in nb.cells for key in c.metadata} & LEFTOVERS
    assert not left, f"{path.name}: cell metadata {sorted(left)} left by a run; remove it"
    assert not {"widgets", "papermill"} & set(nb.metadata), f"{path.name}: saved widget state or papermill metadata"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_kernel_metadata_is_what_jupyterlab_writes(path: Path) -> None:
    """JupyterLab sets ``kernelspec`` from the kernel's spec and ``language_info`` from its reply when it opens a
    notebook; any difference marks the notebook modified and autosave then writes it."""
    meta = nbformat.read(path, as_version=4).metadata
    spec = KernelSpecManager().get_kernel_spec("python3")
    assert meta.get("kernelspec") == {"name": "python3", "display_name": spec.display_name,
                                      "language": spec.language}, f"{path.name}: kernelspec"
    info = dict(meta.get("language_info", {}))
    version = info.pop("version", "")
    expected = {k: v for k, v in IPythonKernel.language_info.items() if k != "version"}
    assert info == expected, f"{path.name}: language_info"
    assert len(version.split(".")) == 3, f"{path.name}: language_info.version should be a full Python version"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_saved_as_jupyter_saves_it(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    nb = nbformat.reads(text, as_version=4)
    nbformat.validate(nb)
    assert all(c.get("id") for c in nb.cells), f"{path.name}: every cell needs an id (nbformat 4.5)"
    assert text == nbformat.writes(nb) + "\n", f"{path.name}: not in Jupyter's layout (indent 1, sorted keys)"


def test_plotlyjs_once_keeps_the_first_copy_only() -> None:
    js = get_plotlyjs()
    page = f"<p>a</p><script>{js}</script><div>fig 1</div><script>{js}</script><div>fig 2</div><script>{js}</script>"
    once = plotlyjs_once(page)
    assert once.count(PLOTLYJS_BANNER) == 1 and once.index(js) == page.index(js)
    assert once.endswith("<div>fig 2</div><script></script>") and "fig 1" in once
    assert plotlyjs_once("<p>no figures</p>") == "<p>no figures</p>"


def files_of(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_exported_inspector_holds_plotlyjs_once_and_leaves_the_run_alone(tmp_path: Path) -> None:
    import papermill

    from test_viz import reactive, tool_episode, tracer1
    from tracer1kit.notebook_runner import export_html

    run_dir = tmp_path / "run"
    for sub in ("checkpoints", "notebooks", "reports"):
        (run_dir / sub).mkdir(parents=True)
    EpisodeStore(run_dir / "episodes" / "eval").write_all([reactive(), tracer1(), tool_episode()])
    (run_dir / "reports" / "results.csv").write_text("variant,gui_success\ntracer1,1.0\n")
    before = files_of(run_dir)
    executed = tmp_path / "05.ipynb"
    papermill.execute_notebook(str(REPO / "notebooks" / "05_inspect_trajectories.ipynb"), str(executed),
                               parameters={"params_path": str(REPO / "params" / "ci.yaml"), "run_dir": str(run_dir)},
                               kernel_name="python3", progress_bar=False, cwd=str(REPO / "notebooks"))
    assert files_of(run_dir) == before  # it only shows what the run holds
    html = export_html(executed, tmp_path / "05.html").read_text(encoding="utf-8")
    assert html.count(PLOTLYJS_BANNER) == 1  # two static views, one copy: the notebook renderer's
    assert "reactive-s0" in html and "tracer1-s0" in html and "predicted plan" in html
    assert len(html) < len(get_plotlyjs()) + 1_500_000, "the export carries more than one plotly.js"
    assert executed.stat().st_size < len(get_plotlyjs()) + 1_500_000  # widget state holds no plotly.js either
