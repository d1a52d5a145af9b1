"""BabyAI grid levels (minigrid) as an :class:`~tracer1kit.envs.base.Environment`, and the grid state they show.

A task is a gymnasium BabyAI id (``BabyAI-UnlockPickup-v0``); ``reset(seed)`` builds the same level for the same
seed. One environment step executes one :class:`GridAction`: the primitive minigrid actions the frozen executor
(:mod:`tracer1kit.agents.grid`) computed for one high-level step. Success is the mission completed (BabyAI reward
> 0); ``terminated`` / ``truncated`` are minigrid's (its own step budget per level).

Each observation carries three views of the same level:

- ``screenshot``: the whole level rendered at :data:`TILE_PIXELS` px per cell (UnlockPickup: 88×48 px), small
  enough for a tiny VLM on CPU;
- ``text``: :func:`render_text`, the whole level in a few short lines for the planner (fully observed: BabyAI's
  egocentric partial view is left out, the lookahead comes from keys, locked doors and blockers; on validation
  seeds that view hides the object of the expert's next step in 30–55% of states and some object of its next four
  in 48–83%, and no grid step explores: ``benchmarks/bench_grid_view.py``). Rooms are
  letters in reading order (A B / C D); every object appears under its room with its canonical name
  (:func:`object_names`: ``red key``, or ``grey door at (7,3)`` when several share colour and type); doors are
  listed with the rooms they join and their state::

      you: room A (2,3) facing east, carrying nothing
      room A: red key
      room B: purple box
      doors: yellow door A|B locked

- ``state``: the privileged full state as plain JSON for the executor (:func:`state_json`, read back by
  :meth:`GridState.from_json`), never shown to the planner.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from PIL import Image

from ..episodes import Observation
from .base import Transition

__all__ = ["GRID_LEVELS", "GRID_TASK_PREFIX", "TILE_PIXELS", "COLOURS", "KINDS", "DIRECTIONS", "GridAction",
           "GridObject", "GridState", "GridEnv", "is_grid_task", "state_json", "object_names", "render_text"]

GRID_TASK_PREFIX = "BabyAI-"
TILE_PIXELS = 8

#: The domain's level suite. ``control``: one interaction, no lookahead needed (a Markov baseline).
#: ``lookahead``: levels whose steps depend on later ones (fetch a key before a locked door, move a blocker, a
#: sequenced "put …, then put …" mission across a closed door). ``held_out``: levels kept out of training to test
#: transfer. On every level the expert's steps replay to success through the lenient and the strict executor on
#: seeds 0-49 (``benchmarks/bench_grid.py``). Left out: SynthSeq and the Boss levels (their "open a door" clauses
#: sometimes name a door that is already open, which BabyAI's bot closes and opens again and no grid step can
#: express: 4 of 50 SynthSeq seeds), and UnlockToUnlock (the bot never returns on some seeds).
GRID_LEVELS: dict[str, tuple[str, ...]] = {
    "control": ("BabyAI-PickupLoc-v0",),
    "lookahead": ("BabyAI-UnlockPickup-v0", "BabyAI-BlockedUnlockPickup-v0", "BabyAI-KeyCorridorS3R3-v0",
                  "BabyAI-MoveTwoAcrossS5N2-v0"),
    "held_out": ("BabyAI-KeyCorridorS4R3-v0", "BabyAI-PutNextLocal-v0", "BabyAI-GoToSeqS5R2-v0"),
}

# minigrid's encodings (minigrid.core.constants), fixed here so the state JSON is read without minigrid.
_TYPES = ("unseen", "empty", "wall", "floor", "door", "key", "ball", "box", "goal", "lava", "agent")
COLOURS = ("red", "green", "blue", "purple", "yellow", "grey")
_DOOR_STATES = ("open", "closed", "locked")
KINDS = ("key", "ball", "box", "door")           # what a target may name (BabyAI's object types)
PICKABLE = frozenset({"key", "ball", "box"})
DIRECTIONS = ((1, 0), (0, 1), (-1, 0), (0, -1))  # minigrid agent_dir 0..3: east, south, west, north
_DIRECTION_NAMES = ("east", "south", "west", "north")


def is_grid_task(task: str) -> bool:
    """Whether ``task`` names a BabyAI level (``BabyAI-…``)."""
    return task.startswith(GRID_TASK_PREFIX)


@dataclass(frozen=True, slots=True)
class GridAction:
    """What the executor computed for one high-level step: minigrid primitive actions (0 left, 1 right,
    2 forward, 3 pickup, 4 drop, 5 toggle), the step in words, and the cell acted on (``None``: none)."""

    actions: tuple[int, ...]
    description: str = ""
    cell: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class GridObject:
    """One object on the grid: its kind (key, ball, box, door), colour, cell, and a door's state."""

    kind: str
    colour: str
    pos: tuple[int, int]
    door: str = ""                # "open", "closed" or "locked" for doors

    @property
    def words(self) -> str:
        return f"{self.colour} {self.kind}"


