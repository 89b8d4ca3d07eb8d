"""Value-only recognisers for people and organisations: full, first and last names, companies, job titles,
usernames and single-letter gender codes, judged on a whole column's sampled values.

Built on reference data that installed packages ship (loaded lazily, once per process, by ``reference()``, and
kept built in the persistent cache of ``cache.py``, so later processes read it back instead of parsing it):

* first names — ``gender-guesser``'s ``nam_dict.txt`` (Jörg Michael's dictionary: ~44,000 given names with a
  frequency class in each of 55 countries, Europe, the Americas, the Middle East and Asia) and the US census
  first-name lists of ``names``;
* last names — the US census 1990 surname frequencies of ``names`` (88,799, ranked) and the census 2000 surnames
  behind ``probablepeople``'s first-name/surname ratios (165,000 together; immigrant surnames from many
  languages);
* honorifics, name particles and conjunctions — ``nameparser``'s per-language vocabularies (``Dr``, ``Mme``,
  ``Herr``, ``van der``, ``et``);
* company legal forms — ``cleanco``'s terms by country (``GmbH``, ``S.A.R.L.``, ``S.p.A.``, ``B.V.``, ``Ltd``);
  and ``probablepeople``'s CRF, trained on US campaign-finance names, for person-versus-corporation;
* job titles — ``find-job-titles``' 74,000 English titles (their head nouns: ``engineer``, ``clerk``), reaching
  other languages through shared stems (``architecte``, ``technicien``) and agent-noun endings (``-eur``,
  ``-iste``, ``-ero``, ``-ker``).

One value says little (``Rose`` is a first name, a colour and a surname), so each recogniser has two parts: a
value shape that ≥ 80 % of values must have (the engine's value-only share), and a column test that asks for
distribution evidence — many distinct values, most of them known to the reference, and a profile that tells
first names from surnames and both from product names, genres, category labels, titles of works and free text.
"""
from __future__ import annotations

import gzip
import importlib.util
import re
import tomllib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .. import names as names_module
from ..names import fold
from . import cache as reference_cache

Items = list[tuple[str, int]]  # distinct value, count — as the engine hands a column to a precheck


