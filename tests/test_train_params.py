"""The train section's types: SFT and GRPO stages are separate (GRPO options under ``sft`` are refused, except a
params.yaml that still carries them at their defaults), stages are looked up by a typed name, and every key says
what it does."""

import pytest
from hypothesis import given, strategies as st

from tracer1kit.params import (STAGES, GrpoParams, Params, ParamsError, SftParams, StageParams, TrainParams,
                               params_from_dict)

GRPO_ONLY = sorted(set(GrpoParams.model_fields) - set(StageParams.model_fields))


def error(data):
    with pytest.raises(ParamsError) as info:
        params_from_dict(data, "p.yaml")
    return str(info.value)


@pytest.mark.parametrize("key, value", [("num_generations", 8), ("beta", 0.1), ("use_vllm", True),
                                        ("epsilon_high", 0.28), ("loss_type", "grpo")])
def test_grpo_options_under_sft_are_refused(key, value):
    assert error({"train": {"sft": {key: value}}}) == (
        f"p.yaml: train: sft: {key}: GRPO option (SFT samples nothing); set under train.stage1 or train.stage2")
    assert getattr(params_from_dict({"train": {"stage2": {key: value}}}).train.stage2, key) == value


def test_a_params_file_written_when_sft_carried_the_grpo_keys_still_loads():
    old_sft = {**SftParams().model_dump(mode="json"), **{k: v for k, v in GrpoParams().model_dump(mode="json").items()
                                                         if k in GRPO_ONLY}}
    loaded = params_from_dict({"train": {"sft": {**old_sft, "max_steps": 7}}})
    assert type(loaded.train.sft) is SftParams and loaded.train.sft.max_steps == 7
    assert "num_generations" not in loaded.model_dump()["train"]["sft"]


@given(st.sampled_from(STAGES), st.integers(0, 500))
def test_stages_are_looked_up_by_name(stage, steps):
    train = TrainParams(**{stage: {"max_steps": steps}})
    assert train.stage(stage).max_steps == steps and train.stage(stage) is getattr(train, stage)
    if stage == "sft":
        with pytest.raises(ValueError, match="sft is not a GRPO stage"):
            train.grpo(stage)
    else:
        assert isinstance(train.grpo(stage), GrpoParams)


def test_every_train_key_says_what_it_does():
    for model in (StageParams, SftParams, GrpoParams, TrainParams):
        undocumented = [name for name, field in model.model_fields.items() if not field.description]
        assert not undocumented, f"{model.__name__}: {undocumented}"


def test_the_defaults_are_kept():
    train = Params().train
    assert (train.sft.max_steps, train.sft.learning_rate, train.stage1.max_steps, train.stage2.num_generations) == \
        (200, 3e-3, 40, 4)
