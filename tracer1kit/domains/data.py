"""The run's expert data, domain by domain: each active domain's expert episodes in its own store under
``RUN/episodes``, generated once for the same params."""

from __future__ import annotations

from pathlib import Path

from ..episodes import Episode, EpisodeStore
from ..params import Params
from ..runs import RunDir
from .registry import active


def generate_expert_data(params: Params, episodes_root: Path) -> dict[str, dict[str, int]]:
    """Episodes per split of every active domain (``{domain: {split: count}}``); each store is generated only
    once for the same params."""
    return {domain.name: domain.generate(params, episodes_root / domain.store) for domain in active(params)}


def ensure_expert_data(params: Params, run: RunDir, episodes_root: Path | None = None) -> Path:
    """The episodes folder holding the run's expert data, generated unless already there. With ``episodes_root``
    (a sub-run sharing its parent's data) nothing is generated."""
    if episodes_root is not None:
        return episodes_root
    generate_expert_data(params, run.episodes_dir)
    return run.episodes_dir


def expert_episodes(params: Params, episodes_root: Path, split: str) -> list[Episode]:
    """The stored expert episodes of a split, of every active domain."""
    return [e for domain in active(params) for e in EpisodeStore(episodes_root / domain.store).read(split=split)]
