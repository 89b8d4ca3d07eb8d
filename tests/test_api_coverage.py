"""Guard: every endpoint of the API router has a permission matrix, or the build is red.

The matrices are found by importing every ``tests/**/test_*.py`` module and collecting the subclasses of
``PermissionMatrix``; a new viewset registered without one fails here, naming its basename.
"""
import importlib.util
from pathlib import Path

from config.api_router import router
from tests.support.permission_matrix import PermissionMatrix, required_columns
from tests.support.personas import PERSONAS

TESTS_DIR = Path(__file__).resolve().parent


def _import_test_modules() -> None:
    for path in sorted(TESTS_DIR.rglob("test_*.py")):
        if path == Path(__file__).resolve():
            continue
        relative = path.relative_to(TESTS_DIR.parent).with_suffix("")
        name = ".".join(relative.parts)
        try:
            importlib.import_module(name)
        except ImportError:
            spec = importlib.util.spec_from_file_location(f"_matrix_guard.{name}", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)


def _matrices() -> dict[str, list[type]]:
    _import_test_modules()
    found: dict[str, list[type]] = {}
    pending = list(PermissionMatrix.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.basename:
            found.setdefault(cls.basename, []).append(cls)
    return found


def test_every_router_basename_has_a_permission_matrix():
    matrices = _matrices()
    missing = sorted(basename for _prefix, _viewset, basename in router.registry if basename not in matrices)
    assert not missing, f"API endpoints without a permission matrix (tests/support/permission_matrix.py): {missing}"


def test_every_matrix_covers_all_personas_and_routes():
    problems = []
    for _prefix, viewset, basename in router.registry:
        for matrix in _matrices().get(basename, []):
            missing_personas = set(PERSONAS) - set(matrix.expected)
            if missing_personas:
                problems.append(f"{matrix.__name__}: personas {sorted(missing_personas)}")
            needed = required_columns(viewset)
            for persona, row in matrix.expected.items():
                if not needed <= set(row):
                    problems.append(f"{matrix.__name__} {persona}: columns {sorted(needed - set(row))}")
    assert not problems, "\n".join(problems)
