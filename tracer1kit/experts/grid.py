"""The BabyAI expert: minigrid's ``BabyAIBot`` run on a fresh level, its primitive actions cut into grid steps.

:func:`expert_segments` runs the bot once per (task, seed) and cuts its actions at every interaction: a pickup
becomes ``pickup X``, a toggle that opens a door ``open X``, a drop ``drop`` (or ``put X`` when it completes a
"put … next to X" clause), and a move that completes a "go to X" clause ``goto X`` (a door the bot closes and
opens again is left out: nothing happened). The steps are then executed through the noiseless lenient
:class:`~tracer1kit.agents.grid.GridExecutor` on a second copy of the level, and each target is named with the
executor's canonical words (:func:`~tracer1kit.envs.grid.object_names`) on the state that copy shows before the
step, so the names hold on the states a learner sees (the executor may drop an object elsewhere than the bot did);
the object is followed from one copy to the other by the cell it started on. The last step is marked done. The
bot explores as it always does (it opens doors to look for what it has not seen yet), so some expert steps are
exploratory. :func:`grid_expert_steps` gives the remaining steps from an observation reached by following the
expert; :func:`replay` executes them through any executor.

``GRID_LONGEST_EPISODE[task]`` is the most steps of any expert episode over seeds 0-49 (all replayed to
success through the lenient and the strict executor), measured on 2026-12-07 (2-core AMD EPYC VM, shared) with::

    PYTHONPATH=. .venv/bin/python benchmarks/bench_grid.py --seeds 50
"""

from __future__ import annotations

import contextlib
import io
from functools import lru_cache
from typing import Any

from ..actions import ActionType, Step
from ..agents.grid import GridExecutor
from ..envs.grid import KINDS, GridEnv, GridState, object_names
from ..episodes import Observation
from .page import ExpertError

__all__ = ["GRID_LONGEST_EPISODE", "expert_segments", "grid_expert_steps", "replay"]

GRID_LONGEST_EPISODE: dict[str, int] = {
    "BabyAI-PickupLoc-v0": 1,
    "BabyAI-UnlockPickup-v0": 4,
    "BabyAI-BlockedUnlockPickup-v0": 8,
    "BabyAI-KeyCorridorS3R3-v0": 13,
    "BabyAI-MoveTwoAcrossS5N2-v0": 4,
    "BabyAI-KeyCorridorS4R3-v0": 12,
    "BabyAI-PutNextLocal-v0": 2,
    "BabyAI-GoToSeqS5R2-v0": 6,
}

_PICKUP, _DROP, _TOGGLE = 3, 4, 5
_MAX_ACTIONS = 2000
Event = tuple[ActionType, Any]  # a grid action and the minigrid object it is aimed at (None for drop)


def _goto_clauses(instr: Any) -> list[tuple[Any, str]]:
    """(sequence node, ``a_done`` / ``b_done``) for every "go to" clause inside BabyAI's instruction tree."""
    from minigrid.envs.babyai.core.verifier import GoToInstr, SeqInstr

    if not isinstance(instr, SeqInstr):
        return []
    found = []
    for child, flag in ((instr.instr_a, "a_done"), (instr.instr_b, "b_done")):
        found += [(instr, flag)] if isinstance(child, GoToInstr) else _goto_clauses(child)
    return found


def _put_clauses(instr: Any) -> list[Any]:
    from minigrid.envs.babyai.core.verifier import PutNextInstr, SeqInstr

    if isinstance(instr, PutNextInstr):
        return [instr]
    return _put_clauses(instr.instr_a) + _put_clauses(instr.instr_b) if isinstance(instr, SeqInstr) else []


def _objects(level: Any) -> dict[tuple[int, int], Any]:
    """The nameable minigrid objects of a level by cell."""
    return {(i, j): obj for j in range(level.height) for i in range(level.width)
            if (obj := level.grid.get(i, j)) is not None and obj.type in KINDS}


def _bot_events(level: Any) -> list[Event]:
    """Run BabyAI's bot to the end of the mission and return its interactions (see the module docstring)."""
    from minigrid.utils.baby_ai_bot import BabyAIBot

    with contextlib.redirect_stdout(io.StringIO()):
        bot = BabyAIBot(level)
    gotos, puts = _goto_clauses(level.instrs), _put_clauses(level.instrs)
    events: list[Event] = []
    reached: set[int] = set()
    closed: set[int] = set()
    action = None
    for _ in range(_MAX_ACTIONS):
        action = bot.replan(action)
        front = tuple(int(v) for v in level.front_pos)
        faced, carried = level.grid.get(*front), level.carrying
        was_open = faced is not None and faced.type == "door" and faced.is_open
        _, reward, terminated, truncated, _ = level.step(action)
        if action == _PICKUP and level.carrying is not carried:
            events.append((ActionType.PICKUP, faced))
        elif action == _TOGGLE and faced is not None and faced.type == "door" and faced.is_open != was_open:
            if was_open:                # closed by the bot (to open it again): no grid step closes a door
                closed.add(id(faced))
            elif id(faced) in closed:   # ... and opened again: together, nothing happened
                closed.discard(id(faced))
            else:
                events.append((ActionType.OPEN, faced))
        elif action == _DROP and carried is not None and level.carrying is None:
            events.append(_drop_event(carried, front, puts))
        elif action not in (_PICKUP, _DROP, _TOGGLE) and ((terminated and reward > 0) or _completed(gotos, reached)):
            target = level.grid.get(*level.front_pos)
            if target is not None and target.type in KINDS:
                events.append((ActionType.GOTO, target))
        if terminated or truncated:
            if reward <= 0:
                raise ExpertError(f"BabyAI's bot did not complete the mission {level.mission!r}")
            return events
    raise ExpertError(f"BabyAI's bot took more than {_MAX_ACTIONS} actions")


