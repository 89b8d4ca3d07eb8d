"""Value-only recognizers for places: countries, cities, postal codes and street addresses.

Each judge reads a whole column (its distinct values with counts) and answers with a ``Verdict`` or None. One
value says little ("Paris" is also a first name, "12345" also a store number), so each judge asks for a share of
fitting values *and* for evidence that the column as a whole is a list of places:

* countries: names in any pycountry language or ISO codes, not better read as language, currency or US-state
  codes, nor as continents;
* cities: known GeoNames places (any language) or names built like places (``Lake …``, ``…ville``), with enough
  distinct values, and not mostly countries;
* postal codes: the country patterns of Google's address data; bare digits only in a table of people or
  addresses, spread over the code space as real codes are (sequential numbers are ids);
* street addresses: a house number and a street-type word in one of several languages, in the order addresses
  use, with many different street names; English number-first addresses confirmed by usaddress's CRF parser.

The reference data is loaded on first use (``reference.places``).
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from .names import PERSON_TABLES, PhraseMatcher
from .reference import places as ref

Items = Sequence[tuple[str, int]]


@dataclass(frozen=True)
class Verdict:
    """A value-only judgement of a column: share of fitting values, confidence, examples and reasons."""

    share: float
    confidence: float
    examples: tuple[str, ...]
    reasons: tuple[str, ...]


# Tables that hold addresses even when they are not about people.
ADDRESS_TABLES = PhraseMatcher("""
address addresses adresse adressen anschrift direccion direcciones indirizzo indirizzi adres location locations
domicile residence shipping delivery billing
""".split())


def about_people_or_addresses(table_tokens: tuple[str, ...]) -> bool:
    return PERSON_TABLES.any_token(table_tokens) or ADDRESS_TABLES.any_token(table_tokens)


def _examples(items: Items, fits) -> tuple[str, ...]:
    return tuple(text for text, _ in items if fits(text))[:3]


# --- countries ---------------------------------------------------------------------------------------------

_CODE = re.compile(r"[A-Za-z]{2,3}")


def country_column(items: Items, non_null: int, table_tokens: tuple[str, ...]) -> Verdict | None:
    if len(items) < 3 or not non_null:
        return None
    alpha2, alpha3 = ref.country_codes()
    languages, currencies = ref.other_codes()
    continents = ref.continents()
    named = coded = language = currency = region = lower = 0
    two_letter: list[tuple[str, int]] = []
    for text, count in items:
        if _CODE.fullmatch(text):
            code = text.upper()
            if code in alpha2 or code in alpha3:
                coded += count
                lower += count if text.islower() else 0
            language += count if code in languages else 0
            currency += count if code in currencies else 0
            if len(code) == 2:
                two_letter.append((code, count))
        elif ref.country_of_name(text):
            named += count
        elif ref.norm(text) in continents:
            region += count
    share = (named + coded) / non_null
    if share < 0.8 or region:
        return None
    if coded > named:
        # Codes: two-letter lower case codes are languages, three-letter ones may be currencies, and a column of
        # US (or other) subdivision codes fits the country list by chance more often than not.
        if len(items) < 4 or language >= coded or currency >= 0.5 * coded or lower > 0.5 * coded:
            return None
        _, by_country = ref.subdivisions()
        for codes in by_country.values():
            if len(codes) >= 10 and sum(c for code, c in two_letter if code in codes) >= coded:
                return None
        kind, confidence = "ISO country codes", 0.55 + 0.25 * share
    else:
        kind, confidence = "country names (pycountry, any language)", 0.6 + 0.25 * share
    examples = _examples(items, lambda t: ref.country_of_name(t) or t.upper() in alpha2 | alpha3)
    return Verdict(share, confidence, examples, (f"{share:.0%} of values are {kind}", "no column-name signal"))


# --- cities ------------------------------------------------------------------------------------------------

_CITY_MIN_DISTINCT = 8


def city_column(items: Items, non_null: int, table_tokens: tuple[str, ...]) -> Verdict | None:
    """Known places and place-shaped names. Major places (or place-shaped names) must outweigh minor ones, which
    a column of English surnames also matches (most are the name of some small town); and without big cities the
    suggestion stays weak, so that a recognizer of person names, when it is sure, outranks it. A handful of
    distinct values says too little ("Arthur", "Ashley", "Michelle" are towns and first names)."""
    if len(items) < _CITY_MIN_DISTINCT or not non_null:
        return None
    subdivision_names, _ = ref.subdivisions()
    continents = ref.continents()
    toponymy = ref.toponymy()
    big = major = minor = shaped = country = region = words = misses = 0
    for text, count in items:
        key = "" if len(text) > 60 or any(ch.isdigit() or ch in "@/:" for ch in text) else ref.norm(text)
        if not key:
            misses += count
            if misses > 0.2 * non_null:
                return None
            continue
        words += count * len(key.split())
        if key in continents:
            region += count
            continue
        is_country = ref.country_of_name(text) is not None
        country += count if is_country else 0
        tier = ref.place_tier(text)
        if tier >= 2:
            major += count
            big += count if tier == 3 else 0
        elif key in subdivision_names:
            region += count  # a province or state that is not also a city
        elif toponymy.shaped(key):
            shaped += count
        elif tier == 1:
            minor += count
        elif not is_country:
            misses += count
            if misses > 0.2 * non_null:
                return None
    # Mostly countries, or many states, provinces and continents: a column of regions, not of cities.
    if country * 2 >= non_null or region * 3 >= non_null or words > 3 * non_null:
        return None
    share = (major + minor + shaped + region) / non_null
    if share < 0.8 or major + shaped < minor:
        return None
    reasons = (f"{major / non_null:.0%} of values are places of 15,000 or more (GeoNames, any language),"
               f" {big / non_null:.0%} of 100,000 or more, {minor / non_null:.0%} smaller ones",
               f"{shaped / non_null:.0%} are built like place names", "no column-name signal")
    confidence = 0.5 + 0.15 * (major + minor) / non_null + 0.25 * big / non_null + 0.05 * shaped / non_null
    return Verdict(share, confidence, _examples(items, lambda t: ref.place_tier(t) > 0), reasons)


# --- postal codes ------------------------------------------------------------------------------------------

@lru_cache(maxsize=8192)
def _postal_fit(text: str) -> tuple[bool, bool]:
    """(fits some country's pattern, is shaped: letters or separators, not bare digits)."""
    fits = len(text) <= 12 and any(ch.isdigit() for ch in text) and ref.postal_pattern().fullmatch(text) is not None
    return fits, fits and not text.isdigit()


def _spread_like_codes(items: Items) -> bool:
    """Bare-digit codes of one length spread over their space (several leading digits, wide range), unlike
    sequential ids or a handful of repeated numbers."""
    lengths = {len(t) for t, _ in items}
    if len(lengths) != 1 or not 4 <= (width := lengths.pop()) <= 6:
        return False
    numbers = sorted(int(t) for t, _ in items)
    leading = {t[0] for t, _ in items}
    return (len(items) >= 10 and len(leading) >= 4 and numbers[-1] - numbers[0] >= 0.3 * 10 ** width)


def postal_column(items: Items, non_null: int, table_tokens: tuple[str, ...]) -> Verdict | None:
    if len(items) < 5 or not non_null:
        return None
    fits = shaped = misses = 0
    for text, count in items:
        fit, with_shape = _postal_fit(text)
        if not fit:
            misses += count
            if misses > 0.1 * non_null:
                return None
        fits += count if fit else 0
        shaped += count if with_shape else 0
    share = fits / non_null
    if share < 0.9:
        return None
    if shaped >= 0.25 * non_null:
        reasons = (f"{share:.0%} of values fit a country's postal-code pattern",
                   f"{shaped / non_null:.0%} with the letters or separators of a postal code")
        confidence = 0.6 + 0.25 * share
    elif about_people_or_addresses(table_tokens) and _spread_like_codes(items):
        reasons = (f"{share:.0%} of values fit a country's postal-code pattern",
                   "bare digits of one length spread over the code space, in a table of people or addresses")
        confidence = 0.55 + 0.15 * share
    else:
        return None
    return Verdict(share, confidence, _examples(items, lambda t: _postal_fit(t)[0]),
                   (*reasons, "no column-name signal"))


# --- street addresses --------------------------------------------------------------------------------------

_HOUSE_NUMBER = re.compile(r"\d{1,5}[a-z]?(?:[-/]\d{1,5}[a-z]?)?", re.I)
_WORD = re.compile(r"[^\W\d_]{2,}")
_SPLIT = re.compile(r"[\s,]+")
_UNIT_WORDS = frozenset("apt apartment flat suite ste unit no nr n num numero piso puerta appartamento interno int"
                        " etage bus box bte hno".split())


@lru_cache(maxsize=8192)
def street_parts(value: str) -> tuple[str, ...] | None:
    """The street-name words of a value shaped like a street address, else None.

    Shapes: ``<number> <name…> <type>`` (English), ``<number>, <type> <name…>`` (French), ``<type> <name…>
    <number>`` (Spanish, Italian, Polish), ``<name><type-suffix> <number>`` (German, Dutch, Nordic compounds).
    A unit after the street (``Apt. 915``, ``Puerta 3``) and a leading unit line (``Flat 17``) are allowed.
    """
    if len(value) > 120 or "@" in value or "://" in value:
        return None
    tokens = [t.strip(".") for t in _SPLIT.split(value.replace("\n", " ")) if t.strip(".")]
    if len(tokens) < 2:
        return None
    words = ref.street_words()
    folded = [ref.norm(t) for t in tokens]
    numbers = [i for i, t in enumerate(tokens) if _HOUSE_NUMBER.fullmatch(t)]
    if not numbers:
        return None
    typed = [i for i, f in enumerate(folded)
             if f in words or any(f.endswith(s) and len(f) >= len(s) + 3 for s in ref.STREET_SUFFIXES)]
    if not typed:
        return None
    # The street's name: the words between the house number and the street type (English, Spanish, Italian), or
    # after a type that follows the number (French), or a compound that carries the type (German, Dutch).
    for n in numbers:
        if any(f in _UNIT_WORDS for f in folded[max(0, n - 1):n]):
            continue  # "Apt. 915" is a unit, not the house number
        for t in reversed(typed):  # the last street word is the type ("8693 Pine Court"), earlier ones names
            if n < t:
                stretch = folded[n + 1:t] or folded[t + 1:t + 5]
            else:
                stretch = folded[t + 1:n] or ([folded[t]] if folded[t] not in words else [])
            name = tuple(f for f in stretch if f not in _UNIT_WORDS and _WORD.search(f))
            if name and len(stretch) <= 6:
                return name
    return None


_CRF_PROBE = 8


def _crf_confirms(texts: list[str]) -> bool:
    """usaddress's CRF reads a house number and a street name in most of a few number-first values."""
    # Lazy: reference data is loaded on first use, so a process that never detects never pays for it.
    import usaddress

    probe = texts[:_CRF_PROBE]
    confirmed = 0
    for text in probe:
        try:
            labels = {label for _, label in usaddress.parse(text.replace("\n", ", "))}
        except Exception:  # noqa: BLE001 - the parser raises on odd input; that value just does not confirm
            continue
        confirmed += {"AddressNumber", "StreetName"} <= labels
    return confirmed * 4 >= len(probe) * 3


def street_column(items: Items, non_null: int, table_tokens: tuple[str, ...]) -> Verdict | None:
    if len(items) < 5 or not non_null:
        return None
    fitting: list[str] = []
    matched = misses = 0
    names: set[tuple[str, ...]] = set()
    for text, count in items:
        parts = street_parts(text)
        if parts is None:
            misses += count
            if misses > 0.3 * non_null:
                return None
        else:
            matched += count
            fitting.append(text)
            names.add(parts)
    share = matched / non_null
    # Many different street names: a catalogue of "Boulevard Chair No. 14" repeats one name.
    if share < 0.7 or len(names) < 0.4 * len(fitting):
        return None
    number_first = [t for t in fitting if t[:1].isdigit()]
    if len(number_first) * 2 >= len(fitting) and not _crf_confirms(number_first):
        return None
    return Verdict(share, 0.6 + 0.25 * share, tuple(fitting[:3]),
                   (f"{share:.0%} of values are a house number with a street type (several languages)",
                    f"{len(names)} different street names", "no column-name signal"))
