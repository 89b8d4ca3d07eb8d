"""Search across the catalog: the search documents (one per present asset), how they are kept up to date, and how
a query is matched, ranked and counted in facets.

The index
    ``AssetSearchDocument`` holds, per present asset, the words of its name (``name_words``: "customerEmail" and
    "customer_email" both read "customer email") and, on PostgreSQL, a weighted ``tsvector``: A the name's words,
    B its glossary terms with their synonyms and abbreviations, C its qualified name, tags, classifications
    (suggested or confirmed) and owners, D the stewards' and the source's descriptions. GIN indexes serve the
    ``tsvector``. On SQLite an FTS5 table (``catalog_assetsearch_fts``, rowid = asset id, one column per weight)
    takes the ``tsvector``'s place. ``SearchWord`` is the vocabulary of names, terms and labels, from which a
    misspelt query word finds its corrections: on PostgreSQL through ``pg_trgm`` (a GIN ``gin_trgm_ops`` index on
    the words), then an edit distance. Trigrams over whole names were measured and dropped: at 500,000 assets
    "customer email" is within the default similarity of 21,000 names (customer_id, customer_phone…), a second
    of work per query, and their GIN index doubled what a scan pays to index (docs/benchmarks.md).

Maintenance
    Service hooks, not database triggers (docs/architecture.md says why): every write path that changes what a
    document holds calls :func:`documents_refresh` with the assets it touched, inside its own transaction — the
    scan's bulk writer once per batch, the curation, glossary and classification services once per call. A
    refresh is a fixed number of statements whatever the number of assets. A scan's new assets go through
    :func:`documents_add` instead: their documents built from what the writer holds, not read back.
    ``manage.py search_reindex`` rebuilds everything (or one source) for operators.

Ranking
    ``TIERS``: the exact name, then names starting with the query, then names containing its words, then glossary
    terms and synonyms, then tags, classifications, owners and qualified names, then typos (query words corrected
    from the vocabulary), then descriptions; within a tier the shortest name first (exact names: the curated first;
    typos: the names holding every word first), then by qualified name. One statement counts and ranks up to
    ``COUNT_EXACT_UP_TO`` results (:func:`search_ranked`); past that, a page is one statement of its own
    (:func:`search_page`).

Reads are the selectors' (``catalog.selectors.asset_search``): they pass what the user may see
(:class:`Visibility`), a condition every statement here puts on the documents.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from catalog.models import (
    Asset,
    AssetCertification,
    AssetClassification,
    AssetOwner,
    AssetSearchDocument,
    AssetTag,
    Classification,
    GlossaryTerm,
    GlossaryTermAsset,
    SearchWord,
    Tag,
)
from sources.models import DataSource

QUERY_MAX_LENGTH = 200
QUERY_MAX_WORDS = 10
FTS_TABLE = "catalog_assetsearch_fts"
# Descriptions are indexed up to this many characters each, the other parts (a name, its terms with their synonyms
# and abbreviations, its labels) up to PART_INDEXED each: a tsvector holds at most 1 MB, and an asset linked to 40
# terms of 100 long synonyms held 1.6 MB of words, which PostgreSQL refused (every refresh of it a server error).
DESCRIPTION_INDEXED = 10_000
PART_INDEXED = 50_000
# Vocabulary words: shorter ones are not corrected (a one-letter change of a three-letter word is another word).
WORD_MIN_LENGTH, WORD_MAX_LENGTH = 4, 64
# Corrections kept per query word, the closest first.
CORRECTIONS_PER_WORD = 5
# pg_trgm's threshold while looking up corrections in the vocabulary: "emial" shares 2 of 10 trigrams with "email"
# (0.2), under the default 0.3; the edit distance then decides.
CORRECTION_TRIGRAM_THRESHOLD = 0.15
PG_TRGM_DEFAULT_THRESHOLD = 0.3
# Assets refreshed per statement.
REFRESH_CHUNK = 10_000
# PostgreSQL's limit on a tsvector's lexeme, in bytes.
TSVECTOR_WORD_MAX_BYTES = 2046
# The parts of a document that its PostgreSQL lexemes also name as prefixes: the name, glossary terms, labels
# (descriptions are only searched as "anywhere", the plain words).
PARTS = "abc"

TIERS = ("exact", "prefix", "name", "term", "label", "fuzzy", "description")

# A camelCase boundary: a lower-case letter or digit then a capital ("customerEmail"), or the last capital of a run
# before a capitalised word ("HTTPServer"). One pass of lookarounds: two substitutions cost twice as much.
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
# A word: letters and digits (``_`` and everything else separate words).
_WORD = re.compile(r"[^\W_]+")
# A word that may exceed TSVECTOR_WORD_MAX_BYTES (4 bytes per character at most in UTF-8).
_LONG_WORD = re.compile(rf"\S{{{TSVECTOR_WORD_MAX_BYTES // 4 + 1},}}")


def search_words(text: str) -> str:
    """The words of ``text`` as the index stores them: camelCase and snake_case split, lower case, one space
    between words ("customerEmail", "customer_email" → "customer email"). Each word is letters and digits only."""
    if not text:
        return ""
    if not text.islower():  # without a capital there is no camelCase to split
        text = _CAMEL.sub(" ", text)
    return " ".join(_WORD.findall(text.lower()))


# --- maintenance -------------------------------------------------------------------------------------------------


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _ids_param(ids: Sequence[int]):
    """A list of ids as one bound parameter: an array on PostgreSQL, JSON text read by json_each on SQLite."""
    return list(ids) if connection.vendor == "postgresql" else json.dumps(list(ids))


def _ids_in(column: str) -> str:
    return f"{column} = ANY(%s::bigint[])" if connection.vendor == "postgresql" else \
        f"{column} IN (SELECT value FROM json_each(%s))"


def _texts_sql(*, linked: bool = True) -> str:
    """A SELECT of ``(id, schema_id, name, qualified_name, terms, labels, descriptions)`` — the texts as the
    catalog holds them, split into words in Python (:func:`search_words`), not in SQL (three regular expressions
    per text in SQL were half of what a refresh cost) — for the present assets among the ids of its one
    parameter. Without ``linked`` the assets have no terms, tags, classifications or owners yet (a scan has just
    inserted them), so the subqueries that read those, most of the statement's cost, are left out."""
    postgresql = connection.vendor == "postgresql"
    agg = (lambda expression: f"string_agg({expression}, ' ')") if postgresql else \
        (lambda expression: f"group_concat({expression}, ' ')")
    if postgresql:
        term_words = "(SELECT string_agg(w, ' ') FROM jsonb_array_elements_text(g.synonyms || g.abbreviations) w)"
    else:
        term_words = ("(SELECT group_concat(j.value, ' ') FROM (SELECT value FROM json_each(g.synonyms) UNION ALL "
                      "SELECT value FROM json_each(g.abbreviations)) j)")
    owner_name = "COALESCE(u.username, gr.name)"
    owners = (f"(SELECT {agg(owner_name)} FROM {_table(AssetOwner)} o LEFT JOIN {_table(get_user_model())} u "
              f"ON u.id = o.user_id LEFT JOIN {_table(Group)} gr ON gr.id = o.group_id WHERE o.asset_id = a.id)")
    tags = (f"(SELECT {agg('tg.name')} FROM {_table(AssetTag)} l JOIN {_table(Tag)} tg ON tg.id = l.tag_id "
            "WHERE l.asset_id = a.id)")
    counted = "', '".join((AssetClassification.Status.SUGGESTED, AssetClassification.Status.CONFIRMED))
    classifications = (f"(SELECT {agg('c.name')} FROM {_table(AssetClassification)} ac "
                       f"JOIN {_table(Classification)} c ON c.id = ac.classification_id "
                       f"WHERE ac.asset_id = a.id AND ac.status IN ('{counted}'))")
    terms = (f"(SELECT {agg(f'g.name || {chr(39)} {chr(39)} || COALESCE({term_words}, {chr(39)}{chr(39)})')} "
             f"FROM {_table(GlossaryTermAsset)} gl JOIN {_table(GlossaryTerm)} g ON g.id = gl.term_id "
             "WHERE gl.asset_id = a.id)")
    left = "left" if postgresql else "substr"
    start = "" if postgresql else "1, "
    if linked:
        labels = " || ' ' || ".join(f"COALESCE({part}, '')" for part in ("a.qualified_name", tags, classifications,
                                                                          owners))
        certified = AssetCertification.Status.CERTIFIED
        curated = (f"CASE WHEN EXISTS (SELECT 1 FROM {_table(AssetCertification)} ce WHERE ce.asset_id = a.id "
                   f"AND ce.status = '{certified}') THEN 1 ELSE 0 END + "
                   f"CASE WHEN EXISTS (SELECT 1 FROM {_table(AssetOwner)} ow WHERE ow.asset_id = a.id) THEN 1 ELSE 0 "
                   "END + CASE WHEN a.description <> '' THEN 1 ELSE 0 END")
    else:
        terms, labels, curated = "''", "a.qualified_name", "CASE WHEN a.description <> '' THEN 1 ELSE 0 END"
    # The schema through a subquery per asset (two primary key probes), not joins: joined, the parents of a scan's
    # batch (the newest assets) were merged with the whole primary key index up to them — 0.6 s per batch.
    return f"""
        SELECT a.id, a.data_source_id, {curated},
               CASE WHEN a.type = 'schema' THEN a.id ELSE (
                   SELECT CASE WHEN p.type = 'schema' THEN p.id WHEN pp.type = 'schema' THEN pp.id END
                   FROM {_table(Asset)} p LEFT JOIN {_table(Asset)} pp ON pp.id = p.parent_id
                   WHERE p.id = a.parent_id) END AS schema_id,
               a.name, a.qualified_name, COALESCE({terms}, ''), {labels},
               {left}(a.description, {start}{DESCRIPTION_INDEXED}) || ' ' ||
               {left}(a.source_description, {start}{DESCRIPTION_INDEXED})
        FROM {_table(Asset)} a
        WHERE {_ids_in('a.id')} AND a.removed_at IS NULL"""


