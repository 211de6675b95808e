"""Every import points down: sim/ (the model) imports neither planner/ nor the app, planner/
never imports the app, and computation does not import rendering."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"sim": {"planner", "app_pages", "app"}, "planner": {"app_pages", "app"}}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_imports_point_down(package: str) -> None:
    wrong = {str(p.relative_to(ROOT)): sorted(_imports(p) & LAYERS[package])
             for p in sorted((ROOT / package).glob("*.py"))}
    assert {k: v for k, v in wrong.items() if v} == {}
