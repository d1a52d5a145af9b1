"""``load_policy``: any checkpoint (the tiny default, SmolLM2, a Hugging Face id or a local path) → a Policy.

Image-text-to-text models load through ``AutoModelForImageTextToText``, everything else through
``AutoModelForCausalLM``. The network is never touched when ``HF_HUB_OFFLINE`` is set: a hub id must then
already be in the local Hugging Face cache.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ..params import ModelParams
from ..runs import check_files
from .cache import build_once, cache_root
from .lora import apply_lora, load_adapter
from .processor import PIL_PROCESSORS, cap_image_pixels, load_pil_processor


@dataclass
class Policy:
    """A loaded planner policy: the model, its processor (or tokenizer), and what it can see."""

    model: Any
    processor: Any
    spec: str
    supports_images: bool
    path: Path

    @property
    def tokenizer(self) -> Any:
        return getattr(self.processor, "tokenizer", self.processor)


def hub_offline() -> bool:
    """Whether HF_HUB_OFFLINE is set (read when asked, so a caller may set it late)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def resolve_checkpoint(spec: str, cache_dir: str | None = None) -> Path:
    """The local folder of a spec: built-in ones are built into the cache, hub ids come from the HF cache."""
    root = cache_root(cache_dir)
    if spec == "tiny":
        from .tiny import VERSION, build_tiny

        return build_once(root / VERSION, build_tiny)
    if spec == "smollm2-135m":
        from .smollm2 import VERSION, build_smollm2

        return build_once(root / VERSION, build_smollm2)
    path = Path(spec).expanduser()
    if path.is_dir():
        return path
    if spec.startswith((".", "/", "~")) or spec.count("/") != 1:
        raise FileNotFoundError(f"model.spec: no checkpoint folder at '{spec}' (use 'tiny', 'smollm2-135m', "
                                "a local folder with config.json, or a Hugging Face id like 'Qwen/Qwen2.5-VL-3B-Instruct')")
    from huggingface_hub import snapshot_download

    if not hub_offline():
        return Path(snapshot_download(spec))
    try:
        return Path(snapshot_download(spec, local_files_only=True))
    except Exception:  # noqa: BLE001 - any miss in the offline cache means the same thing
        raise FileNotFoundError(
            f"model.spec: '{spec}' is not in the local Hugging Face cache and HF_HUB_OFFLINE is set. "
            f"Download it on a machine with network (huggingface-cli download {spec}) and copy the folder here, "
            "then set model.spec to that folder; or unset HF_HUB_OFFLINE to let transformers download it.") from None


def _dtype(name: str) -> Any:
    import torch

    return "auto" if name == "auto" else getattr(torch, name)


def _processor(path: Path, config: Any, vision: bool, max_pixels: int) -> Any:
    from transformers import AutoProcessor, AutoTokenizer

    if not vision:
        processor = AutoTokenizer.from_pretrained(path)
    else:
        try:
            processor = AutoProcessor.from_pretrained(path)
            error = None if hasattr(processor, "image_processor") else "AutoProcessor gave no image processor"
        except Exception as exc:  # noqa: BLE001 - e.g. a video processor that needs torchvision
            error = str(exc)
        if error is not None:
            if config.model_type not in PIL_PROCESSORS:
                raise RuntimeError(f"cannot load the processor of '{path}': {error}")
            processor = load_pil_processor(path, config.model_type)
        cap_image_pixels(processor, max_pixels)
    tokenizer = getattr(processor, "tokenizer", processor)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return processor


def is_vision(config: Any) -> bool:
    """Whether a model config is an image-text-to-text model (loaded with ``AutoModelForImageTextToText``)."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING

    return type(config) in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING


def sees_images(spec: str | ModelParams) -> bool:
    """Whether the model of ``spec`` takes images, read from its config alone (no weights loaded)."""
    from transformers import AutoConfig

    params = ModelParams(spec=spec) if isinstance(spec, str) else spec
    return is_vision(AutoConfig.from_pretrained(resolve_checkpoint(params.spec, params.cache_dir)))


def plan_token_lengths(spec: str | ModelParams, plans: Sequence[str]) -> list[int]:
    """How many tokens each plan text takes in the tokenizer of ``spec`` (no weights loaded)."""
    from transformers import AutoTokenizer

    params = ModelParams(spec=spec) if isinstance(spec, str) else spec
    tokenizer = AutoTokenizer.from_pretrained(resolve_checkpoint(params.spec, params.cache_dir))
    return [len(ids) for ids in tokenizer(list(plans), add_special_tokens=False)["input_ids"]]


def load_policy(spec: str | ModelParams, *, adapter_path: str | os.PathLike[str] | None = None) -> Policy:
    """Load a policy from a spec string or :class:`ModelParams` (dtype, device, attention, LoRA, image cap)."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForImageTextToText

    params = ModelParams(spec=spec) if isinstance(spec, str) else spec
    location = resolve_checkpoint(params.spec, params.cache_dir)
    check_files(location)  # a truncated file: one error naming it and its stage, not a deserializer's traceback
    config = AutoConfig.from_pretrained(location)
    vision = is_vision(config)
    auto = AutoModelForImageTextToText if vision else AutoModelForCausalLM
    kwargs: dict[str, Any] = {"dtype": _dtype(params.dtype)}
    if params.attn_implementation:
        kwargs["attn_implementation"] = params.attn_implementation
    model = auto.from_pretrained(location, **kwargs).to(params.device)
    processor = _processor(location, config, vision, params.max_image_pixels)
    adapter = adapter_path or params.lora.adapter_path
    if adapter:
        check_files(adapter)
        model = load_adapter(model, adapter, trainable=params.lora.enabled)
    elif params.lora.enabled:
        model = apply_lora(model, params.lora)
    model.eval()
    return Policy(model=model, processor=processor, spec=params.spec,
                  supports_images=vision and hasattr(processor, "image_processor"), path=location)
