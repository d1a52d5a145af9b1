"""Can a model copy the word a plan needs? The limit behind the tiny default's grid rows (issue 26).

Two measurements:

* ``--lrs 1e-3 3e-3``: the embedded tiny model (fresh weights) trained with plain AdamW on a synthetic copy task,
  ``Task: pick up the <colour> <kind>`` + six distractor objects → ``{"action": "pickup", "target": "the <colour>
  <kind>"}``; colour accuracy of the next token on 50 fresh prompts every 50 steps. The mission sits at a fixed
  offset, so a fixed-offset attention suffices (no look-up).
* ``--checkpoint DIR --params FILE --run-dir RUN``: a trained planner's teacher-forced accuracy on the first colour
  token of the reference plans of that run's training examples (the colour a grid plan must look up in the mission
  or the level's text), against the other completion tokens. Chance is about 1/6.

    PYTHONPATH=. python benchmarks/bench_copy.py --lrs 1e-3 3e-3 --steps 300
    PYTHONPATH=. python benchmarks/bench_copy.py --checkpoint runs/x/trainings/T/checkpoints/sft/final \
        --params params/study_grid.yaml --run-dir runs/x
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

COLOURS = ["red", "green", "blue", "purple", "yellow", "grey"]
KINDS = ["key", "ball", "box"]


def _sample(rng: random.Random) -> tuple[str, str, str]:
    colour, kind = rng.choice(COLOURS), rng.choice(KINDS)
    others = ", ".join(f"{rng.choice(COLOURS)} {rng.choice(KINDS)}" for _ in range(6))
    prompt = f"Task: pick up the {colour} {kind}\nroom A: {others}\nPlan 1 steps.\n"
    return prompt, f'{{"action": "pickup", "target": "the {colour} {kind}"}}', colour


def synthetic_copy(lr: float, steps: int, batch: int = 16, seed: int = 0) -> list[tuple[int, float, float]]:
    """(step, seconds, colour accuracy) every 50 steps of training the fresh tiny model at ``lr``."""
    import torch

    from tracer1kit.models.loading import load_policy

    policy = load_policy("tiny")
    model, tok = policy.model, policy.tokenizer
    torch.manual_seed(seed)
    rng, optimizer = random.Random(seed), torch.optim.AdamW(model.parameters(), lr=lr)
    out, start = [], time.perf_counter()
    model.train()
    for step in range(1, steps + 1):
        rows = [_sample(rng) for _ in range(batch)]
        ids = [tok(p + a)["input_ids"] for p, a, _ in rows]
        starts = [len(tok(p)["input_ids"]) for p, _, _ in rows]
        width = max(map(len, ids))
        x = torch.full((batch, width), tok.pad_token_id)
        labels, mask = torch.full((batch, width), -100), torch.zeros(batch, width, dtype=torch.long)
        for i, (row, first) in enumerate(zip(ids, starts)):
            x[i, :len(row)], mask[i, :len(row)] = torch.tensor(row), 1
            labels[i, first:len(row)] = torch.tensor(row[first:])
        model(input_ids=x, attention_mask=mask, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if step % 50 == 0:
            model.eval()
            with torch.no_grad():
                hits = 0
                for _ in range(50):
                    prompt, _, colour = _sample(rng)
                    prefix = torch.tensor([tok(prompt + '{"action": "pickup", "target": "the')["input_ids"]])
                    hits += tok.decode([int(model(input_ids=prefix).logits[0, -1].argmax())]).strip() == colour
            model.train()
            out.append((step, time.perf_counter() - start, hits / 50))
    return out


def first_colour_accuracy(checkpoint: str, params_path: str, run_dir: str, rows: int = 80) -> tuple[float, float]:
    """(first colour token accuracy, other completion tokens' accuracy), teacher-forced on training examples."""
    import torch

    from tracer1kit.data.examples import examples_from_episodes
    from tracer1kit.domains.data import expert_episodes
    from tracer1kit.domains.registry import prompt_contexts
    from tracer1kit.evaluation import frozen_planner
    from tracer1kit.params import load_params

    params = load_params(params_path)
    planner = frozen_planner(checkpoint, params)
    episodes = expert_episodes(params, Path(run_dir) / "episodes", "train")
    examples = examples_from_episodes(episodes[:: max(1, len(episodes) // rows)], params.planner,
                                      use_image=planner.policy.supports_images, contexts=prompt_contexts(params))
    processor, model, tok = planner.policy.processor, planner.policy.model, planner.policy.tokenizer
    colours = {tok.convert_tokens_to_ids("Ġ" + c) for c in COLOURS}
    first, other = [0, 0], [0, 0]
    for row in examples[:rows]:
        prompt = processor.apply_chat_template(row["prompt"], tokenize=False, add_generation_prompt=True)
        images = {"images": row["images"]} if row["images"] else {}
        n = len(processor(text=[prompt], return_tensors="pt", **images)["input_ids"][0])
        inputs = processor(text=[prompt + row["reference"] + "<|im_end|>"], return_tensors="pt", **images)
        with torch.no_grad():
            guess = model(**inputs).logits[0].argmax(-1)
        ids = inputs["input_ids"][0]
        seen = False
        for t in range(n, len(ids)):
            bucket = first if int(ids[t]) in colours and not seen else other
            seen = seen or int(ids[t]) in colours
            bucket[0] += int(guess[t - 1]) == int(ids[t])
            bucket[1] += 1
    return first[0] / max(1, first[1]), other[0] / max(1, other[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lrs", nargs="*", type=float, default=[1e-3, 3e-3], help="learning rates of the copy task")
    parser.add_argument("--steps", type=int, default=300, help="training steps of the copy task")
    parser.add_argument("--checkpoint", help="probe this trained planner instead (with --params, --run-dir)")
    parser.add_argument("--params", default="params/study_grid.yaml")
    parser.add_argument("--run-dir", default="runs/study_grid")
    args = parser.parse_args()
    if args.checkpoint:
        colour, other = first_colour_accuracy(args.checkpoint, args.params, args.run_dir)
        print(f"first colour token {colour:.2f} (chance about 0.17), other completion tokens {other:.2f}")
        return
    for lr in args.lrs:
        for step, seconds, accuracy in synthetic_copy(lr, args.steps):
            print(f"lr {lr:g}  step {step:4d}  {seconds:6.1f} s  colour accuracy {accuracy:.2f}")


if __name__ == "__main__":
    main()
