"""Typed, validated parameter sets loaded from ``params/*.yaml``.

Every section is a pydantic model that forbids unknown keys, so a typo fails at load with the file,
the key path and what is allowed, e.g.::

    params/bad.yaml: reward.gamma: must be in (0, 1] (got 1.5)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

Fraction = Field(ge=0.0, le=1.0)


def seed_list(value: Any) -> Any:
    """A split's seeds as a list, or as a range ``{from: 3000, count: 1000}`` (thousands of grid seeds)."""
    if not isinstance(value, dict):
        return value
    if set(value) != {"from", "count"} or not all(isinstance(value[k], int) and not isinstance(value[k], bool)
                                                  for k in ("from", "count")) or value["count"] < 1:
        raise ValueError(f"a seed range is {{from: FIRST, count: N}} with integers and N >= 1 (got {value})")
    return list(range(value["from"], value["from"] + value["count"]))


Seeds = Annotated[list[int], BeforeValidator(seed_list)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class RunParams(Section):
    """The run as a whole: its name, its seed and the notebooks ``tracer1kit run`` executes."""

    name: str = Field(default="quickstart", description="A label for the run, shown in reports.")
    seed: int = Field(default=0, description="The global random seed (sampling, shuffling, weight initialisation).")
    notebooks: list[str] = Field(default_factory=lambda: [
        "00_quickstart", "01_trajectory_forecasting", "02_stage1_reward_shaping",
        "03_stage2_tool_feedback_rft", "04_evaluation_and_ablations", "05_inspect_trajectories", "06_study",
        "07_grid"],
        description="The notebooks `tracer1kit run` executes, in order (names in notebooks/ without .ipynb).")


def check_splits(section: BaseModel, trained: str, heldout: str) -> None:
    """A domain section's splits are disjoint: no held-out task is trained on, no seed is in two splits."""
    overlap = set(getattr(section, trained)) & set(getattr(section, heldout))
    if overlap:
        what = trained.removesuffix("s")
        raise ValueError(f"{heldout} must not be training {what}s (both list {sorted(overlap)})")
    for a, b in (("train_seeds", "val_seeds"), ("train_seeds", "test_seeds"), ("val_seeds", "test_seeds")):
        common = set(getattr(section, a)) & set(getattr(section, b))
        if common:
            raise ValueError(f"{a} and {b} overlap on {sorted(common)[:5]}: splits must be disjoint")


class EnvParams(Section):
    """MiniWoB++ tasks, seeds and browser settings."""

    tasks: list[str] = Field(default_factory=lambda: ["click-button", "enter-text", "login-user"],
                             description="The MiniWoB++ tasks trained and evaluated on.")
    heldout_tasks: list[str] = Field(default_factory=list, description=(
        "MiniWoB++ tasks only evaluated on (never trained on): generalisation to unseen tasks; must not repeat a "
        "task of `tasks`."))
    train_seeds: Seeds = Field(default_factory=lambda: list(range(0, 20)), description=(
        "Episode seeds of the training split (expert episodes for SFT and GRPO); disjoint from the other splits."))
    val_seeds: Seeds = Field(default_factory=lambda: list(range(1000, 1005)),
                                 description="Episode seeds of the validation split; disjoint from the other splits.")
    test_seeds: Seeds = Field(default_factory=lambda: list(range(2000, 2010)), description=(
        "Episode seeds of the test split (evaluation); disjoint from the other splits, at least "
        "`eval.episodes_per_task` of them."))
    max_steps: int = Field(default=12, ge=1, le=200,
                           description="Environment steps before an episode is cut off (counted as a failure).")
    screenshots: bool = Field(default=True, description=(
        "Whether observations carry a screenshot (the image a VLM sees); off is faster for text-only models."))
    workers: int = Field(default=1, ge=1, le=64,
                         description="Browser processes that share the tasks when generating expert episodes.")
    episode_max_time_s: float = Field(default=3600.0, gt=0, description=(
        "MiniWoB++'s episode clock in seconds (its own default is 7-30 s, which a slow model would run out of)."))
    headless: bool = Field(default=True, description="Run Chromium without a window (False: watch the browser).")

    @model_validator(mode="after")
    def _disjoint(self) -> "EnvParams":
        check_splits(self, "tasks", "heldout_tasks")
        return self


class ToolUseParams(Section):
    """Generated multimodal tool-use tasks (receipt → OCR → calculator, …)."""

    enabled: bool = Field(default=True, description="Whether tool-use tasks join training and evaluation.")
    kinds: list[str] = Field(default_factory=lambda: ["receipt_tip", "table_max", "sign_convert"],
                             description="The tool-use task kinds generated (tracer1kit.envs.tooluse).")
    train_seeds: Seeds = Field(default_factory=lambda: list(range(0, 20)),
                                   description="Seeds of the generated training tasks, per kind.")
    test_seeds: Seeds = Field(default_factory=lambda: list(range(2000, 2010)),
                                  description="Seeds of the generated test tasks, per kind.")
    max_steps: int = Field(default=6, ge=1, le=50, description="Tool calls before a tool-use episode is cut off.")


class GridExecutorParams(Section):
    """A frozen grid executor (:class:`tracer1kit.agents.grid.GridExecutor`): how it reads a step's target."""

    kind: Literal["lenient", "strict"] = Field(default="lenient", description=(
        "`lenient` acts on the nearest object that fits an ambiguous description; `strict` refuses an ambiguous "
        "description as not executable."))
    noise: float = Field(default=0.0, ge=0.0, lt=1.0, description=(
        "The probability that a step acts on another fitting object instead (the same one every time for a "
        "given seed, state and step)."))
    seed: int = Field(default=0, description="The seed of the noise draws.")


class GridParams(Section):
    """BabyAI levels (Farama minigrid) planned in high-level steps and executed by a frozen subgoal executor."""

    levels: list[str] = Field(default_factory=list, description=(
        "The BabyAI levels trained and evaluated on (gymnasium ids, e.g. `BabyAI-UnlockPickup-v0`); empty: the "
        "grid domain is off. The suite is tracer1kit.envs.grid.GRID_LEVELS."))
    heldout_levels: list[str] = Field(default_factory=list, description=(
        "BabyAI levels only evaluated on (never trained on); must not repeat a level of `levels`."))
    train_seeds: Seeds = Field(default_factory=lambda: list(range(0, 100)), description=(
        "Level seeds of the training split, per level; disjoint from the other splits. Any split's seeds may be "
        "written as a range: `{from: 3000, count: 1000}`."))
    val_seeds: Seeds = Field(default_factory=lambda: list(range(1000, 1020)), description=(
        "Level seeds of the validation split (settings are chosen on these), per level."))
    test_seeds: Seeds = Field(default_factory=lambda: list(range(2000, 2100)), description=(
        "Level seeds of the test split (evaluated once), per level."))
    max_steps: int = Field(default=24, ge=1, le=200, description=(
        "High-level steps before a grid episode is cut off (each step is many low-level moves)."))
    stop_after: int | None = Field(default=3, ge=1, description=(
        "An evaluated grid episode ends unsolved after this many consecutive non-executable steps (a refused "
        "step leaves the level unchanged; WebArena-style early stop); null: only `max_steps` ends it."))
    image: bool = Field(default=True, description=(
        "Whether grid observations carry the rendered level (off: text only, for text-only models and speed)."))
    executor: GridExecutorParams = Field(default_factory=GridExecutorParams, description=(
        "The executor Stage 2 trains against."))
    eval_executor: GridExecutorParams = Field(default_factory=GridExecutorParams, description=(
        "The executor every variant is evaluated with."))

    @model_validator(mode="after")
    def _disjoint(self) -> "GridParams":
        check_splits(self, "levels", "heldout_levels")
        return self


class LoraParams(Section):
    """LoRA adapters (peft) instead of training every weight."""

    enabled: bool = Field(default=False, description="Train LoRA adapters (True) or all weights (False).")
    r: int = Field(default=8, ge=1, le=1024, description="The LoRA rank.")
    alpha: int = Field(default=16, ge=1, description="LoRA's scaling numerator (the update is scaled by alpha / r).")
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0, description="Dropout on the LoRA branch.")
    target_modules: list[str] | Literal["all-linear"] = Field(default="all-linear", description=(
        "The modules that get adapters: a list of module names, or `all-linear` (every linear layer but the "
        "output head)."))
    adapter_path: str | None = Field(default=None, description=(
        "A trained adapter folder to load onto `model.spec` (evaluated as the base model's variant); none: "
        "fresh adapters."))


