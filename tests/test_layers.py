"""Imports only point down (ARCHITECTURE.md, "Layers"): accounts < core < sources < catalog < scanning, compliance
< governance, and scanning and compliance do not import each other. Every import in every module of these apps is
read with ``ast`` — lazy ones inside functions included — and each one that points up or sideways is reported.
``config`` is the composition root (settings, URL and API routers) and may import any app; apps may import it."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"accounts": 1, "core": 2, "sources": 3, "catalog": 4, "scanning": 5, "compliance": 5, "governance": 6}

def _imported_apps(path: Path) -> set[tuple[str, int]]:
    """(app, line) of every absolute import of one of LAYERS' apps in the module at ``path``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue  # relative imports stay inside their own package
        found.update((name.split(".")[0], node.lineno) for name in names if name.split(".")[0] in LAYERS)
    return found


def _violations() -> dict[tuple[str, str], list[str]]:
    """(importing module, imported app) → where, for every import that points up or sideways."""
    violations: dict[tuple[str, str], list[str]] = {}
    for app, level in LAYERS.items():
        for path in sorted((ROOT / app).rglob("*.py")) if (ROOT / app).is_dir() else ():
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            for imported, line in sorted(_imported_apps(path)):
                if imported != app and LAYERS[imported] >= level:
                    violations.setdefault((module, imported), []).append(f"{path.relative_to(ROOT)}:{line}")
    return violations


def test_no_app_imports_a_higher_or_sibling_app():
    violations = _violations()
    report = "\n".join(f"{module} imports {app} ({', '.join(where)})" for (module, app), where in
                       sorted(violations.items()))
    assert not violations, f"imports that point up or sideways:\n{report}"


def test_the_checker_sees_an_upward_import(tmp_path, monkeypatch):
    app = tmp_path / "sources"
    app.mkdir()
    (app / "bad.py").write_text("def f():\n    from scanning.models import Scan\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert _violations() == {("sources.bad", "scanning"): ["sources/bad.py:2"]}
