"""Column classification: combine name signals, the type family and validated value matches into one answer.

Precision first. The rules that keep false positives out:

* a column's type family decides which classifications are possible at all (integers are never emails,
  binary, boolean, JSON and UUID columns are never classified by the built-ins);
* a name signal and a value signal combine, and neither is required: a name confirmed by its values scores
  highest, values strong enough alone come next (a weak name that agrees with them adds to them), a strong name
  on an all-null sample gives a low-confidence suggestion (evidence ``name_only``: the catalog counts it as
  internal at most) unless a word after the matched phrase says the column is about something else
  (``…_count``, ``…_type``, ``…_id``, ``…_approval_code``: ``names.NAME_ONLY_VETO``);
* a name signal must be *confirmed* by the sampled values when there are any: values that do not match
  contradict the name and nothing is suggested for it (``phone`` holding ``"n/a"``, integer ``email_verified``).
  One exception keeps test and synthetic data from hiding a column: under a *strong* name, values that keep the
  class's shape but fail its real check (``Recognizer.test_data``: e-mails without a dotted domain or without a
  domain, card numbers failing Luhn or outside every issuer's range, unissued SSNs, unassigned phone numbers)
  still suggest the class, at lower confidence, with evidence ``test_data`` and the reason — provided they vary
  (five distinct values at least), are not placeholders (``n/a``, ``none``, ``TBD``) and the table is not one the
  class vetoes (a ``card_number`` in ``gift_cards``);
* names are read as words: glued names are split (``shiptocountrycode``), a person's role names a person
  (``consignee_name``; ``approver`` alone only when it holds full names), a bare ``name`` is read by the table's
  head noun (``suppliers.name`` a company, ``nation.name`` a country, ``positions.name`` a job title,
  ``customers.name`` a person), and for classes whose values cannot contradict a name (cities, job titles),
  ``…_type``, ``…_count`` or ``…_category`` after the phrase stops it (``job_type``);
* without a name signal only classifications whose validator is strong enough (check digits, vendor prefixes,
  unambiguous shapes) may be suggested, and only when most of the values match (``min_match_share``); values
  that are ambiguous on their own (bare hex digests) need an opaque column name *and* a table that settles
  them (``TableContext``: sha-256 digests in ``legacy_users.c7`` are password hashes, in ``documents.c3`` not);
* a vetoing token (``order``, ``invoice``, ``version``, …) stops a value-only suggestion: a Luhn-valid
  ``order_number`` is not a payment card, ``1.2.3.4`` in ``version`` is not an IP address.

Validators only run on distinct values, behind precompiled shape patterns, and stop as soon as the match share
can no longer reach the threshold.
"""
from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cached_property, lru_cache, partial

from . import types as tf
from . import validators as v
from .classifications import GLUED_NAMES, ID_VETO, RECOGNIZERS, Recognizer
from .masking import mask_value
from .names import (
    NAME_ONLY_VETO,
    PERSON_TABLES,
    TRAILING_VETO,
    PhraseMatcher,
    head_noun,
    is_bare_name,
    is_opaque_name,
    person_role,
    tokenize,
)
from .rules import CustomRule, evaluate_rule

_BINARY_TYPES = (bytes, bytearray, memoryview)
_NEVER_CLASSIFIED = frozenset({tf.BINARY, tf.BOOLEAN, tf.JSON, tf.UUID, tf.TIME})
_JUDGED = frozenset({tf.TEXT, tf.OTHER, tf.DATE, tf.DATETIME})  # value judges read words and dates, not numbers
_VALUE_ONLY_VETO = PhraseMatcher(ID_VETO.split())
# A bare generic word ("name", "nom", …) names a person only in a table of people.
_BARE_NAMES = {"name": "PII.PERSON_NAME", "nom": "PII.LAST_NAME", "nombre": "PII.FIRST_NAME",
               "nome": "PII.FIRST_NAME", "naam": "PII.PERSON_NAME", "display name": "PII.PERSON_NAME"}
