"""TRL's GRPO options set in params reach GRPOConfig under TRL's names, validated like every key; vLLM is
GPU-only and refused on the CPU with a message naming the key."""

import pytest

from tracer1kit.params import Params, ParamsError, params_from_dict, with_overrides
from tracer1kit.runs import RunDir
from tracer1kit.training.common import TrainingInputError
from tracer1kit.training.grpo import TRL_OPTIONS, grpo_config
from tracer1kit.training.preflight import preflight


def config(tmp_path, **options):
    params = with_overrides(Params(), {f"train.stage1.{k}": v for k, v in options.items()})
    return grpo_config(params, RunDir(tmp_path), "stage1", [1.0])


@pytest.mark.parametrize("name, value", [
    ("mask_truncated_completions", True), ("epsilon", 0.1), ("epsilon_high", 0.28), ("top_entropy_quantile", 0.2),
    ("log_completions", True), ("vllm_mode", "server"), ("vllm_importance_sampling_correction", False),
    ("vllm_importance_sampling_mode", "token_truncate"), ("vllm_importance_sampling_clip_max", 2.0),
])
def test_each_grpo_option_arrives_in_grpo_config(name, value, tmp_path):
    default = getattr(config(tmp_path), name)
    assert default != value and getattr(config(tmp_path, **{name: value}), name) == value


def test_the_trackers_arrive_in_grpo_config(tmp_path):
    params = with_overrides(Params(), {"train.report_to": ["tensorboard"], "train.run_name": "x"})
    made = grpo_config(params, RunDir(tmp_path), "stage2", [1.0])
    assert (made.report_to, made.run_name, made.project) == (["tensorboard"], "x-stage2", "quickstart")


def test_every_trl_option_is_a_grpo_config_field_with_trls_default(tmp_path):
    from trl import GRPOConfig

    made, trl_default = config(tmp_path), GRPOConfig(output_dir=str(tmp_path), use_cpu=True)
    for name in TRL_OPTIONS:
        assert getattr(made, name) == getattr(trl_default, name), name


@pytest.mark.parametrize("key, value, fragment", [
    ("epsilon_high", 0.0, "greater than 0"), ("top_entropy_quantile", 1.5, "less than or equal to 1"),
    ("vllm_mode", "remote", "'colocate' or 'server'"), ("vllm_importance_sampling_mode", "clip", "'token_truncate'"),
])
def test_bad_option_values_name_the_key(key, value, fragment):
    with pytest.raises(ParamsError, match=rf"train.stage1.{key}: .*{fragment}"):
        params_from_dict({"train": {"stage1": {key: value}}})


def test_vllm_is_refused_on_the_cpu(tmp_path):
    params = with_overrides(Params(), {"train.stage2.use_vllm": True})
    assert "train.stage2.use_vllm: vLLM generation needs a CUDA GPU and model.device is cpu" in " ".join(preflight(params))
    assert not any("use_vllm" in p for p in preflight(with_overrides(params, {"model.device": "cuda"})))
    with pytest.raises(TrainingInputError, match="train.stage2.use_vllm: vLLM generation needs a CUDA GPU"):
        grpo_config(params, RunDir(tmp_path), "stage2", [1.0])
