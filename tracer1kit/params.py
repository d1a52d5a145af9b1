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
        "03_stage2_tool_feedback_rft", "04_evaluation_and_ablations", "05_inspect_trajectories", "06_study"])


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
    horizon: int = Field(default=3, ge=1, le=32)  # ≤ the default tasks' longest expert episode (login-user: 3)
    history_len: int = Field(default=4, ge=0, le=64)
    max_new_tokens: int = Field(default=256, ge=8, le=8192)
    temperature: float = Field(default=1.0, ge=0.0, le=5.0)
    top_p: float = Field(default=0.99, gt=0.0, le=1.0)
    greedy_eval: bool = True
    max_elements: int = Field(default=40, ge=1, le=1000)
    batch_size: int = Field(default=8, ge=1)
    # The prompt's form (tracer1kit.prompts): ``full``; ``compact`` (a short system prompt, one short line per
    # element, history without echoes) for small text-only models; ``auto``: compact iff the model cannot see.
    prompt: Literal["full", "compact", "auto"] = "full"
    # What the SFT targets write inside <think>: ``none``; ``forecast``: the coming (real) steps in words before the
    # plan, so a greedy decoder states its forecast before it writes step 1 (the paper's planner thinks first).
    think: Literal["none", "forecast"] = "none"
    # Whether SFT targets write each step's instruction in words; False keeps action, target and value only
    # (about half the tokens: shorter plans for small models on CPU; grounding reads the target either way).
    instructions: bool = True


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


class GrounderParams(Section):
    """The frozen GUI executor (:func:`tracer1kit.agents.grounding.make_grounder`).

    ``kind``: ``dom`` grounds nearly any wording (exact text, id, ``text (k)`` / ``tag #n``, fuzzy matches, the
    target recovered from the step's instruction); ``strict`` only an element's exact visible text or label and
    the canonical ``text (k)`` / ``tag #n`` forms, so vague or wrong wording is refused. ``noise``: the
    probability that a grounded click or type goes to another visible element that fits, the same one every time
    for a given ``seed``, page and element."""

    kind: Literal["dom", "strict"] = "dom"
    noise: float = Field(default=0.0, ge=0.0, lt=1.0)
    seed: int = 0


class GroundedRewardParams(Section):
    """The Stage-2 reward from execution feedback; ``grounder`` is the executor Stage 2 trains against."""

    mode: Literal["offline", "live"] = "offline"
    grounder: GrounderParams = Field(default_factory=GrounderParams)
    executable: float = Field(default=0.2, ge=0.0)
    matched: float = Field(default=0.6, ge=0.0)
    advanced: float = Field(default=0.2, ge=0.0)


class DynamicSamplingParams(Section):
    """What a GRPO stage does with groups whose rewards are all equal (zero advantage: no policy gradient).

    ``off``: nothing (TRL's behaviour). ``drop``: their completions are masked out of the loss, so the token-mean
    loss and the KL term average over groups with signal only (a step where every group is equal does no update).
    ``resample`` (DAPO's dynamic sampling, one process only): up to ``max_rounds`` times per step, a generation
    batch of fresh prompts (seeded draws from the training set) is generated and scored, and each of its groups
    with unequal rewards replaces an equal one; groups still equal after the last round stay in the batch.
    """

    mode: Literal["off", "drop", "resample"] = "off"
    max_rounds: int = Field(default=2, ge=1, le=16)


class PrepassParams(Section):
    """A pass before a GRPO stage: the stage's starting model samples ``samples`` completions per training state
    (the stage's temperature and length), the stage's reward scores them, and the stage trains only on the states
    kept: those the model gets wrong (``keep: unsolved``: some sample scores below the reference plan's own reward;
    ``keep: mixed``: the samples' rewards are not all equal) plus a seeded share ``keep_easy`` of the others.
    ``samples`` defaults to the stage's ``num_generations``; ``max_states`` scores only a seeded sample of that
    many states (the stage then trains on the kept among them), bounding the pass's cost."""

    enabled: bool = False
    keep: Literal["unsolved", "mixed"] = "unsolved"
    keep_easy: float = Field(default=0.2, ge=0.0, le=1.0)
    samples: int | None = Field(default=None, ge=2, le=64)
    max_states: int | None = Field(default=None, ge=1)