class ModelParams(Section):
    """Which policy to load: ``tiny`` (embedded default), ``smollm2-135m``, or a checkpoint id/path."""

    spec: str = Field(default="tiny", description=(
        "The policy: `tiny` (an embedded 1 M-parameter VLM, no download), `smollm2-135m`, a Hugging Face id or "
        "a local checkpoint folder."))
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        default="float32", description="The weights' dtype when loading (`auto`: the checkpoint's own).")
    device: str = Field(default="cpu", description="Where the policy runs (`cpu`, `cuda`, `cuda:1`, …).")
    attn_implementation: str | None = Field(default=None, description=(
        "transformers' attention implementation (e.g. `sdpa`, `flash_attention_2`); none: its default."))
    cache_dir: str | None = Field(default=None, description=(
        "Where converted checkpoints are cached; none: $TRACER1KIT_CACHE, else ~/.cache/tracer1kit."))
    max_image_pixels: int = Field(default=160 * 210, ge=28 * 28, description=(
        "Screenshots are scaled down to at most this many pixels before the VLM sees them (fewer image tokens)."))
    lora: LoraParams = Field(default_factory=LoraParams, description="LoRA adapters (peft).")


class PlannerParams(Section):
    """The planner: what its prompt shows, how it decodes, what its SFT targets write."""

    horizon: int = Field(default=3, ge=1, le=32, description=(
        "K, the steps each plan forecasts; at most the training tasks' longest expert episode (login-user: 3 "
        "for the default tasks)."))
    history_len: int = Field(default=4, ge=0, le=64, description="Past steps the prompt shows (0: none).")
    max_new_tokens: int = Field(default=256, ge=8, le=8192, description="Token cap of one generated plan.")
    temperature: float = Field(default=1.0, ge=0.0, le=5.0, description="Sampling temperature when not greedy.")
    top_p: float = Field(default=0.99, gt=0.0, le=1.0, description="Nucleus-sampling mass when not greedy.")
    greedy_eval: bool = Field(default=True, description="Decode greedily in evaluation (False: sample).")
    max_elements: int = Field(default=40, ge=1, le=1000,
                              description="Page elements the prompt lists, at most (the informative ones first).")
    batch_size: int = Field(default=8, ge=1, description=(
        "Observations planned together in one generate call (and environments stepped side by side)."))
    prompt: Literal["full", "compact", "auto"] = Field(default="full", description=(
        "The prompt's form (tracer1kit.prompts): `full`; `compact` (a short system prompt, one short line per "
        "element, history without echoes) for small text-only models; `auto`: compact iff the model cannot see."))
    think: Literal["none", "forecast"] = Field(default="none", description=(
        "What the SFT targets write inside <think>: `none`; `forecast`: the coming (real) steps in words before "
        "the plan, so a greedy decoder states its forecast before it writes step 1 (the paper's planner thinks "
        "first)."))
    instructions: bool = Field(default=True, description=(
        "Whether SFT targets write each step's instruction in words; False keeps action, target and value only "
        "(about half the tokens: shorter plans for small models on CPU; grounding reads the target either way)."))


