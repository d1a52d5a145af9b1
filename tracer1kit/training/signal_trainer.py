"""TRL's ``GRPOTrainer`` with the group-signal options of ``train.<stage>.dynamic_sampling`` and the pre-pass's
scoring. TRL 1.16 has no dynamic-sampling hook (huggingface/trl#3708 is open; its replay-buffer trainer is not in
this release), so this subclass works on the two methods every GRPO step goes through:

- ``_calculate_rewards`` is wrapped to keep the step's weighted rewards (TRL sums them the same way), so the
  all-equal groups are known exactly as TRL counts them for ``frac_reward_zero_std``;
- ``_generate_and_score_completions`` is wrapped: ``drop`` masks the equal groups' completions out of the loss
  (TRL's own ``completion_mask``, as its ``mask_truncated_completions`` does); ``resample`` calls TRL's method
  again on fresh training prompts (one more generation batch per round, up to ``max_rounds``) and puts each group
  with unequal rewards in place of an equal one.

TRL's own metrics (``reward``, ``frac_reward_zero_std``, completion lengths) keep describing the step's first
draw, as without the options; ``groups/*`` metrics describe what was dropped, resampled and trained on.
What these wrappers assume of TRL is checked before the trainer starts (:mod:`tracer1kit.training.trl_contract`).
"""

from __future__ import annotations

import random
from contextlib import contextmanager
from typing import Any, Iterator

import torch
from trl import GRPOTrainer
from trl.trainer.utils import nanstd, pad, split_pixel_values_by_grid, unsplit_pixel_values_by_grid

from ..params import DynamicSamplingParams
from .common import TrainingInputError
from .trl_contract import check_contract

# TRL batch keys with one padded row per completion: (padding side, padding value; None = the pad token).
ROW_KEYS: dict[str, tuple[str, float | None]] = {
    "prompt_ids": ("left", None), "prompt_mask": ("left", 0), "completion_ids": ("right", None),
    "completion_mask": ("right", 0), "old_per_token_logps": ("right", 0.0), "ref_per_token_logps": ("right", 0.0),
    "sampling_per_token_logps": ("right", 0.0), "tool_mask": ("right", 1)}
PROMPT_AND_COMPLETION_KEYS = ("token_type_ids", "mm_token_type_ids")  # prompt part left-, completion part right-padded
IMAGE_KEYS = ("pixel_values", "image_grid_thw", "num_images")


def merge_rows(pieces: list[tuple[dict[str, Any], list[int]]], pad_token_id: int) -> dict[str, Any]:
    """One TRL batch made of chosen rows of several: each piece is (batch, row indices). Rows are re-padded to
    the widest piece; ``num_items_in_batch`` is recounted (one process)."""
    keys = set(pieces[0][0])
    unknown = sorted(k for k in keys if k not in (*ROW_KEYS, *PROMPT_AND_COMPLETION_KEYS, *IMAGE_KEYS, "advantages",
                                                 "num_items_in_batch") and pieces[0][0][k] is not None)
    if unknown:
        raise TrainingInputError(f"dynamic_sampling.mode: resample cannot merge TRL batch keys {unknown} (this model's "
                                 "inputs); use mode: drop or the pre-pass")
    out: dict[str, Any] = {"advantages": torch.cat([batch["advantages"][rows] for batch, rows in pieces])}
    for key, (side, value) in ROW_KEYS.items():
        if pieces[0][0].get(key) is not None:
            out[key] = pad([batch[key][r] for batch, rows in pieces for r in rows],
                           padding_value=pad_token_id if value is None else value, padding_side=side)
    for key in PROMPT_AND_COMPLETION_KEYS:
        if pieces[0][0].get(key) is not None:
            width = [batch["prompt_ids"].size(1) for batch, _ in pieces]
            head = pad([batch[key][r, :w] for (batch, rows), w in zip(pieces, width) for r in rows], 0, "left")
            tail = pad([batch[key][r, w:] for (batch, rows), w in zip(pieces, width) for r in rows], 0, "right")
            out[key] = torch.cat([head, tail], dim=1)
    if pieces[0][0].get("pixel_values") is not None:
        split = [(split_pixel_values_by_grid(batch), rows) for batch, rows in pieces]
        for key in IMAGE_KEYS:
            out[key] = [batch[key][r] for batch, rows in split for r in rows]
        out = unsplit_pixel_values_by_grid(out)
    mask = out["completion_mask"] * out["tool_mask"] if "tool_mask" in out else out["completion_mask"]
    out["num_items_in_batch"] = mask.sum()
    return out


