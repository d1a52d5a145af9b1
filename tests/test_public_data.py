"""Public-dataset adapters against tiny fixtures in each dataset's public schema (tests/fixtures/public)."""

import json
import shutil
from pathlib import Path

import pytest

from tracer1kit.actions import ActionType, Plan, Step
from tracer1kit.data.public import PublicDataError, load_public, remaining_plans
from tracer1kit.episodes import EpisodeStore
from tracer1kit.metrics import ActionRecord, evaluate_episodes, reference_record
from tracer1kit.params import ParamsError, params_from_dict

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "public"
REPO = Path(__file__).resolve().parents[1]


def load(source, split="train", path=None, **kw):
    return load_public(source, path or FIXTURES / source, split, **kw)


def refs(episode):
    return [reference_record(episode, i) for i in range(len(episode.steps))]


def first_steps(episode):
    return [r.reference.first for r in episode.steps]


# ---------------------------------------------------------------- AndroidControl

def test_androidcontrol_every_action_type_maps():
    (train,) = load("androidcontrol", "train")
    (test,) = load("androidcontrol", "test")
    assert train.instruction == "Send hi to Ann in Messages" and train.split == "train"
    steps = first_steps(train) + first_steps(test)
    assert [s.action for s in steps] == [ActionType.CLICK, ActionType.CLICK, ActionType.TYPE, ActionType.SCROLL,
                                         ActionType.PRESS, ActionType.CLICK, ActionType.TYPE, ActionType.WAIT,
                                         ActionType.PRESS]
    open_app, click, typed, scroll, back = first_steps(train)
    assert open_app.target == "Messages" and not open_app.args
    assert click.instruction == "Tap Ann's chat" and typed.value == "hi" and scroll.value == "down"
    assert back.value == "Back" and first_steps(test)[-1].value == "Home"
    long_press, input_text = first_steps(test)[:2]
    assert long_press.args == (("press", "long"),) and input_text.value == "yes"
    assert [r.action_type for r in refs(test)] == ["long_press", "type", "wait", "press"]


def test_androidcontrol_coordinates_normalise_by_screenshot_size():
    (train,) = load("androidcontrol", "train")
    (test,) = load("androidcontrol", "test")
    records = refs(train)
    assert records[0] == ActionRecord("click", target="Messages")        # open_app: no geometry
    assert records[1].point == (0.5, 0.25)                               # (27, 30) on 54 x 120
    assert records[2].point == (0.5, 0.75) and records[2].text == "hi"   # type with x, y
    assert refs(test)[0].point == (1.0, 0.0)
    assert train.steps[1].feedback.point == (27.0, 30.0)
    assert train.steps[1].observation.size == (54, 120)
    assert train.steps[1].observation.image().size == (54, 120)


def test_androidcontrol_json_export_with_relative_screenshot_paths(tmp_path):
    (tmp_path / "shots").mkdir()
    for i in range(2):
        shutil.copy(FIXTURES / "guiodyssey" / "screenshots" / f"ep2_{i}.png", tmp_path / "shots" / f"{i}.png")
    row = {"episode_id": 7, "goal": "g", "screenshots": ["shots/0.png", "shots/1.png"],
           "screenshot_widths": [50, 50], "screenshot_heights": [100, 100],
           "actions": [json.dumps({"action_type": "click", "x": 10, "y": 80})], "step_instructions": ["tap"]}
    (tmp_path / "train.jsonl").write_text(json.dumps(row) + "\n")
    (episode,) = load("androidcontrol", path=tmp_path)
    assert refs(episode)[0].point == (0.2, 0.8)
    assert episode.steps[0].observation.screenshot_path == str(tmp_path / "shots" / "0.png")


# ---------------------------------------------------------------- GUI-Odyssey