_PROBE = 5
# Classes a bare "name" column holds by its table's noun, people last (a table of suppliers' contacts holds people,
# "customers.name" a person; "suppliers.name" a company).
_NAMED_BY_TABLE = tuple(r for r in RECOGNIZERS if r.name_tables.phrases and r.name != "PII.PERSON_NAME")


@dataclass(frozen=True)
class ColumnSample:
    column_name: str
    table_name: str
    data_type: str  # raw engine type: "character varying(255)", "int(11)", "BLOB", "bytea"
    values: Sequence[object]  # sampled values including None


@dataclass(frozen=True)
class Detection:
    classification: str
    confidence: float
    evidence: dict  # JSON-serialisable; masked examples only


@dataclass(frozen=True)
class DetectionSettings:
    """Thresholds. Defaults favour precision; a scan rule set may loosen them."""

    min_confidence: float = 0.5
    min_match_share: float = 0.8  # value-only suggestions: share of non-null values confirmed by the validator
    min_match_share_with_name: float = 0.6  # a name signal still needs this share of confirming values
    min_plausible_share: float = 0.7  # name-driven classes (first name, city): share of plausible values
    allow_name_only: bool = True  # suggest from a strong name when every sampled value is null
    name_only_confidence: float = 0.6
    allow_value_only: bool = True
    max_value_length: int = 512  # longer values are never pattern-checked (and count as non-matching)
    phone_regions: tuple[str, ...] = v.PHONE_REGIONS
    disabled: frozenset[str] = frozenset()  # classification names never suggested
    custom_rules_take_precedence: bool = True


DEFAULT = DetectionSettings()


@lru_cache(maxsize=32)
def _validators(phone_regions: tuple[str, ...]) -> dict:
    table = dict(v.VALIDATORS)
    if phone_regions != v.PHONE_REGIONS:
        table["phone"] = partial(v.is_phone, regions=phone_regions)
        table["phone_formatted"] = partial(v.is_phone_formatted, regions=phone_regions)
    table["us_ssn_formatted"] = v.is_us_ssn_formatted
    return table


class _Column:
    """Prepared sample: distinct normalised values with counts, and a per-validator result cache."""

    __slots__ = ("non_null", "items", "family", "cache", "validators", "max_len", "raw_types")

    def __init__(self, sample: ColumnSample, settings: DetectionSettings):
        counts: dict[str, int] = {}
        non_null = binary = booleans = 0
        kinds: set[type] = set()
        for value in sample.values:
            if value is None:
                continue
            kind = type(value)
            if kind is str:
                text = value.strip()
                if not text:
                    continue
            elif kind is bool:
                booleans += 1
                non_null += 1
                continue
            elif isinstance(value, _BINARY_TYPES):
                binary += 1
                non_null += 1
                continue
            elif isinstance(value, (datetime, date, time)):
                text = value.isoformat()
            else:
                text = str(value).strip()
            kinds.add(kind)
            non_null += 1
            counts[text] = counts.get(text, 0) + 1
        self.non_null = non_null
        self.items = list(counts.items())
        self.family = self._family(tf.type_family(sample.data_type), kinds, binary, booleans, non_null)
        self.cache: dict[str, dict[str, bool]] = {}
        self.validators = _validators(tuple(settings.phone_regions))
        self.max_len = settings.max_value_length

    @staticmethod
    def _family(declared: str, kinds: set[type], binary: int, booleans: int, non_null: int) -> str:
        if declared in _NEVER_CLASSIFIED:
            return declared
        if binary and binary * 2 >= non_null:
            return tf.BINARY
        if booleans and booleans * 2 >= non_null:
            return tf.BOOLEAN
        if kinds and kinds <= {int}:  # SQLite and "other" columns: the values' own type decides
            return tf.INTEGER if declared in (tf.TEXT, tf.OTHER, tf.INTEGER) else declared
        if declared == tf.OTHER and kinds:
            if kinds <= {float}:
                return tf.FLOAT
            if kinds <= {datetime}:
                return tf.DATETIME
            if kinds <= {date}:
                return tf.DATE
            if kinds <= {str}:
                return tf.TEXT
        return declared

    def check(self, key: str, text: str) -> bool:
        results = self.cache.get(key)
        if results is None:
            results = self.cache[key] = {}
        ok = results.get(text)
        if ok is None:
            ok = len(text) <= self.max_len and bool(self.validators[key](text))
            results[text] = ok
        return ok

    def probe(self, key: str) -> bool:
        """Cheap look at the first distinct values: is a full measurement worth it?"""
        head = self.items[:_PROBE]
        hits = sum(1 for text, _ in head if self.check(key, text))
        return hits * 2 >= len(head)

    def share(self, key: str, need: float) -> tuple[float, list[str]]:
        """Share of non-null values accepted by validator ``key``; stops early (returns < need) when hopeless."""
        allowed_failures = self.non_null * (1.0 - need)
        matched = failed = 0
        examples: list[str] = []
        for text, count in self.items:
            if self.check(key, text):
                matched += count
                if len(examples) < 3:
                    examples.append(text)
            else:
                failed += count
                if failed > allowed_failures:
                    return matched / self.non_null if self.non_null else 0.0, examples
        return matched / self.non_null if self.non_null else 0.0, examples

    def matched_texts(self, key: str) -> list[str]:
        return [text for text, _ in self.items if self.check(key, text)]


