"""Scripted experts (GUI per MiniWoB++ task, tool use per task kind), one planner adapter for both, and the
expert episodes that serve as training and reference data."""
