"""The one registry of domains: which domain a task belongs to, which domains a params file uses, and the
per-task parts callers ask for (expert, tool agent, prompt context)."""

from __future__ import annotations

import random
from typing import Callable

from ..actions import Step
from ..agents.base import ToolAgent
from ..episodes import Observation
from ..experts.planner import ExpertPlanner
from ..params import Params
from ..prompts import PromptContext
from .base import Domain, Purpose
from .grid import GridDomain
from .miniwob import MiniWoBDomain
from .tooluse import ToolUseDomain

# In the order their data, rows and reports come; the first, MiniWoB++, is the fallback: it owns every task no
# other domain claims.
DOMAINS: list[Domain] = [MiniWoBDomain(), ToolUseDomain(), GridDomain()]


def register(domain: Domain) -> Domain:
    """Add a domain after the others; registering a name again replaces the earlier one in its place."""
    if not domain.name or not domain.store:
        raise ValueError(f"{type(domain).__name__}: a domain needs a name and a store folder")
    names = [d.name for d in DOMAINS]
    if domain.name == DOMAINS[0].name:
        raise ValueError(f"{domain.name!r} is the fallback domain's name: choose another")
    if domain.name in names:
        DOMAINS[names.index(domain.name)] = domain
    else:
        DOMAINS.append(domain)
    return domain


def unregister(name: str) -> None:
    """Remove the domain called ``name`` (if registered); the fallback stays."""
    DOMAINS[1:] = [d for d in DOMAINS[1:] if d.name != name]


def domain_of(task: str) -> Domain:
    """The domain whose task ``task`` is: the first other domain that claims it, else the fallback."""
    return next((d for d in DOMAINS[1:] if d.owns(task)), DOMAINS[0])


def active(params: Params) -> list[Domain]:
    """The domains the params use, in registry order."""
    return [d for d in DOMAINS if d.enabled(params)]


def expert_steps(observation: Observation) -> list[Step]:
    """The scripted expert of the observation's task: its remaining steps."""
    return domain_of(observation.task).expert_steps(observation)


def random_step(observation: Observation, rng: random.Random) -> Step:
    """A random valid step of the observation's domain (the ``random`` floor planner's)."""
    return domain_of(observation.task).random_step(observation, rng)


def tool_agents(params: Params, purpose: Purpose) -> Callable[[str], ToolAgent]:
    """task → its domain's frozen tool agent for ``purpose``, one instance per domain."""
    made: dict[str, ToolAgent] = {}

    def agent(task: str) -> ToolAgent:
        domain = domain_of(task)
        if domain.name not in made:
            made[domain.name] = domain.tool_agent(params, purpose)
        return made[domain.name]

    return agent


def prompt_contexts(params: Params) -> Callable[[str], PromptContext]:
    """task → what its domain's prompts say."""
    return lambda task: domain_of(task).prompt_context(params)


def expert_planner(horizon: int = 5) -> ExpertPlanner:
    """The scripted experts of every domain as one planner (each observation planned by its task's expert)."""
    return ExpertPlanner(horizon, expert_steps)
