"""The frozen BabyAI subgoal executor: a planner's grid step ("pickup the red key") → minigrid primitive actions.

:class:`GridExecutor` implements :class:`~tracer1kit.agents.base.ToolAgent` on the privileged ``Observation.state``
only (so it grounds recorded states offline exactly as live ones). It plans with a breadth-first search over
the agent's poses (cell × facing; actions left, right, forward), which gives a shortest primitive sequence.

Semantics of the grid steps (``target`` is a BabyAI object description, :func:`parse_target`):

- ``goto X``: stand next to X and face it;
- ``pickup X``: go to X and pick it up (keys, balls and boxes; the hands must be empty);
- ``open X``: go to door X and toggle it; a locked door opens only while its colour's key is carried
  (the key is kept); a door already open, or a non-door, is refused;
- ``drop``: put the carried object down in front, or on the nearest free cell (turning, else walking) where it
  cuts nothing off (every other cell and object in reach stays in reach); a ``target``, if given, must
  describe the carried object;
- ``put X``: drop the carried object on a free cell next to X (BabyAI's "put … next to X");
- ``done``: nothing to execute.

Navigation walks only over empty cells and open doors: it never opens a door, so a target behind a closed or
locked door is unreachable until an ``open`` step opened it, and objects in the way block the path.

Targets: ``[the|a] [colour] kind [on your left|on your right|in front of you|behind you] [at (x,y)]``, kind one
of key, ball, box, door or object; the location words are relative to the agent's current pose and room
(BabyAI's rule, which at the first step is the mission's). ``kind="strict"`` refuses a target that fits several
objects; ``"lenient"`` takes the one reached in the fewest primitive actions (ties: BFS order). ``noise=p``
acts, with probability ``p``, on another reachable object the action fits, drawn from a hash of the seed, the
state and the step's object: the same step on the same state always grounds the same way.

:meth:`GridExecutor.same_effect` (and :func:`same_grid_step`) is the domain's one judgement of "the same step as
the reference": the same action on the same cell.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import deque
from dataclasses import dataclass
from typing import Literal

from ..actions import GRID_ACTIONS, ActionType, Step
from ..envs.grid import COLOURS, DIRECTIONS, KINDS, PICKABLE, GridAction, GridObject, GridState
from ..episodes import Observation
from ..text import normalize
from .base import Grounding, check_noise

__all__ = ["GridExecutor", "TargetQuery", "parse_target", "same_grid_step"]

MAX_TARGET_CHARS = 120
_DROP_TRIES = 40  # free cells tested, nearest first, for a drop that cuts nothing off
LEFT, RIGHT, FORWARD, PICKUP, DROP, TOGGLE = range(6)
_LOCATIONS = {"on your left": "left", "on your right": "right", "in front of you": "front", "behind you": "behind"}
_AT = re.compile(r"\s*(?:at\s*)?\(\s*(\d+)\s*,\s*(\d+)\s*\)$")
_LOC = re.compile(r"\s+(" + "|".join(_LOCATIONS) + r")$")


@dataclass(frozen=True, slots=True)
class TargetQuery:
    """A parsed object description: kind (``None``: any object), colour, location word, exact cell."""

    kind: str | None = None
    colour: str | None = None
    location: str | None = None
    cell: tuple[int, int] | None = None

    def fits(self, obj: GridObject, state: GridState) -> bool:
        if (self.kind and obj.kind != self.kind) or (self.colour and obj.colour != self.colour):
            return False
        if self.cell is not None and obj.pos != self.cell:
            return False
        return self.location is None or _located(obj.pos, self.location, state)


def _located(cell: tuple[int, int], location: str, state: GridState) -> bool:
    """BabyAI's location words: in the agent's room, on that side of the agent's pose."""
    if state.room(cell) != state.room(state.agent):
        return False
    vx, vy = cell[0] - state.agent[0], cell[1] - state.agent[1]
    fx, fy = DIRECTIONS[state.direction]
    ahead, right = vx * fx + vy * fy, vx * -fy + vy * fx
    return {"left": right < 0, "right": right > 0, "front": ahead > 0, "behind": ahead < 0}[location]


