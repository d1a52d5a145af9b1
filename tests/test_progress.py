"""Live progress: the notebook runner reports each code cell and streams the kernel's output; training reports
its steps with an ETA and says a stalled-GRPO warning once per stage, with its count."""

import logging
from types import SimpleNamespace

import nbformat
import pytest

from tracer1kit.progress import Progress, duration
from tracer1kit.runs import RunDir
from tracer1kit.training.common import MetricsCallback

REPO = __import__("pathlib").Path(__file__).resolve().parents[1]


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def progress_lines():
    handler, logger = Lines(), logging.getLogger("tracer1kit")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler.lines
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_durations_read_like_a_person_writes_them():
    assert [duration(s) for s in (0.4, 42, 185, 3720)] == ["0 s", "42 s", "3 min 05 s", "1 h 02 min"]


def test_progress_reports_pace_and_time_left_at_most_every_interval(progress_lines, monkeypatch):
    clock = iter([0.0, 10.0, 20.0, 45.0, 100.0])
    monkeypatch.setattr("tracer1kit.progress.time.monotonic", lambda: next(clock))
    bar = Progress("sft", every_s=30.0)
    for done in (1, 2, 3, 4):                                     # at 10 s, 20 s, 45 s and 100 s
        bar.update(done, 4)
    assert progress_lines == ["sft: step 3/4 (75%), 15.0 s/step, about 15 s left",
                              "sft: step 4/4 (100%), 25.0 s/step"]


def test_a_stalled_stage_is_warned_about_once_with_its_count(tmp_path):
    callback = MetricsCallback(RunDir.create(tmp_path), "stage2", warn_at=0.8, every_s=1e9)
    state = SimpleNamespace(is_world_process_zero=True, global_step=0, max_steps=5)
    for step, frac in enumerate((0.9, 0.5, 1.0, 0.85, 0.2), start=1):
        state.global_step = step
        callback.on_log(None, state, None, logs={"frac_reward_zero_std": frac, "loss": 0.1})
    callback.on_train_end(None, state, None)
    assert len(callback.warnings) == 1
    assert callback.warnings[0].startswith("stage2: in 3 of 5 logged steps at least 80% of the groups had equal rewards")
    assert "(mean 92%)" in callback.warnings[0] and "train.stage2.prepass" in callback.warnings[0]
    assert len(RunDir(tmp_path).metrics("stage2")) == 5


def _notebook(path):
    book = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell('params_path = ""\nrun_dir = ""')
    parameters.metadata["tags"] = ["parameters"]
    book.cells = [parameters, nbformat.v4.new_markdown_cell("## 1 · Say hello"),
                  nbformat.v4.new_code_cell("import sys\nprint('kernel says hello', file=sys.stderr)")]
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(book, path)


@pytest.mark.slow
def test_tracer1kit_run_reports_each_cell_and_streams_the_kernel_output(tmp_path, progress_lines, capfd):
    from tracer1kit.notebook_runner import run_notebooks

    (tmp_path / "nbs").mkdir()
    _notebook(tmp_path / "nbs" / "hello.ipynb")
    run_notebooks(REPO / "params" / "ci.yaml", tmp_path / "run", notebooks_dir=tmp_path / "nbs", only=["hello"])
    assert "notebook 1/1 hello: cell 3/3 · 1 · Say hello" in progress_lines  # after papermill's parameters cell
    assert progress_lines[-1].startswith("notebook 1/1 hello: done in ")
    assert "kernel says hello" in capfd.readouterr().err            # streamed live, not only kept in the notebook
    again = run_notebooks(REPO / "params" / "ci.yaml", tmp_path / "run", notebooks_dir=tmp_path / "nbs", only=["hello"])
    assert again[0].status == "skipped" and "already run for these params" in progress_lines[-1]
