"""Map raw engine column types to a small set of families.

The families decide which classifications a column may hold at all: an integer column is never an email, a
binary column is never a person's name. The mapping covers PostgreSQL, MySQL/MariaDB and SQLite spellings
(SQLite through its type-affinity rules, so ``VARCHAR(20)``, ``NATIVE CHARACTER`` and ``STRING`` all read as
text).
"""
from __future__ import annotations

import re
from functools import lru_cache

TEXT = "text"
INTEGER = "integer"
DECIMAL = "decimal"
FLOAT = "float"
BOOLEAN = "boolean"
DATE = "date"
DATETIME = "datetime"
TIME = "time"
BINARY = "binary"
JSON = "json"
UUID = "uuid"
OTHER = "other"

FAMILIES = (TEXT, INTEGER, DECIMAL, FLOAT, BOOLEAN, DATE, DATETIME, TIME, BINARY, JSON, UUID, OTHER)

_ARRAY = re.compile(r"(\[\]|^_|\barray\b)")
_PARAMS = re.compile(r"\(.*?\)")

# Checked in order; the first family whose pattern matches the cleaned type wins.
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (OTHER, re.compile(r"(interval|point|polygon|geometry|geography|tsvector|tsquery|hstore|box|circle|line)")),
    (BOOLEAN, re.compile(r"^(bool|boolean|bit|tinyint\(1\))(\s+unsigned)?$")),
    (UUID, re.compile(r"^(uuid|uniqueidentifier)$")),
    (JSON, re.compile(r"^(json|jsonb)$")),
    (BINARY, re.compile(r"(blob|bytea|binary|varbinary|\bimage\b|\braw\b|bit varying|varbit|longvarbinary)")),
    (DATETIME, re.compile(r"(timestamp|datetime|smalldatetime|datetime2|datetimeoffset)")),
    (DATE, re.compile(r"^date$")),
    (TIME, re.compile(r"^(time|timetz|time with(out)? time zone)$")),
    (TEXT, re.compile(r"(char|text|clob|string|citext|\benum\b|\bset\b|^name$|^inet$|^cidr$|^macaddr8?$|^xml$"
                      r"|^nvarchar|^ntext)")),
    (INTEGER, re.compile(r"(int|serial|^integer$|^smallint$|^bigint$|^year$)")),
    (FLOAT, re.compile(r"(float|double|real|^binary_float|^binary_double)")),
    (DECIMAL, re.compile(r"(decimal|numeric|number|money|^dec$|^fixed$)")),
)


@lru_cache(maxsize=4096)
def type_family(raw: str | None) -> str:
    """Return the family (one of ``FAMILIES``) of a raw engine type such as ``character varying(255)``."""
    if not raw:
        return OTHER
    t = " ".join(str(raw).strip().lower().split())
    if t in ("tinyint(1)", "tinyint(1) unsigned", "bit(1)"):
        return BOOLEAN
    if t.startswith("bit(") or t.startswith("bit varying"):
        return BINARY
    if _ARRAY.search(t):
        return OTHER
    t = _PARAMS.sub("", t).strip()
    t = t.replace(" unsigned", "").replace(" zerofill", "").replace(" signed", "").strip()
    for family, pattern in _RULES:
        if pattern.search(t):
            return family
    return OTHER
