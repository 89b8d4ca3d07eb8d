"""What the catalog's JSON fields say, in words for a steward: an asset's properties and profile, a classification's
evidence, the before and after of a drift row. The scanners and the detection engine write these dicts for
machines; the admin pages show them through these functions and never as JSON.

Each function returns plain text or ``(label, text)`` pairs; templates escape them. A key no function knows yet
(a connector's new property) is still shown, under its own name made readable, so nothing is hidden.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# A connector's property names, as a steward reads them.
PROPERTY_LABELS = {
    "primary_key": "Primary key", "foreign_keys": "Foreign keys", "unique": "Unique", "auto_increment":
    "Auto-increment", "identity": "Identity", "generated": "Generated", "materialized": "Materialized",
    "view_definition": "Definition", "owner": "Owner", "engine": "Storage engine", "charset": "Character set",
    "collation": "Collation", "partition": "Partition", "partitioned": "Partitioned", "foreign": "Foreign table",
    "system_versioned": "System-versioned", "kind": "Kind", "language": "Language", "arguments": "Arguments",
    "returns": "Returns", "definition": "Definition", "definition_hidden": "Body hidden from the scanning account",
    "table": "On table", "timing": "Fires", "events": "On", "for_each": "For each", "function": "Runs",
}
# The asset fields a scan compares (catalog.bulk.SCANNED_FIELDS), for drift rows.
FIELD_LABELS = {
    "type": "Type", "data_type": "Data type", "is_nullable": "Nullable", "default": "Default",
    "source_description": "Comment in the source", "ordinal": "Position", "properties": "Properties",
}
# Long text shown as a block (a view's or a routine's SQL), not inline.
BLOCK_PROPERTIES = {"view_definition", "definition"}


def label_of(key: str, labels: Mapping[str, str] = PROPERTY_LABELS) -> str:
    return labels.get(key) or key.replace("_", " ").capitalize()


def value_text(value) -> str:
    """Any JSON value as a phrase: no braces, brackets or quotes."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Mapping):
        return "; ".join(f"{label_of(key).lower()}: {value_text(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return "; ".join(value_text(item) for item in value) if any(
            isinstance(item, list | tuple | Mapping) for item in value) else ", ".join(map(value_text, value))
    return str(value)


def foreign_key_text(foreign_key: Mapping) -> str:
    """``customer_id → crm.public.customers (id)``: what the scanners record of a foreign key."""
    referred = ".".join(str(part) for part in foreign_key.get("referred_path") or [])
    return (f"{value_text(foreign_key.get('columns'))} → {referred or '?'} "
            f"({value_text(foreign_key.get('referred_columns'))})")


def property_text(key: str, value) -> str:
    if key == "foreign_keys" and isinstance(value, list):
        return "; ".join(foreign_key_text(item) if isinstance(item, Mapping) else value_text(item)
                         for item in value) or "none"
    return value_text(value)


@dataclass(frozen=True)
class Fact:
    label: str
    text: str
    block: bool = False  # long text (SQL) shown on its own lines


def property_facts(properties: Mapping | None) -> list[Fact]:
    return [Fact(label_of(key), property_text(key, value), block=key in BLOCK_PROPERTIES and bool(value))
            for key, value in (properties or {}).items()]


def percent(share) -> str:
    return "—" if share is None else f"{float(share):.0%}"


# Why a profile is empty: profiling is a scan rule set's option, off by default (Scan now uses no rule set).
NOT_PROFILED = ("Not profiled: only a scan whose rule set has “Profiling enabled” records null ratio, distinct "
                "values and value lengths.")


