"""Params explain themselves: ``check --explain KEY`` and docs/params.md say each key's description, type,
default and allowed values as the schema has them, and docs/params.md is never stale."""

import json
import re
from pathlib import Path

import pytest

from tracer1kit.cli import main
from tracer1kit.paramdocs import explain, key_docs, markdown
from tracer1kit.params import Params, ParamsError, params_from_dict, set_dotted

REPO = Path(__file__).resolve().parents[1]
VALUES = [d for d in key_docs() if not d.section]


def test_docs_params_md_is_generated_from_the_schema():
    committed = (REPO / "docs" / "params.md").read_text(encoding="utf-8")
    assert committed == markdown(), "docs/params.md is stale: regenerate it with `python scripts/params_doc.py`"


def test_the_walk_reaches_every_key_of_every_section():
    keys = {d.key for d in key_docs()}
    assert {"planner.horizon", "model.lora.r", "reward.weights.format", "train.stage1.beta",
            "train.stage2.prepass.keep", "eval.grounder.noise"} <= keys
    assert {k.split(".")[0] for k in keys} == set(Params.model_fields)


def test_each_value_key_has_one_row_under_its_section():
    text = markdown()
    for doc in VALUES:
        assert text.count(f"| `{doc.key}` |") == 1, doc.key
    for doc in key_docs():
        if doc.section:
            assert f"## `{doc.key}`" in text


def test_defaults_are_those_of_a_default_params_set():
    docs = {d.key: d for d in key_docs()}
    assert docs["train.sft.max_steps"].default == "200" and docs["train.stage1.max_steps"].default == "40"
    assert docs["env.train_seeds"].default == "[0, 1, …, 19] (20 values)"
    assert docs["eval.horizons"].default == "[1, 3]"
    for doc in VALUES:  # every unabbreviated default reads back as the default value
        if "…" not in doc.default:
            value: object = Params()
            for part in doc.key.split("."):
                value = getattr(value, part)
            assert json.loads(doc.default) == json.loads(json.dumps(value)), doc.key


def _valid(key: str, value: object) -> bool:
    """Whether validation accepts ``value`` for ``key`` (rules across keys, reported on their section, aside)."""
    data: dict = {}
    set_dotted(data, key, value)
    try:
        params_from_dict(data, "x")
    except ParamsError as exc:
        return re.search(rf"x: {re.escape(key)}(\.\d+)?: ", str(exc)) is None  # a list's item: key.0
    return True


RANGES = [d for d in VALUES if d.allowed and not d.allowed.startswith("one of")]


@pytest.mark.parametrize("doc", RANGES, ids=[d.key for d in RANGES])
def test_an_allowed_range_is_what_validation_accepts(doc):
    number = float if doc.type.startswith("float") else int
    two = re.fullmatch(r"([\[(])(\S+), (\S+)([\])])", doc.allowed)
    if two:
        bounds = [(two[1], number(float(two[2]))), (two[4], number(float(two[3])))]
    else:
        sign, value = doc.allowed.split(" ")
        bounds = [({"≥": "[", ">": "(", "≤": "]", "<": ")"}[sign], number(float(value)))]
    for bracket, value in bounds:
        assert _valid(doc.key, value) is (bracket in "[]"), (doc.key, doc.allowed, value)


CHOICES = [d for d in VALUES if d.allowed.startswith("one of ")]


@pytest.mark.parametrize("doc", CHOICES, ids=[d.key for d in CHOICES])
def test_allowed_choices_are_what_validation_accepts(doc):
    choices = json.loads("[" + doc.allowed.removeprefix("one of ") + "]")
    assert all(_valid(doc.key, c) for c in choices)
    assert not _valid(doc.key, "no-such-choice")


def test_explain_prints_description_type_default_and_range():
    text = explain("planner.horizon")
    assert text.splitlines()[0] == "planner.horizon"
    assert Params.model_fields["planner"].annotation.model_fields["horizon"].description in text
    assert "type: int" in text and "default: 3" in text and "allowed: [1, 32]" in text


def test_explain_shows_the_value_in_a_params_file():
    params = params_from_dict({"planner": {"horizon": 1}})
    assert explain("planner.horizon", params, "x.yaml").endswith("value in x.yaml: 1")


def test_explain_a_section_lists_its_keys():
    assert explain("model.lora").splitlines()[-1] == (
        "  keys: enabled, r, alpha, dropout, target_modules, adapter_path")


@pytest.mark.parametrize("key, suggested", [
    ("planner.horizn", "planner.horizon"), ("horizon", "planner.horizon"), ("train.stage1.bta", "train.stage1.beta")])
def test_an_unknown_key_suggests_close_ones(key, suggested):
    with pytest.raises(ParamsError, match=re.escape(f"--explain {key}: unknown params key (did you mean: ")) as exc:
        explain(key)
    assert suggested in str(exc.value)


def test_a_key_with_nothing_close_lists_the_sections():
    with pytest.raises(ParamsError, match=r"\(sections: run, env, .*; see docs/params.md\)"):
        explain("zzzzzz")


def test_check_explain_on_the_command_line(capsys):
    assert main(["check", "--explain", "train.stage1.beta"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("train.stage1.beta\n") and "type: float" in out and "default: 0.01" in out
    assert main(["check", str(REPO / "params" / "ci.yaml"), "--explain", "planner.horizon"]) == 0
    assert "value in " in capsys.readouterr().out


def test_check_explain_of_an_unknown_key_is_one_error_line(capsys):
    assert main(["check", "--explain", "planner.horizn"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --explain planner.horizn: unknown params key")


def test_check_without_a_file_or_key_says_what_to_give(capsys):
    assert main(["check"]) == 2
    assert "name a params file" in capsys.readouterr().err