def _package_dir(name: str) -> Path:
    """A data package's folder, without importing it (``find_job_titles`` imports setuptools' pkg_resources)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(name)
    return Path(next(iter(spec.submodule_search_locations)))


def key(text: str) -> str:
    """The lookup form of a name: accents folded, lower case, letters only (``Müller`` → ``mueller``)."""
    return "".join(ch for ch in fold(text).lower() if ch.isalpha())


@dataclass(frozen=True)
class Reference:
    first: dict[str, int]  # given name → highest frequency class in any country (1 rare … 13 most common)
    last: dict[str, int]  # surname → census rank (1 = Smith); census 2000-only surnames rank 100,000
    first_ratio: dict[str, float]  # US share of a token's uses that are given names (probablepeople)
    honorifics: frozenset[str]
    particles: frozenset[str]
    conjunctions: frozenset[str]
    legal_forms: frozenset[str]  # compact, dotless, lower case: "gmbh", "sarl", "spa", "bv", "ltd"
    job_titles: frozenset[str]
    job_heads: frozenset[str]  # head nouns of at least _JOB_HEAD_MIN titles
    job_stems: frozenset[str]  # their first six letters, for cognates in other languages


def _given_names(first: dict[str, int]) -> None:
    # Fixed-width file: gender code, the name in columns 3-28 ('+' joins compound names), then one frequency
    # class per country in columns 30-84, as a hexadecimal digit.
    with open(_package_dir("gender_guesser") / "data" / "nam_dict.txt", encoding="utf-8") as handle:
        for line in handle:
            if line[:1] in "#=":
                continue
            classes = [int(ch, 16) for ch in line[30:85] if ch in "0123456789ABCDEFabcdef"]
            for part in line[3:29].strip().split("+"):
                k = key(part)
                if k:
                    first[k] = max(first.get(k, 0), max(classes, default=1))
    for census in ("dist.male.first", "dist.female.first"):
        with open(_package_dir("names") / census, encoding="ascii") as handle:
            for line in handle:
                name, share, _, _ = line.split()
                # Census shares in percent: the top names (≥ 0.1 %) count as common in the nam_dict scale.
                first[key(name)] = max(first.get(key(name), 0), 10 if float(share) >= 0.1 else 5)


def _surnames() -> tuple[dict[str, int], dict[str, float]]:
    last: dict[str, int] = {}
    with open(_package_dir("names") / "dist.all.last", encoding="ascii") as handle:
        for line in handle:
            name, _, _, rank = line.split()
            last[key(name)] = int(rank)
    from probablepeople.ratios import ratios  # census 2000 surnames and SSA given names, with their ratio

    ratio = {}
    for name, share in ratios.items():
        k = key(name)
        ratio[k] = share
        if share < 1.0:
            last.setdefault(k, 100_000)
    return last, ratio


_HONORIFIC_KINDS = frozenset({"salutation", "academic", "military", "religious", "nobility", "courtesy",
                              "credential", "office", "generation", "style"})


def _name_vocabulary() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    honorifics, particles, conjunctions = set(), set(), set()
    for path in sorted((_package_dir("nameparser") / "vocab").glob("*.toml")):
        for word in tomllib.loads(path.read_text(encoding="utf-8")).get("word", ()):
            text = key(word.get("text", ""))
            if not text:
                continue
            kinds = set(word) - {"text", "excluded", "note"}
            if kinds & _HONORIFIC_KINDS:
                honorifics.add(text)
            if kinds & {"preposition", "article", "family"}:
                particles.add(text)
            if "conjunction" in kinds:
                conjunctions.add(text)
    return frozenset(honorifics), frozenset(particles), frozenset(conjunctions - particles)


def _legal_forms() -> frozenset[str]:
    # Lazy: reference data is loaded on first use, so a process that never detects never pays for it.
    from cleanco.termdata import terms_by_country, terms_by_type

    forms = {form for terms in (*terms_by_type.values(), *terms_by_country.values()) for form in terms}
    # Lookups compare letters only ("S.A.R.L." and "sarl" alike); one-letter leftovers would match initials.
    return frozenset(k for k in (key(form) for form in forms) if len(k) >= 2)


_JOB_HEAD_MIN = 10


def _job_titles() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    titles: set[str] = set()
    heads: Counter[str] = Counter()
    with gzip.open(_package_dir("find_job_titles") / "data" / "titles_combined.txt.gz", "rt",
                   encoding="utf-8") as handle:
        for line in handle:
            words = _words(line)
            if words:
                titles.add(" ".join(words))
                heads[words[-1]] += 1
    strong = frozenset(word for word, n in heads.items() if n >= _JOB_HEAD_MIN and len(word) >= 3)
    return frozenset(titles), strong, frozenset(word[:6] for word in strong if len(word) >= 6)


# What the lists are built from: a new version of any of these, or an edit of this module or of the ``fold`` its
# keys go through, rebuilds the cache.
@reference_cache.table("people", sources=[__file__, names_module.__file__],
                       packages=["gender-guesser", "names", "probablepeople", "nameparser", "cleanco",
                                 "find-job-titles"])
def reference() -> Reference:
    """Every list above, parsed on first use (about 2 s and 60–80 MB; see docs/operations.md), or read back from
    the cache."""
    first: dict[str, int] = {}
    _given_names(first)
    last, ratio = _surnames()
    honorifics, particles, conjunctions = _name_vocabulary()
    titles, heads, stems = _job_titles()
    return Reference(first, last, ratio, honorifics, particles, conjunctions, _legal_forms(), titles, heads, stems)


# --- value shapes --------------------------------------------------------------------------------------------

_WORD = re.compile(r"[a-z]+")
# A name word: letters of any script, inner hyphens and apostrophes (Jean-Pierre, O'Neil, D'Angelo).
_NAME_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*\.?")
_ABBREVIATION = re.compile(r"(?:[^\W\d_]{1,6}[.\-]{1,2}){1,4}")


def _words(text: str) -> list[str]:
    return _WORD.findall(fold(text).lower())


def _name_tokens(value: str) -> list[str] | None:
    """The words of a value shaped like a person's name, or None: letters only, 1..6 words, each starting with a
    capital unless it is a particle (van, de, di) — names are written capitalised, labels and prose are not."""
    tokens = value.replace(",", " ").split()
    if not 1 <= len(tokens) <= 6 or len(value) > 60:
        return None
    ref = reference()
    for token in tokens:
        if token.endswith(".") and _ABBREVIATION.fullmatch(token):
            continue  # Dipl.-Ing., Univ.Prof., B.Sc., J.: honorifics, degrees and initials
        if _NAME_WORD.fullmatch(token) is None:
            return None
        if not token[0].isupper() and key(token) not in ref.particles:
            return None
    return tokens


def _core(tokens: list[str]) -> list[str]:
    """Tokens without honorifics (Dr., Mme, Herr), generational suffixes and particles."""
    ref = reference()
    return [t for t in tokens if key(t) not in ref.honorifics and key(t) not in ref.particles
            and not (t.endswith(".") and _ABBREVIATION.fullmatch(t))]


@lru_cache(maxsize=65536)
def is_name_word(value: str) -> bool:
    """One name, possibly compound or with particles ("Jean-Pierre", "van der Berg", "O'Neil")."""
    tokens = _name_tokens(value)
    return tokens is not None and len(_core(tokens)) == 1


@lru_cache(maxsize=65536)
def is_full_name_shape(value: str) -> bool:
    """Two to four names after honorifics, with no conjunction ("Dr. Anna Maria Rossi", not "Smith and Sons")."""
    tokens = _name_tokens(value)
    if tokens is None or any(key(t) in reference().conjunctions for t in tokens):
        return False
    return 2 <= len(_core(tokens)) <= 4


def _is_first(k: str) -> bool:
    return k in reference().first


def _is_last(k: str) -> bool:
    return k in reference().last


def _first_leaning(k: str) -> bool:
    """A known given name that is not mostly a surname (Thomas yes, Smith no): not a surname, or also a given name
    in the US, or a common given name elsewhere that is a rare US surname (Giorgio, Maurizio)."""
    ref = reference()
    return k in ref.first and (k not in ref.last or ref.first_ratio.get(k, 1.0) > 0.0
                               or (ref.first[k] >= 6 and ref.last[k] > 5000))


@lru_cache(maxsize=65536)
def _parts(value: str) -> tuple[str, ...]:
    tokens = _name_tokens(value) or []
    return tuple(key(p) for t in _core(tokens) for p in re.split(r"[-'’]", t) if key(p))


@lru_cache(maxsize=65536)
def has_legal_form(value: str) -> bool:
    """A company legal form after the first word ("Müller GmbH", "Rossi S.p.A.", "Smith & Co."), in the lookup
    form that cleanco's terms take; multi-word forms (``sp. z o.o.``) are matched as one run of letters."""
    words = value.replace(",", " ").split()
    forms = reference().legal_forms
    for i in range(1, len(words)):
        for j in range(i + 1, min(i + 4, len(words)) + 1):
            run = key("".join(words[i:j]))
            if run in forms and (len(run) > 2 or "." in words[i] or words[i].isupper()):
                return True
    return False