def profile_facts(profile: Mapping | None) -> list[Fact]:
    """A column profile (scanning.profiling.profile_column) as rows; unknown measurements as they are named."""
    profile = dict(profile or {})
    if not profile:
        return []
    facts = []
    if "sampled" in profile:
        facts.append(Fact("Values sampled", value_text(profile.pop("sampled"))))
    if "null_ratio" in profile:
        facts.append(Fact("Empty (null)", percent(profile.pop("null_ratio"))))
    if "distinct_in_sample" in profile:
        facts.append(Fact("Distinct in the sample", value_text(profile.pop("distinct_in_sample"))))
    if "distinct_estimate" in profile:
        facts.append(Fact("Distinct in the column (estimate)", value_text(profile.pop("distinct_estimate"))))
    shortest, longest = profile.pop("min_length", None), profile.pop("max_length", None)
    if shortest is not None or longest is not None:
        facts.append(Fact("Value length", f"{value_text(shortest)} to {value_text(longest)} characters"))
    facts.extend(Fact(label_of(key), value_text(value)) for key, value in profile.items())
    return facts


def profile_summary(profile: Mapping | None) -> str:
    """One line for a column in a table's list: ``12% null · ~840 distinct · 3–40 characters``."""
    profile = profile or {}
    parts = []
    if profile.get("null_ratio") is not None:
        parts.append(f"{percent(profile['null_ratio'])} null")
    if profile.get("distinct_estimate") is not None:
        parts.append(f"~{value_text(profile['distinct_estimate'])} distinct")
    if profile.get("min_length") is not None and profile.get("max_length") is not None:
        parts.append(f"{profile['min_length']}–{profile['max_length']} characters")
    return " · ".join(parts)


# --- a classification's evidence (scanning.detection.engine.detect_column, catalog.services) --------------------

# Keys rendered by ``evidence_facts`` itself; any other key is listed under its own name.
_EVIDENCE_KEYS = {"match_share", "values_sampled", "non_null", "distinct", "type_family", "name_signal",
                  "validator", "masked_examples", "reasons", "custom_rule", "alternatives", "run", "resuggested",
                  "lineage"}


@dataclass(frozen=True)
class Evidence:
    """A classification's evidence as a steward reads it: sentences, the reasons the engine gave, masked
    examples and the runner-up."""

    facts: list[str]
    reasons: list[str]
    examples: list[str]
    alternatives: list[str]


def evidence_of(evidence: Mapping | None) -> Evidence:
    evidence = evidence or {}
    facts = []
    share, validator = evidence.get("match_share"), evidence.get("validator")
    if share is not None:
        check = f" the “{_check_words(validator)}” check" if validator else " the rule's value condition"
        facts.append(f"{percent(share)} of the non-empty sampled values passed{check}.")
    elif validator:
        facts.append(f"Values checked with “{_check_words(validator)}”.")
    if evidence.get("values_sampled") is not None:
        facts.append(f"{value_text(evidence['values_sampled'])} values sampled, "
                     f"{value_text(evidence.get('non_null'))} not empty, "
                     f"{value_text(evidence.get('distinct'))} distinct.")
    if evidence.get("name_signal"):
        facts.append(f"The column's name says “{evidence['name_signal']}”.")
    elif "name_signal" in evidence:
        facts.append("The column's name says nothing about it: found from the values alone.")
    if evidence.get("type_family"):
        facts.append(f"The column's type is {evidence['type_family']}.")
    if evidence.get("custom_rule"):
        facts.append("Found by a custom classification rule of the workspace.")
    if evidence.get("run"):
        facts.append(f"Last found by run #{evidence['run']}.")
    if isinstance(evidence.get("lineage"), Mapping):
        facts.extend(lineage_facts(evidence["lineage"]))
    if evidence.get("resuggested"):
        facts.append(f"Suggested again: {evidence['resuggested'].removeprefix('re-suggested: ')}.")
    facts.extend(f"{label_of(key)}: {value_text(value)}." for key, value in evidence.items()
                 if key not in _EVIDENCE_KEYS)
    alternatives = [f"{item.get('classification', '?')} ({percent(item.get('confidence'))})"
                    for item in evidence.get("alternatives") or [] if isinstance(item, Mapping)]
    reasons = [_CHECK_NAME.sub(lambda match: f"({_check_words(match.group(1))})", str(reason))
               for reason in evidence.get("reasons") or []]
    return Evidence(facts=facts, reasons=reasons,
                    examples=[str(example) for example in evidence.get("masked_examples") or [] if example],
                    alternatives=alternatives)


