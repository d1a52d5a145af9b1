"""MiniWoB++ in Debian's headless Chromium, behind the kit's Environment interface.

Uses the ``miniwob`` package (it ships the task pages) with Selenium driving ``/usr/bin/chromium`` through
``/usr/bin/chromedriver``; selenium-manager never downloads anything. miniwob has no hook for Chrome
flags, so the flags and the browser's HOME/TMPDIR (inside the env's work folder, never ``~``) are added
by wrapping the options and driver-service factories miniwob calls, without editing site-packages.
Every reset starts from the task page as loaded: miniwob's own reset re-runs the task's ``genProblem`` on the
same page, and widgets that jQuery UI appends to ``<body>`` (date-pickers, autocomplete menus) would survive into
the next episode, so a page that has run an episode is reloaded first (``reset`` then gives the same observation in
a fresh browser and in one that ran other episodes). The episode clock is lifted before the episode starts (its
end timer is armed then) and success is miniwob's raw, undecayed reward. A browser that dies is restarted and the
step reports ``truncated`` with ``info["interrupted"]``.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ..episodes import Element, Observation
from .base import BrowserAction, Transition

CHROME_BINARY = os.environ.get("TRACER1KIT_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("TRACER1KIT_CHROMEDRIVER", "/usr/bin/chromedriver")
CHROME_FLAGS = ("--no-sandbox", "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-gpu",
                "--disable-quic", "--headless=new")
MAX_TMPDIR_CHARS = 60
WAIT_SECONDS = 0.3  # autocomplete menus appear about 300 ms after typing

_launch_lock = threading.Lock()
_launch: dict[str, Any] = {}
_patched = False


def _patch_miniwob() -> None:
    """Route miniwob's ChromeOptions/ChromeService through the settings of the env being launched."""
    global _patched
    if _patched:
        return
    from types import SimpleNamespace

    from miniwob import selenium_instance
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    def options() -> Any:
        opts = webdriver.ChromeOptions()
        for flag in (*CHROME_FLAGS, f"--user-data-dir={_launch['profile']}", f"--crash-dumps-dir={_launch['tmp']}"):
            opts.add_argument(flag)
        return opts

    def service(executable_path: str, **kwargs: Any) -> Service:
        env = {**os.environ, "HOME": _launch["home"], "TMPDIR": _launch["tmp"]}
        # its own process group, so the browser and the helpers it detaches (crashpad) die together
        return Service(executable_path=executable_path, env=env, popen_kw={"start_new_session": True}, **kwargs)

    selenium_instance.webdriver = SimpleNamespace(ChromeOptions=options, Chrome=webdriver.Chrome)
    selenium_instance.ChromeService = service
    _patched = True


