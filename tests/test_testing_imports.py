"""``glm_magics.testing`` stands apart: no import cycles, and almost nothing from the package.

Read from the source with ``ast``, so imports under ``TYPE_CHECKING`` and inside
functions count like the others.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import glm_magics.testing

PACKAGE = "glm_magics.testing"
FOLDER = Path(glm_magics.testing.__file__).parent


def module_name(path: Path) -> str:
    return PACKAGE if path.stem == "__init__" else f"{PACKAGE}.{path.stem}"


MODULES = {module_name(path): path for path in sorted(FOLDER.glob("*.py"))}


def imports(path: Path) -> Iterator[tuple[str, list[str]]]:
    """``(module, names)`` for every import statement in the file, wherever it stands."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: relative import"
            assert node.module is not None
            yield node.module, [alias.name for alias in node.names]


def internal_edges(module: str) -> set[str]:
    """The modules of this package that ``module`` imports."""
    found = set()
    for target, names in imports(MODULES[module]):
        if target in MODULES:
            found.add(target)
        found |= {f"{target}.{name}" for name in names if f"{target}.{name}" in MODULES}
    return found


def test_no_import_cycles_inside_the_package() -> None:
    graph = {module: internal_edges(module) for module in MODULES}
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycle = [*path[path.index(module) :], module]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if module in done:
            return
        for target in sorted(graph[module]):
            visit(target, [*path, module])
        done.add(module)

    for module in graph:
        visit(module, [])


def test_only_the_known_models_come_from_the_rest_of_the_package() -> None:
    outside = []
    for module, path in MODULES.items():
        for target, names in imports(path):
            root = target.split(".")[0]
            assert root not in ("IPython", "ipywidgets"), f"{module} imports {target}"
            if root == "glm_magics" and not target.startswith(PACKAGE):
                outside.append((module, target, names))
    assert [names for _, _, names in outside] == [["KNOWN_MODELS"]], outside
