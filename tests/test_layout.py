"""The package's layout: no import cycle, one module per rule, one builder per resource family."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from constructs_lib.portplan.model import FAMILIES
from constructs_lib.portplan.rules import CHECKS, RULES
from tests.conftest import ROOT

PACKAGE = ROOT / "constructs_lib"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements that run: those under `if TYPE_CHECKING:` are for type checkers only."""
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The package's modules that `path` imports, at module level or inside functions."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in _runtime_imports(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")
            anchor = anchor[: len(anchor) - node.level + 1]
            base = ".".join(anchor + ([base] if base else []))
        for alias in node.names:
            candidate = f"{base}.{alias.name}"
            found.add(candidate if candidate in modules else base)
    return found & modules - {name}


def test_no_import_cycle_in_the_package() -> None:
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {name: imports_of(path, set(paths)) for name, path in paths.items()}
    cycles = []
    state: dict[str, int] = {}  # 1 while on the path, 2 when done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for following in sorted(graph[name]):
            if state.get(following) == 1:
                cycles.append(path[path.index(following):] + [following])
            elif following not in state:
                visit(following, [*path, following])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_one_module_per_rule_named_after_its_id() -> None:
    rules_dir = PACKAGE / "portplan" / "rules"
    for rule in RULES:
        module = rules_dir / f"{rule.id.replace('-', '_')}.py"
        assert module.is_file(), f"rule {rule.id} has no module of its own"
        assert f'id="{rule.id}"' in module.read_text()
    assert list(CHECKS) == [rule.id for rule in RULES]


def test_every_read_type_belongs_to_one_family() -> None:
    owners: dict[str, str] = {}
    for family in FAMILIES:
        for kind in family.reads:
            assert kind not in owners, f"{kind} is read by {owners[kind]} and {family.__name__}"
            owners[kind] = family.__name__
    assert "AWS::ECS::Service" in owners and "AWS::EC2::SecurityGroup" in owners
