"""Params load into typed objects, every kind of bad input fails at load naming file, key path and the fix (the
messages' exact wording), every numeric bound of every field holds on both sides, each cross-field rule at its
edge, and every field explains itself."""

import math
from pathlib import Path

import pytest
from annotated_types import Ge, Gt, Le, Lt
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from tracer1kit.params import (EnvParams, Params, ParamsError, RewardParams, load_params, params_from_dict, set_dotted,
                               with_overrides)

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


def schema_fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, FieldInfo]]:
    """(dotted key, field) for every field of ``model`` and, depth first, of its sections."""
    found = []
    for name, info in model.model_fields.items():
        found.append((prefix + name, info))
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            found += schema_fields(info.annotation, f"{prefix}{name}.")
    return found


def bounded_fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, type, object]]:
    """(dotted key, the field's number type, one numeric constraint) for every bounded field of every section."""
    found = []
    for key, info in schema_fields(model, prefix):
        default = info.get_default(call_default_factory=True)
        if isinstance(default, BaseModel):
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


@pytest.mark.parametrize("section", list(Params.model_fields))
def test_every_field_explains_itself(section):
    fields = [(section, Params.model_fields[section])] + schema_fields(Params.model_fields[section].annotation,
                                                                      section + ".")
    missing = [key for key, info in fields if not (info.description or "").strip()]
    assert not missing, f"no Field(description=...) in tracer1kit/params.py for: {', '.join(missing)}"


@given(st.sampled_from(["env", "tooluse", "grid"]), st.sampled_from(["train_seeds", "val_seeds", "test_seeds"]),
       st.integers(-10_000, 10_000), st.integers(1, 500))
def test_any_split_takes_a_seed_range(section, field, first, count):
    splits = [f for f in type(getattr(Params(), section)).model_fields if f.endswith("_seeds")]
    field = field if field in splits else splits[0]
    raw = {section: {field: {"from": first, "count": count},
                     **{k: [10**6 + i] for i, k in enumerate(splits) if k != field}}}
    params = params_from_dict({**raw, "eval": {"episodes_per_task": 1}})
    assert getattr(getattr(params, section), field) == list(range(first, first + count))


@pytest.mark.parametrize("bad", [{"from": 0}, {"from": 0, "count": 0}, {"from": "a", "count": 2},
                                 {"from": 0, "count": 2, "step": 2}, {"from": True, "count": 2}])
def test_a_bad_seed_range_names_the_field_and_the_form(bad):
    with pytest.raises(ParamsError, match=r"grid\.train_seeds.*\{from: FIRST, count: N\}"):
        params_from_dict({"grid": {"train_seeds": bad}})