@dataclass
class _Candidate:
    name: str
    confidence: float
    share: float | None
    name_signal: str | None
    validator: str | None
    examples: list[str]
    reasons: list[str] = field(default_factory=list)
    custom: bool = False
    flags: dict = field(default_factory=dict)  # added to the evidence: {"name_only": True}, {"test_data": True}


@dataclass
class _Names:
    """What the column's and the table's names say, read once per column."""

    tokens: tuple[str, ...]
    table_name: str
    table_tokens: tuple[str, ...]
    head: tuple[str, ...]  # the table's head noun
    bare_target: str | None  # the class a bare "name" column holds in this table, if any

    @classmethod
    def read(cls, column_name: str, table_name: str) -> _Names:
        tokens = GLUED_NAMES.tokens(tokenize(column_name))
        table_tokens = tokenize(table_name)
        head = head_noun(table_tokens)
        target = None
        if is_bare_name(tokens, table_tokens):
            # The table's head noun first: "supplier_contacts.name" is a person, "customer_companies.name" not.
            target = next((r.name for r in _NAMED_BY_TABLE if r.name_tables.any_token(head)), None)
            if target is None and PERSON_TABLES.any_token(table_tokens):
                target = "PII.PERSON_NAME"
        return cls(tokens, table_name, table_tokens, head, target)

    @cached_property
    def about_a_class(self) -> bool:
        """The name says the column is *about* some class, not that class: its strong phrase with a word its
        vetoes or ``TRAILING_VETO`` name ("email_domain", "phone_model", "supplier_category"). Values that only a
        distribution can judge (names, handles, companies) then do not speak alone: "smith.com" under
        ``email_domain`` is a domain, not a login."""
        for r in RECOGNIZERS:
            found = r.names.locate(self.tokens)
            if found is None:
                continue
            phrase, _, end = found
            rest = tuple(t for t in self.tokens if t not in set(phrase.split()))
            if (rest and r.veto.vocabulary and r.veto.any_token(rest)) or TRAILING_VETO.intersection(self.tokens[end:]):
                return True
        return False


@dataclass(frozen=True)
class _Signal:
    phrase: str
    strong: bool
    trailing: tuple[str, ...] = ()  # the column-name tokens after the phrase ("approval", "code")
    full_names: bool = False  # named by a person's role only: full names confirm it, single words do not
    by_table: bool = False  # a bare "name" read through its table


