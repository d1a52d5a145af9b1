"""The longest successful scripted-expert episode of every supported MiniWoB++ task, in executed steps.

``LONGEST_EPISODE[task]`` is the most steps any successful expert episode took over seeds 0-49, executed
through the frozen ``DomGrounder`` (the ``longest`` column of the expert bench). It is used to check
``planner.horizon`` (and ``env.max_steps``) against the configured tasks before training: a horizon shorter
than a task's episodes means the planner never forecasts that task's whole remaining trajectory.

Measured on 2026-11-30 (2-core x86-64 VM, no GPU, shared with other work) with::

    .venv/bin/python benchmarks/bench_experts.py --seeds 50

Episodes that wait for an animation (click-collapsible-2) can take a step more on a busier machine.
Re-measure and update these figures when an expert or the set of tasks changes.
"""

from __future__ import annotations

LONGEST_EPISODE: dict[str, int] = {
    "book-flight": 12,
    "choose-date": 18,
    "click-button": 1,
    "click-checkboxes": 6,
    "click-collapsible": 2,
    "click-collapsible-2": 6,
    "click-link": 1,
    "click-tab-2": 3,
    "click-tab-2-hard": 6,
    "click-test": 1,
    "email-inbox": 4,
    "email-inbox-delete": 1,
    "email-inbox-forward-nl": 4,
    "email-inbox-noscroll": 4,
    "email-inbox-reply": 4,
    "email-inbox-star-reply": 4,
    "enter-password": 3,
    "enter-text": 2,
    "focus-text": 1,
    "form-sequence": 8,
    "form-sequence-3": 3,
    "login-user": 3,
    "login-user-popup": 5,
    "navigate-tree": 4,
    "phone-book": 5,
    "search-engine": 4,
    "social-media": 2,
    "use-autocomplete": 4,
    "use-spinner": 12,
}
