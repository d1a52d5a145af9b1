"""The embedded default policy: the real Qwen2.5-VL class at a tiny size, built locally in seconds.

Random weights (fixed seed) and a byte-level BPE tokenizer trained on the kit's own corpus (MiniWoB-like
instructions, element lines, tool names, BabyAI missions and level descriptions, plans in the canonical format,
numbers), wrapped as
``Qwen2Tokenizer`` with the Qwen special tokens and the official Qwen2.5-VL chat template. It outputs
gibberish until SFT teaches it the plan format.
"""

from __future__ import annotations

import importlib.util
import json
import random
from pathlib import Path

from ..actions import SCROLL_DIRECTIONS, ActionType, Plan, Step, format_plan
from ..episodes import Element, HistoryItem
from ..prompts import SYSTEM_PROMPT

VERSION = "tiny-qwen2.5-vl-v2"  # v2: grid vocabulary in the tokenizer corpus
SEED = 0
VOCAB_SIZE = 3072
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
                  "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
                  "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>"]
TEXT = dict(hidden_size=192, intermediate_size=512, num_hidden_layers=3, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=4096, rope_theta=1_000_000.0)
VISION = dict(depth=2, hidden_size=64, intermediate_size=128, num_heads=2, patch_size=14, spatial_merge_size=2,
              temporal_patch_size=2, window_size=112, fullatt_block_indexes=[1])

_WORDS = ["Submit", "OK", "Cancel", "Login", "Username", "Password", "Search", "Next", "Previous", "Yes", "No",
          "Home", "Profile", "Settings", "Reply", "Forward", "Delete", "Star", "Inbox", "Send", "Tab #1", "Tab #2",
          "Tab #3", "Section", "Date", "Flight", "From", "To", "Depart", "Book", "Apple", "Banana", "Cherry", "red",
          "green", "blue", "Mon", "Tue", "January", "February", "like", "share", "retweet", "more", "menu",
          "item", "link", "checkbox", "option", "text field", "button", "Enter", "Tab", "Escape", "total", "tip",
          "price", "receipt", "table", "sign", "miles", "km", "largest", "value", "row", "column"]
_TAGS = ["button", "input_text", "input_password", "input_checkbox", "input_radio", "div", "span", "a", "select",
         "option", "label", "textarea", "li", "p", "h1", "td", "tr"]
_TOOLS = ["ocr", "calculator", "convert_units", "lookup", "search", "read_table", "crop", "count"]
_TASKS = ['Click on the "{w}" button.', 'Enter "{v}" into the text field and press Submit.',
          "Log in with username {v} and password {n}.", "Select {w} from the list and click Submit.",
          "Click on {w} and then click Submit.", 'Switch to the tab "{w}" and click the link "{w2}".',
          "Find the email from {v} and reply with \"{w}\".", "Choose the date {n}/{n2}/2016 and submit.",
          "What is the {w} shown in the image? Use the tools and answer with a number.",
          "Compute a {n}% tip on the receipt total.", "Convert {n} {w} to {w2}."]


def _plan(rng: random.Random, words: list[str]) -> Plan:
    steps = []
    for index in range(rng.randint(1, 10)):
        action = rng.choice(list(ActionType))
        word, value = rng.choice(words), rng.choice(words + [str(rng.randint(0, 9999))])
        tool = rng.choice(_TOOLS)
        target = tool if action is ActionType.CALL else ("" if action in (ActionType.DONE, ActionType.ANSWER,
                                                                          ActionType.WAIT) else word)
        value = value if action in (ActionType.TYPE, ActionType.SELECT, ActionType.ANSWER) else (
            rng.choice(SCROLL_DIRECTIONS) if action is ActionType.SCROLL else "")
        args = (("expression", f"{rng.randint(1, 999)} * 0.{rng.randint(1, 99)}"),) if tool == "calculator" and \
            action is ActionType.CALL else ((("image", "screenshot"),) if action is ActionType.CALL else ())
        instruction = f"{action.value} {target or value}".strip()
        steps.append(Step(action, target, value, instruction, args, done=action is ActionType.DONE))
    return Plan(tuple(steps), think=rng.choice(["", f"first {rng.choice(words)}", "fill the form then submit"]))


_COLOURS = ["red", "green", "blue", "purple", "yellow", "grey"]
_OBJECTS = ["key", "ball", "box", "door"]
_GRID = [ActionType.GOTO, ActionType.PICKUP, ActionType.OPEN, ActionType.DROP, ActionType.PUT, ActionType.DONE]
_MISSIONS = ["pick up the {c} {k}", "open the {c} door", "go to the {c} {k}", "put the {c} {k} next to the {c2} {k2}",
             "pick up a {k}", "open the {c} door, then pick up the {c2} {k2}", "go to a {k} after you open a door",
             "pick up the {c} {k} and open the {c2} door"]