def _name_signal(r: Recognizer, n: _Names) -> _Signal | None:
    """The column name's signal for ``r``, or None. Vetoed names give no signal."""
    found = r.names.locate(n.tokens)
    strong = found is not None
    if found is None:
        found = r.weak_names.locate(n.tokens)
    if found is None:
        if n.bare_target == r.name:
            return _Signal("name", False, by_table=True)
        role = person_role(n.tokens) if r.name == "PII.PERSON_NAME" else None
        return _Signal(role, False, full_names=True) if role else None
    phrase, _, end = found
    if r.veto.vocabulary:
        phrase_tokens = set(phrase.split())
        rest = tuple(t for t in n.tokens if t not in phrase_tokens)
        if rest and r.veto.any_token(rest):
            return None
    trailing = n.tokens[end:]
    if r.kind == "plausible" and TRAILING_VETO.intersection(trailing):
        return None  # "job_type", "city_category": about the thing, and values cannot say otherwise
    if phrase in _BARE_NAMES:
        # "name", "nom": only a bare column, in a table whose rows are people ("users.name", "customers.nom").
        if n.bare_target is not None:
            return _Signal(phrase, False, by_table=True) if n.bare_target == r.name else None
        if not PERSON_TABLES.any_token(n.table_tokens):
            return None
        if len(n.tokens) > 1 and not (len(n.tokens) == 2 and n.tokens[0] in n.table_tokens):
            return None
    elif not strong and r.needs_person_table:
        # "title", "position": a job title in a table of people or of jobs ("employee.title", "positions.title").
        if not (PERSON_TABLES.any_token(n.table_tokens) or r.name_tables.any_token(n.head)):
            return None
        if len(n.tokens) > 1 and not (len(n.tokens) == 2 and n.tokens[0] in n.table_tokens):
            return None
    return _Signal(phrase, strong, trailing)


def _evaluate(r: Recognizer, col: _Column, n: _Names, s: DetectionSettings) -> _Candidate | None:
    signal = _name_signal(r, n)
    if col.non_null == 0:
        return _by_name_only(r, signal, s)
    if signal:
        need = s.min_plausible_share if r.kind == "plausible" else s.min_match_share_with_name
        share, examples = col.share(r.validator, need)
        if share >= need and _plausible_column(r, col, signal):
            if r.kind == "plausible":
                confidence = (0.6 + 0.3 * share) if signal.strong else (0.5 + 0.15 * share)
            else:
                confidence = (0.8 + 0.15 * share) if signal.strong else (0.65 + 0.2 * share)
            reasons = [_said_by(signal),
                       f"{share:.0%} of values {'plausible' if r.kind == 'plausible' else 'valid'} ({r.validator})"]
            if not signal.strong and _by_values(r, col, s, n.table_tokens) is not None:
                # A weak name ("national id") fits several classes: the one whose values need no name wins.
                confidence += 0.1
                reasons.append(f"values alone would show it ({r.value_only})")
            return _Candidate(r.name, confidence, share, signal.phrase, r.validator, examples, reasons)
        if signal.strong and r.test_data is not None:
            found = _by_test_data(r, col, signal, n, s)
            if found is not None:
                return found
        # The values contradict the name; fall through: the values may still speak for themselves.
    if not s.allow_value_only or _VALUE_ONLY_VETO.any_token(n.tokens):
        return None
    if r.kind == "plausible" and n.about_a_class:
        return None
    return _by_values(r, col, s, n.table_tokens) or _by_table_context(r, col, n, s)


def _said_by(signal: _Signal) -> str:
    if signal.by_table:
        return f"bare column name '{signal.phrase}' read by its table"
    if signal.full_names:
        return f"column named by a person's role '{signal.phrase}', holding full names"
    return f"column name '{signal.phrase}'" + ("" if signal.strong else " (weak)")


def _by_name_only(r: Recognizer, signal: _Signal | None, s: DetectionSettings) -> _Candidate | None:
    """Every sampled value is null: a strong name may still suggest the class, at low confidence, and the
    catalog does not let such a suggestion raise the column's sensitivity above internal (``name_only``)."""
    if signal is None or not signal.strong or not s.allow_name_only or NAME_ONLY_VETO.intersection(signal.trailing):
        return None
    return _Candidate(r.name, s.name_only_confidence, None, signal.phrase, None, [],
                      [f"column name '{signal.phrase}'", "no non-null sampled values to confirm it",
                       "suggested from the name alone: counts as internal at most until a steward confirms it"],
                      flags={"name_only": True})


