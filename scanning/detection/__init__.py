"""Racine's sensitive-data detection engine: a pure library (no Django, no database).

    from scanning.detection import detect_column, ColumnSample
    detect_column(ColumnSample("courriel", "clients", "varchar(255)", ["a@b.fr", None, ...]))
    # -> Detection(classification="PII.EMAIL", confidence=0.95, evidence={...masked examples...})

See ``engine`` for the rules that keep it precise, ``classifications`` for the built-in list and naming.
"""
from .classifications import BUILTIN_CLASSIFICATIONS, SENSITIVITIES, ClassificationSpec
from .engine import DEFAULT, ColumnSample, Detection, DetectionSettings, detect_column
from .masking import mask_value
from .names import tokenize
from .rules import CustomRule, preview_rule
from .types import FAMILIES, type_family
from .validators import VALIDATORS

__all__ = [
    "BUILTIN_CLASSIFICATIONS", "ClassificationSpec", "ColumnSample", "CustomRule", "DEFAULT", "Detection",
    "DetectionSettings", "FAMILIES", "SENSITIVITIES", "VALIDATORS", "detect_column", "mask_value", "preview_rule",
    "tokenize", "type_family",
]