def _grid_lines(rng: random.Random) -> list[str]:
    """A BabyAI mission, the lines of a level as the grid domain renders it, and a plan of grid steps."""
    c, c2, k, k2 = rng.choice(_COLOURS), rng.choice(_COLOURS), rng.choice(_OBJECTS[:3]), rng.choice(_OBJECTS[:3])
    room, cell = rng.choice("ABCDEFGHI"), f"({rng.randint(1, 20)},{rng.randint(1, 20)})"
    steps = []
    for _ in range(rng.randint(1, 8)):
        action = rng.choice(_GRID)
        target = "" if action in (ActionType.DROP, ActionType.DONE) else f"the {rng.choice(_COLOURS)} {rng.choice(_OBJECTS)}"
        steps.append(Step(action, target, instruction=f"{action.value} {target}".strip(), done=action is ActionType.DONE))
    return [rng.choice(_MISSIONS).format(c=c, c2=c2, k=k, k2=k2),
            f"you: room {room} {cell} facing {rng.choice(['east', 'south', 'west', 'north'])}, carrying "
            + rng.choice(["nothing", f"the {c} {k}"]),
            f"room {room}: {c} {k}, {c2} {k2} at {cell}",
            f"doors: {c} door {room}|{rng.choice('ABCDEFGHI')} {rng.choice(['open', 'closed', 'locked'])}",
            format_plan(Plan(tuple(steps), think=f"the {c2} {k2} is behind the {c} door"))]


def corpus(lines: int = 2000, seed: int = SEED) -> list[str]:
    """Deterministic training text for the tokenizer."""
    rng = random.Random(seed)
    out = [SYSTEM_PROMPT, "Forecast the next 1 step(s).", "History: none", "Elements:", "Tools:"]
    for _ in range(lines):
        w, w2, v = rng.choice(_WORDS), rng.choice(_WORDS), rng.choice(["alice", "bob", "kanye", "Xavier", "q2x"])
        task = rng.choice(_TASKS).format(w=w, w2=w2, v=v, n=rng.randint(1, 31), n2=rng.randint(1, 12))
        element = Element(rng.randint(1, 99), rng.choice(_TAGS), rng.choice(_WORDS), "",
                          rng.randint(0, 160), rng.randint(0, 210), rng.randint(5, 160), rng.randint(5, 40))
        plan = _plan(rng, _WORDS)
        history = HistoryItem(plan.steps[0], rng.choice(["", "clicked button", "typed text", "tool output 12.5"]))
        out += [f"Task: {task}", element.compact(), history.compact(), format_plan(plan),
                f"Forecast the next {rng.randint(1, 10)} step(s).", f"{rng.choice(_TOOLS)}: {w} {v}"]
        out += _grid_lines(rng)
    return out


def chat_template() -> str:
    """The official Qwen2.5-VL chat template, as TRL ships it (so TRL recognises it)."""
    spec = importlib.util.find_spec("trl")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("trl is not installed: pip install 'trl>=1.16'")
    return (Path(spec.submodule_search_locations[0]) / "chat_templates" / "qwen2_5_vl.jinja").read_text("utf-8")


def build_tokenizer(seed: int = SEED):
    """A byte-level BPE trained on :func:`corpus`, wrapped as ``Qwen2Tokenizer`` (pad left)."""
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import Qwen2Tokenizer
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

    bpe = Tokenizer(models.BPE())
    bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=SPECIAL_TOKENS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(corpus(seed=seed), trainer)
    model = json.loads(bpe.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    tokenizer = Qwen2Tokenizer(vocab=model["vocab"], merges=merges, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                               unk_token=None, padding_side="left", model_max_length=TEXT["max_position_embeddings"])
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIAL_TOKENS[1:]})
    tokenizer.chat_template = chat_template()
    return tokenizer


def build_tiny(directory: Path, seed: int = SEED) -> None:
    """Write the tiny checkpoint (config, random weights, tokenizer, image processor) into ``directory``."""
    import torch
    from transformers import GenerationConfig, Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    tokenizer = build_tokenizer(seed)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    head_dim = TEXT["hidden_size"] // TEXT["num_attention_heads"]
    section = head_dim // 2 // 4
    text = dict(TEXT, vocab_size=len(tokenizer), bos_token_id=ids["<|endoftext|>"],
                eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"],
                rope_parameters={"rope_type": "default", "rope_theta": TEXT["rope_theta"],
                                 "mrope_section": [head_dim // 2 - 3 * section, section, 2 * section]})
    text.pop("rope_theta")
    config = Qwen2_5_VLConfig(
        text_config=text, vision_config=dict(VISION, out_hidden_size=TEXT["hidden_size"]),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=True)
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(
        bos_token_id=ids["<|endoftext|>"], eos_token_id=[ids["<|im_end|>"], ids["<|endoftext|>"]],
        pad_token_id=ids["<|endoftext|>"])
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    Qwen2VLImageProcessorPil(min_pixels=28 * 28, max_pixels=160 * 210).save_pretrained(directory)
