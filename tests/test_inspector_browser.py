"""Notebook 05 in a real JupyterLab, in headless Chromium at 1600×1057 (the size a reader's laptop shows): the
compare view's two plans stand side by side inside one viewport, under the step control. The screenshot it
saves is the one docs/inspector.png is refreshed from (``TRACER1KIT_REFRESH_SCREENSHOT=1`` copies it there).

The run is small and hand-built (three evaluation episodes of login-user on one seed), so the test costs the
JupyterLab start and one kernel, not an evaluation."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from PIL import Image, ImageDraw

from tracer1kit.actions import ActionType, Plan, Step
from tracer1kit.episodes import Element, Episode, EpisodeStore, Feedback, Observation, StepRecord

REPO = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 1600, 1057
pytestmark = [pytest.mark.browser, pytest.mark.slow]

ELEMENTS = (Element(1, "label", "Username", left=10, top=40, width=60, height=14),
            Element(2, "input_text", "", left=10, top=56, width=120, height=18),
            Element(3, "label", "Password", left=10, top=80, width=60, height=14),
            Element(4, "input_password", "", left=10, top=96, width=120, height=18),
            Element(5, "button", "Login", left=10, top=124, width=50, height=22))
REFERENCE = (Step(ActionType.TYPE, "input_text #1", "alice"), Step(ActionType.TYPE, "input_password #1", "pw"),
             Step(ActionType.CLICK, "Login", done=True))


def _page() -> Image.Image:
    """The login form drawn as MiniWoB++ shows it (labels, two fields, the button)."""
    image = Image.new("RGB", (160, 210), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 159, 30), fill=(255, 255, 160))
    draw.text((4, 4), "Enter the username alice and\nthe password pw, then Login.", fill="black")
    for element in ELEMENTS:
        box = (element.left, element.top, element.left + element.width, element.top + element.height)
        if element.tag == "label":
            draw.text(box[:2], element.text, fill="black")
        else:
            draw.rectangle(box, outline=(120, 120, 120), fill=(230, 230, 230) if element.tag == "button" else "white")
            draw.text((box[0] + 6, box[1] + 5), element.text, fill="black")
    return image


def _episode(variant: str, plans: list[tuple[Step, ...]], horizon: int, success: bool) -> Episode:
    steps = []
    for index, plan in enumerate(plans):
        obs = Observation("Enter the username alice and the password pw, then press Login.",
                          _page(), ELEMENTS, step_index=index,
                          task="login-user", seed=3)
        element = ELEMENTS[(1, 3, 4)[index]]
        fb = Feedback(True, f"act on [{element.ref}]", element_ref=element.ref, point=element.center,
                      matched_reference=plan[0] == REFERENCE[index])
        steps.append(StepRecord(obs, Plan(plan), reference=Plan(REFERENCE[index:]), feedback=fb,
                                rewards={"stage1/alignment": 1.0 if plan[0] == REFERENCE[index] else 0.3,
                                         "stage1/format": 1.0, "stage1/total": 0.8,
                                         "grounded/executable": 1.0, "grounded/total": 0.5}))
    return Episode(f"{variant}-3", "login-user", 3, steps[0].observation.instruction, tuple(steps), success=success,
                   reward=1.0 if success else -1.0, variant=variant, horizon=horizon)


def small_run(root: Path) -> None:
    """Evaluation episodes of the main variant, the reactive baseline and random (one task and seed)."""
    tracer1 = _episode("tracer1-s0", [REFERENCE[i:] for i in range(3)], 3, True)
    wrong = Step(ActionType.CLICK, "Login")
    reactive = _episode("reactive-s0", [(REFERENCE[0],), (wrong,), (REFERENCE[2],)], 1, False)
    random = _episode("random-s0", [(wrong,)] * 3, 3, False)
    EpisodeStore(root / "episodes" / "eval").write_all([random, reactive, tracer1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def lab(tmp_path: Path):
    """JupyterLab serving a copy of notebook 05 whose parameters name the small run; yields the notebook's URL."""
    run = tmp_path / "run"
    small_run(run)
    book = nbformat.read(REPO / "notebooks" / "05_inspect_trajectories.ipynb", as_version=4)
    params = next(c for c in book.cells if "parameters" in c.metadata.get("tags", []))
    params.source = f"params_path = {str(REPO / 'params' / 'ci.yaml')!r}\nrun_dir = {str(run)!r}"
    nbformat.write(book, tmp_path / "inspect.ipynb")
    labconfig = tmp_path / "config" / "labconfig"
    labconfig.mkdir(parents=True)  # no "get notified about Jupyter news?" toast over the screenshot
    (labconfig / "page_config.json").write_text(
        '{"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": true}}')
    port, token = _free_port(), "browser-test"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "HOME": str(tmp_path), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "ws")}
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}", "--expose-app-in-browser"],
        env=env, stdout=subprocess.DEVNULL, stderr=(tmp_path / "lab.log").open("w"))
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"JupyterLab did not start: {(tmp_path / 'lab.log').read_text()[-2000:]}")
        yield f"http://127.0.0.1:{port}/lab/tree/inspect.ipynb?token={token}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def _layout(driver) -> dict:
    """The compare view's geometry: the last two inspector panels, their plan tables and the step control."""
    return driver.execute_script("""
        const panels = [...document.querySelectorAll('.tracer1kit-panel')].slice(-2);
        const controls = [...document.querySelectorAll('.tracer1kit-controls')].pop();
        const box = e => { const r = e.getBoundingClientRect(); return {left: r.left, right: r.right, top: r.top,
                                                                         bottom: r.bottom}; };
        return {panels: panels.map(box), plans: panels.map(p => box(p.querySelector('table'))),
                controls: box(controls.querySelector('.widget-slider, .jupyter-widget-slider, .widget-hslider')
                              || controls), viewport: {width: window.innerWidth, height: window.innerHeight}};""")