def _by_test_data(r: Recognizer, col: _Column, signal: _Signal, n: _Names,
                  s: DetectionSettings) -> _Candidate | None:
    """A strong name whose values keep the class's shape but fail its real check — fictitious, test or exported
    data (555 numbers, hand-typed test cards, ``ann@localhost``): still the class, at lower confidence. Values
    must vary (at least five distinct ones, or all of a smaller sample): a handful of repeated words is a
    placeholder, not data. The class's vetoes apply to the table too: a Luhn-failing ``card_number`` of
    ``gift_cards`` is a gift card, one in ``orders`` as likely an order reference."""
    if r.veto.any_token(n.table_tokens):
        return None
    need = s.min_match_share_with_name
    share, examples = col.share(r.test_data, need)
    if share < need or len(col.matched_texts(r.test_data)) < min(5, col.non_null):
        return None
    # Below a confirmed name (0.8 and up), above the value-only guesses of distribution-judged classes (a local
    # part also looks like a login: under "email" it is an address without its domain).
    return _Candidate(r.name, 0.6 + 0.15 * share, share, signal.phrase, r.test_data, examples,
                      [f"column name '{signal.phrase}'", f"{share:.0%} of values are {r.test_data_reason}",
                       "lower confidence: the values look like test or synthetic data"],
                      flags={"test_data": True})


def _by_values(r: Recognizer, col: _Column, s: DetectionSettings, table_tokens=()) -> _Candidate | None:
    """Values strong enough to decide without any name."""
    if r.value_judge is not None and col.family in _JUDGED:
        verdict = r.value_judge(col.items, col.non_null, table_tokens)
        if verdict is not None:
            return _Candidate(r.name, verdict.confidence, verdict.share, None, r.value_judge.__name__,
                              list(verdict.examples), list(verdict.reasons))
    if r.value_only is None:
        return None
    if r.column_precheck is not None and not r.column_precheck(col.items):
        return None
    return _without_name(r, col, r.value_only, max(s.min_match_share, r.value_only_min_share),
                         r.value_only_min_distinct, r.column_check, r.value_only_strength, ["no column-name signal"])


def _by_table_context(r: Recognizer, col: _Column, n: _Names, s: DetectionSettings) -> _Candidate | None:
    """Ambiguous values settled by the table, when the column name is opaque (see ``TableContext``)."""
    context = r.table_context
    # The table's head noun: "legacy_users" and "users_old" hold users, "user_preferences" holds preferences.
    if context is None or not is_opaque_name(n.tokens) or not context.tables.any_token(n.head):
        return None
    return _without_name(r, col, context.validator, max(s.min_match_share, context.min_share), context.min_distinct,
                         context.column_check, context.strength,
                         ["column name says nothing", f"table '{n.table_name}' holds people or accounts"])


def _without_name(r: Recognizer, col: _Column, key: str, need: float, min_distinct: int, column_check,
                  strength: float, reasons: list[str]) -> _Candidate | None:
    """A candidate when at least ``need`` of the values pass ``key`` and the matches look like a column; its
    confidence is ``strength`` at a share of 1.0."""
    if not col.probe(key):
        return None
    share, examples = col.share(key, need)
    if share < need:
        return None
    matched = col.matched_texts(key)
    if len(matched) < min_distinct or (column_check is not None and not column_check(matched)):
        return None
    return _Candidate(r.name, strength - 0.15 * (1.0 - share), share, None, key, examples,
                      [f"{share:.0%} of values valid ({key})", *reasons])