@dataclass(frozen=True, slots=True)
class _Document:
    """One asset's document: its source, how curated it is, its names, and the words of each part (name, terms,
    labels, descriptions)."""

    asset_id: int
    data_source_id: int
    curated: int
    schema_id: int | None
    name: str
    qualified_name: str
    name_words: str
    terms: str
    labels: str
    descriptions: str

    @classmethod
    def from_texts(cls, asset_id, data_source_id, curated, schema_id, name, qualified_name, *texts: str) -> _Document:
        return cls(asset_id, data_source_id, curated, schema_id, name, qualified_name,
                   *(search_words(text[:PART_INDEXED]) for text in (name, *texts)))

    def tsvector(self) -> str:
        """The ``tsvector`` as PostgreSQL's text form, without positions: each word of the document, and each word
        of its name, terms and labels once more, prefixed with its part's letter (``PARTS``: ``a_customer`` a word
        of the name, ``b_`` of a term, ``c_`` of a label). Parts as prefixes rather than weights: a weight
        restriction in a tsquery makes PostgreSQL recheck every document the words match, reading it from the table
        (70,000 for a word of the descriptions), where a prefixed lexeme is answered by the GIN index alone; the
        plain words keep "anywhere" one lexeme per query word.

        Written with string joins, not per lexeme: words are letters and digits (:func:`search_words`), so they
        need no quoting, and PostgreSQL drops a repeated lexeme as it reads the text (one sort in C, where removing
        them here was a third of the cost of building the text)."""
        texts = (self.name_words, self.terms, self.labels)
        text = " ".join([*(text for text in (*texts, self.descriptions) if text),
                         *(f"{part}_" + text.replace(" ", f" {part}_") for part, text in zip(PARTS, texts, strict=True)
                           if text)])
        if _LONG_WORD.search(text):  # rare: drop the words PostgreSQL would refuse
            text = " ".join(word for word in text.split() if len(word.encode()) <= TSVECTOR_WORD_MAX_BYTES)
        return text


@dataclass(frozen=True, slots=True)
class NewAsset:
    """What the document of an asset just inserted by a scan is made of, as the scan's writer holds it: such an
    asset has no steward's description, terms, tags, classifications or owners yet."""

    asset_id: int
    data_source_id: int
    schema_id: int | None
    name: str
    qualified_name: str
    source_description: str

    def document(self) -> _Document:
        # As _texts_sql(linked=False) reads it: the qualified name is the only label, the source's comment the only
        # description.
        return _Document.from_texts(self.asset_id, self.data_source_id, 0, self.schema_id, self.name,
                                    self.qualified_name, "", self.qualified_name,
                                    self.source_description[:DESCRIPTION_INDEXED])


class Vocabulary:
    """The words a writer has added to the vocabulary (``SearchWord``), so that its later batches send only the
    others; remembered once their transaction commits (a batch rolled back added none). Bounded: past ``limit``
    words it starts again, which costs a look-up of words already there, never a missing word."""

    def __init__(self, limit: int = 100_000):
        self.limit = limit
        self.added: set[str] = set()

    def remember(self, words: list[str]) -> None:
        def committed() -> None:
            if len(self.added) + len(words) > self.limit:
                self.added.clear()
            self.added.update(words)
        transaction.on_commit(committed)


def _documents(ids: Sequence[int], *, new: bool) -> list[_Document]:
    with connection.cursor() as cursor:
        cursor.execute(_texts_sql(linked=not new), [_ids_param(ids)])
        return [_Document.from_texts(*row) for row in cursor.fetchall()]


def _vocabulary(documents: Iterable[_Document], known: Vocabulary | None = None) -> list[str]:
    words = {word for document in documents for text in (document.name_words, document.terms, document.labels)
             for word in text.split()}
    words = {word for word in (words - known.added if known is not None else words)
             if WORD_MIN_LENGTH <= len(word) <= WORD_MAX_LENGTH and not word.isdigit()}
    if known is not None:
        known.remember(list(words))
    return sorted(words)


def _rows(documents: Iterable[_Document]) -> list[tuple]:
    return [(item.asset_id, item.data_source_id, item.curated, item.schema_id, item.name, item.qualified_name,
             item.name_words, item.tsvector()) for item in documents]


_COPIED = ["asset", "data_source", "curated", "schema", "name", "qualified_name", "name_words", "document"]


def _vocabulary_add_postgresql(cursor, words: list[str]) -> None:
    # Only the words the vocabulary lacks are inserted, in order, so that two scans adding the same words wait for one
    # another instead of deadlocking.
    if words:
        word = _table(SearchWord)
        cursor.execute(f"INSERT INTO {word} (word) SELECT w FROM unnest(%s::text[]) w WHERE NOT EXISTS "
                       f"(SELECT 1 FROM {word} k WHERE k.word = w) ORDER BY w ON CONFLICT (word) DO NOTHING", [words])


