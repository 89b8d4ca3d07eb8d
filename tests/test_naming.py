"""One spelling for data sources' functions (docs/architecture.md, "Style notes"): ``datasource_*``, as its audit
events, API basename and permission codenames spell it; ``data_source`` is the relation and the argument."""
import ast
from pathlib import Path

from tests.test_layers import PACKAGES, ROOT


def _functions_named_data_source(root: Path) -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("data_source_"):
                    found.append(f"{path.relative_to(root)}:{node.lineno} {node.name}")
    return found


def test_data_source_functions_are_spelled_datasource():
    found = _functions_named_data_source(ROOT)
    assert not found, "spell these datasource_*:\n" + "\n".join(found)


def test_the_check_sees_a_data_source_function(tmp_path):
    (tmp_path / "sources").mkdir()
    (tmp_path / "sources" / "services.py").write_text("def datasource_create():\n    pass\n\n\n"
                                                      "def data_source_delete():\n    pass\n")
    assert _functions_named_data_source(tmp_path) == ["sources/services.py:5 data_source_delete"]
