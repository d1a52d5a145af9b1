"""Every notebook runs headless through papermill on the CI params and produces its figures and tables;
the exported inspector notebook renders in headless Chromium (plan text and screenshot, no error box)."""

from pathlib import Path

import nbformat
import pytest

from tracer1kit.notebook_runner import run_notebooks

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("nbrun")
    results = run_notebooks(REPO / "params" / "ci.yaml", run_dir, progress=False)
    return run_dir, results


def outputs(path: Path) -> list[dict]:
    return [o for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code" for o in cell.get("outputs", [])]


def mime(outs: list[dict], kind: str) -> list:
    return [o["data"][kind] for o in outs if kind in o.get("data", {})]


def test_all_notebooks_execute_and_show_their_results(executed):
    run_dir, results = executed
    assert [r.status for r in results] == ["executed"] * 8
    figures = {r.name: len(mime(outputs(r.output), "application/vnd.plotly.v1+json")) for r in results}
    assert figures["00_quickstart"] >= 2 and figures["02_stage1_reward_shaping"] >= 3
    assert figures["04_evaluation_and_ablations"] >= 2 and figures["06_study"] >= 2  # the forest plot, dashboards
    study = "".join("".join(m) for m in mime(outputs(run_dir / "notebooks" / "06_study.ipynb"), "text/markdown"))
    assert "## Contrasts" in study and "| variant |" in study and "click-button" in study  # contrasts, per task
    quick = outputs(run_dir / "notebooks" / "00_quickstart.ipynb")
    assert any("| variant |" in "".join(m) for m in mime(quick, "text/markdown"))  # the result table
    grid = outputs(run_dir / "notebooks" / "07_grid.ipynb")
    assert mime(grid, "image/png"), "notebook 07 shows no rendered level"
    grid_text = "".join("".join(o.get("text", "")) for o in grid) + "".join("".join(m) for m in mime(grid, "text/markdown"))
    assert "expected refusal" in grid_text and "grid success (held-out seeds)" in grid_text  # refusals, grid table
    assert mime(grid, "application/vnd.jupyter.widget-view+json"), "notebook 07 showed no inspector"
    inspector = outputs(run_dir / "notebooks" / "05_inspect_trajectories.ipynb")
    assert mime(inspector, "application/vnd.jupyter.widget-view+json"), "the inspector widget was not displayed"
    assert any("predicted" in "".join(h).lower() for h in mime(inspector, "text/html"))
    for name in ("results.csv", "results.md", "report.html"):
        assert (run_dir / "reports" / name).stat().st_size > 0
    assert all((run_dir / "reports" / f"{r.name}.html").exists() for r in results)
    trainings = [d for d in (run_dir / "trainings").iterdir() if d.is_dir()]
    assert trainings and not any((d / "episodes" / "expert").exists() for d in trainings), \
        "a training generated its own copy of the run's expert data"


def test_rerun_skips_completed_notebooks_unless_forced(executed):
    run_dir, _ = executed
    again = run_notebooks(REPO / "params" / "ci.yaml", run_dir, progress=False, only=["02_stage1_reward_shaping"])
    assert [r.status for r in again] == ["skipped"]


def test_failed_notebook_names_cell_error_and_copy(tmp_path):
    from tracer1kit.notebook_runner import NotebookFailed

    book = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('params_path = ""\nrun_dir = ""')
    params.metadata["tags"] = ["parameters"]
    book.cells = [params, nbformat.v4.new_code_cell("raise ValueError('boom in cell')")]
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    nbformat.write(book, nbdir / "broken.ipynb")
    with pytest.raises(NotebookFailed) as info:
        run_notebooks(REPO / "params" / "ci.yaml", tmp_path / "run", notebooks_dir=nbdir, only=["broken"], progress=False)
    assert "ValueError: boom in cell" in str(info.value) and "broken.ipynb" in str(info.value)


@pytest.mark.browser
def test_exported_inspector_renders_in_headless_chromium(executed, tmp_path):
    from PIL import Image, ImageStat
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from tracer1kit.envs.miniwob import CHROME_BINARY, CHROME_FLAGS, CHROMEDRIVER

    run_dir, _ = executed
    page = run_dir / "reports" / "05_inspect_trajectories.html"
    options = webdriver.ChromeOptions()
    for flag in (*CHROME_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,1600"):
        options.add_argument(flag)
    options.binary_location = CHROME_BINARY
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.get(page.as_uri())
        driver.implicitly_wait(10)
        plots = driver.find_elements("css selector", ".js-plotly-plot")
        assert plots, "no plotly figure rendered"
        images = driver.execute_script("return document.querySelectorAll('.js-plotly-plot image').length")
        assert images >= 1, "the screenshot is not drawn in the figure"
        text = driver.find_element("tag name", "body").text
        assert "predicted" in text.lower() and "Traceback" not in text
        shot = tmp_path / "inspector.png"
        driver.save_screenshot(str(shot))
    finally:
        driver.quit()
    assert max(ImageStat.Stat(Image.open(shot).convert("L")).stddev) > 10  # not a blank page