def test_guiodyssey_every_action_type_maps_and_grid_normalises():
    (episode,) = load("guiodyssey", "train")
    (incomplete,) = load("guiodyssey", "test")
    steps = first_steps(episode)
    assert [s.action for s in steps] == [ActionType.CLICK, ActionType.CLICK, ActionType.SCROLL, ActionType.SCROLL,
                                         ActionType.TYPE, ActionType.PRESS, ActionType.PRESS, ActionType.PRESS,
                                         ActionType.DONE]
    assert steps[1].args == (("press", "long"),)
    assert [s.value for s in steps[2:8]] == ["up", "left", "new york", "Home", "Back", "AppSwitch"]
    records = refs(episode)
    assert records[0].point == (0.5, 0.25) and records[1].point == (0.1, 0.9)
    assert records[1].action_type == "long_press"
    assert episode.steps[0].feedback.point == (25.0, 25.0)                # 50 x 100 screenshot
    assert first_steps(incomplete)[-1] == Step(ActionType.DONE, value="impossible",
                                               instruction="the task cannot be completed", done=True)
    assert refs(incomplete)[0].point == (0.0, 1.0)
    assert episode.meta["category"] == "Multi_Apps"


def test_guiodyssey_split_files_select_episodes():
    assert [e.episode_id for e in load("guiodyssey", "random_split:test")] == ["guiodyssey/ep2"]
    with pytest.raises(PublicDataError, match="guiodyssey.*app_split.json.*data.split"):
        load("guiodyssey", "app_split:test")


# ---------------------------------------------------------------- Mind2Web

def test_mind2web_rows_group_into_ordered_tasks_with_boxes():
    task_a, task_b = load("mind2web")
    assert task_a.instruction == "Search flights to New York" and task_a.meta["action_uids"] == ["a0", "a1"]
    typed, click = first_steps(task_a)
    assert (typed.action, typed.target, typed.value) == (ActionType.TYPE, "Flying to", "New York")
    assert (click.action, click.target, click.value) == (ActionType.CLICK, "Search", "")
    (select,) = first_steps(task_b)
    assert (select.action, select.target, select.value) == (ActionType.SELECT, "Colour", "Blue")  # label fallback
    assert refs(task_a)[0].box == (0.5, 0.5, 0.25, 0.1)                   # 100,200,50,40 on 200 x 400
    assert refs(task_a)[1].box == (0.1, 0.1, 0.3, 0.05)
    observation = task_a.steps[1].observation
    assert [e.text for e in observation.elements] == ["Search", "Home", ""]
    assert observation.elements[2].box == (0.0, 0.0, 0.0, 0.0)           # "-1,-1,-1,-1": no box
    assert task_a.steps[1].feedback.point == (50.0, 50.0)                 # centre of the target box


def test_mind2web_saved_datasets_folder(tmp_path):
    import datasets
    import pyarrow.parquet as pq

    rows = pq.read_table(FIXTURES / "mind2web" / "data" / "train-00000-of-00001.parquet").to_pylist()
    features = datasets.Dataset.from_list(rows).features.copy()
    features["screenshot"] = datasets.Image()
    datasets.DatasetDict({"test_task": datasets.Dataset.from_list(rows, features=features)}).save_to_disk(tmp_path / "m2w")
    episodes = load("mind2web", "test_task", path=tmp_path / "m2w", max_episodes=1)
    assert [e.episode_id for e in episodes] == ["mind2web/task-a"]
    assert refs(episodes[0])[0].box == (0.5, 0.5, 0.25, 0.1)
    with pytest.raises(PublicDataError, match="no split 'train'.*test_task"):
        load("mind2web", "train", path=tmp_path / "m2w")


# ---------------------------------------------------------------- GTA

def test_gta_tool_calls_answers_and_gold():
    prices, sign = load("gta", "test")
    ocr, calc, answer = first_steps(prices)
    assert (ocr.action, ocr.target, ocr.args) == (ActionType.CALL, "OCR", (("image", "image/image_1.png"),))
    assert ocr.instruction == "Read the prices"
    assert calc.args == (("expression", "3.50+2.25"), ("digits", "2"))
    assert (answer.action, answer.value, answer.done) == (ActionType.ANSWER, "5.75", True)
    assert prices.steps[1].observation.history[0].outcome == "3.50 and 2.25"
    assert prices.steps[0].observation.size == (40, 30)
    assert sign.meta["gt_answer"]["whitelist"] == [["red", "Red"]]
    assert first_steps(sign)[-1].value == "red"                           # no final turn: gold's first alias
    assert refs(prices)[1] == ActionRecord("call", target="Calculator", text="expression=3.50+2.25 digits=2")


