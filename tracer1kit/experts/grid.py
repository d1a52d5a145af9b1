"""The BabyAI expert: minigrid's ``BabyAIBot`` run on a fresh level, its primitive actions cut into grid steps.

:func:`expert_segments` runs the bot once per (task, seed) and cuts its actions at every interaction: a pickup
becomes ``pickup X``, a toggle that opens a door ``open X``, a drop ``drop`` (or ``put X`` when it completes a
"put … next to X" clause), and a move that completes a "go to X" clause ``goto X``. Targets are the executor's
canonical names (:func:`~tracer1kit.envs.grid.object_names`) on the state before the step; the last step is
marked done. The bot explores as it always does (it opens doors to look for what it has not seen yet), so a few
expert steps are exploratory. :func:`grid_expert_steps` gives the remaining steps from an observation reached by
following the expert; :func:`replay` executes them through a :class:`~tracer1kit.agents.grid.GridExecutor`.

``GRID_LONGEST_EPISODE[task]`` is the most steps of any expert episode over seeds 0-49 (all replayed to
success through the lenient and strict executors), measured on 2026-12-07 (2-core AMD EPYC VM, shared) with::

    PYTHONPATH=. .venv/bin/python benchmarks/bench_grid.py --seeds 50
"""

from __future__ import annotations

import contextlib
import io
from functools import lru_cache
from typing import Any

from ..actions import ActionType, Step
from ..agents.grid import GridExecutor
from ..envs.grid import DIRECTIONS, GridEnv, GridState, object_names, state_json
from ..episodes import Observation
from .page import ExpertError

__all__ = ["GRID_LONGEST_EPISODE", "expert_segments", "grid_expert_steps", "replay"]

GRID_LONGEST_EPISODE: dict[str, int] = {}

_PICKUP, _DROP, _TOGGLE = 3, 4, 5
_MAX_ACTIONS = 2000


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


@lru_cache(maxsize=4096)
def expert_segments(task: str, seed: int) -> tuple[Step, ...]:
    """The expert's whole episode of (task, seed) as grid steps; :class:`ExpertError` when the bot fails."""
    from minigrid.utils.baby_ai_bot import BabyAIBot

    env = GridEnv(task)
    try:
        env.reset(seed)
        level = env.minigrid
        with contextlib.redirect_stdout(io.StringIO()):
            bot = BabyAIBot(level)
        gotos, puts = _goto_clauses(level.instrs), _put_clauses(level.instrs)
        steps: list[Step] = []
        reached: set[int] = set()
        action, success = None, False
        for _ in range(_MAX_ACTIONS):
            action = bot.replan(action)
            front = tuple(int(v) for v in level.front_pos)
            before = GridState.from_json(state_json(level)) if action in (_PICKUP, _DROP, _TOGGLE) else None
            _, reward, terminated, truncated, _ = level.step(action)
            won = terminated and reward > 0
            step = None
            if before is not None:
                step = _interaction(int(action), before, GridState.from_json(state_json(level)), front, puts, level)
            elif won or _completed_goto(gotos, reached):
                step = _goto(GridState.from_json(state_json(level)))
            if step is not None:
                steps.append(step)
            if terminated or truncated:
                success = reward > 0
                break
    except ExpertError:
        raise
    except Exception as exc:  # the bot's own failures (assertions, a box opened) end the expert
        raise ExpertError(f"BabyAI's bot failed on {task} seed {seed}: {type(exc).__name__}: {exc}") from None
    finally:
        env.close()
    if not success or not steps:
        raise ExpertError(f"BabyAI's bot did not complete {task} seed {seed}")
    last = steps[-1]
    return tuple(steps[:-1]) + (Step(last.action, last.target, instruction=last.instruction, done=True),)


def _interaction(action: int, before: GridState, after: GridState, front: tuple[int, int], puts: list[Any],
                 level: Any) -> Step | None:
    """The grid step an interaction was (objects named on the state before it), or None when it changed nothing."""
    names = object_names(before)
    if action == _PICKUP and after.carrying != before.carrying:
        return Step(ActionType.PICKUP, f"the {names[front]}", instruction=f"pick up the {names[front]}")
    door = before.at(front)
    if action == _TOGGLE and door is not None and door.kind == "door" and door.door != "open" \
            and after.at(front) != door:
        return Step(ActionType.OPEN, f"the {names[front]}", instruction=f"open the {names[front]}")
    if action == _DROP and before.carrying is not None and after.carrying is None:
        carried = f"the {before.carrying[1]} {before.carrying[0]}"
        dropped = level.grid.get(*front)
        for clause in puts:
            if any(dropped is o for o in clause.desc_move.obj_set):
                for fixed in clause.desc_fixed.obj_set:
                    pos = tuple(int(v) for v in fixed.cur_pos)
                    if abs(pos[0] - front[0]) + abs(pos[1] - front[1]) == 1 and pos in names:
                        return Step(ActionType.PUT, f"the {names[pos]}",
                                    instruction=f"put {carried} next to the {names[pos]}")
        return Step(ActionType.DROP, instruction=f"drop {carried}")
    return None


def _completed_goto(gotos: list[tuple[Any, str]], reached: set[int]) -> bool:
    """Whether the last move completed a "go to" clause not completed before (and mark it)."""
    for index, (node, flag) in enumerate(gotos):
        if index not in reached and getattr(node, flag) == "success":
            reached.add(index)
            return True
    return False


def _goto(state: GridState) -> Step | None:
    """A goto step on the object the agent now faces (None when it faces none)."""
    dx, dy = DIRECTIONS[state.direction]
    front = (state.agent[0] + dx, state.agent[1] + dy)
    names = object_names(state)
    if front not in names:
        return None
    return Step(ActionType.GOTO, f"the {names[front]}", instruction=f"go to the {names[front]}")


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