class RewardWeights(Section):
    """Weights of the Stage-1 reward terms; 0 switches a term off (each term lies in [0, 1])."""

    alignment: float = Field(default=0.70, ge=0.0, description=(
        "Weight of the γ-discounted step-by-step agreement of the forecast with the reference steps."))
    coverage: float = Field(default=0.10, ge=0.0,
                            description="Weight of the term that penalises extra and missing steps.")
    done: float = Field(default=0.05, ge=0.0,
                        description="Weight of the term for ending the plan with the reference's done flag.")
    repetition: float = Field(default=0.05, ge=0.0,
                              description="Weight of the term that penalises repeated (looping) steps.")
    format: float = Field(default=0.10, ge=0.0,
                          description="Weight of the term for a well-formed <think>/<answer> completion.")


class RewardParams(Section):
    """The Stage-1 trajectory reward (defaults: the prototype recipe in PAPER.md)."""

    gamma: float = Field(default=0.8, description=(
        "γ, the discount of later forecast steps in the alignment and repetition terms; in (0, 1]."))
    weights: RewardWeights = Field(default_factory=RewardWeights, description="Weights of the reward terms.")
    current_type_weight: float = Field(default=0.6, ge=0.0, le=1.0, description=(
        "Step 1's credit for the right action type alone; the rest comes from its target and value."))
    future_type_weight: float = Field(default=0.8, ge=0.0, le=1.0, description=(
        "Later steps' credit for the right action type alone; the rest comes from their target and value."))
    status_weight: float = Field(default=0.3, ge=0.0, le=1.0,
                                 description="Share of a step's similarity that its done flag decides.")
    offset_penalty: float = Field(default=0.1, ge=0.0, description=(
        "Similarity lost per position a predicted step sits away from the reference step it matches."))
    extra_step_penalty: float = Field(default=0.1, ge=0.0,
                                      description="Coverage lost per predicted step beyond the reference's.")
    missing_step_penalty: float = Field(default=0.15, ge=0.0,
                                        description="Coverage lost per reference step the forecast lacks.")
    repetition_penalty: float = Field(default=0.2, ge=0.0,
                                      description="Repetition term lost per (γ-discounted) repetition event.")

    @field_validator("gamma")
    @classmethod
    def _gamma(cls, value: float) -> float:
        if not 0.0 < value <= 1.0:
            raise ValueError(f"must be in (0, 1] (got {value})")
        return value


