"""The shape docs/design.md promises: bot → handlers → flows → storage, no import running back
up, no cycle among flows' modules, no SQL in handlers, no module that grew to hold everything.

Read from the source with ``ast``, so a lazy import inside a function counts as much as one at
the top of the module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[1]
LAYERS: Final = ("bot", "handlers", "flows", "storage")  # each may import those after it
LINES_MAX: Final = 450
LONG_ALLOWED: Final = frozenset({"flows/texts.py"})  # the text catalogue: data, not logic


def _modules(package: str) -> Iterator[Path]:
    yield from sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path, *, module_level_only: bool = False) -> Iterator[tuple[str, int]]:
    """(imported module, line) for every import in ``path``. ``module_level_only`` skips
    imports inside functions and ``if TYPE_CHECKING:`` blocks: those cannot form a cycle at
    import time."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    nodes: list[ast.AST]
    if module_level_only:
        nodes = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    else:
        nodes = list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, node.lineno
            for alias in node.names:  # "from flows import lifecycle" imports flows.lifecycle
                yield f"{node.module}.{alias.name}", node.lineno


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_no_import_runs_up_the_layers() -> None:
    wrong = []
    for i, layer in enumerate(LAYERS):
        above = LAYERS[:i]
        for path in _modules(layer):
            for module, line in _imports(path):
                if module.split(".")[0] in above:
                    wrong.append(f"{_name(path)}:{line} imports {module}")
    assert wrong == []


def test_handlers_hold_no_sql() -> None:
    wrong = [
        f"{_name(path)}:{line} imports {module}"
        for path in _modules("handlers")
        for module, line in _imports(path)
        if module.split(".")[0] in ("sqlalchemy", "sqlmodel")
    ]
    assert wrong == []


def test_no_module_holds_everything() -> None:
    long = {
        _name(path): n
        for layer in LAYERS
        for path in _modules(layer)
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > LINES_MAX
        and _name(path) not in LONG_ALLOWED
    }
    assert long == {}


def test_flows_modules_form_no_cycle() -> None:
    paths = {f"flows.{p.stem}": p for p in _modules("flows") if p.stem != "__init__"}
    graph = {
        name: {m for m, _ in _imports(path, module_level_only=True) if m in paths and m != name}
        for name, path in paths.items()
    }
    # Depth-first search; a module met again while still on the stack closes a cycle.
    state: dict[str, str] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_the_checks_see_a_violation() -> None:
    """The scanners above find what they look for (a check that cannot fail proves nothing)."""
    sample = ROOT / "flows" / "lifecycle.py"
    found = {m for m, _ in _imports(sample)}
    assert "storage.models" in found and "flows.sla" in found
    assert any(m.startswith("sqlmodel") for m in found)