_AGENT_ENDINGS = ("eur", "euse", "ien", "ienne", "iste", "ier", "iere", "aire", "ant", "ante", "er", "erin", "ker",
                  "ist", "or", "ora", "ero", "era", "ista", "ico", "ica", "logo", "loga", "ent", "ente", "ario",
                  "aria", "mann", "frau", "meister", "loge", "ologe", "ician", "ado", "ada")


@lru_cache(maxsize=65536)
def is_job_title_value(value: str) -> bool:
    """A title from the vocabulary, or a phrase whose head (first or last word before a comma) is a known
    occupational noun, shares its stem, or ends like an agent noun in a European language."""
    if value.endswith((".", "!", "?")) or any(ch.isdigit() for ch in value):
        return False
    words = _words(value.split(",", 1)[0].split("(", 1)[0])
    if not 1 <= len(words) <= 16:
        return False
    ref = reference()
    if " ".join(words) in ref.job_titles:
        return True
    for word in {words[0], words[-1]}:
        if word in ref.job_heads or (len(word) >= 6 and word[:6] in ref.job_stems):
            return True
        if len(word) >= 5 and word.endswith(_AGENT_ENDINGS):
            return True
    return False


_HANDLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{2,31}")
_HANDLE_PIECES = re.compile(r"[a-z]+")


def is_handle(value: str) -> bool:
    """Login-shaped: 3..32 letters, digits, dots, underscores and hyphens, with at least three letters, at most one
    dot (two make a host name) and not a bare hex string."""
    if _HANDLE.fullmatch(value) is None or value.count(".") > 1:
        return False
    letters = sum(ch.isalpha() for ch in value)
    return letters >= 3 and not all(ch in "0123456789abcdefABCDEF" for ch in value)


