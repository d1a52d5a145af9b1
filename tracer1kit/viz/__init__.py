"""Plotly figures, training dashboards and the ipywidgets trajectory inspector."""

from .dashboards import reward_terms_figure, summary_table, training_dashboard
from .figures import bar_with_errors, line_curve, reward_bar, screenshot_figure, use_notebook_renderer
from .inspector import Agreement, Highlight, Inspector, PlanRow, StepView, default_compare, same_plans

__all__ = ["Agreement", "Highlight", "Inspector", "PlanRow", "StepView", "bar_with_errors", "default_compare",
           "line_curve", "reward_bar", "reward_terms_figure", "same_plans", "screenshot_figure", "summary_table",
           "training_dashboard", "use_notebook_renderer"]