def _write_postgresql(documents: list[_Document], *, new: bool, ids: Sequence[int] = (),
                      known: Vocabulary | None = None) -> None:
    from catalog.bulk import copy_rows  # lazy: breaks the import cycle (catalog.bulk imports this module)

    document = _table(AssetSearchDocument)
    rows = _rows(documents)
    with connection.cursor() as cursor:
        if new:
            # Just inserted, so no document yet: COPY, the cheapest way in.
            copy_rows(AssetSearchDocument, _COPIED, rows)
        else:
            cursor.execute(f"DELETE FROM {document} d USING {_table(Asset)} a WHERE d.asset_id = a.id "
                           f"AND {_ids_in('a.id')} AND a.removed_at IS NOT NULL", [list(ids)])
            if rows:
                cursor.execute(f"""
                    INSERT INTO {document} (asset_id, data_source_id, curated, schema_id, name, qualified_name,
                                            name_words, document)
                    SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::smallint[], %s::bigint[], %s::text[],
                                         %s::text[], %s::text[], %s::tsvector[])
                    ON CONFLICT (asset_id) DO UPDATE SET data_source_id = EXCLUDED.data_source_id,
                        curated = EXCLUDED.curated, schema_id = EXCLUDED.schema_id, name = EXCLUDED.name,
                        qualified_name = EXCLUDED.qualified_name, name_words = EXCLUDED.name_words,
                        document = EXCLUDED.document""",
                               [list(column) for column in zip(*rows, strict=True)])
        _vocabulary_add_postgresql(cursor, _vocabulary(documents, known))


def _write_sqlite(documents: list[_Document], *, new: bool, ids: Sequence[int] = (),
                  known: Vocabulary | None = None) -> None:
    document, word = _table(AssetSearchDocument), _table(SearchWord)
    with connection.cursor() as cursor:
        if not new:
            param = json.dumps(list(ids))
            cursor.execute(f"DELETE FROM {document} WHERE {_ids_in('asset_id')}", [param])
            cursor.execute(f"DELETE FROM {FTS_TABLE} WHERE {_ids_in('rowid')}", [param])
        cursor.executemany(f"INSERT INTO {document} (asset_id, data_source_id, curated, schema_id, name, "
                           "qualified_name, name_words) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                           [(item.asset_id, item.data_source_id, item.curated, item.schema_id, item.name,
                             item.qualified_name, item.name_words) for item in documents])
        cursor.executemany(f"INSERT INTO {FTS_TABLE} (rowid, name, terms, labels, descriptions) "
                           "VALUES (%s, %s, %s, %s, %s)",
                           [(item.asset_id, item.name_words, item.terms, item.labels, item.descriptions)
                            for item in documents])
        cursor.executemany(f"INSERT OR IGNORE INTO {word} (word) VALUES (%s)",
                           [(item,) for item in _vocabulary(documents, known)])


def _refresh_postgresql(ids: Sequence[int], *, new: bool) -> None:
    _write_postgresql(_documents(ids, new=new), new=new, ids=ids)


def _refresh_sqlite(ids: Sequence[int], *, new: bool) -> None:
    _write_sqlite(_documents(ids, new=new), new=new, ids=ids)


def documents_refresh(*, asset_ids: Iterable[int], new: bool = False) -> None:
    """Rewrite the search documents of ``asset_ids`` from what the catalog holds now (a removed asset loses its
    document), in a fixed number of statements per ``REFRESH_CHUNK`` assets; ``new``: the assets were just
    inserted, so none has a document, nor terms, tags, classifications or owners, yet. Call it inside the
    transaction of the write it follows, after that write: the documents commit or roll back with it."""
    ids = sorted(set(asset_ids))
    refresh = _refresh_postgresql if connection.vendor == "postgresql" else _refresh_sqlite
    for start in range(0, len(ids), REFRESH_CHUNK):
        refresh(ids[start:start + REFRESH_CHUNK], new=new)


def documents_add(*, assets: Sequence[NewAsset], vocabulary: Vocabulary | None = None) -> None:
    """The documents of assets a scan has just inserted, built from what its writer holds (:class:`NewAsset`)
    rather than read back: the same documents :func:`documents_refresh` with ``new`` writes, without the statement
    that reads the assets' texts. ``vocabulary``: the writer's, so that each word is sent once per scan. Inside the
    transaction of the insert, after it."""
    write = _write_postgresql if connection.vendor == "postgresql" else _write_sqlite
    for start in range(0, len(assets), REFRESH_CHUNK):
        write([asset.document() for asset in assets[start:start + REFRESH_CHUNK]], new=True, known=vocabulary)


def documents_remove(*, asset_ids: Iterable[int]) -> None:
    """Drop the documents of assets marked removed (removed assets are not searched)."""
    ids = sorted(set(asset_ids))
    if not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {_table(AssetSearchDocument)} WHERE {_ids_in('asset_id')}", [_ids_param(ids)])
        if connection.vendor == "sqlite":
            cursor.execute(f"DELETE FROM {FTS_TABLE} WHERE {_ids_in('rowid')}", [_ids_param(ids)])


def term_assets_refresh(*, term_ids: Iterable[int]) -> None:
    """Refresh the assets linked to these terms (a term renamed, its synonyms or abbreviations changed)."""
    documents_refresh(asset_ids=GlossaryTermAsset.objects.filter(term_id__in=list(term_ids))
                      .values_list("asset_id", flat=True))


def tag_assets_refresh(*, tag_ids: Iterable[int]) -> None:
    documents_refresh(asset_ids=AssetTag.objects.filter(tag_id__in=list(tag_ids)).values_list("asset_id", flat=True))


def classification_assets_refresh(*, classification_ids: Iterable[int]) -> None:
    documents_refresh(asset_ids=AssetClassification.objects.filter(classification_id__in=list(classification_ids))
                      .values_list("asset_id", flat=True))


def documents_rebuild(*, data_source_id: int | None = None, batch: int = 50_000) -> int:
    """Rebuild every document (of one source, or all, the vocabulary then rebuilt too), removed assets'
    dropped; returns how many assets were read. A batch per transaction, so a rebuild of millions holds no lock
    for long."""
    assets = Asset.objects.order_by("pk")
    if data_source_id is not None:
        assets = assets.filter(data_source_id=data_source_id)
    else:
        SearchWord.objects.all().delete()  # words no asset uses any more go; the batches add the rest back
    seen, last = 0, 0
    while True:
        ids = list(assets.filter(pk__gt=last).values_list("pk", flat=True)[:batch])
        if not ids:
            return seen
        with transaction.atomic():
            documents_remove(asset_ids=ids)
            documents_refresh(asset_ids=ids)
        seen, last = seen + len(ids), ids[-1]


# --- queries -----------------------------------------------------------------------------------------------------


def damerau_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (a swap of two neighbours is one edit), or ``limit + 1`` once it is
    known to exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2, previous = None, list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, start=1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if previous2 is not None and i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def allowed_typos(word: str) -> int:
    """One typo in a word of 4 to 7 letters, two from 8 on; none in shorter words."""
    return 0 if len(word) < WORD_MIN_LENGTH else 1 if len(word) < 8 else 2


def corrections(words: Sequence[str], visible: Visibility | None) -> dict[str, list[str]]:
    """For each query word that no name, term or label of the visible assets (``visible``; None when every asset
    is) holds, the words within its typo allowance that these do hold, the closest first (at most
    ``CORRECTIONS_PER_WORD``). The vocabulary is shared by every workspace: its words are only candidates, kept
    when a visible document holds them, so that what is corrected, and to what, tells nothing of hidden assets."""
    return _look_up(words, (), visible)[0]


def look_up(query: Query, visible: Visibility | None) -> None:
    """Read the vocabulary for ``query``: its words' corrections (:func:`corrections`) and the words that start
    no word of any name, term or label (``Query.unnamed``), in at most three statements whatever the number of
    words."""
    query.corrections, query.unnamed = _look_up(
        query.words, [word for words, joined in query.groups for word in (*words, joined) if word], visible)