class GrounderParams(Section):
    """The frozen GUI executor (:func:`tracer1kit.agents.grounding.make_grounder`)."""

    kind: Literal["dom", "strict"] = Field(default="dom", description=(
        "`dom` grounds nearly any wording (exact text, id, `text (k)` / `tag #n`, fuzzy matches, the target "
        "recovered from the step's instruction); `strict` only an element's exact visible text or label and the "
        "canonical `text (k)` / `tag #n` forms, so vague or wrong wording is refused."))
    noise: float = Field(default=0.0, ge=0.0, lt=1.0, description=(
        "The probability that a grounded click or type goes to another visible element that fits, the same one "
        "every time for a given `seed`, page and element."))
    seed: int = Field(default=0, description="The seed that picks the noisy executor's wrong elements.")


class GroundedRewardParams(Section):
    """The Stage-2 reward from execution feedback (step 1 run through the frozen executor)."""

    mode: Literal["offline", "live"] = Field(default="offline", description=(
        "`offline`: step 1 goes through the frozen executor on the recorded observation; `live`: it is also "
        "executed in an environment (the `advanced` term needs it)."))
    grounder: GrounderParams = Field(default_factory=GrounderParams,
                                     description="The executor Stage 2 trains against.")
    executable: float = Field(default=0.2, ge=0.0, description="Weight of 'step 1 could be executed'.")
    matched: float = Field(default=0.6, ge=0.0, description="Weight of 'step 1 did what the reference step does'.")
    advanced: float = Field(default=0.2, ge=0.0, description=(
        "Weight of 'step 1 executed and advanced the task' (live mode only)."))


class DynamicSamplingParams(Section):
    """What a GRPO stage does with groups whose rewards are all equal (zero advantage: no policy gradient).

    ``off``: nothing (TRL's behaviour). ``drop``: their completions are masked out of the loss, so the token-mean
    loss and the KL term average over groups with signal only (a step where every group is equal does no update).
    ``resample`` (DAPO's dynamic sampling, one process only): up to ``max_rounds`` times per step, a generation
    batch of fresh prompts (seeded draws from the training set) is generated and scored, and each of its groups
    with unequal rewards replaces an equal one; groups still equal after the last round stay in the batch.
    """

    mode: Literal["off", "drop", "resample"] = Field(default="off", description=(
        "What happens to groups whose rewards are all equal: `off` nothing (TRL's behaviour), `drop` leave the loss, "
        "`resample` replace them by groups of fresh prompts (DAPO's dynamic sampling; one process only)."))
    max_rounds: int = Field(default=2, ge=1, le=16,
                            description="With `resample`: at most this many fresh generation batches per step.")