def parse_target(text: str) -> TargetQuery | str:
    """A BabyAI object description → :class:`TargetQuery`, or the reason it is not one (pure; never raises)."""
    if len(text) > MAX_TARGET_CHARS:
        return f"the target is {len(text)} characters: name one object in a few words, like 'the red key'"
    words = normalize(text)
    cell = None
    at = _AT.search(words)
    if at:
        cell, words = (int(at.group(1)), int(at.group(2))), words[:at.start()].strip()
    loc = _LOC.search(words)
    location = _LOCATIONS[loc.group(1)] if loc else None
    if loc:
        words = words[:loc.start()]
    tokens = [w for w in words.split() if w not in ("the", "a", "an")]
    if not tokens:
        return "the step names no object: set 'target', e.g. 'the red key'"
    if len(tokens) > 2:
        return f"cannot read {text[:60]!r} as one object: write '[colour] kind', e.g. 'the red key'"
    kind_word = tokens[-1]
    if kind_word not in KINDS and kind_word != "object":
        return f"unknown object {kind_word[:30]!r}: objects are {', '.join(KINDS)}"
    colour = None
    if len(tokens) == 2:
        colour = "grey" if tokens[0] == "gray" else tokens[0]
        if colour not in COLOURS:
            return f"unknown colour {tokens[0][:30]!r}: colours are {', '.join(COLOURS)}"
    return TargetQuery(None if kind_word == "object" else kind_word, colour, location, cell)


def _name(obj: GridObject) -> str:
    return f"the {obj.words} at ({obj.pos[0]},{obj.pos[1]})"


class _Poses:
    """Breadth-first search over the agent's poses from its current one; the first pose facing each cell."""

    def __init__(self, state: GridState) -> None:
        self.state = state
        width, height = state.width, state.height
        blocked = set(state.walls) | {o.pos for o in state.objects if not (o.kind == "door" and o.door == "open")}
        start = (state.agent, state.direction)
        self.parent: dict[tuple[tuple[int, int], int], tuple[tuple[tuple[int, int], int], int] | None] = {start: None}
        self.facing: dict[tuple[int, int], tuple[tuple[int, int], int]] = {}
        queue = deque([start])
        while queue:
            pose = queue.popleft()
            (x, y), d = pose
            dx, dy = DIRECTIONS[d]
            front = (x + dx, y + dy)
            self.facing.setdefault(front, pose)
            moves = [(((x, y), (d - 1) % 4), LEFT), (((x, y), (d + 1) % 4), RIGHT)]
            if 0 <= front[0] < width and 0 <= front[1] < height and front not in blocked:
                moves.insert(0, ((front, d), FORWARD))
            for nxt, action in moves:
                if nxt not in self.parent:
                    self.parent[nxt] = (pose, action)
                    queue.append(nxt)
        self.order = {cell: i for i, cell in enumerate(self.facing)}

    def nearest(self, cells: list[tuple[int, int]]) -> tuple[int, int] | None:
        """The cell among ``cells`` faced soonest, or None when none can be faced."""
        reachable = [c for c in cells if c in self.order]
        return min(reachable, key=self.order.__getitem__) if reachable else None

    def actions_to_face(self, cell: tuple[int, int]) -> tuple[int, ...]:
        pose, actions = self.facing[cell], []
        while (link := self.parent[pose]) is not None:
            pose, action = link
            actions.append(action)
        return tuple(reversed(actions))


def _free(state: GridState, cell: tuple[int, int]) -> bool:
    x, y = cell
    return 0 <= x < state.width and 0 <= y < state.height and cell not in state.walls and state.at(cell) is None \
        and cell != state.agent


def _passable(state: GridState, cell: tuple[int, int]) -> bool:
    x, y = cell
    if not (0 <= x < state.width and 0 <= y < state.height) or cell in state.walls:
        return False
    obj = state.at(cell)
    return obj is None or obj.door == "open"


def _reach(state: GridState, avoid: tuple[int, int] | None = None) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """The cells the agent can walk to (never through ``avoid``) and the objects it can stand next to."""
    region, queue, touched = {state.agent}, [state.agent], set()
    for x, y in queue:
        for dx, dy in DIRECTIONS:
            cell = (x + dx, y + dy)
            if cell == avoid or cell in region:
                continue
            if _passable(state, cell):
                region.add(cell)
                queue.append(cell)
            elif state.at(cell) is not None:
                touched.add(cell)
    return region, touched