def _plausible_column(r: Recognizer, col: _Column, signal: _Signal) -> bool:
    """Whole-column sanity for name-driven classes, where one value at a time says too little."""
    if r.name == "PII.STREET_ADDRESS":
        return _share_where(col, lambda t: any(ch.isdigit() for ch in t)) >= 0.5
    if r.name == "CREDENTIALS.PASSWORD":
        return not any(v.is_password_hash(t) for t, _ in col.items[:_PROBE])
    if signal.full_names:
        # "approver", "account_manager": a person when the values are full names, else logins or codes; and not
        # when they name the role itself ("Loan Officer", "Senior Officer": kinds of officer, not people).
        role = signal.phrase.split()[-1]
        return len(col.items) >= 3 and _share_where(col, lambda t: " " in t and role not in t.lower()) >= 0.6
    if signal.by_table and r.name == "PII.JOB_TITLE":
        # A "roles" table of an application holds "admin", "read_only", "ROLE_USER"; job titles are written for
        # people to read ("Sales Manager", "Nurse").
        return _share_where(col, lambda t: "_" not in t and (" " in t or t[:1].isupper())) >= 0.6
    return True


def _share_where(col: _Column, test) -> float:
    return sum(c for t, c in col.items if test(t)) / col.non_null if col.non_null else 0.0


def _refine_bare_name(best: _Candidate, col: _Column) -> _Candidate:
    target = _BARE_NAMES.get(best.name_signal or "")
    if best.name != "PII.PERSON_NAME" or target is None or target == "PII.PERSON_NAME":
        return best
    words = sum(len(t.split()) * c for t, c in col.items) / max(col.non_null, 1)
    if words < 1.5:
        best.name = target
        best.reasons.append("single-word values")
    return best


def detect_column(
    sample: ColumnSample,
    *,
    settings: DetectionSettings = DEFAULT,
    custom_rules: Sequence[CustomRule] = (),
    exclude: Collection[str] = (),
) -> Detection | None:
    """The single best classification for a column, or None.

    ``exclude`` lists classifications a steward already rejected for this column: they are skipped and the next
    best one (if any) is returned. Custom rules are evaluated with the built-ins; when
    ``settings.custom_rules_take_precedence`` (default) a matching custom rule wins over any built-in, otherwise
    all candidates compete on confidence (custom rules win ties).
    """
    col = _Column(sample, settings)
    names = _Names.read(sample.column_name, sample.table_name)

    candidates: list[_Candidate] = []
    for rule in custom_rules:
        if rule.name in exclude or rule.name in settings.disabled:
            continue
        found = evaluate_rule(rule, sample.column_name, col.non_null, col.items)
        if found is not None:
            share, examples, reasons = found
            confidence = rule.confidence - (0.1 * (1.0 - share) if share is not None else 0.0)
            candidates.append(_Candidate(rule.name, confidence, share, None, rule.validator, examples, reasons,
                                         custom=True))
    custom_won = bool(candidates) and settings.custom_rules_take_precedence
    if not custom_won and col.family not in _NEVER_CLASSIFIED:
        for r in RECOGNIZERS:
            if col.family not in r.families or r.name in exclude or r.name in settings.disabled:
                continue
            found = _evaluate(r, col, names, settings)
            if found is not None:
                candidates.append(found)
    candidates = [c for c in candidates if c.confidence >= settings.min_confidence]
    if not candidates:
        return None
    ranked = sorted(candidates, key=lambda c: -(c.confidence + (0.001 if c.custom else 0.0)))
    # Refinement can turn a candidate into a classification the steward rejected: then the next one answers.
    refined = (_refine_bare_name(c, col) for c in ranked)
    best = next((c for c in refined if c.name not in exclude), None)
    if best is None:
        return None
    runner_up = sorted((c for c in candidates if c is not best), key=lambda c: -c.confidence)[:1]
    evidence = {
        "match_share": None if best.share is None else round(best.share, 4),
        "values_sampled": len(sample.values),
        "non_null": col.non_null,
        "distinct": len(col.items),
        "type_family": col.family,
        "name_signal": best.name_signal,
        "validator": best.validator,
        "masked_examples": [mask_value(e, best.name) for e in best.examples[:3]],
        "reasons": best.reasons,
        "custom_rule": best.custom,
        "alternatives": [{"classification": c.name, "confidence": round(c.confidence, 3)} for c in runner_up],
        **best.flags,
    }
    return Detection(best.name, round(min(best.confidence, 0.99), 3), evidence)