def check_browser() -> None:
    """Fail early, with the fix, when Chromium or its driver is missing."""
    for path, package in ((CHROME_BINARY, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not Path(path).exists():
            raise RuntimeError(f"{path} not found: install Debian's '{package}' (scripts/setup.sh does it)")


class MiniWoBEnv:
    """One MiniWoB++ task in one headless browser; ``reset(seed)`` then ``step(BrowserAction)``."""

    def __init__(self, task: str, *, screenshots: bool = True, headless: bool = True,
                 episode_max_time_s: float = 3600.0, workdir: str | os.PathLike[str] | None = None) -> None:
        check_browser()
        self.task = task
        self.screenshots = screenshots
        self.headless = headless
        self.episode_max_time_s = episode_max_time_s
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="tracer1kit-chromium-"))
        self._env: Any = None
        self._seed = 0
        self._steps = 0
        self._last: Observation | None = None
        self._short_tmp: Path | None = None
        self._page_used = False  # whether an episode has started on the page loaded in the browser

    # ---------------------------------------------------------------- browser lifecycle
    def _start(self) -> None:
        import gymnasium
        import miniwob
        from miniwob.reward import get_raw_reward

        gymnasium.register_envs(miniwob)
        os.environ.setdefault("MINIWOB_CHROME_BINARY", CHROME_BINARY)
        os.environ.setdefault("MINIWOB_CHROMEDRIVER", CHROMEDRIVER)
        for sub in ("home", "profile"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        with _launch_lock:
            _patch_miniwob()
            _launch.update(home=str(self.workdir / "home"), tmp=str(self._tmpdir()), profile=str(self.workdir / "profile"))
            try:
                self._env = gymnasium.make(f"miniwob/{self.task}-v1", action_space_config="all_supported",
                                           reward_processor=get_raw_reward,
                                           render_mode=None if self.headless else "human")
            except gymnasium.error.Error as exc:
                raise ValueError(f"unknown MiniWoB++ task '{self.task}' ({exc})") from None

    def _reload(self) -> None:
        """Load the task page afresh, dropping whatever earlier episodes left in its DOM."""
        from selenium.webdriver.support.ui import WebDriverWait

        driver = self._instance.driver
        driver.get(self._instance.url)
        WebDriverWait(driver, 5).until(lambda d: d.execute_script("return !!(window.core && core.cover_div);"))

    def _lift_clock(self) -> None:
        """Set the episode time limit; the episode's end timer is armed with it when the episode starts."""
        self._instance.driver.execute_script(f"core.EPISODE_MAX_TIME={int(self.episode_max_time_s * 1000)};")

    def _tmpdir(self) -> Path:
        """TMPDIR for the browser: inside the work folder unless that path is too long for Chromium's
        singleton socket (Unix sockets allow 108 bytes), then a short private folder removed on close."""
        inside = self.workdir / "tmp"
        if len(str(inside)) <= MAX_TMPDIR_CHARS:
            inside.mkdir(parents=True, exist_ok=True)
            return inside
        if self._short_tmp is None:
            self._short_tmp = Path(tempfile.mkdtemp(prefix="t1k-"))
        return self._short_tmp

    @property
    def _instance(self) -> Any:
        return self._env.unwrapped.instance

    def browser_pid(self) -> int | None:
        """The pid of this env's chromedriver process (its Chromium is a child), or None."""
        try:
            return self._instance.driver.service.process.pid
        except AttributeError:
            return None

    def _alive(self) -> bool:
        if self._env is None or self._instance.died:
            return False
        try:
            self._instance.driver.execute_script("return 1;")
            return True
        except Exception:  # noqa: BLE001 - any WebDriver failure means the browser is gone
            return False

    def _kill(self) -> None:
        """Stop the browser processes of this env, whatever state they are in."""
        if self._env is None:
            return
        try:
            process = self._instance.driver.service.process
        except AttributeError:
            process = None
        try:
            self._env.close()
        except Exception:  # noqa: BLE001 - a dead browser cannot close cleanly
            pass
        if process is not None:
            kill_browser_group(process.pid)
            try:
                process.wait(timeout=5)  # reap chromedriver so no zombie is left behind
            except Exception:  # noqa: BLE001
                pass
        self._env = None

    def close(self) -> None:
        self._kill()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        if self._short_tmp is not None:
            shutil.rmtree(self._short_tmp, ignore_errors=True)

    def __enter__(self) -> "MiniWoBEnv":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self._kill()
        except Exception:  # noqa: BLE001
            pass

    # ---------------------------------------------------------------- environment API
    def reset(self, seed: int) -> Observation:
        if self._env is not None and not self._alive():
            self._kill()
        if self._env is None:
            self._start()
        elif self._page_used:
            self._reload()
        self._lift_clock()
        self._page_used = True
        raw, _ = self._env.reset(seed=seed, options={"record_screenshots": self.screenshots})
        self._seed, self._steps = seed, 0
        self._last = self._observation(raw)
        return self._last

    def step(self, action: BrowserAction) -> Transition:
        if self._env is None or self._last is None:
            raise RuntimeError("call reset(seed) before step()")
        if self._instance.died:  # no ping per step: a dead browser makes miniwob's step fail and set died
            return self._interrupted("the browser died before the step")
        try:
            raw_action = self._to_miniwob(action)
        except ValueError as exc:
            return Transition(self._last, info={"error": str(exc)})
        if action.kind == "wait":
            time.sleep(WAIT_SECONDS)
        try:
            if action.kind == "select":
                self._select(action)
            raw, reward, terminated, truncated, info = self._env.step(raw_action)
        except Exception:  # noqa: BLE001 - WebDriver errors on a dead browser become an interruption
            if self._alive():
                raise
            return self._interrupted("the browser died during the step")
        if self._instance.died or not raw:
            return self._interrupted("the browser died during the step")
        self._steps += 1
        self._last = self._observation(raw)
        success = bool(terminated and reward > 0)
        return Transition(self._last, reward=float(max(reward, 0.0)), terminated=bool(terminated),
                          truncated=bool(truncated), success=success, info={"raw_reward": float(reward)})

    def _interrupted(self, why: str) -> Transition:
        self._kill()
        return Transition(self._last, truncated=True, info={"interrupted": True, "error": why})

    def _to_miniwob(self, action: BrowserAction) -> Any:
        from miniwob.action import ActionTypes

        env = self._env.unwrapped
        known = {int(e.ref) for e in self._last.elements}
        if action.ref is not None and action.ref not in known:
            raise ValueError(f"no element with ref {action.ref} on the page")
        if action.kind == "click":
            if action.ref is not None:
                return env.create_action(ActionTypes.CLICK_ELEMENT, ref=action.ref)
            if action.point is None:
                raise ValueError("a click needs an element ref or a point")
            return env.create_action(ActionTypes.CLICK_COORDS, coords=list(action.point))
        if action.kind == "type":
            if action.ref is None:
                return env.create_action(ActionTypes.TYPE_TEXT, text=action.text)
            return env.create_action(ActionTypes.FOCUS_ELEMENT_AND_TYPE_TEXT, ref=action.ref, text=action.text)
        if action.kind == "press":
            keys = list(env.action_space_config.allowed_keys)
            key = action.text if action.text in keys else f"<{action.text.strip('<>')}>"
            if key not in keys:
                raise ValueError(f"unknown key '{action.text}' (allowed: {', '.join(keys[:12])}, …)")
            return env.create_action(ActionTypes.PRESS_KEY, key=keys.index(key))
        if action.kind == "scroll":
            kind = ActionTypes.SCROLL_UP_COORDS if action.text.lower() == "up" else ActionTypes.SCROLL_DOWN_COORDS
            width, height = self._last.size
            return env.create_action(kind, coords=list(action.point or (width / 2, height / 2)))
        if action.kind in ("wait", "select"):
            return env.create_action(ActionTypes.NONE)
        raise ValueError(f"unknown browser action '{action.kind}'")

    def _select(self, action: BrowserAction) -> None:
        """Choose an option of a <select> by its visible text (miniwob has no select action)."""
        self._instance.driver.execute_script(
            "var el = core.previousDOMInfo[arguments[0]]; if (!el) return;"
            "for (var o of el.options || []) if (o.text.trim().toLowerCase() === arguments[1].toLowerCase())"
            " { el.value = o.value; el.dispatchEvent(new Event('change', {bubbles: true})); }",
            action.ref, action.text)

    def _observation(self, raw: dict[str, Any]) -> Observation:
        from PIL import Image

        elements = tuple(
            Element(ref=int(e["ref"]), tag=str(e["tag"]), text=str(e["text"] or ""), value=_value(e["value"]),
                    left=float(e["left"][0]), top=float(e["top"][0]), width=float(e["width"][0]),
                    height=float(e["height"][0]), classes=str(e["classes"] or ""), id=str(e["id"] or ""))
            for e in raw["dom_elements"])
        screenshot = Image.fromarray(raw["screenshot"]).convert("RGB") if self.screenshots else None
        height, width = raw["screenshot"].shape[:2]
        instruction = str(raw["utterance"]) or (self._last.instruction if self._last else "")  # kept once the task ends
        return Observation(instruction=instruction, screenshot=screenshot, elements=elements,
                           step_index=self._steps, task=self.task, seed=self._seed, size=(int(width), int(height)))


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def kill_browser_group(pid: int) -> None:
    """SIGKILL chromedriver ``pid``'s process group (it leads one) and anything still below it."""
    for target in _descendants(pid):
        try:
            os.kill(target, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _descendants(pid: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    out, stack = [], [pid]
    while stack:
        for child in parents.get(stack.pop(), []):
            out.append(child)
            stack.append(child)
    return out