class GroupSignalTrainer(GRPOTrainer):
    """``GRPOTrainer`` plus ``dynamic_sampling`` (``drop`` / ``resample``) and the pre-pass's group scoring."""

    def __init__(self, *args: Any, dynamic_sampling: DynamicSamplingParams, sampling_seed: int = 0,
                 **kwargs: Any) -> None:
        check_contract()
        super().__init__(*args, **kwargs)
        self.dynamic_sampling = dynamic_sampling
        self.sampling_seed = sampling_seed
        self.step_rewards: torch.Tensor | None = None
        if dynamic_sampling.mode == "resample" and self.accelerator.num_processes > 1:
            raise TrainingInputError("dynamic_sampling.mode: resample runs on one process (groups may span "
                                     "processes); use mode: drop or the pre-pass under accelerate")

    # ---------------------------------------------------------------- the hooks into TRL's step

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        weights = self.reward_weights.to(rewards_per_func.device).unsqueeze(0)
        self.step_rewards = (rewards_per_func * weights).nansum(dim=1)  # every process's rows, as TRL groups them
        return rewards_per_func

    def equal_groups(self, group_size: int) -> torch.Tensor:
        """One bool per group of the last scored batch (all processes): rewards all equal, by TRL's own test."""
        grouped = self.step_rewards.view(-1, group_size)
        return torch.isclose(nanstd(grouped, dim=1), torch.zeros(grouped.size(0), device=grouped.device))

    def _generate_and_score_completions(self, inputs):
        output = super()._generate_and_score_completions(inputs)
        if not self.model.training or self.dynamic_sampling.mode == "off":
            return output
        equal = self.equal_groups(self.num_generations)
        if self.dynamic_sampling.mode == "drop":
            return self._drop(output, equal, len(inputs))
        return self._resample(output, equal)

    # ---------------------------------------------------------------- drop

    def _drop(self, output: dict[str, Any], equal: torch.Tensor, local_rows: int) -> dict[str, Any]:
        rows = equal.repeat_interleave(self.num_generations)
        start = self.accelerator.process_index * local_rows
        keep = (~rows[start:start + local_rows]).to(output["completion_mask"].dtype).unsqueeze(1)
        output = {**output, "completion_mask": output["completion_mask"] * keep}
        mask = output["completion_mask"] * output["tool_mask"] if "tool_mask" in output else output["completion_mask"]
        output["num_items_in_batch"] = self.accelerator.gather(mask.sum()).sum()
        self._log_groups(dropped=int(equal.sum()), equal_frac_trained=0.0)
        return output

    # ---------------------------------------------------------------- resample

    def _resample(self, output: dict[str, Any], equal: torch.Tensor) -> dict[str, Any]:
        size = self.num_generations
        to_fill = [g for g in range(equal.numel()) if equal[g]]
        if not to_fill:
            self._log_groups(resampled=0, extra_groups=0, equal_frac_trained=0.0)
            return output
        found: list[tuple[dict[str, Any], int]] = []  # (batch, group index) of fresh groups with unequal rewards
        extra = 0
        for round_index in range(self.dynamic_sampling.max_rounds):
            need = len(to_fill) - len(found)
            if need == 0:
                break
            fresh = self._draw(equal.numel(), round_index)  # one more generation batch of fresh prompts
            batch = self._extra_draw([dict(row) for row in fresh for _ in range(size)])
            extra += len(fresh)
            found += [(batch, g) for g, is_equal in enumerate(self.equal_groups(size).tolist()) if not is_equal]
        found = found[:len(to_fill)]
        replaced = set(to_fill[:len(found)])
        kept_rows = [r for r in range(equal.numel() * size) if r // size not in replaced]
        pieces = [(output, kept_rows)] + [(batch, list(range(g * size, (g + 1) * size))) for batch, g in found]
        merged = merge_rows(pieces, self._tokenizer.pad_token_id)
        self._log_groups(resampled=len(found), extra_groups=extra,
                         equal_frac_trained=(len(to_fill) - len(found)) / max(1, equal.numel()))
        return merged

    def _draw(self, count: int, round_index: int) -> list[dict[str, Any]]:
        """``count`` training rows drawn at random, seeded by the run seed, the step and the round."""
        rng = random.Random(f"{self.sampling_seed}:{self.state.global_step}:{round_index}")
        size = len(self.train_dataset)
        indices = rng.sample(range(size), count) if count <= size else rng.choices(range(size), k=count)
        return [self.train_dataset[i] for i in indices]

    def _extra_draw(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        """TRL's generate-and-score on extra prompts, without adding to TRL's step metrics (they keep describing
        the step's first draw)."""
        metrics = self._metrics["train"]
        lengths = {key: len(values) for key, values in metrics.items()}
        try:
            return GRPOTrainer._generate_and_score_completions(self, inputs)
        finally:
            for key in list(metrics):
                if key in lengths:
                    del metrics[key][lengths[key]:]
                else:
                    del metrics[key]

    def _log_groups(self, **values: float) -> None:
        for name, value in values.items():
            self._metrics["train"][f"groups/{name}"].append(float(value))

    # ---------------------------------------------------------------- the pre-pass's scoring

    def group_rewards(self, rows: list[dict[str, Any]], samples: int) -> list[list[float]]:
        """``samples`` completions per row, generated and scored by TRL as in training (the rows' group rewards)."""
        chunk = max(1, self.args.generation_batch_size // samples)
        out: list[list[float]] = []
        with self._scoring(samples):
            for start in range(0, len(rows), chunk):
                batch = rows[start:start + chunk]
                self._generate_and_score_completions([dict(row) for row in batch for _ in range(samples)])
                out += self.step_rewards.view(-1, samples)[:len(batch)].tolist()  # this process's copy
        return out

    def reference_rewards(self, rows: list[dict[str, Any]]) -> list[float]:
        """The stage's reward of each row's reference plan (the best a sample can do)."""
        completions = [[{"role": "assistant", "content": row["reference"]}] for row in rows]
        with self._scoring(1):
            self._calculate_rewards(rows, [row["prompt"] for row in rows], completions, [[] for _ in rows])
        return self.step_rewards[:len(rows)].tolist()

    @contextmanager
    def _scoring(self, samples: int) -> Iterator[None]:
        """Scoring outside training: eval mode, group size ``samples``, the raw reward functions (no sample
        logging), TRL's eval metrics discarded afterwards, and no trackers (TRL's profiling would log its timings
        to a tracker that starts with training: Trackio refuses a log before its init)."""
        saved = (self.model.training, self.num_generations_eval, self.reward_funcs, self.args.report_to)
        self.model.eval()
        self.num_generations_eval = samples
        self.reward_funcs = [getattr(f, "__wrapped__", f) for f in self.reward_funcs]
        self.args.report_to = []
        try:
            yield
        finally:
            training, self.num_generations_eval, self.reward_funcs, self.args.report_to = saved
            self.model.train(training)
            self._metrics["eval"].clear()