def _look_up(words: Sequence[str], prefixes: Sequence[str],
             visible: Visibility | None) -> tuple[dict[str, list[str]], set[str]]:
    """``(corrections of words, those of prefixes that start no vocabulary word)``. Only words that the
    vocabulary would hold are looked up as prefixes: of ``WORD_MIN_LENGTH`` letters or more, not all digits (a
    name word starting with one is then in the vocabulary, which keeps every word of the present documents until a
    rebuild drops the unused ones; a name word over ``WORD_MAX_LENGTH`` letters is not, and such a word is then
    found among descriptions only). One statement for the candidates of every word and the prefixes, then which
    of the words typed, and of the candidates of the others, a visible document holds."""
    allowed = {word: limit for word in dict.fromkeys(words) if (limit := allowed_typos(word))}
    prefixes = [word for word in dict.fromkeys(prefixes) if len(word) >= WORD_MIN_LENGTH and not word.isdigit()]
    if not allowed and not prefixes:
        return {}, set()
    table = _table(SearchWord)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The trigram index finds the candidates under a lower threshold, set for this statement's
            # transaction only (the search's own "%" keeps the default); the edit distance then picks among them.
            # A prefix is looked up as a range of the words' pattern_ops btree (the range LIKE 'word%' reads), up
            # to the word followed by the last code point, which sorts after any longer word starting with it.
            with _set_for_the_transaction(cursor, {"pg_trgm.similarity_threshold": (
                    str(CORRECTION_TRIGRAM_THRESHOLD), str(PG_TRGM_DEFAULT_THRESHOLD))}):
                cursor.execute(f"""
                    SELECT q.w, k.word FROM unnest(%s::text[], %s::int[]) q(w, typos)
                    JOIN {table} k ON k.word %% q.w
                                  AND length(k.word) BETWEEN length(q.w) - q.typos AND length(q.w) + q.typos
                    UNION ALL
                    SELECT p.w, NULL FROM unnest(%s::text[]) p(w) WHERE NOT EXISTS (
                        SELECT 1 FROM {table} k WHERE k.word ~>=~ p.w AND k.word ~<~ (p.w || chr(1114111)))""",
                               [list(allowed), list(allowed.values()), prefixes])
                rows = cursor.fetchall()
        else:
            # No trigram index: the words of a close length (the vocabulary of a SQLite catalog is small).
            rows = []
            if allowed:
                shortest = min(len(word) - limit for word, limit in allowed.items())
                longest = max(len(word) + limit for word, limit in allowed.items())
                cursor.execute(f"SELECT word FROM {table} WHERE length(word) BETWEEN %s AND %s", [shortest, longest])
                rows = [(word, candidate) for (candidate,) in cursor.fetchall() for word in allowed]
            if prefixes:
                cursor.execute(f"SELECT p.value, NULL FROM json_each(%s) p WHERE NOT EXISTS (SELECT 1 FROM {table} k "
                               "WHERE k.word >= p.value AND k.word < p.value || char(1114111))", [json.dumps(prefixes)])
                rows += cursor.fetchall()
        unnamed = {word for word, candidate in rows if candidate is None}
        scored: dict[str, dict[str, int]] = {word: {} for word in allowed}
        for word, candidate in rows:
            if candidate is not None and (distance := damerau_distance(word, candidate, allowed[word])) <= \
                    allowed[word]:
                scored[word][candidate] = distance
        # First the words typed that the vocabulary holds: one a visible document holds is not corrected, so its
        # close words (a dozen for "date": data, rate, gate…) need no look-up in the documents, the costly part.
        typed = sorted(word for word, close in scored.items() if word in close)
        held = _held_by_visible(cursor, typed, visible) if typed else set()
        looked_up = sorted({candidate for word, close in scored.items() if word not in held for candidate in close
                            if candidate not in typed})
        held |= _held_by_visible(cursor, looked_up, visible) if looked_up else set()
    found: dict[str, list[str]] = {}
    for word, close in scored.items():
        kept = [candidate for candidate in close if candidate in held]
        if word not in held and kept:
            found[word] = sorted(kept, key=lambda candidate: (close[candidate], candidate))[:CORRECTIONS_PER_WORD]
    return found, unnamed


def _held_by_visible(cursor, words: list[str], visible: Visibility | None) -> set[str]:
    """Those of the vocabulary's ``words`` that a visible asset's name, terms or labels hold. For a user who sees
    every asset (``visible`` None), all of them, without reading the documents: the vocabulary holds every word of
    the present documents' names, terms and labels (it is written with them); a word no document holds any more
    stays in it until a rebuild (``manage.py search_reindex``), and is then only a correction that finds nothing,
    or a word typed that is not corrected. Reading the documents for it cost 30–60 ms a query (a GIN bitmap of
    every document holding each word)."""
    if visible is None:
        return set(words)
    visible_sql, visible_params = visible.sql()
    document = _table(AssetSearchDocument)
    if connection.vendor == "postgresql":
        # The word in the name, the terms or the labels: one lexeme per part (_Document.tsvector), each quoted.
        cursor.execute(f"""
            SELECT w FROM unnest(%s::text[]) w WHERE EXISTS (
                SELECT 1 FROM {document} m
                WHERE m.document @@ format('%%L | %%L | %%L', 'a_' || w, 'b_' || w, 'c_' || w)::tsquery
                  AND {visible_sql})""", [words, *visible_params])
    else:
        cursor.execute(f"""
            SELECT w.value FROM json_each(%s) w WHERE EXISTS (
                SELECT 1 FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH '{{name terms labels}} : "' || w.value || '"'
                AND rowid IN (SELECT m.asset_id FROM {document} m WHERE {visible_sql}))""",
                       [json.dumps(words), *visible_params])
    return {word for (word,) in cursor.fetchall()}


# The facets, and the fields of ``Filters`` that each one's values set.
FACET_FILTERS = {"type": ("type",), "source": ("source",), "schema": ("schema",),
                 "classification": ("classification",), "sensitivity": ("sensitivity",), "tag": ("tag",),
                 "term": ("term",), "owner": ("owner_users", "owner_groups"), "certification": ("certification",)}
FACETS = tuple(FACET_FILTERS)
NO_CERTIFICATION = "none"
# A search counts its results exactly up to this many, then says "at least this many" (as Elasticsearch's
# track_total_hits does): an exact count of 70,000 results read every one of them from the table, 300 ms.
COUNT_EXACT_UP_TO = 1_000
# Hyphenated tokens give a query's name several spellings ("e mail", "email"): at most this many are compared.
NAME_VARIANTS = 4


@dataclass(frozen=True)
class Filters:
    """The facet values a search is narrowed to: several values of one facet are alternatives (any of them),
    different facets all apply. Values are already checked (``catalog.selectors``)."""

    type: tuple[str, ...] = ()
    source: tuple[int, ...] = ()
    schema: tuple[int, ...] = ()
    classification: tuple[str, ...] = ()
    sensitivity: tuple[str, ...] = ()
    tag: tuple[int, ...] = ()
    term: tuple[int, ...] = ()
    owner_users: tuple[int, ...] = ()
    owner_groups: tuple[int, ...] = ()
    certification: tuple[str, ...] = ()


def _in_list(column: str, values: Sequence) -> tuple[str, list]:
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(values)]
    return f"{column} IN (SELECT value FROM json_each(%s))", [json.dumps(list(values))]


