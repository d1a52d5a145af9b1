"""Typed, validated parameter sets loaded from ``params/*.yaml``.

Every section is a pydantic model that forbids unknown keys, so a typo fails at load with the file,
the key path and what is allowed, e.g.::

    params/bad.yaml: reward.gamma: must be in (0, 1] (got 1.5)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Fraction = Field(ge=0.0, le=1.0)


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class RunParams(Section):
    name: str = "quickstart"
    seed: int = 0
    notebooks: list[str] = Field(default_factory=lambda: [
        "00_quickstart", "01_trajectory_forecasting", "02_stage1_reward_shaping",
        "03_stage2_tool_feedback_rft", "04_evaluation_and_ablations", "05_inspect_trajectories"])


class EnvParams(Section):
    """MiniWoB++ tasks, seeds and browser settings."""

    tasks: list[str] = Field(default_factory=lambda: ["click-button", "enter-text", "login-user"])
    heldout_tasks: list[str] = Field(default_factory=list)
    train_seeds: list[int] = Field(default_factory=lambda: list(range(0, 20)))
    val_seeds: list[int] = Field(default_factory=lambda: list(range(1000, 1005)))
    test_seeds: list[int] = Field(default_factory=lambda: list(range(2000, 2010)))
    max_steps: int = Field(default=12, ge=1, le=200)
    screenshots: bool = True
    workers: int = Field(default=1, ge=1, le=64)
    episode_max_time_s: float = Field(default=3600.0, gt=0)
    headless: bool = True

    @model_validator(mode="after")
    def _disjoint(self) -> "EnvParams":
        overlap = set(self.tasks) & set(self.heldout_tasks)
        if overlap:
            raise ValueError(f"heldout_tasks must not be training tasks (both list {sorted(overlap)})")
        for a, b in (("train_seeds", "val_seeds"), ("train_seeds", "test_seeds"), ("val_seeds", "test_seeds")):
            common = set(getattr(self, a)) & set(getattr(self, b))
            if common:
                raise ValueError(f"{a} and {b} overlap on {sorted(common)[:5]}: splits must be disjoint")
        return self


class ToolUseParams(Section):
    """Generated multimodal tool-use tasks (receipt → OCR → calculator, …)."""

    enabled: bool = True
    kinds: list[str] = Field(default_factory=lambda: ["receipt_tip", "table_max", "sign_convert"])
    train_seeds: list[int] = Field(default_factory=lambda: list(range(0, 20)))
    test_seeds: list[int] = Field(default_factory=lambda: list(range(2000, 2010)))
    max_steps: int = Field(default=6, ge=1, le=50)


class LoraParams(Section):
    enabled: bool = False
    r: int = Field(default=8, ge=1, le=1024)
    alpha: int = Field(default=16, ge=1)
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    target_modules: list[str] | Literal["all-linear"] = "all-linear"
    adapter_path: str | None = None


class ModelParams(Section):
    """Which policy to load: ``tiny`` (embedded default), ``smollm2-135m``, or a checkpoint id/path."""

    spec: str = "tiny"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "float32"
    device: str = "cpu"
    attn_implementation: str | None = None
    cache_dir: str | None = None
    max_image_pixels: int = Field(default=160 * 210, ge=28 * 28)
    lora: LoraParams = Field(default_factory=LoraParams)


class PlannerParams(Section):
    horizon: int = Field(default=5, ge=1, le=32)
    history_len: int = Field(default=4, ge=0, le=64)
    max_new_tokens: int = Field(default=256, ge=8, le=8192)
    temperature: float = Field(default=1.0, ge=0.0, le=5.0)
    top_p: float = Field(default=0.99, gt=0.0, le=1.0)
    greedy_eval: bool = True
    max_elements: int = Field(default=40, ge=1, le=1000)
    batch_size: int = Field(default=8, ge=1)


class RewardWeights(Section):
    """Weights of the Stage-1 reward terms; 0 switches a term off (each term lies in [0, 1])."""

    alignment: float = Field(default=0.70, ge=0.0)
    coverage: float = Field(default=0.10, ge=0.0)
    done: float = Field(default=0.05, ge=0.0)
    repetition: float = Field(default=0.05, ge=0.0)
    format: float = Field(default=0.10, ge=0.0)


class RewardParams(Section):
    """The Stage-1 trajectory reward (defaults: the prototype recipe in PAPER.md)."""

    gamma: float = 0.8
    weights: RewardWeights = Field(default_factory=RewardWeights)
    current_type_weight: float = Field(default=0.6, ge=0.0, le=1.0)
    future_type_weight: float = Field(default=0.8, ge=0.0, le=1.0)
    status_weight: float = Field(default=0.3, ge=0.0, le=1.0)
    offset_penalty: float = Field(default=0.1, ge=0.0)
    extra_step_penalty: float = Field(default=0.1, ge=0.0)
    missing_step_penalty: float = Field(default=0.15, ge=0.0)
    repetition_penalty: float = Field(default=0.2, ge=0.0)

    @field_validator("gamma")
    @classmethod
    def _gamma(cls, value: float) -> float:
        if not 0.0 < value <= 1.0:
            raise ValueError(f"must be in (0, 1] (got {value})")
        return value


class GroundedRewardParams(Section):
    """The Stage-2 reward from execution feedback."""

    mode: Literal["offline", "live"] = "offline"
    executable: float = Field(default=0.2, ge=0.0)
    matched: float = Field(default=0.6, ge=0.0)
    advanced: float = Field(default=0.2, ge=0.0)


class TrainStageParams(Section):
    enabled: bool = True
    max_steps: int = Field(default=40, ge=0)
    learning_rate: float = Field(default=1e-5, gt=0.0)
    lr_scheduler: Literal["constant", "linear", "cosine"] = "constant"
    warmup_ratio: float = Field(default=0.0, ge=0.0, lt=1.0)
    weight_decay: float = Field(default=0.01, ge=0.0)
    max_grad_norm: float = Field(default=1.0, gt=0.0)
    per_device_batch_size: int = Field(default=8, ge=1)
    gradient_accumulation_steps: int = Field(default=1, ge=1)
    num_generations: int = Field(default=4, ge=2)
    beta: float = Field(default=0.01, ge=0.0)
    max_completion_length: int = Field(default=256, ge=8)
    temperature: float = Field(default=1.0, gt=0.0)
    top_p: float = Field(default=0.99, gt=0.0, le=1.0)
    save_steps: int = Field(default=20, ge=1)
    logging_steps: int = Field(default=1, ge=1)
    sample_every: int = Field(default=10, ge=1)
    use_vllm: bool = False
    bf16: bool = False
    init_from: str | None = None


class TrainParams(Section):
    sft: TrainStageParams = Field(default_factory=lambda: TrainStageParams(max_steps=200, learning_rate=3e-3))
    stage1: TrainStageParams = Field(default_factory=TrainStageParams)
    stage2: TrainStageParams = Field(default_factory=TrainStageParams)
    equal_group_warn: float = Field(default=0.8, ge=0.0, le=1.0)


class EvalParams(Section):
    variants: list[str] = Field(default_factory=lambda: [
        "random", "expert", "reactive", "sft", "stage1", "stage2", "tracer1"])
    horizons: list[int] = Field(default_factory=lambda: [1, 3, 5])
    gammas: list[float] = Field(default_factory=lambda: [0.8])
    repetition_weights: list[float] = Field(default_factory=lambda: [0.05])
    training_seeds: list[int] = Field(default_factory=lambda: [0])
    episodes_per_task: int = Field(default=5, ge=1)
    workers: int = Field(default=1, ge=1, le=64)
    protocol: Literal["default", "androidcontrol", "guiodyssey", "mind2web"] = "default"

    @field_validator("horizons")
    @classmethod
    def _horizons(cls, value: list[int]) -> list[int]:
        if any(h < 1 for h in value):
            raise ValueError(f"every horizon must be >= 1 (got {value})")
        return value

    @field_validator("gammas")
    @classmethod
    def _gammas(cls, value: list[float]) -> list[float]:
        if any(not 0.0 < g <= 1.0 for g in value):
            raise ValueError(f"every gamma must be in (0, 1] (got {value})")
        return value


class DataParams(Section):
    """Public datasets on local disk (see README: Public datasets)."""

    source: Literal["miniwob", "androidcontrol", "guiodyssey", "mind2web", "gta"] = "miniwob"
    path: str | None = None
    split: str = "train"
    max_episodes: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _path_required(self) -> "DataParams":
        if self.source != "miniwob" and not self.path:
            raise ValueError(f"data.path is required for source '{self.source}': set it to the local copy "
                             "(see docs/datasets.md)")
        return self


class Params(Section):
    """A whole parameter set."""

    run: RunParams = Field(default_factory=RunParams)
    env: EnvParams = Field(default_factory=EnvParams)
    tooluse: ToolUseParams = Field(default_factory=ToolUseParams)
    model: ModelParams = Field(default_factory=ModelParams)
    planner: PlannerParams = Field(default_factory=PlannerParams)
    reward: RewardParams = Field(default_factory=RewardParams)
    grounded: GroundedRewardParams = Field(default_factory=GroundedRewardParams)
    train: TrainParams = Field(default_factory=TrainParams)
    eval: EvalParams = Field(default_factory=EvalParams)
    data: DataParams = Field(default_factory=DataParams)


class ParamsError(ValueError):
    """A parameter file that cannot be used; the message names the file, key path and the fix."""


def _describe(error: dict[str, Any]) -> str:
    path = ".".join(str(p) for p in error["loc"]) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{path}: unknown key (check the spelling; see tracer1kit/params.py for allowed keys)"
    message = error["msg"].removeprefix("Value error, ")
    got = error.get("input")
    shown = f" (got {got!r})" if got is not None and not isinstance(got, (dict, list)) and "got" not in message else ""
    return f"{path}: {message}{shown}"


def params_from_dict(data: dict[str, Any], source: str = "<dict>") -> Params:
    """Validate a nested dict into :class:`Params`, raising :class:`ParamsError` on bad input."""
    if not isinstance(data, dict):
        raise ParamsError(f"{source}: expected a mapping of sections at the top level, got {type(data).__name__}")
    try:
        return Params.model_validate(data)
    except ValidationError as exc:
        lines = [f"{source}: {_describe(e)}" for e in exc.errors()]
        raise ParamsError("\n".join(lines)) from None


def load_params(path: str | os.PathLike[str], overrides: dict[str, Any] | None = None) -> Params:
    """Load and validate a params YAML file; ``overrides`` are dotted keys (``{"planner.horizon": 1}``).

    A file may start from another with ``base: other.yaml`` (relative to its own folder): its sections are
    merged key by key over the base's, lists and values replacing the base's.
    """
    path = Path(path)
    data = _read_params_file(path, ())
    for dotted, value in (overrides or {}).items():
        set_dotted(data, dotted, value)
    return params_from_dict(data, str(path))


def _read_params_file(path: Path, children: tuple[Path, ...]) -> dict[str, Any]:
    """The mapping of one params file with its ``base`` chain merged in."""
    named_by = f"{children[-1]}: base: " if children else ""
    if not path.exists():
        raise ParamsError(f"{named_by}{path}: no such params file (the shipped ones are in params/)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: expected a mapping of sections at the top level, got {type(data).__name__}")
    base = data.pop("base", None)
    if base is None:
        return data
    if not isinstance(base, str) or not base.strip():
        raise ParamsError(f"{path}: base: expected the file name of another params file (got {base!r})")
    base_path = (path.parent / base).resolve()
    if base_path in {c.resolve() for c in (*children, path)}:
        raise ParamsError(f"{path}: base: {base} leads back to itself ({' → '.join(str(c) for c in (*children, path))})")
    return _merged(_read_params_file(base_path, (*children, path)), data)


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` merged into ``base``: mappings key by key, anything else replaced."""
    out = dict(base)
    for key, value in over.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``data["a"]["b"] = value`` for ``dotted == "a.b"``, creating sections as needed."""
    *parents, leaf = dotted.split(".")
    node = data
    for key in parents:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ParamsError(f"override {dotted}: '{key}' is not a section")
    node[leaf] = value


def with_overrides(params: Params, overrides: dict[str, Any]) -> Params:
    """A copy of ``params`` with dotted-key overrides applied and validated."""
    data = params.model_dump(mode="json")
    for dotted, value in overrides.items():
        set_dotted(data, dotted, value)
    return params_from_dict(data, "overrides")