def _drop_event(carried: Any, cell: tuple[int, int], puts: list[Any]) -> Event:
    """A drop that completes a "put … next to X" clause is ``put X``; any other drop is a plain drop."""
    for clause in puts:
        if any(carried is o for o in clause.desc_move.obj_set):
            for fixed in clause.desc_fixed.obj_set:
                x, y = (int(v) for v in fixed.cur_pos)
                if abs(x - cell[0]) + abs(y - cell[1]) == 1:
                    return ActionType.PUT, fixed
    return ActionType.DROP, None


def _completed(gotos: list[tuple[Any, str]], reached: set[int]) -> bool:
    """Whether the last move completed a "go to" clause not completed before (and mark it)."""
    for index, (node, flag) in enumerate(gotos):
        if index not in reached and getattr(node, flag) == "success":
            reached.add(index)
            return True
    return False


def _step(action: ActionType, obj: Any, level: Any, observation: Observation) -> Step:
    """The grid step of one event on the executor's copy of the level, its object named as that copy shows it."""
    state = GridState.from_json(observation.state)
    carried = f"the {state.carrying[1]} {state.carrying[0]}" if state.carrying else "it"
    if action is ActionType.DROP:
        return Step(action, instruction=f"drop {carried}")
    cell = next(c for c, o in _objects(level).items() if o is obj)
    name = f"the {object_names(state)[cell]}"
    words = {ActionType.PICKUP: f"pick up {name}", ActionType.OPEN: f"open {name}", ActionType.GOTO: f"go to {name}",
             ActionType.PUT: f"put {carried} next to {name}"}[action]
    return Step(action, name, instruction=words)


@lru_cache(maxsize=4096)
def expert_segments(task: str, seed: int) -> tuple[Step, ...]:
    """The expert's whole episode of (task, seed) as grid steps; :class:`ExpertError` when the bot fails or a
    step it took has no executable grid step."""
    bot_env, env = GridEnv(task), GridEnv(task)
    try:
        bot_env.reset(seed)
        start = {id(obj): cell for cell, obj in _objects(bot_env.minigrid).items()}
        try:
            events = _bot_events(bot_env.minigrid)
        except ExpertError as exc:
            raise ExpertError(f"{task} seed {seed}: {exc}") from None
        except Exception as exc:  # the bot's own failures (assertions, a box opened)
            raise ExpertError(f"BabyAI's bot failed on {task} seed {seed}: {type(exc).__name__}: {exc}") from None
        observation = env.reset(seed)
        twins = _objects(env.minigrid)
        executor, steps = GridExecutor(), []
        for action, obj in events:
            step = _step(action, None if obj is None else twins[start[id(obj)]], env.minigrid, observation)
            grounding = executor.ground(step, observation)
            if not grounding.executable:
                raise ExpertError(f"{task} seed {seed}: the bot's step {len(steps) + 1} ({step.describe()}) is not "
                                  f"executable as a grid step: {grounding.error}")
            transition = env.step(grounding.action)
            steps.append(step)
            observation = transition.observation
            if transition.terminated or transition.truncated:
                break
        if not (steps and transition.success):
            raise ExpertError(f"{task} seed {seed}: the bot's steps did not complete the mission as grid steps")
    finally:
        bot_env.close()
        env.close()
    last = steps[-1]
    return tuple(steps[:-1]) + (Step(last.action, last.target, instruction=last.instruction, done=True),)


def grid_expert_steps(observation: Observation) -> list[Step]:
    """The expert's remaining steps from an observation reached by following it (its history holds the expert's
    earlier steps); :class:`ExpertError` when the history left the expert's path."""
    segments = expert_segments(observation.task, observation.seed)
    for index, item in enumerate(observation.history):
        if index >= len(segments) or item.step.key != segments[index].key:
            raise ExpertError(f"{observation.task} seed {observation.seed}: step {index + 1} of the history "
                              f"({item.step.describe()}) is not the expert's")
    return list(segments[len(observation.history):])


def replay(task: str, seed: int, executor: GridExecutor) -> tuple[bool, int]:
    """Execute the expert's steps through ``executor`` on a fresh level: (success, steps executed). Success
    needs every step executable and the mission completed exactly at the last step."""
    steps = expert_segments(task, seed)
    env = GridEnv(task)
    try:
        observation = env.reset(seed)
        for index, step in enumerate(steps, start=1):
            grounding = executor.ground(step, observation)
            if not grounding.executable:
                return False, index - 1
            transition = env.step(grounding.action)
            observation = transition.observation
            if transition.terminated or transition.truncated:
                return transition.success and index == len(steps), index
        return False, len(steps)
    finally:
        env.close()
