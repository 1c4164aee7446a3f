"""The shape ARCHITECTURE.md promises, checked on the source: sizes, imports inside
functions, and private names that stay inside their package. (The import rules between
packages are import-linter contracts in pyproject.toml, run by `make lint`.)"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("annotate", "evals", "quorum")
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 60
MAX_LOCAL_IMPORTS = 5
# Functions that are data tables rather than logic (the sizes rule sets them aside).
DATA_TABLES = {"evals/demo/content/medicine.py:lab_results"}


def modules() -> list[Path]:
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                found.append(path)
    return found


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_of(module: str) -> str:
    """The capability a module belongs to: ``evals.<package>`` inside evals, else its app."""
    parts = module.split(".")
    if parts[0] == "evals" and len(parts) > 2:
        return ".".join(parts[:2])
    return parts[0]


def functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def test_no_module_is_longer_than_600_lines():
    long = {
        str(path.relative_to(ROOT)): n
        for path in modules()
        if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_no_function_is_longer_than_60_lines():
    long = {}
    for path in modules():
        for node in functions(ast.parse(path.read_text())):
            first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
            length = node.end_lineno - first + 1
            name = f"{path.relative_to(ROOT)}:{node.name}"
            if length > MAX_FUNCTION_LINES and name not in DATA_TABLES:
                long[name] = length
    assert long == {}


def test_imports_inside_functions_are_few_and_each_says_why():
    local = []
    for path in modules():
        lines = path.read_text().splitlines()
        for node in functions(ast.parse("\n".join(lines))):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    before = lines[inner.lineno - 2].strip()
                    local.append((f"{path.relative_to(ROOT)}:{inner.lineno}", before))
    assert len(local) <= MAX_LOCAL_IMPORTS, local
    # Each has its reason in a comment on the line above (or above the group it opens).
    unexplained = [
        where
        for i, (where, before) in enumerate(local)
        if not before.startswith("#")
        and not (i and local[i - 1][0].split(":")[0] == where.split(":")[0])
    ]
    assert unexplained == []


def is_module(dotted: str) -> bool:
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def private_uses(path: Path) -> list[tuple[str, str]]:
    """(module, private name) for each ``from m import _x`` and each ``m._x`` where ``m``
    is a project module this file imported."""
    tree = ast.parse(path.read_text())
    modules_by_name: dict[str, str] = {}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if node.module.split(".")[0] not in APPS:
                continue
            for alias in node.names:
                target = f"{node.module}.{alias.name}"
                if is_module(target):
                    modules_by_name[alias.asname or alias.name] = target
                elif alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append((node.module, alias.name))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in APPS and alias.asname:
                    modules_by_name[alias.asname] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules_by_name
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            found.append((modules_by_name[node.value.id], node.attr))
    return found


def test_no_package_uses_another_packages_private_names():
    crossing = sorted(
        {
            f"{module_name(path)} uses {module}.{name}"
            for path in modules()
            for module, name in private_uses(path)
            if package_of(module) != package_of(module_name(path))
        }
    )
    assert crossing == []