@lru_cache(maxsize=65536)
def _handle_has_name(value: str) -> bool:
    """A piece of the handle is a known name, or one after an initial ("jsmith" → "smith"), or has one at its start
    (" dupontjulie" → "dupont")."""
    for piece in _HANDLE_PIECES.findall(value.lower()):
        if len(piece) < 3:
            continue
        for cand in (piece, piece[1:]):
            if len(cand) >= 3 and (_is_first(cand) or _is_last(cand)):
                return True
        if any(_is_first(piece[:n]) or _is_last(piece[:n]) for n in range(len(piece) - 1, 3, -1)):
            return True
    return False


# Single-letter gender codes: each pair is (male, female) in the languages whose words they abbreviate — m/f
# (English, French masculin/féminin, Italian), h/f (French homme/femme), h/m (Spanish and Portuguese
# hombre/mujer), m/w (German männlich/weiblich), m/v (Dutch man/vrouw), m/k (Polish, Scandinavian).
# Third codes: unknown, other, diverse, not stated, X (ICAO 9303 passports).
_GENDER_PAIRS = (frozenset("mf"), frozenset("hf"), frozenset("hm"), frozenset("mw"), frozenset("mv"),
                 frozenset("mk"))
_GENDER_EXTRA = frozenset("uxodni")


def is_gender_letter(value: str) -> bool:
    return len(value) == 1 and value.lower() in "mfhwvkuxodni"


# --- column tests --------------------------------------------------------------------------------------------

_MIN_DISTINCT = 5


def _probe(items: Items, shape) -> bool:
    """The first distinct values have the shape: the engine's cheap look, before any column statistics."""
    head = items[:_MIN_DISTINCT]
    return sum(1 for text, _ in head if shape(text)) * 2 >= len(head)


def _varied(items: Items, at_least: float = 0.5) -> bool:
    """Names repeat little: with enough values, at least ``at_least`` of them are distinct."""
    total = sum(n for _, n in items)
    return len(items) >= _MIN_DISTINCT and len(items) >= at_least * total


def _share(items: Items, check) -> float:
    total = sum(n for _, n in items)
    return sum(n for text, n in items if check(text)) / total if total else 0.0


def _personal(items: Items, at_least: float) -> bool:
    """Varied enough for names, and no company legal forms (a person has none)."""
    return _varied(items, at_least) and _share(items, has_legal_form) < 0.1


def _place_like(value: str) -> bool:
    """An honorific (Saint, Sainte) or a lower-case inner word (-sur-Mer, -les-Bains, -am-Main): a place name;
    a surname's inner words are particles (Wooning-de Jong)."""
    ref = reference()
    tokens = value.split()
    return any(key(t) in ref.honorifics for t in tokens) or any(
        part[:1].islower() and key(part) not in ref.particles for t in tokens for part in t.split("-")[1:])


def first_name_column(items: Items) -> bool:
    """Most values known given names that are not mainly surnames, and varied."""
    if not _probe(items, is_name_word) or not _personal(items, 0.5):
        return False
    known = _share(items, lambda t: (ps := _parts(t)) and all(_is_first(p) for p in ps))
    leaning = _share(items, lambda t: (ps := _parts(t)) and _first_leaning(ps[0]))
    return known >= 0.8 and leaning >= 0.65


def last_name_column(items: Items) -> bool:
    """Many values known surnames, few of them rather given names, and nearly all distinct: surnames have a long
    tail, so a sample barely repeats — unlike cities, which a customer table repeats, or labels."""
    if not _probe(items, is_name_word) or not _personal(items, 0.7):
        return False
    known = _share(items, lambda t: (ps := _parts(t)) and _is_last(ps[-1]))
    leaning = _share(items, lambda t: (ps := _parts(t)) and _first_leaning(ps[0]))
    return (known >= 0.5 and leaning < 0.55 and _share(items, _place_like) < 0.1
            and not job_title_column(items))


