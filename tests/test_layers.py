"""The shape of the import graph (ARCHITECTURE.md, "Layers"; docs/architecture.md).

1. Imports only point down: accounts < core < sources < catalog < scanning, compliance < governance, and scanning
   and compliance do not import each other. ``config`` is the composition root (settings, URL and API routers)
   and may import any app; apps may import it.
2. No cycle between modules. Every import of every module is an edge — lazy ones inside functions and
   ``TYPE_CHECKING`` ones included — except a lazy import whose comment says it breaks a cycle, and that one must
   close a real cycle: its target reaches the importing module back through the other imports.
3. No lazy import (inside a function) without a comment saying why, on the import or on the line above it (one
   comment may head a group of consecutive imports). A lazy import of a product module is there only to break a
   cycle (rule 2), so its comment must name one. Imports in an ``AppConfig.ready()`` are Django's documented
   place for registration (signals, collectors, checks) and need no comment.

Every module is read with ``ast``, not imported, so the checks also see the imports that do not run when it is
imported (lazy ones, ``TYPE_CHECKING`` ones).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"accounts": 1, "core": 2, "sources": 3, "catalog": 4, "scanning": 5, "compliance": 5, "governance": 6}
PACKAGES = (*LAYERS, "config")


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the imported product module, or the first name of an outside one
    line: int
    lazy: bool  # inside a function
    in_ready: bool  # inside an AppConfig.ready()
    comment: str  # the comment on the import's lines, or heading its group of imports

    @property
    def where(self) -> str:
        return f"{self.module}:{self.line}"

    @property
    def breaks_a_cycle(self) -> bool:
        return self.lazy and "cycle" in self.comment.lower()


def _modules(root: Path) -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules) -> list[str]:
    """The modules an import statement loads: ``from a.b import c`` is ``a.b.c`` when that is a module, else
    ``a.b``. The parent packages Python loads on the way are not counted: a submodule importing a sibling does
    not depend on what its package's ``__init__`` exports."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[:len(package) - (node.level - 1)]
        base = ".".join([*package, base] if base else package)
    return [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]


def _comment(lines: list[str], node: ast.stmt, group_start: int) -> str:
    """The comments on the import's own lines and on the lines above it, up through its group."""
    own = [line.partition("#")[2] for line in lines[node.lineno - 1:node.end_lineno] if "#" in line]
    above = []
    index = node.lineno - 2
    while index >= 0:
        text = lines[index].strip()
        if text.startswith("#"):
            above.append(text[1:])
        elif not (index + 1 >= group_start and text):  # a blank line, or a statement before the group
            break
        index -= 1
    return " ".join(above + own).strip()


def _imports(root: Path = ROOT) -> list[Import]:
    modules = _modules(root)
    found = []
    for module, path in modules.items():
        source = path.read_text()
        lines = source.splitlines()

        def visit(node, function, module=module, lines=lines, path=path):
            """Walk the statements only: an import is a statement, so expressions need no visit."""
            for block in _blocks(node):
                group_start = None
                for statement in block:
                    if not isinstance(statement, ast.Import | ast.ImportFrom):
                        group_start = None
                        inner = statement if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef) else function
                        visit(statement, inner)
                        continue
                    group_start = group_start or statement.lineno
                    for target in _targets(statement, module, path.name == "__init__.py", modules):
                        resolved = next((candidate for candidate in _prefixes(target) if candidate in modules),
                                        target.split(".")[0])
                        if resolved != module:
                            found.append(Import(
                                module, resolved, statement.lineno, function is not None,
                                function is not None and function.name == "ready" and path.name == "apps.py",
                                _comment(lines, statement, group_start)))

        visit(ast.parse(source, filename=str(path)), None)
    return found


def _blocks(node):
    """The statement lists directly inside ``node`` (an ``except`` clause's or a ``case``'s included)."""
    for name in ("body", "orelse", "finalbody", "handlers", "cases"):
        value = getattr(node, name, None)
        if not isinstance(value, list):  # an IfExp's body is an expression
            continue
        if all(isinstance(item, ast.stmt) for item in value):
            yield value
        else:
            for clause in value:
                yield from _blocks(clause)


def _prefixes(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:end]) for end in range(len(parts), 0, -1)]


def _app(module: str) -> str:
    return module.split(".")[0]


