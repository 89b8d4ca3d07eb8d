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

# Raise it when a release changes what the engine concludes from the same sample (new recognizers, other
# thresholds): the next scan then reads every table again instead of only the changed ones
# (``scanning.services.detection.tables_to_sample``).
ENGINE_REVISION = 4

__all__ = [
    "BUILTIN_CLASSIFICATIONS", "ClassificationSpec", "ColumnSample", "CustomRule", "DEFAULT", "Detection",
    "ENGINE_REVISION",
    "DetectionSettings", "FAMILIES", "SENSITIVITIES", "VALIDATORS", "detect_column", "mask_value", "preview_rule",
    "tokenize", "type_family",
]
