"""Exports in the field's formats: a run's expert episodes as a parquet dataset with a dataset card (read back by
``datasets``, trained from by the kit), a trained model as a Hub-ready folder with a model card (loaded back by
``from_pretrained`` and ``load_policy``, planning as the run's checkpoint), and pushing refused offline."""

import shutil

import pytest
import yaml

from tracer1kit.cli import main
from tracer1kit.domains.export import ExportedDataError, load_exported, seed_ranges
from tracer1kit.params import with_overrides
from tracer1kit.runs import RunDir
from tracer1kit.training.common import final_dir
from tracer1kit.training.pipeline import training_dataset

from hypothesis import given, strategies as st
from training_data import episode, store_episodes, tiny_params


@pytest.fixture()
def run(tmp_path):
    """A run directory with params and expert episodes (train seeds 0-5, test seeds 100-101)."""
    run = RunDir.create(tmp_path / "run")
    params = tiny_params(**{"env.train_seeds": list(range(6)), "env.test_seeds": [100, 101],
                            "eval.episodes_per_task": 2})
    run.save_params(params)
    store_episodes(run.episodes_dir, range(6))
    from tracer1kit.episodes import EpisodeStore

    EpisodeStore(run.episodes_dir / "expert").write_all(episode(s, "test") for s in (100, 101))
    return run, params


def test_export_data_writes_parquet_and_a_card_that_the_fields_loaders_read(run, tmp_path, capsys):
    import datasets
    from huggingface_hub import DatasetCard

    run, params = run
    out = tmp_path / "dataset"
    assert main(["export-data", str(run.root), "--to", str(out)]) == 0
    assert "train 6 rows, test 2 rows" in capsys.readouterr().out
    ds = datasets.load_dataset("parquet", data_dir=str(out / "data"))
    assert {k: len(v) for k, v in ds.items()} == {"train": 6, "test": 2}
    assert isinstance(ds["train"].features["images"].feature, datasets.Image)
    row = ds["train"][0]
    assert row["images"][0].size == (160, 210) and row["task"] == "click-button" and row["seed"] == 0
    assert row["reference"] == row["completion"][0]["content"] and '"action": "click"' in row["reference"]
    card = DatasetCard.load(out / "README.md").data.to_dict()
    assert card["license"] == "mit" and card["task_categories"] == ["image-text-to-text"]
    record = card["tracer1kit"]
    assert record["horizon"] == 1 and record["images"] is True and "scripted experts" in record["expert"]
    assert record["splits"]["train"] == {"episodes": 6, "steps": 6, "tasks": ["click-button"], "seeds": list(range(6))}
    assert [c["data_files"] for c in card["configs"]] == [[{"split": "train", "path": "data/train-*.parquet"},
                                                           {"split": "test", "path": "data/test-*.parquet"}]]
    assert main(["export-data", str(run.root), "--to", str(out)]) == 1  # not into a folder that holds files
    assert "the folder is not empty; name a new or empty folder" in capsys.readouterr().err


def test_the_kit_trains_from_an_exported_dataset_as_from_the_episodes(run, tmp_path):
    run, params = run
    out = tmp_path / "dataset"
    assert main(["export-data", str(run.root), "--to", str(out)]) == 0
    from_episodes, _ = training_dataset(params, run, run.episodes_dir)
    parquet = with_overrides(params, {"data.source": "parquet", "data.path": str(out)})
    from_parquet, line = training_dataset(parquet, RunDir.create(tmp_path / "other"))
    assert line.startswith(f"data: 6 training examples from {out}")
    assert from_parquet.column_names == from_episodes.column_names
    for a, b in zip(from_parquet, from_episodes):
        assert a["images"][0].tobytes() == b["images"][0].tobytes()
        assert {k: v for k, v in a.items() if k != "images"} == {k: v for k, v in b.items() if k != "images"}
    with pytest.raises(ExportedDataError, match=r"other prompt settings \(horizon: 1 there, 2 here\).*export again"):
        load_exported(with_overrides(parquet, {"planner.horizon": 2}).planner, out, use_image=True)
    with pytest.raises(ExportedDataError, match="has no README.md"):
        load_exported(parquet.planner, tmp_path, use_image=True)


@given(st.sets(st.integers(0, 60)))
def test_seed_ranges_name_every_seed_once(seeds):
    text = seed_ranges(sorted(seeds))
    named = set()
    for part in filter(None, text.split(", ")):
        low, _, high = part.partition("–")
        named |= set(range(int(low), int(high or low) + 1))
    assert named == seeds and text.count("–") <= len(seeds) // 2