Stage = Literal["sft", "stage1", "stage2"]
STAGES: tuple[Stage, ...] = ("sft", "stage1", "stage2")


class StageParams(Section):
    """What every training stage sets: TRL's trainer arguments and where the stage starts."""

    enabled: bool = Field(default=True, description=(
        "train this stage; false skips it (the next stage starts from the one before it, or model.spec)"))
    max_steps: int = Field(default=40, ge=0, description="optimizer steps (0 skips the stage)")
    learning_rate: float = Field(default=1e-5, gt=0.0, description="the peak learning rate")
    lr_scheduler: Literal["constant", "linear", "cosine"] = Field(default="constant", description=(
        "the learning rate after warm-up"))
    warmup_ratio: float = Field(default=0.0, ge=0.0, lt=1.0, description=(
        "the share of max_steps with a linear warm-up from 0"))
    weight_decay: float = Field(default=0.01, ge=0.0, description="AdamW's weight decay")
    max_grad_norm: float = Field(default=1.0, gt=0.0, description="gradients are clipped to this norm")
    per_device_batch_size: int = Field(default=8, ge=1, description=(
        "examples per process and step (GRPO: completions, a multiple of num_generations with the accumulation)"))
    gradient_accumulation_steps: int = Field(default=1, ge=1, description="batches summed per optimizer step")
    save_steps: int = Field(default=20, ge=1, description=(
        "a resumable checkpoint every this many steps; none when larger than max_steps"))
    logging_steps: int = Field(default=1, ge=1, description="metrics are logged every this many steps")
    bf16: bool = Field(default=False, description="compute in bfloat16 (autocast; GPUs)")
    gradient_checkpointing: bool = Field(default=False, description=(
        "recompute activations in backward: less memory, ~30% more compute"))
    init_from: str | None = Field(default=None, description=(
        "a model folder to start from; None: the previous stage's final model here, else model.spec"))


class SftParams(StageParams):
    """The SFT warm start: teacher-forced training on the expert's reference plans (loss on the plan tokens)."""


