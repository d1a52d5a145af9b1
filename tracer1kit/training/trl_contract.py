"""The private parts of TRL the kit builds on, and the TRL versions they were checked against.

TRL has no public hook for dynamic sampling or the pre-pass's scoring, so
:class:`~tracer1kit.training.signal_trainer.GroupSignalTrainer` wraps two private ``GRPOTrainer`` methods and
reads private attributes; TRL's own subclasses of these methods were removed upstream because copies drifted. A
TRL minor release may change any of them, so pyproject.toml pins TRL to :data:`SUPPORTED_TRL` and
:func:`contract_problems` checks what the wrappers assume: the methods' signatures, the attributes they read and
the keys ``_generate_and_score_completions`` returns (read from its source). ``tests/test_trl_contract.py`` runs it
on the installed TRL; each problem names the kit's code to review.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

SUPPORTED_TRL = ">=1.16,<1.17"  # the minor versions the contract was checked on; pyproject.toml pins the same
REVIEW = "tracer1kit/training/signal_trainer.py (GroupSignalTrainer"

# method → (its parameters, the kit's code that calls or overrides it)
METHODS: dict[str, tuple[tuple[str, ...], str]] = {
    "_calculate_rewards": (("self", "inputs", "prompts", "completions", "completion_ids_list"),
                           f"{REVIEW}._calculate_rewards and .reference_rewards)"),
    "_generate_and_score_completions": (("self", "inputs"),
                                        f"{REVIEW}._generate_and_score_completions, ._extra_draw, .group_rewards)"),
    "log": (("self", "logs", "start_time"), "tracer1kit/training/groups.py (run_prepass logs through trainer.log)"),
}
# attribute GRPOTrainer.__init__ sets → the kit's code that reads it
ATTRIBUTES: dict[str, str] = {
    "_metrics": f"{REVIEW}._extra_draw, ._log_groups, ._scoring)",
    "_tokenizer": f"{REVIEW}._resample)",
    "reward_weights": f"{REVIEW}._calculate_rewards)",
    "num_generations": f"{REVIEW}._generate_and_score_completions)",
    "num_generations_eval": f"{REVIEW}._scoring)",
    "reward_funcs": f"{REVIEW}._scoring)",
}
# every key TRL's _generate_and_score_completions may return (merge_rows handles these or refuses them by name)
OUTPUT_KEYS = frozenset({
    "prompt_ids", "prompt_mask", "completion_ids", "completion_mask", "advantages", "num_items_in_batch",
    "old_per_token_logps", "importance_sampling_ratio", "sampling_per_token_logps", "ref_per_token_logps",
    "pixel_values", "image_grid_thw", "pixel_attention_mask", "spatial_shapes", "image_sizes", "token_type_ids",
    "mm_token_type_ids", "image_position_ids", "num_images", "num_tiles", "tool_mask"})
OUTPUT_REVIEW = "tracer1kit/training/signal_trainer.py (merge_rows, ROW_KEYS, IMAGE_KEYS)"
# trl.trainer.utils helpers merge_rows calls → their parameters
HELPERS: dict[str, tuple[str, ...]] = {
    "pad": ("tensors", "padding_value", "padding_side"), "nanstd": ("tensor", "dim"),
    "split_pixel_values_by_grid": ("batch",), "unsplit_pixel_values_by_grid": ("batch",)}


class TRLContractError(RuntimeError):
    """The installed TRL differs from what the kit's wrappers of its private methods assume."""


def check_contract() -> None:
    """Raise :class:`TRLContractError` listing every :func:`contract_problems` (before a wrapped trainer starts)."""
    problems = contract_problems()
    if problems:
        raise TRLContractError("the installed TRL does not match the kit's GRPO extension:\n" + "\n".join(problems))


def returned_keys(method: Any) -> set[str]:
    """The string keys ``method``'s source puts into its ``output`` dict (the literal and ``output["k"] = …``)."""
    source = inspect.getsource(method)
    literal = re.search(r"\boutput = \{(.*?)\n\s*\}", source, re.S)
    keys = set(re.findall(r'^\s*"(\w+)":', literal.group(1), re.M)) if literal else set()
    return keys | set(re.findall(r'\boutput\["(\w+)"\]\s*=', source))


def version_problem(version: str, supported: str = SUPPORTED_TRL) -> str | None:
    """Why TRL ``version`` is outside ``supported`` (None: inside)."""
    from packaging.specifiers import SpecifierSet

    if version in SpecifierSet(supported):
        return None
    return (f"TRL {version} is installed, but the kit's GRPO extension was checked on trl{supported}: install "
            f"'trl{supported}', or review {REVIEW}, its wrappers of TRL's private methods) and tracer1kit/training/"
            f"trl_contract.py against TRL {version}, then widen the pin in pyproject.toml and environment.yml")


def contract_problems(trainer_cls: Any = None, utils: Any = None) -> list[str]:
    """Every way TRL's ``GRPOTrainer`` (or ``trainer_cls``) differs from what the kit's wrappers assume (empty:
    none), each naming the wrapper to review."""
    if trainer_cls is None:
        from trl import GRPOTrainer as trainer_cls
    if utils is None:
        from trl.trainer import utils
    problems = []
    for name, (expected, review) in METHODS.items():
        method = getattr(trainer_cls, name, None)
        found = tuple(inspect.signature(method).parameters) if method is not None else None
        if found != expected:
            problems.append(f"GRPOTrainer.{name}: expected parameters {expected}, TRL has "
                            f"{found if found is not None else 'no such method'}; review {review}")
    init = inspect.getsource(trainer_cls.__init__)
    for name, review in ATTRIBUTES.items():
        if not re.search(rf"\bself\.{name}\s*[:=]", init):
            problems.append(f"GRPOTrainer.__init__ no longer sets self.{name}; review {review}")
    method = getattr(trainer_cls, "_generate_and_score_completions", None)
    keys = returned_keys(method) if method is not None else set()
    if method is not None and keys != OUTPUT_KEYS:
        new, gone = sorted(keys - OUTPUT_KEYS), sorted(OUTPUT_KEYS - keys)
        problems.append(f"GRPOTrainer._generate_and_score_completions returns other keys (new: {new}, gone: {gone}); "
                        f"review {OUTPUT_REVIEW}, then update OUTPUT_KEYS in tracer1kit/training/trl_contract.py")
    for name, expected in HELPERS.items():
        helper = getattr(utils, name, None)
        found = tuple(inspect.signature(helper).parameters)[:len(expected)] if helper is not None else None
        if found != expected:
            problems.append(f"trl.trainer.utils.{name}: expected parameters starting {expected}, TRL has "
                            f"{found if found is not None else 'no such function'}; review {OUTPUT_REVIEW}")
    return problems
