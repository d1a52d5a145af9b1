"""Every numeric bound of every params field on both sides, each cross-field rule at its edge, and the exact
wording of the messages that name the file, key path and fix."""

import math
from pathlib import Path

import pytest
from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel

from tracer1kit.params import (EnvParams, Params, ParamsError, RewardParams, load_params, params_from_dict, set_dotted,
                               with_overrides)


def bounded_fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, type, object]]:
    """(dotted key, the field's number type, one numeric constraint) for every bounded field of every section."""
    found = []
    for name, info in model.model_fields.items():
        key = prefix + name
        default = info.get_default(call_default_factory=True)
        if isinstance(default, BaseModel):
            found += bounded_fields(type(default), key + ".")
            continue
        kind = float if isinstance(default, float) or float in getattr(info.annotation, "__args__", ()) else int
        found += [(key, kind, c) for c in info.metadata if isinstance(c, (Ge, Gt, Le, Lt))]
    return found


BOUNDS = bounded_fields(Params)


def past(value: float, kind: type, up: bool) -> float:
    """The next representable value of the field's type beyond ``value``."""
    if kind is int:
        return int(value) + (1 if up else -1)
    return math.nextafter(float(value), math.inf if up else -math.inf)


def test_the_walk_finds_the_bounds_the_docs_rely_on():
    keys = {key for key, _, _ in BOUNDS}
    assert {"planner.horizon", "planner.top_p", "reward.current_type_weight", "reward.weights.alignment",
            "grounded.grounder.noise", "model.lora.dropout", "train.stage1.num_generations",
            "train.stage2.prepass.samples", "eval.episodes_per_task", "env.max_steps"} <= keys
    assert len(BOUNDS) > 60


@pytest.mark.parametrize("key, kind, bound", BOUNDS, ids=[f"{k}-{type(c).__name__}" for k, _, c in BOUNDS])
def test_every_field_bound_on_both_sides(key, kind, bound):
    limit = next(getattr(bound, a) for a in ("ge", "gt", "le", "lt") if hasattr(bound, a))
    inclusive, upper = isinstance(bound, (Ge, Le)), isinstance(bound, (Le, Lt))
    inside = limit if inclusive else past(limit, kind, up=not upper)
    outside = past(limit, kind, up=upper) if inclusive else limit
    extra = {"eval.episodes_per_task": 1} if key == "env.test_seeds" else {}
    assert getattr_dotted(with_overrides(Params(), {key: inside, **extra}), key) == inside
    with pytest.raises(ParamsError) as info:
        with_overrides(Params(), {key: outside})
    assert info.value.args[0].startswith(f"overrides: {key}: Input should be ")


def getattr_dotted(node: object, key: str) -> object:
    for part in key.split("."):
        node = getattr(node, part)
    return node


def error(data: dict) -> str:
    with pytest.raises(ParamsError) as info:
        params_from_dict(data, "p.yaml")
    return str(info.value)


@pytest.mark.parametrize("gamma, ok", [(1.0, True), (1e-9, True), (0.0, False), (-0.5, False), (1.0000001, False)])
def test_gamma_lies_in_zero_one_closed_above(gamma, ok):
    if ok:
        assert RewardParams(gamma=gamma).gamma == gamma
    else:
        assert error({"reward": {"gamma": gamma}}) == f"p.yaml: reward.gamma: must be in (0, 1] (got {gamma})"


def test_eval_horizons_and_gammas_are_checked_item_by_item():
    assert params_from_dict({"eval": {"horizons": [1, 2]}}).eval.horizons == [1, 2]
    assert error({"eval": {"horizons": [3, 0]}}) == "p.yaml: eval.horizons: every horizon must be >= 1 (got [3, 0])"
    assert params_from_dict({"eval": {"gammas": [1.0, 0.5]}}).eval.gammas == [1.0, 0.5]
    for gammas in ([0.8, 0.0], [1.5]):
        assert error({"eval": {"gammas": gammas}}) == f"p.yaml: eval.gammas: every gamma must be in (0, 1] (got {gammas})"


def test_splits_must_be_disjoint_pair_by_pair():
    assert error({"env": {"tasks": ["a", "b"], "heldout_tasks": ["b"]}}) == (
        "p.yaml: env: heldout_tasks must not be training tasks (both list ['b'])")
    for a, b in (("train_seeds", "val_seeds"), ("train_seeds", "test_seeds"), ("val_seeds", "test_seeds")):
        seeds = {"train_seeds": [100], "val_seeds": [200], "test_seeds": [300]}
        seeds[a] = seeds[b] = list(range(7))
        assert error({"env": seeds, "eval": {"episodes_per_task": 1}}) == (
            f"p.yaml: env: {a} and {b} overlap on [0, 1, 2, 3, 4]: splits must be disjoint")
    assert EnvParams(train_seeds=[1], val_seeds=[2], test_seeds=[3]).test_seeds == [3]