# A check's name in the detection engine (scanning.detection.validators) is an identifier (``word_text``,
# ``phone_formatted``); the evidence and the engine's reasons (``… plausible (word_text)``) show it in words.
_CHECK_NAME = re.compile(r"\(([a-z][a-z0-9]*(?:_[a-z0-9]+)+)\)")


def _check_words(name: str) -> str:
    return str(name).replace("_", " ")


# How a lineage origin's edge was read (catalog.models.LineageOrigin), as a phrase after "through".
ORIGIN_WORDS = {"view": "a view's definition", "sql": "submitted SQL", "procedure": "a stored procedure",
                "openlineage": "an OpenLineage event", "manual": "a steward's lineage"}


def lineage_facts(lineage: Mapping) -> list[str]:
    """A suggestion carried along lineage (catalog.propagation): where it comes from, whether it is decided there,
    and the path, hop by hop with how each copy was read."""
    origin, path = lineage.get("origin") or {}, [hop for hop in lineage.get("path") or [] if isinstance(hop, Mapping)]
    name = "a column you may not see" if origin.get("hidden") else origin.get("name") or "another column"
    if origin.get("status") == "confirmed":
        said = "where a steward confirmed it"
    else:
        said = (f"where a {origin.get('source') or 'scan'} suggests it ({percent(origin.get('confidence'))}) but "
                "no steward has confirmed it yet: decide that column too")
    hops = max(sum(hop.get("count", 1) if hop.get("node") == "hidden" else 1 for hop in path) - 1, 0)
    facts = [f"Copied without transformation from {name}, {said}."]
    if hops:
        steps = " → ".join(_hop_text(hop) for hop in path)
        facts.append(f"Lineage, {hops} {'hop' if hops == 1 else 'hops'}: {steps}.")
    return facts


def _hop_text(hop: Mapping) -> str:
    """``crm.main.v.email (through a view's definition)``; a dataset no scan has seen is said to be one."""
    if hop.get("node") == "hidden":  # catalog.propagation.evidences_seen_by: columns the reader may not see
        count = hop.get("count", 1)
        return f"{count} {'column' if count == 1 else 'columns'} you may not see"
    text = hop.get("name") or "?"
    if hop.get("node") == "external":
        text += " (not in the catalog)"
    if hop.get("via"):
        text += f" (through {' and '.join(ORIGIN_WORDS.get(via, via) for via in hop['via'])})"
    return text


# --- drift rows (scanning.models.AssetChange.changes: {field: [before, after]}) ----------------------------------


@dataclass(frozen=True)
class Difference:
    label: str
    before: str
    after: str


def differences(changes: Mapping | None) -> list[Difference]:
    """A changed asset's fields, before and after; a change of properties is shown one property at a time."""
    rows = []
    for field, pair in (changes or {}).items():
        before, after = pair if isinstance(pair, list | tuple) and len(pair) == 2 else (None, pair)
        if field == "properties" and isinstance(before or {}, Mapping) and isinstance(after or {}, Mapping):
            rows.extend(_property_differences(before or {}, after or {}))
        else:
            rows.append(Difference(label_of(field, FIELD_LABELS), value_text(before), value_text(after)))
    return rows


def _property_differences(before: Mapping, after: Mapping) -> Iterable[Difference]:
    for key in [*before, *(key for key in after if key not in before)]:
        if before.get(key) != after.get(key):
            yield Difference(label_of(key), property_text(key, before.get(key)), property_text(key, after.get(key)))
