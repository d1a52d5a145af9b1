"""Params load into typed objects, and every kind of bad input fails at load naming file, key path and the fix."""

from pathlib import Path

import pytest
from pydantic import BaseModel

from tracer1kit.params import Params, ParamsError, load_params, with_overrides

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    return path


def test_every_shipped_params_file_loads():
    files = sorted((REPO / "params").glob("*.yaml"))
    assert files, "params/ has no YAML files"
    for path in files:
        assert isinstance(load_params(path), Params), path


@pytest.mark.parametrize("text, fragments", [
    ("planner:\n  horizn: 3\n", ["planner.horizn", "unknown key"]),
    ("reward:\n  gamma: 1.5\n", ["reward.gamma", "(0, 1]", "1.5"]),
    ("reward:\n  gamma: 0\n", ["reward.gamma", "(0, 1]"]),
    ("planner:\n  horizon: 0\n", ["planner.horizon", "greater than or equal to 1"]),
    ("reward:\n  weights:\n    alignment: -0.5\n", ["reward.weights.alignment", "greater than or equal to 0"]),
    ("planner:\n  horizon: three\n", ["planner.horizon", "integer"]),
    ("env:\n  tasks: [a]\n  heldout_tasks: [a]\n", ["env", "heldout_tasks"]),
    ("env:\n  train_seeds: [1, 2]\n  test_seeds: [2]\n", ["train_seeds and test_seeds overlap"]),
    ("eval:\n  horizons: [0, 3]\n", ["eval.horizons", ">= 1"]),
    ("- just\n- a list\n", ["mapping of sections"]),
    ("planner: [unclosed\n", ["not valid YAML"]),
    ("train:\n  sft:\n    lr_scheduler: cosin\n", ["train.sft.lr_scheduler", "'cosine'"]),
    ("base: [a.yaml]\n", ["base", "file name of another params file"]),
])
def test_bad_files_fail_with_file_key_and_rule(tmp_path, text, fragments):
    path = write(tmp_path, text)
    with pytest.raises(ParamsError) as info:
        load_params(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message


def test_missing_file_says_where_params_live(tmp_path):
    with pytest.raises(ParamsError, match="no such params file"):
        load_params(tmp_path / "nope.yaml")


def test_overrides_are_validated(tmp_path):
    path = write(tmp_path, "planner:\n  horizon: 3\n")
    assert load_params(path, {"planner.horizon": 1}).planner.horizon == 1
    with pytest.raises(ParamsError, match="reward.gamma"):
        load_params(path, {"reward.gamma": 2})
    with pytest.raises(ParamsError, match="planner.horizon"):
        with_overrides(Params(), {"planner.horizon": -1})


def test_base_file_is_merged_key_by_key(tmp_path):
    (tmp_path / "base.yaml").write_text("run:\n  name: base\nplanner:\n  horizon: 5\n  max_new_tokens: 99\n"
                                        "eval:\n  training_seeds: [0]\n")
    child = tmp_path / "sub" / "child.yaml"
    child.parent.mkdir()
    child.write_text("base: ../base.yaml\nplanner:\n  horizon: 2\neval:\n  training_seeds: [0, 1, 2]\n")
    params = load_params(child)
    assert (params.run.name, params.planner.horizon, params.planner.max_new_tokens) == ("base", 2, 99)
    assert params.eval.training_seeds == [0, 1, 2]


def test_base_chain_errors_name_the_file_and_the_fix(tmp_path):
    missing = write(tmp_path, "base: gone.yaml\n")
    with pytest.raises(ParamsError, match=r"p.yaml: base: .*gone.yaml: no such params file"):
        load_params(missing)
    (tmp_path / "a.yaml").write_text("base: b.yaml\n")
    (tmp_path / "b.yaml").write_text("base: a.yaml\n")
    with pytest.raises(ParamsError, match="leads back to itself"):
        load_params(tmp_path / "a.yaml")
    (tmp_path / "c.yaml").write_text("base: a.yaml\nplanner:\n  horizn: 3\n")
    (tmp_path / "a.yaml").write_text("planner:\n  horizon: 3\n")
    with pytest.raises(ParamsError, match=r"c.yaml: planner.horizn: unknown key"):
        load_params(tmp_path / "c.yaml")


def test_a_file_that_is_not_utf8_is_refused_by_name(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("run:\n  name: café\n".encode("latin-1"))
    with pytest.raises(ParamsError, match=rf"{path}: not UTF-8 text \(byte 0xe9 at offset 16\): save the file as UTF-8"):
        load_params(path)


def test_a_folder_is_not_a_params_file(tmp_path):
    with pytest.raises(ParamsError, match=rf"{tmp_path}: is a folder, not a params file: name a .yaml file"):
        load_params(tmp_path)
    child = write(tmp_path, "base: sub\n")
    (tmp_path / "sub").mkdir()
    with pytest.raises(ParamsError, match=rf"{child}: base: {tmp_path / 'sub'}: is a folder"):
        load_params(child)


def test_problems_inside_a_base_file_name_the_base_and_its_child(tmp_path):
    (tmp_path / "base.yaml").write_text("planner:\n  horizn: 3\n  horizon: 0\n")
    child = write(tmp_path, "base: base.yaml\nplanner:\n  history_len: null\n")
    with pytest.raises(ParamsError) as info:
        load_params(child)
    lines = str(info.value).splitlines()
    base = f"{tmp_path / 'base.yaml'} (base of {child})"
    assert f"{base}: planner.horizon: Input should be greater than or equal to 1 (got 0)" in lines
    assert f"{base}: planner.horizn: unknown key (check the spelling; see tracer1kit/params.py for allowed keys)" in lines
    assert any(line.startswith(f"{child}: planner.history_len: ") for line in lines)  # the child's own null


def test_a_base_that_is_not_utf8_names_both_files(tmp_path):
    (tmp_path / "base.yaml").write_bytes(b"run:\n  name: \xff\n")
    child = write(tmp_path, "base: base.yaml\n")
    with pytest.raises(ParamsError, match=rf"{tmp_path / 'base.yaml'} \(base of {child}\): not UTF-8 text"):
        load_params(child)


@pytest.mark.parametrize("text, fragment", [
    ("a: 2020-13-45\n", "not valid YAML: month must be in 1..12"),
    ("[" * 3000 + "\n", "not valid YAML"),
    ("env: &x {tasks: *x}\n", "env.tasks: Input should be a valid list"),
    ("run:\n  name: " + "x" * 500 + "\nplanner: {horizon: " + "9" * 500 + "}\n", "planner.horizon"),
])
def test_odd_yaml_is_a_params_error(tmp_path, text, fragment):
    path = write(tmp_path, text)
    with pytest.raises(ParamsError) as info:
        load_params(path)
    assert fragment in str(info.value) and str(path) in str(info.value)
    assert len(str(info.value)) < 1000


def test_overrides_are_reported_as_overrides(tmp_path):
    path = write(tmp_path, "planner:\n  horizon: 3\n")
    with pytest.raises(ParamsError, match=rf"{path} \(overrides\): reward.gamma: must be in \(0, 1\]"):
        load_params(path, {"reward.gamma": 2})


def undescribed(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Dotted keys of ``model``'s fields, its sections' included, whose schema has no description."""
    missing = []
    for name, info in model.model_fields.items():
        if not (info.description or "").strip():
            missing.append(prefix + name)
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            missing += undescribed(info.annotation, f"{prefix}{name}.")
    return missing


PENDING = {"train": "train section: descriptions added on branch ecosystem"}


@pytest.mark.parametrize("section", [
    pytest.param(name, marks=pytest.mark.xfail(reason=PENDING[name], strict=True)) if name in PENDING else name
    for name in Params.model_fields])
def test_every_field_explains_itself(section):
    missing = [section] * (not Params.model_fields[section].description)
    missing += undescribed(Params.model_fields[section].annotation, section + ".")
    assert not missing, f"no Field(description=...) in tracer1kit/params.py for: {', '.join(missing)}"