class GrpoParams(StageParams):
    """A GRPO stage (Stage 1, Stage 2): ``num_generations`` completions per prompt (the group), sampled with
    ``temperature`` and ``top_p``; ``dynamic_sampling`` and ``prepass`` act on groups whose rewards are all equal;
    the rest are TRL's ``GRPOConfig`` options under TRL's names."""

    num_generations: int = Field(default=4, ge=2, description="the group size: completions sampled per prompt")
    beta: float = Field(default=0.01, ge=0.0, description="the KL penalty's weight (0: no reference model)")
    max_completion_length: int = Field(default=256, ge=8, description="completion tokens sampled at most")
    temperature: float = Field(default=1.0, gt=0.0, description="the group's sampling temperature")
    top_p: float = Field(default=0.99, gt=0.0, le=1.0, description="the group's nucleus sampling mass")
    sample_every: int = Field(default=10, ge=1, description=(
        "every this many steps a few completions and their rewards go to RUN/samples.jsonl"))
    use_vllm: bool = Field(default=False, description="generate with vLLM (a CUDA GPU and the vllm package)")
    scale_rewards: Literal["group", "batch", "none"] = Field(default="group", description=(
        "TRL: advantages divided by the reward std of the group, of the batch, or not at all"))
    loss_type: Literal["dapo", "grpo", "dr_grpo", "bnpo"] = Field(default="dapo", description=(
        "TRL: how token losses are averaged (dapo: over the batch's tokens)"))
    dynamic_sampling: DynamicSamplingParams = Field(default_factory=DynamicSamplingParams, description=(
        "what a step does with groups whose rewards are all equal (DynamicSamplingParams)"))
    prepass: PrepassParams = Field(default_factory=PrepassParams, description=(
        "before the stage, keep the training states the starting model gets wrong (PrepassParams)"))
    # TRL's GRPO options, passed to GRPOConfig under the same names (GRPO stages only)
    mask_truncated_completions: bool = Field(default=False, description=(
        "leave completions cut at max_completion_length out of the loss (DAPO's overlong filtering)"))
    epsilon: float = Field(default=0.2, gt=0.0, description="lower bound ε of the clipped policy ratio (1 − ε)")
    epsilon_high: float | None = Field(default=None, gt=0.0, description=(
        "upper bound of the clipped ratio (1 + epsilon_high); DAPO's clip-higher uses 0.28; None: epsilon"))
    top_entropy_quantile: float = Field(default=1.0, gt=0.0, le=1.0, description=(
        "train only on the tokens whose entropy is in this top share of each batch (0.2 in Wang et al. 2025); "
        "1.0: every token"))
    log_completions: bool = Field(default=False, description=(
        "TRL prints a sample of prompts and completions every logging step and logs them as a table to trackio / "
        "wandb when train.report_to names them"))
    vllm_mode: Literal["colocate", "server"] = Field(default="colocate", description=(
        "with use_vllm (GPU only): 'colocate' runs vLLM inside the training processes; 'server' sends requests "
        "to a `trl vllm-serve` process started beforehand"))
    vllm_importance_sampling_correction: bool = Field(default=True, description=(
        "with use_vllm (GPU only): correct for the gap between vLLM's sampling log-probs and the trainer's by "
        "importance sampling"))
    vllm_importance_sampling_mode: Literal["token_truncate", "token_mask", "sequence_truncate", "sequence_mask"] = \
        Field(default="sequence_mask", description=(
            "with use_vllm: how the importance ratios outside [clip_min, clip_max] are treated (truncated or "
            "masked), per token or per sequence"))
    vllm_importance_sampling_clip_max: float | None = Field(default=3.0, gt=0.0, description=(
        "with use_vllm: the importance ratio's upper bound C_max (None: none)"))


class TrainParams(Section):
    """The three training stages (SFT, then GRPO Stage 1 and Stage 2) and what they share: the trackers."""

    sft: SftParams = Field(default_factory=lambda: SftParams(max_steps=200, learning_rate=3e-3), description=(
        "the SFT warm start"))
    stage1: GrpoParams = Field(default_factory=GrpoParams, description="Stage 1: GRPO with the trajectory reward")
    stage2: GrpoParams = Field(default_factory=GrpoParams, description="Stage 2: GRPO with the grounded reward")
    equal_group_warn: float = Field(default=0.8, ge=0.0, le=1.0, description=(
        "a GRPO stage warns when at least this share of its groups had all-equal rewards in some steps"))
    report_to: list[Literal["tensorboard", "trackio", "wandb", "mlflow"]] = Field(default_factory=list, description=(
        "experiment trackers every stage reports to, as TRL's report_to: none (the default), one name or a list; "
        "tensorboard writes RUN/tensorboard/<stage>, trackio a local project named after run.name (TRACKIO_DIR), "
        "wandb and mlflow need their packages and settings (pip install tracer1kit[track] brings the local two)"))
    run_name: str | None = Field(default=None, description=(
        "the run's name in the trackers, suffixed by the stage (<run_name>-sft, …); None: the run folder's name"))

    @field_validator("report_to", mode="before")
    @classmethod
    def _report_to(cls, value: Any) -> Any:
        """TRL's forms: ``none``, one tracker name, or a list of names."""
        if value is None or value == "none" or value == ["none"]:
            return []
        return [value] if isinstance(value, str) else value

    @model_validator(mode="before")
    @classmethod
    def _grpo_options_on_grpo_stages(cls, data: Any) -> Any:
        """Refuse GRPO options under ``sft`` (SFT samples no groups); those at their defaults are dropped, so a
        params.yaml written when SFT shared the GRPO stages' keys still loads."""
        sft = data.get("sft") if isinstance(data, dict) else None
        if not isinstance(sft, dict):
            return data
        grpo_only = [k for k in sft if k in GrpoParams.model_fields and k not in StageParams.model_fields]
        set_here = [k for k in grpo_only if not _is_grpo_default(k, sft[k])]
        if {"dynamic_sampling", "prepass"} & set(set_here):
            raise ValueError("sft: dynamic_sampling and prepass act on GRPO groups; set them under train.stage1 "
                             "or train.stage2")
        if set_here:
            raise ValueError(f"sft: {', '.join(set_here)}: GRPO option{'s' if len(set_here) > 1 else ''} (SFT "
                             "samples nothing); set under train.stage1 or train.stage2")
        return {**data, "sft": {k: v for k, v in sft.items() if k not in grpo_only}}

    def stage(self, name: Stage) -> SftParams | GrpoParams:
        """The params of the stage ``name``."""
        return {"sft": self.sft, "stage1": self.stage1, "stage2": self.stage2}[name]

    def grpo(self, name: Stage) -> GrpoParams:
        """The params of the GRPO stage ``name`` (``stage1`` or ``stage2``)."""
        cfg = self.stage(name)
        if not isinstance(cfg, GrpoParams):
            raise ValueError(f"{name} is not a GRPO stage (stage1, stage2)")
        return cfg


