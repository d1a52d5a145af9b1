"""The TRL contract: the private GRPOTrainer methods and attributes the kit's GRPO extension wraps are as the kit
assumes, TRL is inside the tested pin (pyproject.toml, environment.yml and the contract agree), and a change is
reported naming the kit's wrapper to review."""

import importlib.util
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trl
from trl import GRPOTrainer
from trl.trainer import utils as trl_utils

from tracer1kit.training import trl_contract
from tracer1kit.training.signal_trainer import GroupSignalTrainer
from tracer1kit.training.trl_contract import (OUTPUT_KEYS, SUPPORTED_TRL, TRLContractError, check_contract,
                                              contract_problems, returned_keys, version_problem)

REPO = Path(__file__).resolve().parents[1]


def test_the_installed_trl_is_inside_the_tested_pin():
    assert version_problem(trl.__version__) is None, version_problem(trl.__version__)


def test_the_installed_trl_keeps_the_contract():
    assert contract_problems() == []


def test_pyproject_and_environment_pin_trl_as_the_contract_says():
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert f"trl{SUPPORTED_TRL}" in [re.sub(r"\s", "", d) for d in deps]
    assert f"trl{SUPPORTED_TRL}" in pip_section


@pytest.mark.parametrize("version", ["1.17.0", "1.15.2", "2.0.0"])
def test_a_trl_outside_the_pin_is_reported_with_what_to_do(version):
    message = version_problem(version)
    assert message.startswith(f"TRL {version} is installed, but the kit's GRPO extension was checked on trl>=1.16,<1.17")
    assert "signal_trainer.py" in message and "pyproject.toml" in message


def test_every_returned_key_the_kit_knows_is_one_trl_returns():
    assert returned_keys(GRPOTrainer._generate_and_score_completions) == OUTPUT_KEYS


def changed(name, body):
    """A GRPOTrainer subclass whose method ``name`` is replaced by ``body``."""
    return type("Changed", (GRPOTrainer,), {name: body})


@pytest.mark.parametrize("name, body, review", [
    ("_calculate_rewards", lambda self, inputs, prompts, completions: None, "GroupSignalTrainer._calculate_rewards"),
    ("_generate_and_score_completions", lambda self, inputs, mode: None, "GroupSignalTrainer._generate_and_score"),
    ("log", lambda self, logs: None, "groups.py (run_prepass"),
])
def test_a_changed_signature_names_the_wrapper_to_review(name, body, review):
    problems = contract_problems(changed(name, body))  # (a lambda returns none of the output keys either)
    assert problems[0].startswith(f"GRPOTrainer.{name}: expected parameters") and review in problems[0]


def method_returning(keys, tmp_path):
    """A ``_generate_and_score_completions`` whose source returns ``keys`` the way TRL's does (a literal, then
    ``output["k"] = …`` lines), loaded from a file so that its source can be read."""
    first, rest = sorted(keys)[:6], sorted(keys)[6:]
    lines = ["def _generate_and_score_completions(self, inputs):", "    output = {",
             *[f'        "{k}": None,' for k in first], "    }", *[f'    output["{k}"] = None' for k in rest],
             "    return output", ""]
    (tmp_path / "fake_trl_method.py").write_text("\n".join(lines))
    spec = importlib.util.spec_from_file_location("fake_trl_method", tmp_path / "fake_trl_method.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module._generate_and_score_completions


@given(added=st.sets(st.from_regex(r"[a-z]{3,8}_[a-z]{3,8}", fullmatch=True), max_size=3),
       removed=st.sets(st.sampled_from(sorted(OUTPUT_KEYS)), max_size=3))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_other_returned_keys_name_merge_rows(added, removed, tmp_path):
    added -= OUTPUT_KEYS
    method = method_returning((OUTPUT_KEYS - removed) | added, tmp_path)
    assert returned_keys(method) == (OUTPUT_KEYS - removed) | added
    problems = contract_problems(changed("_generate_and_score_completions", method))
    if not added and not removed:
        assert problems == []
    else:
        assert problems == [f"GRPOTrainer._generate_and_score_completions returns other keys (new: {sorted(added)}, "
                            f"gone: {sorted(removed)}); review {trl_contract.OUTPUT_REVIEW}, then update OUTPUT_KEYS "
                            "in tracer1kit/training/trl_contract.py"]


def test_a_missing_attribute_and_helper_are_reported():
    class NoMetrics(GRPOTrainer):
        def __init__(self):  # sets none of TRL's attributes
            pass

    problems = contract_problems(NoMetrics)
    assert any(p.startswith("GRPOTrainer.__init__ no longer sets self._metrics; review") for p in problems)

    class Utils:
        pad, nanstd, split_pixel_values_by_grid = trl_utils.pad, trl_utils.nanstd, trl_utils.split_pixel_values_by_grid

    assert contract_problems(utils=Utils) == ["trl.trainer.utils.unsplit_pixel_values_by_grid: expected parameters "
                                              "starting ('batch',), TRL has no such function; review "
                                              + trl_contract.OUTPUT_REVIEW]


def test_the_wrapped_trainer_refuses_to_start_when_the_contract_breaks(monkeypatch):
    monkeypatch.setattr(trl_contract, "contract_problems", lambda: ["GRPOTrainer.log: changed; review X"])
    with pytest.raises(TRLContractError, match="does not match the kit's GRPO extension:\nGRPOTrainer.log: changed"):
        GroupSignalTrainer(dynamic_sampling=None)
    monkeypatch.undo()
    check_contract()
