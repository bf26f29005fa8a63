"""The package's shape: imports run one way through the stages, with no circle.

Stages, from wiring down to plain values (docs/architecture.md draws the same map): a module
may import its own stage or a lower one, never a higher one.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import pytest_llmperf

PACKAGE = Path(pytest_llmperf.__file__).parent
LAYERS: tuple[tuple[str, ...], ...] = (
    # lowest first
    ("redaction", "checks", "errors", "text", "files"),
    ("prompts", "results", "metrics", "limits", "outcomes", "evalsets", "scorers"),
    ("settings",),
    ("backends",),
    ("measure",),
    ("judge", "snapshots"),
    ("session",),
    ("report",),
    (
        "plugin",
        "fixtures",
        "xdist_support",
        "pytest_support",
        "__init__",
    ),  # __init__: the public names
)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(part for part in parts if part != "__init__") or "__init__"


def layer_of(module: str) -> int:
    top = module.split(".")[0]
    for index, names in enumerate(LAYERS):
        if top in names:
            return index
    raise AssertionError(f"{module} belongs to no stage: add it to LAYERS and the map")


def imports(path: Path) -> Iterator[str]:
    """Every pytest_llmperf module `path` imports, at any depth (lazy imports too)."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "pytest_llmperf":
                yield from (alias.name for alias in node.names)
            elif node.module.startswith("pytest_llmperf."):
                package = node.module.removeprefix("pytest_llmperf.")
                for alias in node.names:
                    # `from pkg import submodule` imports the submodule, not the package's init
                    submodule = f"{package}.{alias.name}"
                    yield submodule if submodule in MODULES else package
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("pytest_llmperf."):
                    yield alias.name.removeprefix("pytest_llmperf.")


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}
ARCHITECTURE_MAP = (Path(__file__).parents[2] / "docs" / "architecture.md").read_text()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_to_the_same_stage_or_a_lower_one(module: str) -> None:
    upward = [
        imported for imported in imports(MODULES[module]) if layer_of(imported) > layer_of(module)
    ]
    assert upward == [], f"{module} imports from a higher stage: {upward}"


def test_no_import_circle() -> None:
    graph = {
        module: {imported for imported in imports(path) if imported in MODULES}
        for module, path in MODULES.items()
    }
    done: set[str] = set()

    def visit(module: str, trail: tuple[str, ...]) -> None:
        if module in trail:
            cycle = " -> ".join((*trail[trail.index(module) :], module))
            raise AssertionError(f"import circle: {cycle}")
        if module in done:
            return
        for imported in graph.get(module, ()):
            visit(imported, (*trail, module))
        done.add(module)

    for module in graph:
        visit(module, ())


def test_the_wheel_holds_no_training_code() -> None:
    assert not (PACKAGE / "testing").exists()


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: module_name(p))
def test_every_module_is_named_on_the_map(path: Path) -> None:
    """docs/architecture.md names every module (as `stage/module.py`), so the map cannot
    fall behind the code unnoticed."""
    relative = path.relative_to(PACKAGE).as_posix()
    body = ast.parse(path.read_text()).body
    if path.name == "__init__.py" and all(isinstance(node, ast.Expr) for node in body):
        pytest.skip("a package marker with nothing but its docstring")
    assert f"`{relative}`" in ARCHITECTURE_MAP, (
        f"{relative} is not named in docs/architecture.md: add it to the stage it belongs to"
    )


WIRING = LAYERS[-1]


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layer_of(m) < len(LAYERS) - 1))
def test_only_the_wiring_touches_pytest(module: str) -> None:
    """pytest and xdist details stay in the wiring: no module below it imports pytest or
    reads a config's options, plugins or xdist worker state."""
    text = MODULES[module].read_text()
    tree = ast.parse(text)
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not imported & {"pytest", "_pytest", "xdist"}, f"{module} imports pytest or xdist"
    touched = [
        word
        for word in ("config.option", "pluginmanager", "workerinput", "workeroutput")
        if word in text
    ]
    assert touched == [], f"{module} reads pytest's config ({touched}): leave it to {WIRING}"