@dataclass(frozen=True)
class Visibility:
    """What a scoped user may see, as a condition on the documents themselves (each carries its asset's data
    source), which their indexes apply: the assets of ``source_ids`` (the sources of the workspaces where the user
    may view assets) and the assets ``asset_ids`` one by one (direct grants). ``catalog.selectors`` builds it from
    the grants ``restrict()`` reads; a user who sees every asset has none (None)."""

    source_ids: tuple[int, ...] = ()
    asset_ids: tuple[int, ...] = ()

    def sql(self, alias: str = "m") -> tuple[str, list]:
        parts, params = [], []
        for column, values in ((f"{alias}.data_source_id", self.source_ids), (f"{alias}.asset_id", self.asset_ids)):
            if values:
                sql, bound = _in_list(column, values)
                parts.append(sql)
                params += bound
        return (f"({' OR '.join(parts)})" if parts else "1 = 0"), params


def _tsquery_word(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


@dataclass
class Query:
    """A user's text as the statements use it: its words (``groups``: per whitespace-separated token, its words,
    and for a hyphenated one, "e-mail", the words joined, "email", which it also finds)."""

    text: str
    groups: list[tuple[list[str], str | None]]
    corrections: dict[str, list[str]] = field(default_factory=dict)
    # Words (or hyphenated tokens joined) that start no word of a name, term or label (look_up).
    unnamed: set[str] = field(default_factory=set)

    @classmethod
    def parse(cls, text: str) -> Query:
        text = (text or "").strip()
        if not text:
            raise ValidationError({"q": ["Type something to search for."]})
        if len(text) > QUERY_MAX_LENGTH:
            raise ValidationError({"q": [f"At most {QUERY_MAX_LENGTH} characters."]})
        if "\x00" in text:  # PostgreSQL refuses it in any text parameter (the whole text is compared to names)
            raise ValidationError({"q": ["Null characters are not allowed."]})
        groups = []
        for token in text.split():
            words = search_words(token).split()
            if words:
                joined = search_words(token.replace("-", "")) if len(words) > 1 and "-" in token else None
                groups.append((words, joined if joined and " " not in joined else None))
        query = cls(text=text, groups=groups)
        if not query.words:
            raise ValidationError({"q": ["Type letters or digits to search for."]})
        if len(query.words) > QUERY_MAX_WORDS:
            raise ValidationError({"q": [f"At most {QUERY_MAX_WORDS} words."]})
        return query

    @property
    def words(self) -> list[str]:
        return [word for words, _ in self.groups for word in words]

    def named(self) -> bool:
        """Can a name, a term or a label hold every token? Not when one starts no word of the vocabulary (a typo,
        a word of descriptions only): the tiers before the typos then find nothing, and are not read."""
        return all(not any(word in self.unnamed for word in words) or bool(joined and joined not in self.unnamed)
                   for words, joined in self.groups)

    @property
    def joined(self) -> str:
        return " ".join(self.words)

    def names(self) -> list[str]:
        """The name words an exact name or a name prefix is compared with: the words, and with each hyphenated
        token joined ("e mail address" and "email address")."""
        variants = [[]]
        for words, joined in self.groups:
            variants = [*(v + words for v in variants), *((v + [joined]) for v in variants if joined)]
        return list(dict.fromkeys(" ".join(variant) for variant in variants))[:NAME_VARIANTS]

    def _each_group(self, clause, all_of: str, any_of: str) -> str:
        parts = []
        for words, joined in self.groups:
            split = f" {all_of} ".join(clause(word, True) for word in words)
            parts.append(f"(({split}) {any_of} {clause(joined, False)})" if joined else f"({split})")
        return f" {all_of} ".join(parts)

    # PostgreSQL tsqueries: each word a prefix of a word of the given parts (_Document.tsvector; none: anywhere),
    # or with ``fuzzy`` one of its corrections, a prefix too (as the word typed right would be: "custmer" →
    # "customer" finds "customers"); the words all required.
    def tsquery(self, parts: str = "", fuzzy: bool = False) -> str:
        prefixes = [f"{part}_" for part in parts] or [""]

        def clause(word: str, correctable: bool) -> str:
            options = [f"{_tsquery_word(prefix + word)}:*" for prefix in prefixes]
            if fuzzy and correctable:
                options += [f"{_tsquery_word(prefix + fixed)}:*" for prefix in prefixes
                            for fixed in self.corrections.get(word, ())]
            return f"({' | '.join(options)})"
        return self._each_group(clause, "&", "|")

    # SQLite FTS5 queries: the same, with a column filter for the parts.
    def match(self, columns: str = "", fuzzy: bool = False) -> str:
        def clause(word: str, correctable: bool) -> str:
            options = [f'"{word}"*'] + ([f'"{fixed}"*' for fixed in self.corrections.get(word, ())]
                                        if fuzzy and correctable else [])
            return f"({' OR '.join(options)})"
        body = self._each_group(clause, "AND", "OR")
        return f"{{{columns}}} : ({body})" if columns else body


# The parts each full-text tier looks in: PostgreSQL lexeme prefixes, SQLite FTS5 columns.
_TIER_PARTS = {"name": ("a", "name"), "term": ("ab", "name terms"), "label": ("abc", "name terms labels"),
               "fuzzy": ("abc", "name terms labels"), "description": ("", "")}
# Within the typo tier, the names that hold every word (or a correction of it) come first: "custmer_emial" finds
# customer_email before email, found by its qualified name's "customers".
_FUZZY_NAME = ("a", "name")


@dataclass(frozen=True)
class Statement:
    sql: str
    params: list


def _filters_sql(filters: Filters) -> tuple[str, list]:
    """The facet filters as conditions on ``m`` (the document) and, for ``_ASSET_FILTERS``, ``a`` (its asset)."""
    conditions, params = [], []

    def add(sql: str, values: list) -> None:
        conditions.append(sql)
        params.extend(values)

    for column, values in (("a.type", filters.type), ("a.data_source_id", filters.source),
                           ("m.schema_id", filters.schema), ("a.sensitivity", filters.sensitivity)):
        if values:
            add(*_in_list(column, values))
    if filters.classification:
        sql, values = _in_list("c.name", filters.classification)
        counted = "', '".join((AssetClassification.Status.SUGGESTED, AssetClassification.Status.CONFIRMED))
        add(f"EXISTS (SELECT 1 FROM {_table(AssetClassification)} ac JOIN {_table(Classification)} c ON "
            f"c.id = ac.classification_id WHERE ac.asset_id = m.asset_id AND ac.status IN ('{counted}') AND {sql})",
            values)
    for table, column, values in ((AssetTag, "tag_id", filters.tag), (GlossaryTermAsset, "term_id", filters.term)):
        if values:
            sql, bound = _in_list(f"l.{column}", values)
            add(f"EXISTS (SELECT 1 FROM {_table(table)} l WHERE l.asset_id = m.asset_id AND {sql})", bound)
    if filters.owner_users or filters.owner_groups:
        users, user_params = _in_list("o.user_id", filters.owner_users)
        groups, group_params = _in_list("o.group_id", filters.owner_groups)
        add(f"EXISTS (SELECT 1 FROM {_table(AssetOwner)} o WHERE o.asset_id = m.asset_id AND ({users} OR {groups}))",
            [*user_params, *group_params])
    if filters.certification:
        statuses = [status for status in filters.certification if status != NO_CERTIFICATION]
        options = []
        option_params: list = []
        if statuses:
            sql, bound = _in_list("cert.status", statuses)
            options.append(f"EXISTS (SELECT 1 FROM {_table(AssetCertification)} cert WHERE cert.asset_id = m.asset_id "
                           f"AND {sql})")
            option_params += bound
        if NO_CERTIFICATION in filters.certification:
            options.append(f"NOT EXISTS (SELECT 1 FROM {_table(AssetCertification)} cert WHERE "
                           "cert.asset_id = m.asset_id)")
        add(f"({' OR '.join(options)})", option_params)
    return " AND ".join(conditions) or "1 = 1", params


# Filters on the asset's own columns: the statement then joins the assets (the others read the document or the
# links).
_ASSET_FILTERS = ("type", "source", "sensitivity")


def _matching(name: str) -> str:
    """The condition that the document matches the query of the tier ``name`` (``_named_values``)."""
    if connection.vendor == "postgresql":
        return f"m.document @@ CAST(%({name})s AS tsquery)"
    return f"m.asset_id IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %({name})s)"


def _named_values(query: Query) -> dict:
    postgresql = connection.vendor == "postgresql"
    values = {}
    for tier, (parts, columns) in _TIER_PARTS.items():
        fuzzy = tier == "fuzzy"
        values[tier] = query.tsquery(parts, fuzzy=fuzzy) if postgresql else query.match(columns, fuzzy=fuzzy)
    parts, columns = _FUZZY_NAME
    values["fuzzyname"] = query.tsquery(parts, fuzzy=True) if postgresql else query.match(columns, fuzzy=True)
    values["loose"] = query.tsquery("", fuzzy=True) if postgresql else query.match("", fuzzy=True)
    names = query.names()
    # An exact qualified name: the asset's name is what follows one of its dots, so the candidates are the words
    # after each dot, and the index on the name's words finds them.
    lowered = query.text.lower()
    exact = [*names, *(search_words(lowered[at + 1:]) for at, char in enumerate(lowered) if char == ".")]
    values |= {"names": list(dict.fromkeys(exact)), "words": names, "lowered": lowered}
    values |= {f"prefix{letter}": f"{name}%" for letter, name in zip("abcd", names, strict=False)}
    if not postgresql:
        values |= {key: json.dumps(values[key]) for key in ("names", "words")}
    return values


def _tier_conditions(query: Query) -> list[tuple[str, str]]:
    """``(tier, condition)`` in ranking order (``TIERS``); a typo tier only when the vocabulary corrected a word,
    and only the typos and descriptions when a word starts no word of a name, term or label (``Query.named``)."""
    any_of = (lambda column, name: f"{column} = ANY(%({name})s)") if connection.vendor == "postgresql" else \
        (lambda column, name: f"{column} IN (SELECT value FROM json_each(%({name})s))")
    # One LIKE per variant, each a constant prefix: what lets PostgreSQL read the names' index as a range.
    prefix = " OR ".join(f"m.name_words LIKE %(prefix{letter})s" for letter in "abcd"[:len(query.names())])
    conditions = [
        ("exact", f"{any_of('m.name_words', 'names')} AND ({any_of('m.name_words', 'words')} "
                  "OR lower(m.qualified_name) = %(lowered)s)"),
        ("prefix", prefix),
    ]
    corrected = any(query.corrections.get(word) for word in query.words)
    for tier in _TIER_PARTS:
        if tier != "fuzzy" or corrected:
            conditions.append((tier, _matching(tier)))
    named = query.named()
    return [(tier, condition) for tier, condition in conditions if named or tier in ("fuzzy", "description")]


def _found(query: Query) -> str:
    """What a search finds: every document whose parts hold the words, or one of a word's corrections."""
    corrected = any(query.corrections.get(word) for word in query.words)
    return f"({_matching('description')} OR {_matching('fuzzy')})" if corrected else _matching("description")


def _statement(query: Query, visible: Visibility | None, filters: Filters, condition: str, *,
               asset_columns: bool = False) -> Statement:
    """``FROM … WHERE``: the documents meeting ``condition`` among those ``visible`` (None: every one) and
    ``filters`` leaves, as ``m``, their assets joined as ``a`` when a filter or ``asset_columns`` needs them.

    Documents exist for present assets only (a removed asset loses its document in the write that removes it),
    so the assets are never joined to find out which are present. On PostgreSQL the tsqueries are constants, so
    that the planner estimates from the index's statistics how many documents match."""
    visible_sql, visible_params = visible.sql() if visible is not None else ("1 = 1", [])
    filters_sql, filter_params = _filters_sql(filters)
    join_assets = asset_columns or any(getattr(filters, name) for name in _ASSET_FILTERS)
    join = f"JOIN {_table(Asset)} a ON a.id = m.asset_id" if join_assets else ""
    sql = (f"FROM {_table(AssetSearchDocument)} m {join} WHERE ({condition}) AND {visible_sql} "
           f"AND {filters_sql}")
    sql, params = _named(sql, visible_params, filter_params, _named_values(query))
    return Statement(sql, params)


def _named(sql: str, visible_params: Sequence, filter_params: Sequence, named: dict) -> tuple[str, list]:
    """Turn the statement's named placeholders (``%(words)s``) into positional ones, in the order they appear,
    around the positional parameters of the visible and filter SQL (which come in that order); a placeholder
    whose value is a ``Statement`` is replaced by its SQL and parameters."""
    pieces = re.split(r"(%\([a-z0-9]+\)s|%%|%s)", sql)
    params, positional = [], iter([*visible_params, *filter_params])
    out = []
    for piece in pieces:
        if piece.startswith("%(") and piece.endswith(")s") and isinstance(named[piece[2:-2]], Statement):
            out.append(named[piece[2:-2]].sql)  # a statement of its own, spliced in with its parameters
            params += named[piece[2:-2]].params
        elif piece.startswith("%(") and piece.endswith(")s"):
            params.append(named[piece[2:-2]])
            out.append("%s")
        elif piece == "%s":
            params.append(next(positional))
            out.append(piece)
        else:
            out.append(piece)
    return "".join(out), params


# Within a tier: exact names the curated first (certified, described, owned), then the shorter qualified name;
# typos the names holding every word first (_FUZZY_NAME); the other tiers the shorter name (the closer to what was
# typed) first. Then the qualified name and the id, so that every page ranks the same. Two keys per tier, from the
# columns of ``m``, so that the statement ranking every tier at once (search_ranked) and the one ranking tier by
# tier (search_page) order alike.
def _order_keys(tier: str) -> tuple[str, str]:
    if tier == "exact":
        return "-m.curated", "length(m.qualified_name)"
    if tier == "fuzzy":
        return f"CASE WHEN {_matching('fuzzyname')} THEN 0 ELSE 1 END", "length(m.name_words)"
    return "0", "length(m.name_words)"


def _ranked_columns(document: bool) -> str:
    """The columns of a found document that its tier and its rank are decided from (``document``: the tsvector,
    for a tier matched on the row read rather than through the index)."""
    return "m.asset_id, m.curated, m.name_words, m.qualified_name" + (
        ", m.document" if document and connection.vendor == "postgresql" else "")


@contextmanager
def _through_indexes(cursor):
    """On PostgreSQL, the search's statements read the documents through their indexes, never by a sequential
    scan: under a LIMIT (the bounded count, a tier's page) the planner reckons a scan of the table stops after a
    few pages, and when fewer documents match than it estimated (a typo's 663 against 3,001) it reads all
    500,000 tsvectors, 1.7 s. And no parallel plan: a page's tiers are a UNION ALL read in order under one LIMIT
    (search_page), which a parallel append would not keep. Both set for the statement's transaction only."""
    if connection.vendor != "postgresql":
        yield
        return
    with _set_for_the_transaction(cursor, {"enable_seqscan": ("off", "on"),
                                           "max_parallel_workers_per_gather": ("0", "2")}):
        yield


@contextmanager
def _set_for_the_transaction(cursor, settings: dict[str, tuple[str, str]]):
    """PostgreSQL's settings ``{name: (value, default)}`` at ``value`` for the statements inside, in one statement.
    ``set_config``'s local form lasts to the end of the transaction: when this opens it (no transaction around),
    its commit puts them back; inside a caller's transaction, which a savepoint's release does not end, they are
    put back by hand, a setting not defined yet in this session (an extension's, before its library loads)
    reading as ``default``."""
    own = not connection.in_atomic_block
    names = list(settings)
    with transaction.atomic():
        if own:
            cursor.execute("SELECT " + ", ".join(["set_config(%s, %s, true)"] * len(names)),
                           [item for name in names for item in (name, settings[name][0])])
        else:
            cursor.execute("SELECT " + ", ".join(["coalesce(current_setting(%s, true), %s), set_config(%s, %s, true)"]
                                                 * len(names)),
                           [item for name in names for item in (name, settings[name][1], name, settings[name][0])])
            before = cursor.fetchone()[::2]
        try:
            yield
        finally:
            if not own:
                cursor.execute("SELECT " + ", ".join(["set_config(%s, %s, true)"] * len(names)),
                               [item for name, value in zip(names, before, strict=True) for item in (name, value)])


_BTREE_TIERS = ("exact", "prefix")


def search_ranked(query: Query, visible: Visibility | None, filters: Filters, *,
                  up_to: int) -> tuple[int, list[tuple[int, str]] | None]:
    """How many assets are found, counted up to ``up_to`` + 1, and the first ``up_to`` of them ranked, best first,
    as ``(asset id, tier name)`` — in one statement — when they are all of them or come from the exact names and
    prefixes alone; else ``(count, None)``, and :func:`search_page` ranks a page tier by tier.

    The statement reads the exact names, then the prefixes, through the names' btree, then every other document
    found through the index of the query's words, deciding its tier on the row read (its tsvector) rather than by
    a statement per tier that would read the documents again — under one LIMIT, so that when the first tiers fill
    it (a prefix such as "cust") the words' index is not read at all. When the last tier read is cut by the
    LIMIT, it is ranked among the documents read of it (as :func:`search_page` ranks a tier among the first it
    finds): that holds for the exact names and prefixes, read tier by tier, and for the others, read together,
    only when the rows read of them are all of one tier and no document is in a tier before it (then asked)."""
    conditions = _tier_conditions(query)
    btree = [(tier, condition) for tier, condition in conditions if tier in _BTREE_TIERS]
    others = [(tier, condition) for tier, condition in conditions if tier not in _BTREE_TIERS]
    document, no_document = ("m.document", "CAST(NULL AS tsvector)") if connection.vendor == "postgresql" else \
        ("NULL", "NULL")
    branches, named = [], _named_values(query)
    for at, (tier, condition) in enumerate(btree):
        earlier = " OR ".join(f"({sql})" for _, sql in btree[:at])
        named[f"tier{at}"] = _statement(query, visible, filters,
                                        f"({condition}) AND NOT ({earlier})" if earlier else condition)
        branches.append(f"SELECT m.asset_id, m.curated, m.name_words, m.qualified_name, {no_document} AS document, "
                        f"{TIERS.index(tier)} AS tier %(tier{at})s")
    if others:
        excluded = " OR ".join(f"({sql})" for _, sql in btree)
        # With corrections, the documents are found through the looser "each word or a correction, anywhere"
        # (one index entry per spelling, where the typo tier's parts are three), and those found only by a
        # correction in a description, which no tier holds, are left out on the row read.
        corrected = any(query.corrections.get(word) for word in query.words)
        found = _matching("loose") if corrected else _found(query)
        named["rest"] = _statement(query, visible, filters, f"({found}) AND NOT ({excluded})" if excluded else found)
        tier_of = " ".join(f"WHEN {condition} THEN {TIERS.index(tier)}" for tier, condition in others)
        branches.append(f"SELECT * FROM (SELECT m.*, CASE {tier_of} END AS tier FROM (SELECT m.asset_id, m.curated, "
                        f"m.name_words, m.qualified_name, {document} AS document %(rest)s) m) m "
                        "WHERE m.tier IS NOT NULL")
    keys = [(TIERS.index(tier), *_order_keys(tier)) for tier, _ in conditions]
    first = " ".join(f"WHEN {number} THEN {key}" for number, key, _ in keys)
    second = " ".join(f"WHEN {number} THEN {key}" for number, _, key in keys)
    sql, params = _named(f"""
        SELECT m.asset_id, m.tier FROM (SELECT * FROM ({" UNION ALL ".join(branches)}) m LIMIT %(bound)s) m
        ORDER BY m.tier, CASE m.tier {first} END, CASE m.tier {second} END, m.qualified_name, m.asset_id""",
                         [], [], named | {"bound": up_to + 1})
    with connection.cursor() as cursor, _through_indexes(cursor):
        cursor.execute(sql, params)
        rows = [(asset_id, TIERS[tier]) for asset_id, tier in cursor.fetchall()]
        if len(rows) <= up_to:
            return len(rows), rows
        # Past the bound, the rows rank a page as search_page would when the documents found together all belong
        # to one tier and no document is in a tier before it (none read together, or "shipmnet date": only typos;
        # "inbox": only terms, once a statement has found no name holding it): that tier is then the one cut.
        together = {tier for _, tier in rows if tier not in _BTREE_TIERS}
        if not together:
            return len(rows), rows[:up_to]
        if len(together) == 1:
            (tier,) = together
            before = [condition for other, condition in others[:[other for other, _ in others].index(tier)]]
            if not before or not _any_found(cursor, query, visible, filters, before):
                return len(rows), rows[:up_to]
    return len(rows), None


def _any_found(cursor, query: Query, visible: Visibility | None, filters: Filters, conditions: list[str]) -> bool:
    statement = _statement(query, visible, filters, " OR ".join(f"({condition})" for condition in conditions))
    cursor.execute(f"SELECT EXISTS (SELECT 1 {statement.sql})", statement.params)
    return cursor.fetchone()[0]


def search_page(query: Query, visible: Visibility | None, filters: Filters, *, limit: int,
                offset: int) -> list[tuple[int, str]]:
    """``(asset id, tier name)`` of one page of results, best first, when more are found than
    :func:`search_ranked` ranks at once: one statement, the tiers in ranking order under one LIMIT (a UNION ALL
    that PostgreSQL and SQLite read branch by branch, stopping once the page is full), each excluding the ones
    before it, so that each reads through its own index (the names' btree for exact names and prefixes, the
    document's GIN for the others) and a page of the first tiers never reads the many documents that match only a
    description. Within a tier the order is among the first ``COUNT_EXACT_UP_TO`` documents the tier finds, in the
    table's order (the pages reach no further): a tier of 70,000 (a word of the descriptions) would otherwise read
    every one of them to sort them."""
    wanted = offset + limit
    conditions = _tier_conditions(query)
    named = _named_values(query)
    branches = []
    for at, (tier, condition) in enumerate(conditions):
        earlier = " OR ".join(f"({sql})" for _, sql in conditions[:at])
        statement = _statement(query, visible, filters, f"({condition}) AND NOT ({earlier})" if earlier else
                               condition)
        first, second = _order_keys(tier)
        branches.append(f"SELECT * FROM (SELECT m.asset_id, {TIERS.index(tier)} AS tier FROM "
                        f"(SELECT {_ranked_columns(tier == 'fuzzy')} %(tier{at})s LIMIT %(bound)s) m "
                        f"ORDER BY {'' if first == '0' else first + ', '}{second}, m.qualified_name, m.asset_id "
                        f"LIMIT %(wanted)s) t{at}")
        named[f"tier{at}"] = statement
    sql, params = _named(" UNION ALL ".join(branches) + " LIMIT %(limit)s OFFSET %(offset)s", [], [],
                         named | {"bound": COUNT_EXACT_UP_TO, "wanted": wanted, "limit": limit, "offset": offset})
    with connection.cursor() as cursor, _through_indexes(cursor):
        cursor.execute(sql, params)
        return [(asset_id, TIERS[tier]) for asset_id, tier in cursor.fetchall()]


def search_ids(query: Query, visible: Visibility | None, filters: Filters) -> Statement:
    """A SELECT of the ids of every asset found, to filter another query by (``pk__in=RawSQL(…)``)."""
    statement = _statement(query, visible, filters, _found(query))
    return Statement(f"SELECT m.asset_id {statement.sql}", statement.params)


def search_facets(query: Query, visible: Visibility | None, filters: Filters) -> dict[str, list[dict]]:
    """Per facet, ``{"value", "label", "count"}``, the largest first: the count a filter on that value gives. A
    facet is counted over the result the other facets' filters leave — its own values being alternatives (any of
    them), a value's count is what the search gives with that value as the facet's filter, and a facet a filter
    narrows still offers its other values. One statement (a result per facet that has a filter of its own)."""
    ctes, params, over = [], [], {}

    def matched(name: str, narrowed_by: Filters) -> str:
        statement = _statement(query, visible, narrowed_by, _found(query), asset_columns=True)
        ctes.append(f"{name} AS (SELECT m.asset_id, m.schema_id, a.type, a.data_source_id, a.sensitivity "
                    f"{statement.sql})")
        params.extend(statement.params)
        return name

    everything = matched("matched", filters)
    for facet, fields in FACET_FILTERS.items():
        own = any(getattr(filters, name) for name in fields)
        over[facet] = matched(f"matched_{facet}", replace(filters, **dict.fromkeys(fields, ()))) if own \
            else everything
    text = "text" if connection.vendor == "postgresql" else "TEXT"
    counted = "', '".join((AssetClassification.Status.SUGGESTED, AssetClassification.Status.CONFIRMED))
    sql = f"""WITH {", ".join(ctes)}
        SELECT 'type', type, NULL, count(*) FROM {over["type"]} GROUP BY type
        UNION ALL
        SELECT 'source', CAST(m.data_source_id AS {text}), s.name, count(*) FROM {over["source"]} m
            JOIN {_table(DataSource)} s ON s.id = m.data_source_id GROUP BY m.data_source_id, s.name
        UNION ALL
        SELECT 'schema', CAST(m.schema_id AS {text}), sa.qualified_name, count(*) FROM {over["schema"]} m
            JOIN {_table(Asset)} sa ON sa.id = m.schema_id GROUP BY m.schema_id, sa.qualified_name
        UNION ALL
        SELECT 'sensitivity', sensitivity, NULL, count(*) FROM {over["sensitivity"]} WHERE sensitivity <> ''
            GROUP BY sensitivity
        UNION ALL
        SELECT 'classification', c.name, NULL, count(*) FROM {over["classification"]} m
            JOIN {_table(AssetClassification)} ac ON ac.asset_id = m.asset_id AND ac.status IN ('{counted}')
            JOIN {_table(Classification)} c ON c.id = ac.classification_id GROUP BY c.name
        UNION ALL
        SELECT 'tag', CAST(tg.id AS {text}), tg.name, count(*) FROM {over["tag"]} m
            JOIN {_table(AssetTag)} l ON l.asset_id = m.asset_id JOIN {_table(Tag)} tg ON tg.id = l.tag_id
            GROUP BY tg.id, tg.name
        UNION ALL
        SELECT 'term', CAST(g.id AS {text}), g.name, count(*) FROM {over["term"]} m
            JOIN {_table(GlossaryTermAsset)} l ON l.asset_id = m.asset_id
            JOIN {_table(GlossaryTerm)} g ON g.id = l.term_id GROUP BY g.id, g.name
        UNION ALL
        SELECT 'owner', CASE WHEN o.user_id IS NOT NULL THEN 'user:' || CAST(o.user_id AS {text})
                             ELSE 'group:' || CAST(o.group_id AS {text}) END,
               COALESCE(u.username, gr.name), count(DISTINCT m.asset_id) FROM {over["owner"]} m
            JOIN {_table(AssetOwner)} o ON o.asset_id = m.asset_id
            LEFT JOIN {_table(get_user_model())} u ON u.id = o.user_id
            LEFT JOIN {_table(Group)} gr ON gr.id = o.group_id
            GROUP BY o.user_id, o.group_id, u.username, gr.name
        UNION ALL
        SELECT 'certification', COALESCE(cert.status, '{NO_CERTIFICATION}'), NULL, count(*)
            FROM {over["certification"]} m
            LEFT JOIN {_table(AssetCertification)} cert ON cert.asset_id = m.asset_id
            GROUP BY COALESCE(cert.status, '{NO_CERTIFICATION}')"""
    facets: dict[str, list[dict]] = {name: [] for name in FACETS}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for facet, value, label, count in cursor.fetchall():
            facets[facet].append({"value": str(value), "label": label if label is not None else str(value),
                                  "count": count})
    for values in facets.values():
        values.sort(key=lambda item: (-item["count"], item["label"]))
    return facets


# --- why a result was found ----------------------------------------------------------------------------------------

# What each tier says when nothing more precise is found.
FOUND_BY = {"exact": "name", "prefix": "start of the name", "name": "words of the name", "term": "glossary term",
            "label": "qualified name", "fuzzy": "close spelling", "description": "description"}


def _holds(words: Sequence[str], text: str) -> bool:
    """Does ``text`` hold a word starting with one of ``words`` (as the search matches a query word)?"""
    held = search_words(text).split()
    return any(word.startswith(wanted) for wanted in words for word in held)


def found_by(query: Query, tier: str, *, name: str, description: str, source_description: str,
             labels: dict[str, list[str]], terms: Sequence[tuple[str, Sequence[str], Sequence[str]]]) -> str:
    """Why an asset was found, in the words a reader knows: the field that holds the query's words and, for a
    curated one, which value: 'term "Electronic mail"', 'synonym "inbox" of term "Electronic mail"',
    'tag "gdpr"', 'classification "PII.EMAIL"', 'owner "alice"', "description", "source comment" —
    ``labels``: the asset's ``tag``, ``classification`` and ``owner`` names; ``terms``: its glossary terms'
    ``(name, synonyms, abbreviations)``."""
    words = list(query.words)
    if tier == "fuzzy":
        spellings = [[word, *query.corrections.get(word, ())] for word in words]
        if all(_holds(alternatives, name) for alternatives in spellings):
            return "close spelling of the name"
        words = [fixed for word in words for fixed in query.corrections.get(word, ())]
    close = "close spelling of " if tier == "fuzzy" else ""
    candidates = []  # (what to say, its text), in the order they are preferred
    if tier in ("term", "fuzzy"):
        for term, synonyms, abbreviations in terms:
            candidates.append((f'term "{term}"', term))
            candidates += [(f'{kind} "{value}" of term "{term}"', value)
                           for kind, values in (("synonym", synonyms), ("abbreviation", abbreviations))
                           for value in values]
    if tier in ("label", "fuzzy"):
        candidates += [(f'{kind} "{value}"', value) for kind in ("tag", "classification", "owner")
                       for value in labels.get(kind, ())]
    # The value that holds every word of the query, else one that holds some.
    for complete in (True, False):
        for said, text in candidates:
            if (all(_holds([word], text) for word in words) if complete else _holds(words, text)):
                return close + said
    if tier == "fuzzy":
        return "close spelling of the name, qualified name or labels"
    if tier == "description" and not _holds(words, description) and _holds(words, source_description):
        return "source comment"
    return FOUND_BY[tier]