def _cuts_nothing_off(state: GridState, cell: tuple[int, int], before: tuple[set, set]) -> bool:
    """Whether an object dropped on ``cell`` leaves every other reachable cell and object within reach."""
    region, touched = _reach(state, avoid=cell)
    return region == before[0] - {cell} and touched >= before[1]


def _state_key(observation: Observation) -> str:
    return json.dumps(observation.state, sort_keys=True)


class GridExecutor:
    """Deterministic: the same step on the same state → the same action. See the module docstring."""

    def __init__(self, kind: Literal["lenient", "strict"] = "lenient", noise: float = 0.0, seed: int = 0) -> None:
        if kind not in ("lenient", "strict"):
            raise ValueError(f"kind must be 'lenient' or 'strict' (got {kind!r})")
        self.kind, self.noise, self.seed = kind, check_noise(noise), seed

    def ground(self, step: Step, observation: Observation) -> Grounding:
        action = step.action
        if action is ActionType.DONE:
            return Grounding(True, None, "done")
        if action not in GRID_ACTIONS:
            allowed = ", ".join(a.value for a in ActionType if a in GRID_ACTIONS)
            return Grounding(False, error=f"'{action.value}' is not a grid action: use one of {allowed}")
        try:
            state = GridState.from_json(observation.state)
        except ValueError as exc:
            return Grounding(False, error=str(exc))
        if action is ActionType.DROP:
            return self._drop(step, state)
        query = parse_target(step.target)
        if isinstance(query, str):
            return Grounding(False, error=query)
        if action is ActionType.PICKUP and query.kind == "door":
            return Grounding(False, error="doors cannot be picked up: pickup takes a key, ball or box")
        if action is ActionType.OPEN and query.kind not in (None, "door"):
            return Grounding(False, error=f"only doors open: {step.target[:40]!r} is a {query.kind}")
        fitting = [o for o in state.objects if query.fits(o, state) and _fits(action, o)]
        if not fitting:
            return Grounding(False, error=f"no object fits {step.target[:60]!r} for {action.value}" + _carried(state))
        if self.kind == "strict" and len(fitting) > 1:
            cells = ", ".join(f"({o.pos[0]},{o.pos[1]})" for o in fitting[:6])
            return Grounding(False, error=f"ambiguous: {len(fitting)} objects fit {step.target[:60]!r} (at {cells}); "
                                          f"name one as e.g. '{_name(fitting[0])}'")
        poses = _Poses(state)
        if action is ActionType.PUT:
            return self._put(state, poses, fitting, observation)
        cell = poses.nearest([o.pos for o in fitting])
        if cell is None:
            obj = min(fitting, key=lambda o: abs(o.pos[0] - state.agent[0]) + abs(o.pos[1] - state.agent[1]))
            return Grounding(False, error=f"{_name(obj)} is unreachable: closed doors or objects are in the way")
        obj = self._misgrounded(state.at(cell), action, state, poses, observation)  # type: ignore[arg-type]
        return _act(action, obj, state, poses)

    def same_effect(self, step: Step, grounding: Grounding, reference: Step, reference_grounding: Grounding) -> bool:
        """The same action on the same cell (both executable)."""
        return _same(step, grounding, reference, reference_grounding)

    def _misgrounded(self, obj: GridObject, action: ActionType, state: GridState, poses: _Poses,
                     observation: Observation) -> GridObject:
        if self.noise <= 0.0:
            return obj
        others = [o for o in state.objects if o.pos != obj.pos and _fits(action, o) and o.pos in poses.order]
        digest = hashlib.sha256(f"{self.seed}|{action.value}|{obj.pos}|{_state_key(observation)}".encode()).digest()
        wrong, pick = int.from_bytes(digest[:8], "big") / 2**64, int.from_bytes(digest[8:16], "big") / 2**64
        return others[int(pick * len(others))] if others and wrong < self.noise else obj

    def _drop(self, step: Step, state: GridState) -> Grounding:
        if state.carrying is None:
            return Grounding(False, error="nothing is carried: there is nothing to drop")
        kind, colour = state.carrying
        if step.target.strip():
            query = parse_target(step.target)
            if isinstance(query, str):
                return Grounding(False, error=query)
            if (query.kind and query.kind != kind) or (query.colour and query.colour != colour):
                return Grounding(False, error=f"you carry the {colour} {kind}, not {step.target[:40]!r}")
        poses = _Poses(state)
        free = [c for c in poses.order if _free(state, c)]  # in the order they are faced
        reach = _reach(state)
        cell = next((c for c in free[:_DROP_TRIES] if _cuts_nothing_off(state, c, reach)), None) or poses.nearest(free)
        if cell is None:
            return Grounding(False, error="no free cell to drop on")
        description = f"drop the {colour} {kind} at ({cell[0]},{cell[1]})"
        return Grounding(True, GridAction(poses.actions_to_face(cell) + (DROP,), description, cell), description)

    def _put(self, state: GridState, poses: _Poses, fitting: list[GridObject], observation: Observation) -> Grounding:
        if state.carrying is None:
            return Grounding(False, error="nothing is carried: pick an object up before putting it")

        def sides(obj: GridObject) -> list[tuple[int, int]]:
            return [c for c in ((obj.pos[0] + dx, obj.pos[1] + dy) for dx, dy in DIRECTIONS) if _free(state, c)]

        cell = poses.nearest([c for obj in fitting for c in sides(obj)])
        if cell is None:
            return Grounding(False, error=f"no free cell next to {_name(fitting[0])} can be reached")
        target = next(obj for obj in fitting if cell in sides(obj))
        noisy = self._misgrounded(target, ActionType.PUT, state, poses, observation)
        noisy_cell = poses.nearest(sides(noisy)) if noisy is not target else None
        if noisy_cell is not None:
            target, cell = noisy, noisy_cell
        kind, colour = state.carrying
        description = f"put the {colour} {kind} next to {_name(target)}"
        return Grounding(True, GridAction(poses.actions_to_face(cell) + (DROP,), description, target.pos), description)