# ---------------------------------------------------------------- shared behaviour

ALL = [("androidcontrol", "train"), ("androidcontrol", "test"), ("guiodyssey", "train"), ("mind2web", "train"),
       ("gta", "test")]


@pytest.mark.parametrize("source, split", ALL)
def test_reference_plans_are_the_remaining_steps(source, split):
    for episode in load(source, split):
        steps = first_steps(episode)
        for index, record in enumerate(episode.steps):
            assert record.reference == Plan(tuple(steps[index:])) == record.plan
            assert [h.step for h in record.observation.history] == steps[:index]
        assert steps[-1].done and not any(s.done for s in steps[:-1])
        assert episode.success and len(episode.meta["reference_actions"]) == len(steps)


def test_remaining_plans_helper():
    a, b = Step(ActionType.CLICK, target="a"), Step(ActionType.WAIT)
    assert remaining_plans([a, b]) == [Plan((a, b)), Plan((b,))]


@pytest.mark.parametrize("source, split", ALL)
def test_round_trip_through_episode_store_keeps_everything(tmp_path, source, split):
    episodes = load(source, split)
    store = EpisodeStore(tmp_path)
    store.write_all(episodes)
    back = list(store)
    assert len(back) == len(episodes)
    for before, after in zip(episodes, back):
        a, b = before.to_dict(), after.to_dict()
        for sa, sb in zip(a["steps"], b["steps"]):
            sa["observation"].pop("screenshot_path"), sb["observation"].pop("screenshot_path")
        assert json.loads(json.dumps(a)) == json.loads(json.dumps(b))
        for x, y in zip(before.steps, after.steps):
            assert x.observation.image().tobytes() == y.observation.image().tobytes()
        assert refs(after) == refs(before)


@pytest.mark.parametrize("source, protocol", [("androidcontrol", "androidcontrol"), ("guiodyssey", "guiodyssey"),
                                              ("mind2web", "mind2web"), ("gta", "default")])
def test_demonstrations_score_perfectly_under_their_protocol(source, protocol):
    split = "test" if source == "gta" else "train"
    metrics = evaluate_episodes(load(source, split), protocol)
    assert metrics["step_success_rate"] == 1.0 and metrics["episode_success_rate"] == 1.0


def test_max_episodes_and_unknown_source():
    assert len(load("mind2web", max_episodes=1)) == 1
    assert len(load("gta", "test", max_episodes=1)) == 1
    with pytest.raises(PublicDataError, match="'miniwob' is not a public dataset"):
        load_public("miniwob", FIXTURES, "train")


# ---------------------------------------------------------------- errors name dataset, file and field

@pytest.mark.parametrize("source", ["androidcontrol", "guiodyssey", "mind2web", "gta"])
def test_missing_path_names_dataset_and_path(tmp_path, source):
    missing = tmp_path / "nowhere"
    with pytest.raises(PublicDataError) as info:
        load(source, path=missing)
    assert source in str(info.value) and str(missing) in str(info.value)
    with pytest.raises(PublicDataError, match=f"{source}: data.path is not set"):
        load_public(source, None)


def _expect(source, path, *fragments, split="train"):
    with pytest.raises(PublicDataError) as info:
        load(source, split, path=path)
    message = str(info.value)
    for fragment in (source, *fragments):
        assert fragment in message, message