def _is_grpo_default(key: str, value: Any) -> bool:
    """Whether ``value`` is the GRPO stages' default of ``key`` (as validated)."""
    try:
        return getattr(GrpoParams.model_validate({key: value}), key) == getattr(GrpoParams(), key)
    except ValidationError:
        return False


class EvalParams(Section):
    """What is evaluated (variants, grids, training seeds), on how many episodes, and which paired contrasts
    (A − B, both variants of the table) the report leads with."""

    variants: list[str] = Field(default_factory=lambda: [
        "random", "expert", "reactive", "sft", "stage1", "stage2", "tracer1"])
    horizons: list[int] = Field(default_factory=lambda: [1, 3])  # each trained, so ≤ the tasks' longest episode
    gammas: list[float] = Field(default_factory=lambda: [0.8])
    repetition_weights: list[float] = Field(default_factory=lambda: [0.05])
    training_seeds: list[int] = Field(default_factory=lambda: [0])
    episodes_per_task: int = Field(default=5, ge=1)
    contrasts: list[tuple[str, str]] = Field(default_factory=lambda: [
        ("tracer1", "reactive"), ("tracer1", "stage1"), ("stage1", "sft"), ("stage2", "sft")])
    offline_episodes_per_task: int | None = Field(default=None, ge=1)  # recorded test episodes per task (None: all)
    workers: int = Field(default=1, ge=1, le=64)
    protocol: Literal["default", "androidcontrol", "guiodyssey", "mind2web"] = "default"
    grounder: GrounderParams = Field(default_factory=GrounderParams)  # the executor every variant is evaluated with

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

    source: Literal["miniwob", "androidcontrol", "guiodyssey", "mind2web", "gta", "parquet"] = "miniwob"
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

    @model_validator(mode="after")
    def _enough_test_seeds(self) -> "Params":
        if self.eval.episodes_per_task > len(self.env.test_seeds):
            raise ValueError(f"eval.episodes_per_task = {self.eval.episodes_per_task} but env.test_seeds lists "
                             f"{len(self.env.test_seeds)} seeds: add test seeds or lower episodes_per_task")
        return self


class ParamsError(ValueError):
    """A parameter file that cannot be used; the message names the file, key path and the fix."""


def _describe(error: dict[str, Any]) -> str:
    path = ".".join(str(p) for p in error["loc"]) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{path}: unknown key (check the spelling; see tracer1kit/params.py for allowed keys)"
    message = error["msg"].removeprefix("Value error, ")
    got = error.get("input")
    shown = (f" (got {_shortened(repr(got))})" if got is not None and not isinstance(got, (dict, list))
             and "got" not in message else "")
    return f"{path}: {message}{shown}"