def _fits(action: ActionType, obj: GridObject) -> bool:
    """Whether the action can be aimed at this kind of object at all."""
    if action is ActionType.PICKUP:
        return obj.kind in PICKABLE
    if action is ActionType.OPEN:
        return obj.kind == "door"
    return True


def _carried(state: GridState) -> str:
    return f" (you carry the {state.carrying[1]} {state.carrying[0]})" if state.carrying else ""


def _act(action: ActionType, obj: GridObject, state: GridState, poses: _Poses) -> Grounding:
    """Go to face ``obj`` and do ``action`` to it, or the reason the action does not apply."""
    if action is ActionType.PICKUP and state.carrying is not None:
        return Grounding(False, error=f"your hands are full (you carry the {state.carrying[1]} {state.carrying[0]}): "
                                      "drop it first")
    if action is ActionType.OPEN:
        if obj.door == "open":
            return Grounding(False, error=f"{_name(obj)} is already open")
        if obj.door == "locked" and state.carrying != ("key", obj.colour):
            return Grounding(False, error=f"{_name(obj)} is locked: carry the {obj.colour} key to open it")
    final = {ActionType.PICKUP: (PICKUP,), ActionType.OPEN: (TOGGLE,)}.get(action, ())
    description = f"{'go to' if action is ActionType.GOTO else action.value} {_name(obj)}"
    return Grounding(True, GridAction(poses.actions_to_face(obj.pos) + final, description, obj.pos), description)


def _same(step: Step, grounding: Grounding, reference: Step, reference_grounding: Grounding) -> bool:
    if step.action is not reference.action or not (grounding.executable and reference_grounding.executable):
        return False
    ours, theirs = grounding.action, reference_grounding.action
    return isinstance(ours, GridAction) and isinstance(theirs, GridAction) and ours.cell == theirs.cell


def same_grid_step(pred: Step, ref: Step, observation: Observation) -> bool:
    """Whether ``pred`` does what ``ref`` does on this observation's state, grounded by the noiseless lenient
    executor (both ``done`` also counts as the same)."""
    if ActionType.DONE in (pred.action, ref.action):
        return pred.action is ref.action
    executor = GridExecutor()
    return _same(pred, executor.ground(pred, observation), ref, executor.ground(ref, observation))
