"""Multi-GPU configs parse with accelerate's own loader; the paper params resolve to the paper's values."""

from pathlib import Path

import pytest
from accelerate.commands.config.config_args import ClusterConfig

from tracer1kit.params import load_params
from tracer1kit.training.common import check_group_size

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name, kind", [("deepspeed_zero2", "DEEPSPEED"), ("deepspeed_zero3", "DEEPSPEED"), ("fsdp", "FSDP")])
def test_accelerate_configs_parse(name, kind):
    config = ClusterConfig.from_yaml_file(REPO / "configs" / "accelerate" / f"{name}.yaml")
    assert config.distributed_type.value == kind and config.mixed_precision == "bf16"


def test_paper_params_resolve_to_the_prototype_recipe():
    params = load_params(REPO / "params" / "paper.yaml")
    assert params.model.spec.startswith("Qwen/Qwen3-VL") and params.model.dtype == "bfloat16"
    s1 = params.train.stage1
    assert (s1.beta, s1.learning_rate, s1.weight_decay, s1.max_grad_norm, s1.num_generations) == (0.01, 1e-6, 0.01, 1.0, 5)
    assert (s1.temperature, s1.top_p, s1.use_vllm) == (1.0, 0.99, True)
    assert params.reward.gamma == 0.8 and params.eval.training_seeds == [0, 1, 2]
    for stage in ("stage1", "stage2"):
        check_group_size(stage, getattr(params.train, stage))


def test_ablation_without_stage2_is_one_file():
    params = load_params(REPO / "params" / "ablation_no_stage2.yaml")
    assert {"stage1", "tracer1", "reactive"} <= set(params.eval.variants)
    assert len(params.eval.training_seeds) >= 3
    quickstart = load_params(REPO / "params" / "quickstart.yaml")
    assert params.train == quickstart.train and params.env == quickstart.env  # shares the quick start's trainings
    assert load_params(REPO / "params" / "quickstart_3seeds.yaml").eval.training_seeds == [0, 1, 2]
    grids = load_params(REPO / "params" / "quickstart_grids.yaml")
    assert grids.eval.gammas == [0.6, 0.8, 1.0] and grids.eval.repetition_weights == [0.0, 0.05]
    assert grids.train == quickstart.train and grids.reward == quickstart.reward
