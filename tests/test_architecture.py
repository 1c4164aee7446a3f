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


def test_no_package_imports_another_packages_private_names():
    crossing = []
    for path in modules():
        importer = module_name(path)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                if node.module.split(".")[0] not in APPS:
                    continue
                if package_of(node.module) == package_of(importer):
                    continue
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        crossing.append(f"{importer} imports {node.module}.{alias.name}")
    assert crossing == []