@dataclass(frozen=True)
class GridState:
    """A level as the executor reads it from ``Observation.state``: walls, objects, the agent and its load."""

    width: int
    height: int
    walls: frozenset[tuple[int, int]]
    objects: tuple[GridObject, ...]
    agent: tuple[int, int]
    direction: int
    carrying: tuple[str, str] | None   # (kind, colour)
    rooms: tuple[int, int, int]        # columns, rows, room size (cells, walls included)
    mission: str = ""

    @classmethod
    def from_json(cls, data: Any) -> "GridState":
        """Read :func:`state_json`'s dict; ``ValueError`` naming the field when it is not one."""
        if not isinstance(data, dict):
            raise ValueError("the observation has no grid state (Observation.state must be GridEnv's state dict)")
        try:
            rows, (x, y), direction = data["grid"], data["agent"], int(data["dir"])
            width, height = len(rows[0]) // 3, len(rows)
            walls, objects = set(), []
            for j, row in enumerate(rows):
                for i in range(width):
                    code = row[3 * i:3 * i + 3]
                    kind, colour, status = _TYPES[int(code[0], 16)], COLOURS[int(code[1])], int(code[2])
                    if kind == "wall":
                        walls.add((i, j))
                    elif kind in KINDS:
                        objects.append(GridObject(kind, colour, (i, j), _DOOR_STATES[status] if kind == "door" else ""))
            carrying = (str(data["carrying"][0]), str(data["carrying"][1])) if data.get("carrying") else None
            cols, nrows, size = (int(v) for v in data["rooms"])
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise ValueError(f"the observation's grid state is malformed ({type(exc).__name__}: {exc}); "
                             "it must be the dict GridEnv wrote") from None
        if not (0 <= x < width and 0 <= y < height and 0 <= direction < 4):
            raise ValueError(f"the grid state's agent ({x}, {y}) facing {direction} lies outside the grid")
        return cls(width, height, frozenset(walls), tuple(objects), (int(x), int(y)), direction, carrying,
                   (cols, nrows, size), str(data.get("mission", "")))

    @cached_property
    def _by_cell(self) -> dict[tuple[int, int], GridObject]:
        return {o.pos: o for o in self.objects}

    def at(self, cell: tuple[int, int]) -> GridObject | None:
        return self._by_cell.get(cell)

    def room(self, cell: tuple[int, int]) -> str:
        """The letter of the room holding ``cell`` (A, B, … in reading order)."""
        cols, rows, size = self.rooms
        i, j = min(cell[0] // (size - 1), cols - 1), min(cell[1] // (size - 1), rows - 1)
        return chr(ord("A") + j * cols + i)


def state_json(env: Any) -> dict[str, Any]:
    """The privileged state of a minigrid BabyAI env as plain JSON: ``grid`` rows of 3 hex digits per cell
    (minigrid's object type, colour and state indices), ``agent`` [x, y], ``dir``, ``carrying`` [kind, colour]
    or None, ``rooms`` [columns, rows, room size] and the ``mission``."""
    encoded = env.grid.encode()
    rows = ["".join(f"{encoded[i, j, 0]:x}{encoded[i, j, 1]}{encoded[i, j, 2]}" for i in range(env.width))
            for j in range(env.height)]
    carrying = [env.carrying.type, env.carrying.color] if env.carrying is not None else None
    return {"grid": rows, "agent": [int(env.agent_pos[0]), int(env.agent_pos[1])], "dir": int(env.agent_dir),
            "carrying": carrying, "rooms": [env.num_cols, env.num_rows, env.room_size], "mission": env.mission}


def object_names(state: GridState) -> dict[tuple[int, int], str]:
    """Every object's canonical name by cell: ``red key``, or ``red key at (3,4)`` when another object on
    the grid shares its colour and kind (the words the executor resolves to exactly that object)."""
    counts: dict[str, int] = {}
    for obj in state.objects:
        counts[obj.words] = counts.get(obj.words, 0) + 1
    return {o.pos: o.words if counts[o.words] == 1 else f"{o.words} at ({o.pos[0]},{o.pos[1]})" for o in state.objects}


def _door_rooms(state: GridState, door: tuple[int, int]) -> str:
    x, y = door
    size = state.rooms[2]
    sides = ((x - 1, y), (x + 1, y)) if x % (size - 1) == 0 else ((x, y - 1), (x, y + 1))
    return "|".join(state.room(c) for c in sides)


def render_text(state: GridState) -> str:
    """The level in a few lines for the planner (format in the module docstring)."""
    names = object_names(state)
    load = f"the {state.carrying[1]} {state.carrying[0]}" if state.carrying else "nothing"
    lines = [f"you: room {state.room(state.agent)} ({state.agent[0]},{state.agent[1]}) facing "
             f"{_DIRECTION_NAMES[state.direction]}, carrying {load}"]
    by_room: dict[str, list[str]] = {}
    for obj in state.objects:
        if obj.kind != "door":
            by_room.setdefault(state.room(obj.pos), []).append(names[obj.pos])
    lines += [f"room {room}: {', '.join(items)}" for room, items in sorted(by_room.items())]
    doors = [f"{names[o.pos]} {_door_rooms(state, o.pos)} {o.door}" for o in state.objects if o.kind == "door"]
    if doors:
        lines.append("doors: " + "; ".join(doors))
    return "\n".join(lines)


class GridEnv:
    """One BabyAI level at a time (see the module docstring); ``tile_size`` sets the screenshot's pixels per cell,
    ``image=False`` leaves the screenshot out (text-only models; faster)."""

    def __init__(self, task: str, *, tile_size: int = TILE_PIXELS, image: bool = True) -> None:
        import gymnasium as gym
        import minigrid  # noqa: F401  (importing it registers the BabyAI ids)

        if not is_grid_task(task):
            raise ValueError(f"task {task!r} is not a BabyAI level: name one like 'BabyAI-UnlockPickup-v0'")
        try:
            self._env = gym.make(task, render_mode="rgb_array")
        except gym.error.Error as exc:
            raise ValueError(f"unknown BabyAI level {task!r} ({exc}): see GRID_LEVELS for the suite") from None
        self.task, self.tile_size, self.image = task, tile_size, image
        self._observation: Observation | None = None
        self._over = False

    @property
    def minigrid(self) -> Any:
        """The unwrapped minigrid env (for the expert's bot)."""
        return self._env.unwrapped

    def reset(self, seed: int) -> Observation:
        with contextlib.redirect_stdout(io.StringIO()):  # level generation prints "Sampling rejected: …"
            self._env.reset(seed=seed)
        self._over = False
        self._observation = self._observe(seed, 0)
        return self._observation

    def observe(self) -> Observation:
        """The current observation (after ``reset``)."""
        if self._observation is None:
            raise RuntimeError("no level yet: call reset(seed) first")
        return self._observation

    def step(self, action: Any) -> Transition:
        observation = self.observe()
        if self._over:
            return Transition(observation, terminated=True,
                              info={"error": "the episode is over: call reset(seed) to start another"})
        if not isinstance(action, GridAction):
            return Transition(observation, info={"error": f"expected a GridAction, got {type(action).__name__}"})
        env = self.minigrid
        reward, terminated, truncated, done = 0.0, False, False, 0
        for primitive in action.actions:
            _, r, terminated, truncated, _ = env.step(primitive)
            reward, done = reward + float(r), done + 1
            if terminated or truncated:
                break
        self._over = terminated or truncated
        observation = self._observation = self._observe(observation.seed, observation.step_index + 1)
        return Transition(observation, reward=reward, terminated=terminated, truncated=truncated, success=reward > 0,
                          info={"primitive_steps": done})

    def close(self) -> None:
        self._env.close()
        self._observation = None

    def _observe(self, seed: int, step_index: int) -> Observation:
        env = self.minigrid
        image = Image.fromarray(env.get_frame(highlight=False, tile_size=self.tile_size)) if self.image else None
        size = image.size if image is not None else (env.width * self.tile_size, env.height * self.tile_size)
        state = state_json(env)
        return Observation(instruction=env.mission, screenshot=image, task=self.task, seed=seed,
                           step_index=step_index, size=size, text=render_text(GridState.from_json(state)),
                           state=state)