class PrepassParams(Section):
    """A pass before a GRPO stage: the stage's starting model samples ``samples`` completions per training state
    (the stage's temperature and length), the stage's reward scores them, and the stage trains only on the states
    kept: those the model gets wrong (``keep: unsolved``: some sample scores below the reference plan's own reward;
    ``keep: mixed``: the samples' rewards are not all equal) plus a seeded share ``keep_easy`` of the others.
    ``samples`` defaults to the stage's ``num_generations``; ``max_states`` scores only a seeded sample of that
    many states (the stage then trains on the kept among them), bounding the pass's cost."""

    enabled: bool = Field(default=False, description="Whether the stage first keeps only the states worth training on.")
    keep: Literal["unsolved", "mixed"] = Field(default="unsolved", description=(
        "Which states are kept: `unsolved` (some sample scores below the reference plan's own reward) or `mixed` "
        "(the samples' rewards are not all equal)."))
    keep_easy: float = Field(default=0.2, ge=0.0, le=1.0,
                             description="The seeded share of the other states kept as well.")
    samples: int | None = Field(default=None, ge=2, le=64, description=(
        "Completions sampled per state to judge it; none: the stage's `num_generations`."))
    max_states: int | None = Field(default=None, ge=1, description=(
        "Score only a seeded sample of this many states (the stage trains on the kept among them); none: all."))


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
        "random", "expert", "reactive", "sft", "stage1", "stage2", "tracer1"], description=(
        "The variants evaluated: scripted ones (`random`, `expert`) and trained ones (each trained as needed)."))
    horizons: list[int] = Field(default_factory=lambda: [1, 3], description=(
        "A grid over `planner.horizon` (with two or more values): each trained, so each at most the tasks' "
        "longest episode."))
    gammas: list[float] = Field(default_factory=lambda: [0.8], description=(
        "A grid over `reward.gamma` (with two or more values), each in (0, 1]."))
    repetition_weights: list[float] = Field(default_factory=lambda: [0.05], description=(
        "A grid over `reward.weights.repetition` (with two or more values)."))
    training_seeds: list[int] = Field(default_factory=lambda: [0], description=(
        "Seeds each trained variant is trained with (several: variance across trainings)."))
    episodes_per_task: int = Field(default=5, ge=1, description=(
        "Online test episodes per MiniWoB++ task, held-out ones included (the first seeds of `env.test_seeds`)."))
    contrasts: list[tuple[str, str]] = Field(default_factory=lambda: [
        ("tracer1", "reactive"), ("tracer1", "stage1"), ("stage1", "sft"), ("stage2", "sft")], description=(
        "The paired contrasts (A, B) the report leads with: A − B over the same episodes, with a CI."))
    offline_episodes_per_task: int | None = Field(default=None, ge=1, description=(
        "Recorded test episodes per task for the offline metrics; none: all."))
    workers: int = Field(default=1, ge=1, le=64, description="Browser processes online evaluation runs in.")
    protocol: Literal["default", "androidcontrol", "guiodyssey", "mind2web"] = Field(default="default", description=(
        "The offline-metrics protocol (tracer1kit.metrics.EvalProtocol): how a predicted step must match a "
        "reference step, as each benchmark scores it."))
    grounder: GrounderParams = Field(default_factory=GrounderParams,
                                     description="The executor every variant is evaluated with.")

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

    source: Literal["miniwob", "androidcontrol", "guiodyssey", "mind2web", "gta", "parquet"] = Field(
        default="miniwob", description=(
            "Where episodes come from: `miniwob` (generated by the scripted experts of the params' domains), a public "
            "dataset's local copy (docs/datasets.md), or `parquet`: a folder written by `tracer1kit export-data`."))
    path: str | None = Field(default=None, description=(
        "The public dataset's local folder or file; required unless `source` is `miniwob` (nothing is "
        "downloaded)."))
    split: str = Field(default="train", description="The public dataset's split to read.")
    max_episodes: int | None = Field(default=None, ge=1,
                                     description="Read at most this many episodes; none: all.")

    @model_validator(mode="after")
    def _path_required(self) -> "DataParams":
        if self.source != "miniwob" and not self.path:
            raise ValueError(f"data.path is required for source '{self.source}': set it to the local copy "
                             "(see docs/datasets.md)")
        return self


class Params(Section):
    """A whole parameter set."""

    run: RunParams = Field(default_factory=RunParams, description="The run: name, seed, notebooks.")
    env: EnvParams = Field(default_factory=EnvParams, description="MiniWoB++ tasks, seeds and browser settings.")
    tooluse: ToolUseParams = Field(default_factory=ToolUseParams, description="Generated tool-use tasks.")
    grid: GridParams = Field(default_factory=GridParams, description="BabyAI grid levels (off unless levels are listed).")
    model: ModelParams = Field(default_factory=ModelParams, description="The policy model and its LoRA.")
    planner: PlannerParams = Field(default_factory=PlannerParams,
                                   description="The planner's prompt, decoding and SFT targets.")
    reward: RewardParams = Field(default_factory=RewardParams, description="The Stage-1 trajectory reward.")
    grounded: GroundedRewardParams = Field(default_factory=GroundedRewardParams,
                                           description="The Stage-2 grounded reward from execution feedback.")
    train: TrainParams = Field(default_factory=TrainParams, description="SFT, Stage 1 and Stage 2 training.")
    eval: EvalParams = Field(default_factory=EvalParams, description="What is evaluated and reported.")
    data: DataParams = Field(default_factory=DataParams, description="Public datasets on local disk.")

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