def test_wrong_schema_errors_name_dataset_file_and_field(tmp_path):
    bad_ac = tmp_path / "ac.jsonl"
    bad_ac.write_text(json.dumps({"episode_id": 1, "goal": "g", "screenshots": []}) + "\n")
    _expect("androidcontrol", bad_ac, str(bad_ac), "'screenshot_widths'", "missing")

    row = {"episode_id": 1, "goal": "g", "screenshots": [], "screenshot_widths": [], "screenshot_heights": [],
           "actions": [{"action_type": "fly"}], "step_instructions": []}
    bad_action = tmp_path / "action.json"
    bad_action.write_text(json.dumps([row]))
    _expect("androidcontrol", bad_action, str(bad_action), "'screenshots'", "1 actions")
    row.update(screenshots=[str(FIXTURES / "gta" / "image" / "image_1.png")] * 2, screenshot_widths=[1],
               screenshot_heights=[1], step_instructions=["x"])
    bad_action.write_text(json.dumps([row]))
    _expect("androidcontrol", bad_action, str(bad_action), "'actions[0].action_type'", "unknown action 'fly'")

    go = tmp_path / "go"
    shutil.copytree(FIXTURES / "guiodyssey", go)
    annotation = json.loads((go / "annotations" / "ep1.json").read_text())
    annotation["steps"][0]["action"] = "SWIPE"
    (go / "annotations" / "ep1.json").write_text(json.dumps(annotation))
    _expect("guiodyssey", go, str(go / "annotations" / "ep1.json"), "'steps[0].action'", "SWIPE")
    annotation["steps"][0].update(action="CLICK", info="somewhere")
    (go / "annotations" / "ep1.json").write_text(json.dumps(annotation))
    _expect("guiodyssey", go, "'steps[0].info'", "0-1000 grid")
    (go / "screenshots" / "ep2_0.png").unlink()
    _expect("guiodyssey", go, str(go / "annotations" / "ep2.json"), "'steps[0].screenshot'", "does not exist",
            split="test")

    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = pq.read_table(FIXTURES / "mind2web" / "data" / "train-00000-of-00001.parquet").to_pylist()
    for row in rows:
        row.pop("operation")
    bad_m2w = tmp_path / "m2w.parquet"
    pq.write_table(pa.Table.from_pylist(rows), bad_m2w)
    _expect("mind2web", bad_m2w, str(bad_m2w), "'operation'", "missing")

    gta = tmp_path / "gta"
    shutil.copytree(FIXTURES / "gta", gta)
    (gta / "dataset.json").write_text(json.dumps([1, 2]))
    _expect("gta", gta, str(gta / "dataset.json"), "(top level)", "object of queries")
    data = json.loads((FIXTURES / "gta" / "dataset.json").read_text())
    data["0"]["dialogs"][1]["tool_calls"][0] = {"name": "OCR"}
    (gta / "dataset.json").write_text(json.dumps(data))
    _expect("gta", gta, "query 0", "'function'", "missing", split="test")


def test_broken_split_files_name_the_file_and_data_split(tmp_path):
    go = tmp_path / "go"
    shutil.copytree(FIXTURES / "guiodyssey", go)
    split_file = go / "splits" / "random_split.json"
    split_file.write_text("{not json")
    _expect("guiodyssey", go, str(split_file), "not valid JSON", split="test")
    split_file.write_text(json.dumps({"test": "ep2"}))
    _expect("guiodyssey", go, "'test'", "expected list", split="test")
    ac = tmp_path / "ac"
    shutil.copytree(FIXTURES / "androidcontrol", ac)
    (ac / "splits.json").write_text(json.dumps(["train"]))
    _expect("androidcontrol", ac, str(ac / "splits.json"), "object of split name")
    (ac / "splits.json").write_text(json.dumps({"test": [1]}))
    _expect("androidcontrol", ac, "'data.split'", "no split 'train'", "available: test")


def test_params_require_a_path_for_public_sources():
    with pytest.raises(ParamsError, match="data.path is required for source 'gta'"):
        params_from_dict({"data": {"source": "gta"}})
    assert params_from_dict({"data": {"source": "miniwob"}}).data.path is None


@pytest.mark.parametrize("name", ["androidcontrol", "guiodyssey", "mind2web", "gta"])
def test_shipped_params_files_name_their_source_and_protocol(name):
    from tracer1kit.metrics import get_protocol
    from tracer1kit.params import load_params

    params = load_params(REPO / "params" / f"{name}.yaml")
    assert params.data.source == name and params.data.path
    assert get_protocol(params.eval.protocol).name == (name if name != "gta" else "default")
