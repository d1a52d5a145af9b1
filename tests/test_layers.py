"""The package's layering stays one-way: no module imports a module on a higher floor (lazy imports inside
functions included), and no modules import each other in a loop. New top-level modules must be given a floor."""

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "tracer1kit"

# The floors of ../shared/DESIGN.md (text sits on floor 1: tools/ uses it and it uses nothing); the domain
# registry (domains/) sits above the experts and below training, as DESIGN's "one registry above the experts".
FLOORS = {
    "actions": 1, "params": 1, "runs": 1, "runlock": 1, "text": 1, "tools": 1, "progress": 1,
    "paramdocs": 1,
    "episodes": 2,
    "envs": 3, "prompts": 3, "rewards": 3,
    "agents": 4, "models": 4, "viz": 4, "metrics": 4,
    "experts": 5, "data": 5,
    "domains": 6,
    "training": 7,
    "evaluation": 8,
    "cli": 9, "notebook": 9, "notebook_runner": 9, "export_model": 9,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """Every tracer1kit module ``path`` imports, wherever the import statement stands."""
    return imports_in(path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py")


def imports_in(source: str, name: str, is_package: bool) -> set[str]:
    package = name if is_package else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "tracer1kit"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] == "tracer1kit":
                found.add(target)
    return found


def floor(module: str) -> int | None:
    parts = module.split(".")
    return FLOORS.get(parts[1]) if len(parts) > 1 else None


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def test_every_module_has_a_floor():
    unplaced = sorted({m.split(".")[1] for m in MODULES if "." in m and floor(m) is None})
    assert not unplaced, f"give these a floor in FLOORS (and in DESIGN): {unplaced}"


def test_no_import_runs_up_the_floors():
    upward = [f"{src} (floor {floor(src)}) imports {dst} (floor {floor(dst)})"
              for src, path in MODULES.items() for dst in imported(path)
              if floor(src) is not None and floor(dst) is not None and floor(dst) > floor(src)]
    assert not upward, "\n".join(upward)


def test_no_import_cycles_between_modules():
    graph = {src: {d for d in imported(path) if d in MODULES and d != src} for src, path in MODULES.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                cycles.append(trail[trail.index(nxt):] + [nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for module in graph:
        if module not in state:
            visit(module, [module])
    # a package's __init__ re-exporting its own submodules is not a loop of logic
    cycles = [c for c in cycles if not any(a.startswith(b + ".") or b.startswith(a + ".") for a, b in zip(c, c[1:]))]
    assert not cycles, cycles


def test_the_checker_sees_a_lazy_upward_import():
    source = "from ..episodes import Observation\n\ndef f():\n    from ..agents.loop import run_batch\n"
    found = imports_in(source, "tracer1kit.envs.fake", is_package=False)
    assert found == {"tracer1kit.episodes", "tracer1kit.agents.loop"}
    assert [m for m in found if floor(m) > floor("tracer1kit.envs.fake")] == ["tracer1kit.agents.loop"]


def test_notebooks_that_only_show_results_import_without_torch():
    """setup(), the evaluation cache, the report and the inspector load neither torch nor transformers, so
    notebooks 04-06 start in about a second (each of the quick start's notebooks used to pay ~5 s of imports)."""
    code = ("import sys, tracer1kit.notebook, tracer1kit.evaluation.store, tracer1kit.evaluation.report, "
            "tracer1kit.viz.inspector, tracer1kit.viz.dashboards; "
            "from tracer1kit.evaluation import evaluation_key, row_params, stored_evaluations; "
            "heavy = [m for m in ('torch', 'transformers', 'trl') if m in sys.modules]; assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