def person_name_column(items: Items) -> bool:
    """Full names: most start with a known given name or end with a known surname, half with a known given name
    or a quarter with both (surnames of every language are not all in the census), no legal forms, varied."""
    if not _probe(items, is_full_name_shape) or not _personal(items, 0.7):
        return False

    def fits(text: str) -> bool:
        ps = _parts(text)
        return len(ps) >= 2 and (_is_first(ps[0]) or _is_last(ps[-1]))

    def both(text: str) -> bool:
        ps = _parts(text)
        return len(ps) >= 2 and _is_first(ps[0]) and _is_last(ps[-1])

    first = _share(items, lambda t: len(ps := _parts(t)) >= 2 and _is_first(ps[0]))
    return _share(items, fits) >= 0.8 and (first >= 0.5 or _share(items, both) >= 0.25)


def is_company_shape(value: str) -> bool:
    """Up to eight words of mostly letters: a company name, a product or a label alike (the column decides)."""
    words = value.split()
    letters = sum(ch.isalpha() for ch in value)
    return 1 <= len(words) <= 8 and len(value) <= 100 and letters >= 0.6 * len(value.replace(" ", ""))


def _crf_corporation(value: str) -> bool:
    # Lazy: the CRF model loads (seconds) on first use, so a process that never detects never pays for it.
    import probablepeople
    from probableparsing import RepeatedLabelError

    try:
        return probablepeople.tag(value)[1] == "Corporation"
    except RepeatedLabelError:
        return False


_CRF_SAMPLE = 30


def company_column(items: Items) -> bool:
    """Legal forms on a good part of the values (a person never has one), or on some of them with most of the
    rest read as corporations by the CRF while carrying a known name ("Smith, Johnson and Brown", "Dupont et
    Fils") — products, labels and titles carry neither."""
    if not _probe(items, is_company_shape) or not _varied(items):
        return False
    legal = _share(items, has_legal_form)
    if legal >= 0.3:
        return True
    if legal < 0.15:
        return False
    rest = [(t, n) for t, n in items if not has_legal_form(t)][:_CRF_SAMPLE]
    named = sum(n for t, n in rest
                if any(_is_last(k) or _is_first(k) for k in map(key, t.replace(",", " ").split()))
                and _crf_corporation(t))
    return legal + (1.0 - legal) * named / sum(n for _, n in rest) >= 0.6


def job_title_column(items: Items) -> bool:
    """Most values occupational by the vocabulary, few of them people's names, varied."""
    if not _probe(items, is_job_title_value) or not _varied(items, 0.3):
        return False
    people = _share(items, lambda t: (ps := _parts(t)) and _first_leaning(ps[0]))
    return people < 0.3 and _share(items, is_job_title_value) >= 0.75


def username_column(items: Items) -> bool:
    """Login handles: nearly all distinct, also without their digits (``quick-123``, ``quick-456`` are model
    codes), mostly lower case, most of them built from a known name."""
    if not _probe(items, is_handle) or not _varied(items, 0.8):
        return False
    stems = {re.sub(r"[^a-z]", "", text.lower()) for text, _ in items}
    lower = _share(items, lambda t: t == t.lower())
    return len(stems) >= 0.7 * len(items) and lower >= 0.7 and _share(items, _handle_has_name) >= 0.6


def gender_letter_column(items: Items) -> bool:
    """One letter per value: both codes of a known pair, each on at least a tenth of the values, and third codes
    (unknown, other, X) on a few at most."""
    total = sum(n for _, n in items)
    counts: Counter[str] = Counter()
    for text, n in items:
        if len(text) != 1:
            return False
        counts[text.lower()] += n
    for pair in _GENDER_PAIRS:
        if all(counts[c] >= 0.1 * total for c in pair) and set(counts) <= pair | _GENDER_EXTRA:
            rest = sum(n for c, n in counts.items() if c not in pair)
            return rest <= 0.1 * total
    return False


def gender_column(items: Items) -> bool:
    """Before the engine's gender test: words go on to it, a column of single letters must be a known pair."""
    return not all(len(text) == 1 for text, _ in items) or gender_letter_column(items)


def gender_letters(values: Iterable[str]) -> bool:
    """The engine's whole-column test on matched distinct values: single letters of one known pair."""
    letters = {v.lower() for v in values}
    return all(len(v) == 1 for v in letters) and any(pair <= letters for pair in _GENDER_PAIRS)


VALIDATORS = {
    "name_word": is_name_word,
    "full_name_shape": is_full_name_shape,
    "company_shape": is_company_shape,
    "job_title_value": is_job_title_value,
    "handle": is_handle,
}