@pytest.fixture()
def trained(tmp_path):
    """A run whose SFT stage trained two steps of the tiny model."""
    from tracer1kit.training.pipeline import train

    params = tiny_params(**{"train.sft.max_steps": 2})
    train(params, tmp_path / "run", stages=["sft"], episodes_root=store_episodes(tmp_path / "eps", range(4)))
    return RunDir(tmp_path / "run"), params


@pytest.mark.slow
def test_export_model_writes_a_hub_folder_that_loads_back_and_plans_the_same(trained, tmp_path, capsys):
    from huggingface_hub import ModelCard
    from transformers import AutoModelForImageTextToText

    from tracer1kit.agents.planner import Planner
    from tracer1kit.models import load_policy

    run, params = trained
    out = tmp_path / "model"
    assert main(["export-model", str(run.root), "--to", str(out)]) == 0
    assert f"model: sft (after sft, from {final_dir(run, 'sft')})" in capsys.readouterr().out
    for name in ("config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "chat_template.jinja",
                 "preprocessor_config.json", "README.md"):
        assert (out / name).exists(), name
    AutoModelForImageTextToText.from_pretrained(out)
    card = ModelCard.load(out / "README.md")
    assert card.data.pipeline_tag == "image-text-to-text" and "tracer1kit" in card.data.tags
    assert "| sft | 2 | 0.003 |" in card.text and "arXiv 2603.16777" in card.text and "eprint        = {2603.16777}" in card.text
    assert "This run was not evaluated" in card.text
    assert yaml.safe_load(card.text.split("```yaml\n")[1].split("```")[0]) == params.model_dump(mode="json")
    observations = [episode(s).steps[0].observation for s in range(3)]
    plans = [Planner.from_params(load_policy(str(folder)), params.planner).generate(observations)
             for folder in (final_dir(run, "sft"), out)]
    assert plans[0] == plans[1]


def test_export_model_says_what_is_there_and_push_refuses_offline(tmp_path, capsys, monkeypatch):
    from tracer1kit.models.loading import resolve_checkpoint

    run = RunDir.create(tmp_path / "run")
    assert main(["export-model", str(run.root), "--to", str(tmp_path / "m")]) == 1
    assert "has no params.yaml" in capsys.readouterr().err
    run.save_params(tiny_params())
    shutil.copytree(resolve_checkpoint("tiny"), final_dir(run, "stage1"))
    assert main(["export-model", str(run.root), "--variant", "stage2", "--to", str(tmp_path / "m")]) == 1
    assert "error: --variant stage2: no trained model of it in" in capsys.readouterr().err
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["export-model", str(run.root), "--to", str(tmp_path / "m"), "--push-to-hub", "me/planner"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: cannot push to the Hub: HF_HUB_OFFLINE is set (offline)")
    assert "hf upload me/planner" in err[0] and (tmp_path / "m" / "README.md").exists()


def test_the_model_card_carries_the_evaluation_table_and_the_stages(tmp_path):
    from huggingface_hub import ModelCard

    from tracer1kit.export_model import TrainedModel, evaluation_table, model_card

    run = RunDir.create(tmp_path / "run")
    for step in (1, 2, 3):
        run.log_metrics({"stage": "sft", "step": step, "loss": 1.0})
    run.log_metrics({"stage": "stage1", "step": 2, "reward": 0.5})
    params = tiny_params(**{"model.spec": "Qwen/Qwen2.5-VL-3B-Instruct"})
    assert evaluation_table(params, run) is None  # not evaluated
    table = "| variant | training seeds | GUI success |\n|---|---|---|\n| full TraceR1 | 1 seed | 0.400 [0.168, 0.687] |"
    text = model_card(params, TrainedModel("stage1", tmp_path, run, "stage1"), True, table)
    card = ModelCard(text)
    assert card.data.base_model == "Qwen/Qwen2.5-VL-3B-Instruct" and card.data.library_name == "transformers"
    assert table in card.text and "| sft | 3 | 0.003 |\n| stage1 | 2 | 0.0005 |" in card.text
    assert "This run was not evaluated" not in card.text


def test_push_uploads_the_folder_when_online(tmp_path, monkeypatch):
    import huggingface_hub

    from tracer1kit.export_model import push_folder

    calls = []

    class FakeApi:
        def create_repo(self, repo, repo_type, exist_ok):
            calls.append(("create", repo, repo_type, exist_ok))

        def upload_folder(self, folder_path, repo_id, repo_type):
            calls.append(("upload", folder_path, repo_id, repo_type))
            return type("Info", (), {"commit_url": f"https://huggingface.co/{repo_id}/commit/1"})()

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    assert push_folder(tmp_path, "me/data", "dataset") == "https://huggingface.co/me/data/commit/1"
    assert calls == [("create", "me/data", "dataset", True), ("upload", str(tmp_path), "me/data", "dataset")]
