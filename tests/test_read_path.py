"""Selectors are the only read path (docs/architecture.md, "Where permissions are decided"): product code outside
an app's ``selectors.py`` never calls ``restrict`` (nor its look-up and SQL forms) itself. Every module of every app
is read with ``ast``; a call by plain name or as a method (``queryset.restrict(user)``) is reported with its file
and line. ``accounts/permissions.py`` defines them; tests and benchmarks measure them."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXEMPT_DIRS = {"tests", "bench", ".venv", "var", "node_modules"}
EXEMPT_FILES = {"accounts/permissions.py"}
# restrict() and what is built on it to read rows: a look-up that 404s outside scope, the SQL form for raw queries.
READ_PATH_FUNCTIONS = {"restrict", "visible_sql", "visible_scope"}


def _product_modules(root: Path):
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] in EXEMPT_DIRS or "migrations" in relative.parts:
            continue
        if relative.name == "selectors.py" or relative.as_posix() in EXEMPT_FILES:
            continue
        yield path, relative


def _called_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def read_path_violations(root: Path = ROOT) -> list[str]:
    """``path:line name(`` for every call of a read-path function outside the selectors."""
    found = []
    for path, relative in _product_modules(root):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Call) and _called_name(node) in READ_PATH_FUNCTIONS:
                found.append((relative.as_posix(), node.lineno, _called_name(node)))
    return [f"{where}:{line} {name}(" for where, line, name in sorted(found)]


def test_restrict_is_called_from_selectors_only():
    violations = read_path_violations()
    assert not violations, ("reads scoped outside a selectors module (call a selector, or add one to the app's "
                            "selectors.py):\n" + "\n".join(violations))


def test_the_checker_sees_every_form_of_the_call(tmp_path):
    app = tmp_path / "catalog"
    (app / "api").mkdir(parents=True)
    (app / "api" / "views.py").write_text(
        "from accounts.permissions import restrict\n"
        "rows = restrict(Asset.objects.all(), user)\n"
        "mine = Asset.objects.restrict(user, 'change')\n"
        "sql, params = permissions.visible_sql(user, Asset)\n")
    (app / "selectors.py").write_text("rows = restrict(Asset.objects.all(), user)\n")
    (tmp_path / "accounts").mkdir()
    (tmp_path / "accounts" / "permissions.py").write_text("def has_perm(user, obj):\n    return restrict(q, user)\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("restrict(q, user)\n")
    # A variable that happens to be named restrict, passed along, is not a call.
    (app / "connector.py").write_text("restrict = ['a']\nwalk(schema, restrict)\n")
    assert read_path_violations(tmp_path) == ["catalog/api/views.py:2 restrict(", "catalog/api/views.py:3 restrict(",
                                              "catalog/api/views.py:4 visible_sql("]