def _shortened(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


# One source of values, for messages: (where they come from, the nested mapping it sets).
Layer = tuple[str, dict[str, Any]]
_UNSET = object()


def params_from_dict(data: dict[str, Any], source: str = "<dict>") -> Params:
    """Validate a nested dict into :class:`Params`, raising :class:`ParamsError` on bad input."""
    if not isinstance(data, dict):
        raise ParamsError(f"{source}: expected a mapping of sections at the top level, got {type(data).__name__}")
    return _validated(data, [(source, data)])


def _validated(data: dict[str, Any], layers: list[Layer]) -> Params:
    """``data`` as :class:`Params`; each problem is reported against the layer that set the key."""
    try:
        return Params.model_validate(data)
    except ValidationError as exc:
        raise ParamsError("\n".join(f"{_origin(e['loc'], layers)}: {_describe(e)}" for e in exc.errors())) from None


def _origin(loc: tuple[Any, ...], layers: list[Layer]) -> str:
    """The last layer that sets the key path ``loc`` (or a value above it), else the last layer."""
    for label, data in reversed(layers):
        node: Any = data
        for key in loc:
            if not isinstance(node, dict):
                break  # a value set here stands where a section or list was expected
            node = node.get(key, _UNSET)
            if node is _UNSET:
                break
        if node is not _UNSET:
            return label
    return layers[-1][0]


def load_params(path: str | os.PathLike[str], overrides: dict[str, Any] | None = None) -> Params:
    """Load and validate a params YAML file; ``overrides`` are dotted keys (``{"planner.horizon": 1}``).

    A file may start from another with ``base: other.yaml`` (relative to its own folder): its sections are
    merged key by key over the base's, lists and values replacing the base's. Every problem is a
    :class:`ParamsError` naming the file (a base file also by the file that named it), the key path and the fix.
    """
    path = Path(path)
    layers = _read_params_file(path, ())
    data: dict[str, Any] = {}
    for _, layer in layers:
        data = _merged(data, layer)
    if overrides:
        given: dict[str, Any] = {}
        for dotted, value in overrides.items():
            set_dotted(data, dotted, value)
            set_dotted(given, dotted, value)
        layers.append((f"{path} (overrides)", given))
    return _validated(data, layers)


def _read_params_file(path: Path, children: tuple[Path, ...]) -> list[Layer]:
    """The layers of one params file and its ``base`` chain, the farthest base first."""
    label = f"{path} (base of {children[-1]})" if children else str(path)
    data = _read_mapping(path, label, f"{children[-1]}: base: " if children else "")
    base = data.pop("base", None)
    if base is None:
        return [(label, data)]
    if not isinstance(base, str) or not base.strip():
        raise ParamsError(f"{label}: base: expected the file name of another params file (got {base!r})")
    base_path = (path.parent / base).resolve()
    chain = (*children, path)
    if base_path in {c.resolve() for c in chain}:
        raise ParamsError(f"{label}: base: {base} leads back to itself "
                          f"({' → '.join(str(c) for c in (*chain, base_path))}); remove one of the base: lines")
    return [*_read_params_file(base_path, chain), (label, data)]


def _read_mapping(path: Path, label: str, named_by: str) -> dict[str, Any]:
    """The top-level mapping of one YAML file; ``named_by`` prefixes problems with the path itself."""
    if not path.exists():
        raise ParamsError(f"{named_by}{path}: no such params file (the shipped ones are in params/)")
    if path.is_dir():
        raise ParamsError(f"{named_by}{path}: is a folder, not a params file: name a .yaml file "
                          "(the shipped ones are in params/)")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ParamsError(f"{label}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}): "
                          "save the file as UTF-8") from None
    except OSError as exc:
        raise ParamsError(f"{named_by}{path}: cannot be read ({exc.strerror or exc}): check the path and its "
                          "permissions") from None
    try:
        data = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        raise ParamsError(f"{label}: not valid YAML: {_shortened(str(exc) or type(exc).__name__, 300)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParamsError(f"{label}: expected a mapping of sections at the top level, got {type(data).__name__}")
    return data


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