def test_compare_view_shows_both_plans_side_by_side_in_one_viewport(lab, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    from tracer1kit.envs.miniwob import CHROME_BINARY, CHROME_FLAGS, CHROMEDRIVER

    options = webdriver.ChromeOptions()
    for flag in (*CHROME_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--window-size={WIDTH},{HEIGHT}"):
        options.add_argument(flag)
    options.binary_location = CHROME_BINARY
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    shot = tmp_path / "inspector.png"
    try:
        driver.get(lab)
        wait = WebDriverWait(driver, 120, poll_frequency=0.5)
        wait.until(lambda d: d.execute_script(
            "const app = window.jupyterapp; const w = app && app.shell.currentWidget;"
            "return !!(w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel"
            " && w.sessionContext.session.kernel.status === 'idle')"))
        driver.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        wait.until(lambda d: len(d.find_elements("css selector", ".tracer1kit-panel")) >= 3
                   and len(d.find_elements("css selector", ".tracer1kit-panel table")) >= 3)
        driver.execute_script("[...document.querySelectorAll('.tracer1kit-controls')].pop()"
                              ".scrollIntoView({block: 'start'})")
        time.sleep(1.5)  # plotly draws the screenshots and reward bars
        layout = _layout(driver)
        driver.save_screenshot(str(shot))
        errors = driver.find_elements("css selector",
                                      ".jp-RenderedText[data-mime-type='application/vnd.jupyter.stderr']")
        text = " ".join(e.text for e in errors)
    finally:
        driver.quit()
    assert "Traceback" not in text and "Error" not in text, text
    (left, right), view = layout["panels"], layout["viewport"]
    assert abs(left["top"] - right["top"]) < 4 and right["left"] >= left["right"] - 1, \
        f"the compare panels are stacked, not side by side: {layout['panels']}"
    for plan in layout["plans"]:
        assert 0 <= plan["top"] and plan["bottom"] <= view["height"] and plan["right"] <= view["width"], \
            f"a plan is outside the {view} viewport: {layout['plans']}"
    controls = layout["controls"]
    assert 0 <= controls["top"] and controls["bottom"] <= view["height"], "the step control scrolled away"
    assert Image.open(shot).size == (WIDTH, HEIGHT) or Image.open(shot).size[0] >= WIDTH - 20
    if os.environ.get("TRACER1KIT_REFRESH_SCREENSHOT") == "1":
        shutil.copy(shot, REPO / "docs" / "inspector.png")