def layer_violations(imports: list[Import]) -> dict[tuple[str, str], list[str]]:
    """(importing module, imported app) → where, for every import that points up or sideways."""
    violations: dict[tuple[str, str], list[str]] = {}
    for imp in imports:
        app, imported = _app(imp.module), _app(imp.target)
        if app in LAYERS and imported in LAYERS and imported != app and LAYERS[imported] >= LAYERS[app]:
            violations.setdefault((imp.module, imported), []).append(f"{imp.module.replace('.', '/')}:{imp.line}")
    return violations


def _graph(imports: list[Import]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for imp in imports:
        if _app(imp.target) in PACKAGES and not imp.breaks_a_cycle:
            graph.setdefault(imp.module, set()).add(imp.target)
    return graph


def _reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, pending = set(), [start]
    while pending:
        current = pending.pop()
        if current == goal:
            return True
        if current not in seen:
            seen.add(current)
            pending.extend(graph.get(current, ()))
    return False


def cycles(imports: list[Import]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    graph = _graph(imports)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return components


def unjustified_lazy_imports(imports: list[Import]) -> list[str]:
    graph = _graph(imports)
    problems = []
    for imp in dict.fromkeys(imports):  # once per import statement and target
        if not imp.lazy or imp.in_ready:
            continue
        product = _app(imp.target) in PACKAGES
        if not imp.comment:
            problems.append(f"{imp.where} imports {imp.target} inside a function without a comment saying why")
        elif product and not imp.breaks_a_cycle:
            problems.append(f"{imp.where} imports {imp.target} lazily; its comment names no cycle")
        elif product and not _reaches(graph, imp.target, imp.module):
            problems.append(f"{imp.where} imports {imp.target} lazily to break a cycle, but {imp.target} does not "
                            f"import {imp.module} back: move it to the top")
    return problems


@cache
def _product_imports() -> list[Import]:
    return _imports()


def test_no_app_imports_a_higher_or_sibling_app():
    violations = layer_violations(_product_imports())
    report = "\n".join(f"{module} imports {app} ({', '.join(where)})" for (module, app), where in
                       sorted(violations.items()))
    assert not violations, f"imports that point up or sideways:\n{report}"


def test_no_cycle_between_modules():
    found = cycles(_product_imports())
    assert not found, "import cycles (lazy imports included unless they say which cycle they break):\n" + "\n".join(
        " <-> ".join(component) for component in found)


def test_every_lazy_import_says_which_cycle_it_breaks():
    problems = unjustified_lazy_imports(_product_imports())
    assert not problems, "\n".join(problems)


def _tree(tmp_path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_the_checker_sees_an_upward_import(tmp_path):
    root = _tree(tmp_path, {"sources/bad.py": "def f():\n    from scanning.models import Scan\n",
                            "scanning/models.py": ""})
    assert layer_violations(_imports(root)) == {("sources.bad", "scanning"): ["sources/bad:2"]}


def test_the_checker_sees_a_cycle_through_a_lazy_or_type_checking_import(tmp_path):
    root = _tree(tmp_path, {
        "core/a.py": "from core import b\n",
        "core/b.py": "def f():\n    # for speed\n    from core.a import x\n",
        "core/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from core.d import y\n",
        "core/d.py": "from core.c import z\n",
    })
    assert sorted(cycles(_imports(root))) == [["core.a", "core.b"], ["core.c", "core.d"]]


def test_a_lazy_import_that_breaks_a_real_cycle_passes(tmp_path):
    root = _tree(tmp_path, {
        "core/a.py": "from core import b\n",
        "core/b.py": "def f():\n    # Lazy: core.a imports this module, a cycle.\n    from core.a import x\n",
    })
    imports = _imports(root)
    assert cycles(imports) == []
    assert unjustified_lazy_imports(imports) == []


def test_the_checker_refuses_lazy_imports_without_a_true_reason(tmp_path):
    root = _tree(tmp_path, {
        "core/a.py": "import json\n",
        "core/b.py": (
            "def f():\n    from core.a import x\n"  # no comment
            "def g():\n    # breaks the cycle with core.a\n    from core.a import y\n"  # no such cycle
            "def h():\n    import yaml\n"  # an outside module, no comment
            "def i():\n    # optional dependency: only the YAML export needs it\n    import yaml\n"),
        "core/apps.py": "class C:\n    def ready(self):\n        from core import b\n",
    })
    assert unjustified_lazy_imports(_imports(root)) == [
        "core.b:2 imports core.a inside a function without a comment saying why",
        "core.b:5 imports core.a lazily to break a cycle, but core.a does not import core.b back: move it to the top",
        "core.b:7 imports yaml inside a function without a comment saying why",
    ]