def test_episodes_per_task_may_equal_the_test_seeds_but_not_exceed_them():
    assert params_from_dict({"env": {"test_seeds": [3000, 3001]}, "eval": {"episodes_per_task": 2}}).eval.episodes_per_task == 2
    assert error({"env": {"test_seeds": [3000, 3001]}, "eval": {"episodes_per_task": 3}}) == (
        "p.yaml: (top level): eval.episodes_per_task = 3 but env.test_seeds lists 2 seeds: add test seeds or lower "
        "episodes_per_task")


@pytest.mark.parametrize("sft", [{"dynamic_sampling": {"mode": "drop"}}, {"prepass": {"enabled": True}}])
def test_group_options_belong_to_grpo_stages(sft):
    assert error({"train": {"sft": sft}}) == ("p.yaml: train: sft: dynamic_sampling and prepass act on GRPO groups; "
                                              "set them under train.stage1 or train.stage2")
    assert params_from_dict({"train": {"stage1": sft}}).train.stage1 is not None


def test_a_public_dataset_needs_its_path():
    assert error({"data": {"source": "gta"}}) == ("p.yaml: data: data.path is required for source 'gta': set it to the "
                                                  "local copy (see docs/datasets.md)")
    assert params_from_dict({"data": {"source": "gta", "path": "/d"}}).data.path == "/d"
    assert params_from_dict({"data": {"source": "miniwob"}}).data.path is None


def test_messages_show_the_value_only_where_it_helps():
    assert error({"planner": {"horizon": 0}}) == (
        "p.yaml: planner.horizon: Input should be greater than or equal to 1 (got 0)")
    assert error({"planner": {"horizn": 3}}) == (
        "p.yaml: planner.horizn: unknown key (check the spelling; see tracer1kit/params.py for allowed keys)")
    assert error({"planner": {"prompt": None}}).endswith("planner.prompt: Input should be 'full', 'compact' or 'auto'")
    assert error({"env": {"tasks": {"a": 1}}}) == "p.yaml: env.tasks: Input should be a valid list"
    assert error({"env": {"max_steps": [1]}}) == "p.yaml: env.max_steps: Input should be a valid integer"
    long = "x" * 100
    assert error({"planner": {"horizon": long}}) == (
        f"p.yaml: planner.horizon: Input should be a valid integer, unable to parse string as an integer "
        f"(got '{'x' * 79}…)")
    assert error({"planner": {"horizon": "x" * 78}}).endswith(f"(got '{'x' * 78}')")     # 80 characters: whole
    assert error([1]) == "p.yaml: expected a mapping of sections at the top level, got list"
    two = error({"planner": {"horizon": 0, "top_p": 0}}).splitlines()
    assert [line.split(":")[1].strip() for line in two] == ["planner.horizon", "planner.top_p"]


def test_each_problem_names_the_layer_that_set_it(tmp_path: Path):
    base = tmp_path / "base.yaml"
    base.write_text("planner:\n  horizon: 0\nenv:\n  max_steps: 5\n")
    child = tmp_path / "child.yaml"
    child.write_text("base: base.yaml\nplanner:\n  top_p: 0\nenv:\n  max_steps: 0\n")
    lines = str(pytest.raises(ParamsError, load_params, child).value).splitlines()
    origin = {line.split(": ")[1]: line.split(": ")[0] for line in lines}
    assert origin == {"env.max_steps": str(child), "planner.horizon": f"{base} (base of {child})",
                      "planner.top_p": str(child)}
    assert f"{base} (base of {child}): planner.horizon: Input should be greater than or equal to 1 (got 0)" in lines
    over = str(pytest.raises(ParamsError, load_params, base, {"planner.horizon": 2, "env.max_steps": 0}).value)
    assert over == f"{base} (overrides): env.max_steps: Input should be greater than or equal to 1 (got 0)"
    nested = tmp_path / "nested.yaml"
    nested.write_text("planner: 3\n")                   # a value where a section belongs: that file set it
    assert str(pytest.raises(ParamsError, load_params, nested).value).startswith(f"{nested}: planner: ")


def test_merging_and_dotted_overrides(tmp_path: Path):
    (tmp_path / "base.yaml").write_text("planner:\n  horizon: 2\n  top_p: 0.5\nenv:\n  tasks: [a, b]\n")
    child = tmp_path / "child.yaml"
    child.write_text("base: base.yaml\nplanner:\n  horizon: 1\nenv:\n  tasks: [click-button]\n")
    params = load_params(child, {"reward.weights.format": 0.2})
    assert (params.planner.horizon, params.planner.top_p, params.env.tasks) == (1, 0.5, ["click-button"])
    assert params.reward.weights.format == 0.2 and params.reward.weights.alignment == 0.7
    data = {"a": {"b": 1}}
    set_dotted(data, "a.c.d", 2)
    assert data == {"a": {"b": 1, "c": {"d": 2}}}
    with pytest.raises(ParamsError) as info:
        set_dotted(data, "a.b.c", 3)
    assert str(info.value) == "override a.b.c: 'b' is not a section"
    assert with_overrides(Params(), {"planner.horizon": 2}).planner.horizon == 2
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert load_params(empty) == Params()
