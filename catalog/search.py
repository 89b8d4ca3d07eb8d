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
    refresh is a fixed number of statements whatever the number of assets. ``manage.py search_reindex`` rebuilds
    everything (or one source) for operators.

Ranking
    ``TIERS``: the exact name, then names starting with the query, then names containing its words, then glossary
    terms and synonyms, then tags, classifications, owners and qualified names, then typos (query words corrected
    from the vocabulary), then descriptions; within a tier the shortest name first, then by qualified name.

Reads are the selectors' (``catalog.selectors.asset_search``): they pass the SQL of what the user may see
(``accounts.permissions.visible_sql``), which every statement here joins.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

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
# Descriptions are indexed up to this many characters each (a tsvector holds at most 1 MB).
DESCRIPTION_INDEXED = 10_000
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
# PostgreSQL's limits on a tsvector: a lexeme's length in bytes, a position, positions kept per lexeme.
TSVECTOR_WORD_MAX_BYTES, TSVECTOR_POSITION_MAX, TSVECTOR_POSITIONS_PER_WORD = 2046, 16383, 256

TIERS = ("exact", "prefix", "name", "term", "label", "fuzzy", "description")

_CAMEL_LOWER = re.compile(r"([a-z0-9])([A-Z])")
_CAMEL_UPPER = re.compile(r"([A-Z]+)([A-Z][a-z])")
_SEPARATORS = re.compile(r"[\W_]+")


def search_words(text: str) -> str:
    """The words of ``text`` as the index stores them: camelCase and snake_case split, lower case, one space
    between words ("customerEmail", "customer_email" → "customer email")."""
    text = _CAMEL_UPPER.sub(r"\1 \2", _CAMEL_LOWER.sub(r"\1 \2", text or ""))
    return " ".join(_SEPARATORS.sub(" ", text.lower()).split())


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
    else:
        terms, labels = "''", "a.qualified_name"
    # The schema through a subquery per asset (two primary key probes), not joins: joined, the parents of a scan's
    # batch (the newest assets) were merged with the whole primary key index up to them — 0.6 s per batch.
    return f"""
        SELECT a.id,
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
    """One asset's document: its names, and its words per weight (A name, B terms, C labels, D descriptions)."""

    asset_id: int
    schema_id: int | None
    name: str
    qualified_name: str
    name_words: str
    terms: str
    labels: str
    descriptions: str

    @classmethod
    def from_texts(cls, asset_id, schema_id, name, qualified_name, *texts: str) -> _Document:
        return cls(asset_id, schema_id, name, qualified_name, *(search_words(text) for text in (name, *texts)))

    def tsvector(self) -> str:
        """The ``tsvector`` as PostgreSQL's text form, what ``setweight(to_tsvector('simple', name), 'A') || … ||
        setweight(to_tsvector('simple', descriptions), 'D')`` gives (tests/catalog/test_search.py holds the two
        equal): the words are already split and lower case, so each is a lexeme, at its position in the four
        texts read one after the other."""
        positions: dict[str, list[str]] = {}
        at = 0
        for words, weight in ((self.name_words, "A"), (self.terms, "B"), (self.labels, "C"), (self.descriptions, "D")):
            for word in words.split():
                at += 1
                if len(word.encode()) <= TSVECTOR_WORD_MAX_BYTES:
                    held = positions.setdefault(word, [])
                    if len(held) < TSVECTOR_POSITIONS_PER_WORD:
                        held.append(f"{min(at, TSVECTOR_POSITION_MAX)}{weight}")
        return " ".join(f"'{word}':{','.join(held)}" for word, held in positions.items())


def _documents(ids: Sequence[int], *, new: bool) -> list[_Document]:
    with connection.cursor() as cursor:
        cursor.execute(_texts_sql(linked=not new), [_ids_param(ids)])
        return [_Document.from_texts(*row) for row in cursor.fetchall()]


def _vocabulary(documents: Iterable[_Document]) -> list[str]:
    return sorted({word for document in documents for text in (document.name_words, document.terms, document.labels)
                   for word in text.split()
                   if WORD_MIN_LENGTH <= len(word) <= WORD_MAX_LENGTH and not word.isdigit()})


def _refresh_postgresql(ids: Sequence[int], *, new: bool) -> None:
    from catalog.bulk import copy_rows  # lazy: breaks the import cycle (catalog.bulk imports this module)

    document, word = _table(AssetSearchDocument), _table(SearchWord)
    documents = _documents(ids, new=new)
    rows = [(item.asset_id, item.schema_id, item.name, item.qualified_name, item.name_words, item.tsvector())
            for item in documents]
    with connection.cursor() as cursor:
        if new:
            # Just inserted, so no document yet: COPY, the cheapest way in.
            copy_rows(AssetSearchDocument, ["asset", "schema", "name", "qualified_name", "name_words", "document"],
                      rows)
        else:
            cursor.execute(f"DELETE FROM {document} d USING {_table(Asset)} a WHERE d.asset_id = a.id "
                           f"AND {_ids_in('a.id')} AND a.removed_at IS NOT NULL", [list(ids)])
            if rows:
                cursor.execute(f"""
                    INSERT INTO {document} (asset_id, schema_id, name, qualified_name, name_words, document)
                    SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[], %s::text[],
                                         %s::tsvector[])
                    ON CONFLICT (asset_id) DO UPDATE SET schema_id = EXCLUDED.schema_id, name = EXCLUDED.name,
                        qualified_name = EXCLUDED.qualified_name, name_words = EXCLUDED.name_words,
                        document = EXCLUDED.document""",
                               [list(column) for column in zip(*rows, strict=True)])
        # Only the words the vocabulary lacks are inserted, in order, so that two scans adding the same words wait
        # for one another instead of deadlocking.
        words = _vocabulary(documents)
        if words:
            cursor.execute(f"INSERT INTO {word} (word) SELECT w FROM unnest(%s::text[]) w WHERE NOT EXISTS "
                           f"(SELECT 1 FROM {word} k WHERE k.word = w) ORDER BY w ON CONFLICT (word) DO NOTHING",
                           [words])


def _refresh_sqlite(ids: Sequence[int], *, new: bool) -> None:
    document, word = _table(AssetSearchDocument), _table(SearchWord)
    param = json.dumps(list(ids))
    documents = _documents(ids, new=new)
    with connection.cursor() as cursor:
        if not new:
            cursor.execute(f"DELETE FROM {document} WHERE {_ids_in('asset_id')}", [param])
            cursor.execute(f"DELETE FROM {FTS_TABLE} WHERE {_ids_in('rowid')}", [param])
        cursor.executemany(f"INSERT INTO {document} (asset_id, schema_id, name, qualified_name, name_words) "
                           "VALUES (%s, %s, %s, %s, %s)",
                           [(item.asset_id, item.schema_id, item.name, item.qualified_name, item.name_words)
                            for item in documents])
        cursor.executemany(f"INSERT INTO {FTS_TABLE} (rowid, name, terms, labels, descriptions) "
                           "VALUES (%s, %s, %s, %s, %s)",
                           [(item.asset_id, item.name_words, item.terms, item.labels, item.descriptions)
                            for item in documents])
        cursor.executemany(f"INSERT OR IGNORE INTO {word} (word) VALUES (%s)",
                           [(item,) for item in _vocabulary(documents)])


def documents_refresh(*, asset_ids: Iterable[int], new: bool = False) -> None:
    """Rewrite the search documents of ``asset_ids`` from what the catalog holds now (a removed asset loses its
    document), in a fixed number of statements per ``REFRESH_CHUNK`` assets; ``new``: the assets were just
    inserted, so none has a document, nor terms, tags, classifications or owners, yet. Call it inside the
    transaction of the write it follows, after that write: the documents commit or roll back with it."""
    ids = sorted(set(asset_ids))
    refresh = _refresh_postgresql if connection.vendor == "postgresql" else _refresh_sqlite
    for start in range(0, len(ids), REFRESH_CHUNK):
        refresh(ids[start:start + REFRESH_CHUNK], new=new)


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


def corrections(words: Sequence[str], visible: tuple[str, Sequence] | None) -> dict[str, list[str]]:
    """For each query word that no name, term or label of the visible assets (``visible``: the SQL of their ids;
    None when every asset is) holds, the words within its typo allowance that these do hold, the closest first (at most
    ``CORRECTIONS_PER_WORD``). The vocabulary is shared by every workspace: its words are only candidates, kept
    when a visible document holds them, so that what is corrected, and to what, tells nothing of hidden assets.
    Two statements per word looked up."""
    found: dict[str, list[str]] = {}
    table = _table(SearchWord)
    with connection.cursor() as cursor:
        for word in dict.fromkeys(words):
            limit = allowed_typos(word)
            if not limit:
                continue
            if connection.vendor == "postgresql":
                # The trigram index finds the candidates under a lower threshold, set for this statement's
                # transaction only and put back after (the search's own "%" keeps the default); the edit
                # distance then picks among them. In a session that has not used pg_trgm yet its setting does
                # not exist (the library is loaded by the first "%"): missing_ok reads it as pg_trgm's default.
                with transaction.atomic():
                    cursor.execute("SELECT coalesce(current_setting('pg_trgm.similarity_threshold', true), %s), "
                                   "set_config('pg_trgm.similarity_threshold', %s, true)",
                                   [str(PG_TRGM_DEFAULT_THRESHOLD), str(CORRECTION_TRIGRAM_THRESHOLD)])
                    before = cursor.fetchone()[0]
                    cursor.execute(f"SELECT word FROM {table} WHERE word %% %s AND length(word) BETWEEN %s AND %s",
                                   [word, len(word) - limit, len(word) + limit])
                    candidates = cursor.fetchall()
                    cursor.execute("SELECT set_config('pg_trgm.similarity_threshold', %s, true)", [before])
            else:
                # No trigram index: the words of a close length (the vocabulary of a SQLite catalog is small).
                cursor.execute(f"SELECT word FROM {table} WHERE length(word) BETWEEN %s AND %s",
                               [len(word) - limit, len(word) + limit])
                candidates = cursor.fetchall()
            scored = {candidate: distance for (candidate,) in candidates
                      if (distance := damerau_distance(word, candidate, limit)) <= limit}
            held = _held_by_visible(cursor, sorted(scored), visible) if scored else set()
            if word not in held and held:
                found[word] = sorted(held, key=lambda candidate: (scored[candidate], candidate))[
                    :CORRECTIONS_PER_WORD]
    return found


def _held_by_visible(cursor, words: list[str], visible: tuple[str, Sequence] | None) -> set[str]:
    """Those of the vocabulary's ``words`` that a visible asset's name, terms or labels hold (any asset's when
    ``visible`` is None)."""
    visible_sql, visible_params = visible if visible is not None else ("", ())
    with_visible = f"WITH visible_assets (id) AS ({visible_sql})" if visible is not None else ""
    document = _table(AssetSearchDocument)
    if connection.vendor == "postgresql":
        only_visible = "AND m.asset_id IN (SELECT id FROM visible_assets)" if visible is not None else ""
        cursor.execute(f"""
            {with_visible}
            SELECT w FROM unnest(%s::text[]) w WHERE EXISTS (
                SELECT 1 FROM {document} m WHERE m.document @@ to_tsquery('simple', quote_literal(w) || ':ABC')
                {only_visible})""", [*visible_params, words])
    else:
        only_visible = "AND rowid IN (SELECT id FROM visible_assets)" if visible is not None else ""
        cursor.execute(f"""
            {with_visible}
            SELECT w.value FROM json_each(%s) w WHERE EXISTS (
                SELECT 1 FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH '{{name terms labels}} : "' || w.value || '"'
                {only_visible})""", [*visible_params, json.dumps(words)])
    return {word for (word,) in cursor.fetchall()}


FACETS = ("type", "source", "schema", "classification", "sensitivity", "tag", "term", "owner", "certification")
NO_CERTIFICATION = "none"


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


@dataclass
class Query:
    """A user's text as the statements use it."""

    text: str
    words: list[str]
    corrections: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Query:
        text = (text or "").strip()
        if not text:
            raise ValidationError({"q": ["Type something to search for."]})
        if len(text) > QUERY_MAX_LENGTH:
            raise ValidationError({"q": [f"At most {QUERY_MAX_LENGTH} characters."]})
        if "\x00" in text:  # PostgreSQL refuses it in any text parameter (the whole text is compared to names)
            raise ValidationError({"q": ["Null characters are not allowed."]})
        words = search_words(text).split()
        if not words:
            raise ValidationError({"q": ["Type letters or digits to search for."]})
        if len(words) > QUERY_MAX_WORDS:
            raise ValidationError({"q": [f"At most {QUERY_MAX_WORDS} words."]})
        return cls(text=text, words=words)

    @property
    def joined(self) -> str:
        return " ".join(self.words)

    # PostgreSQL tsqueries: each word a prefix, restricted to weights; the words all required.
    def tsquery(self, weights: str = "", fuzzy: bool = False) -> str:
        parts = []
        for word in self.words:
            options = [f"{word}:*{weights}"]
            if fuzzy:
                options += [f"{fixed}:{weights}" if weights else fixed for fixed in self.corrections.get(word, ())]
            parts.append(f"({' | '.join(options)})")
        return " & ".join(parts)

    # SQLite FTS5 queries: the same, with a column filter for the weights.
    def match(self, columns: str = "", fuzzy: bool = False) -> str:
        parts = []
        for word in self.words:
            options = [f'"{word}"*'] + ([f'"{fixed}"' for fixed in self.corrections.get(word, ())] if fuzzy else [])
            parts.append(f"({' OR '.join(options)})")
        body = " AND ".join(parts)
        return f"{{{columns}}} : ({body})" if columns else body


_FTS_COLUMNS = {"A": "name", "AB": "name terms", "ABC": "name terms labels"}


@dataclass(frozen=True)
class Statement:
    sql: str
    params: list


def _in_list(column: str, values: Sequence) -> tuple[str, list]:
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(values)]
    return f"{column} IN (SELECT value FROM json_each(%s))", [json.dumps(list(values))]


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


def _matched(query: Query, visible: tuple[str, Sequence] | None, filters: Filters, *, ranked: bool = True,
             asset_columns: bool = False) -> Statement:
    """``WITH visible_assets, matched``: the visible, filtered assets the query matches (``visible`` None: the user
    sees every asset, so none is checked), with ``asset_id, name_words, qualified_name, schema_id``, with
    ``ranked`` their ``tier``, with ``asset_columns`` the asset's ``type, data_source_id, sensitivity``.

    Documents exist for present assets only (a removed asset loses its document in the write that removes it), so
    the assets are joined only for their columns, never to find out which are present. On PostgreSQL the tsqueries
    are constants (rather than a CTE's columns) so that the planner estimates how many documents match from the
    index's statistics — how it chooses to hash the visible assets, once, rather than to probe them per match —
    and a typo alternative is searched only when the vocabulary corrected a word: its weights make PostgreSQL
    recheck each document it matches."""
    visible_sql, visible_params = visible if visible is not None else ("", ())
    filters_sql, filter_params = _filters_sql(filters)
    document, asset = _table(AssetSearchDocument), _table(Asset)
    lowered = query.text.lower()
    postgresql = connection.vendor == "postgresql"
    join_assets = asset_columns or not postgresql or any(getattr(filters, name) for name in _ASSET_FILTERS)
    corrected = any(query.corrections.get(word) for word in query.words)
    if postgresql:
        def matching(name: str) -> str:
            return f"m.document @@ to_tsquery('simple', %({name})s)"
    else:
        def matching(name: str) -> str:
            return f"m.asset_id IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %({name})s)"
    tier = f"""
        CASE WHEN m.name_words = %(words)s OR lower(m.name) = %(lowered)s OR lower(m.qualified_name) = %(lowered)s
                  THEN 0
             WHEN m.name_words LIKE %(prefix)s THEN 1
             WHEN {matching('name')} THEN 2
             WHEN {matching('term')} THEN 3
             WHEN {matching('label')} THEN 4
             WHEN {matching('fuzzy')} THEN 5
             ELSE 6 END AS tier""" if ranked else "NULL AS tier"
    found = f"({matching('any')} OR {matching('fuzzy')})" if corrected else matching('any')
    columns = ", a.type, a.data_source_id, a.sensitivity" if asset_columns else ""
    sql = f"""
        WITH {f"visible_assets (id) AS ({visible_sql})," if visible is not None else ""}
        matched AS (
            SELECT m.asset_id, m.name_words, m.qualified_name, m.schema_id{columns}, {tier}
            FROM {document} m {f"JOIN {asset} a ON a.id = m.asset_id" if join_assets else ""}
            WHERE {found} {"AND m.asset_id IN (SELECT id FROM visible_assets)" if visible is not None else ""}
              AND {filters_sql})"""
    if postgresql:
        named = {"any": query.tsquery(), "name": query.tsquery("A"), "term": query.tsquery("AB"),
                 "label": query.tsquery("ABC"), "fuzzy": query.tsquery("ABC", fuzzy=True)}
    else:
        named = {"any": query.match(), "name": query.match(_FTS_COLUMNS["A"]), "term": query.match(_FTS_COLUMNS["AB"]),
                 "label": query.match(_FTS_COLUMNS["ABC"]), "fuzzy": query.match(_FTS_COLUMNS["ABC"], fuzzy=True)}
    named |= {"words": query.joined, "lowered": lowered, "prefix": query.joined + "%"}
    # Named placeholders for the query's own values; the visible and filter SQL bring positional ones, which are
    # turned into named ones so that one statement mixes both.
    sql, params = _named(sql, visible_params, filter_params, named)
    return Statement(sql, params)


def _named(sql: str, visible_params: Sequence, filter_params: Sequence, named: dict) -> tuple[str, list]:
    """Turn the statement's named placeholders (``%(words)s``) into positional ones, in the order they appear,
    around the positional parameters of the visible and filter SQL (which come in that order)."""
    pieces = re.split(r"(%\([a-z]+\)s|%%|%s)", sql)
    params, positional = [], iter([*visible_params, *filter_params])
    out = []
    for piece in pieces:
        if piece.startswith("%(") and piece.endswith(")s"):
            params.append(named[piece[2:-2]])
            out.append("%s")
        elif piece == "%s":
            params.append(next(positional))
            out.append(piece)
        else:
            out.append(piece)
    return "".join(out), params


# Within a tier the shorter name (the closer to what was typed) first.
_RANKING = "ORDER BY tier, length(name_words), qualified_name, asset_id"


def search_page(query: Query, visible: tuple[str, Sequence] | None, filters: Filters, *, limit: int,
                offset: int) -> list[tuple[int, str]]:
    """``(asset id, tier name)`` of one page of results, best first."""
    matched = _matched(query, visible, filters)
    with connection.cursor() as cursor:
        cursor.execute(f"{matched.sql} SELECT asset_id, tier FROM matched {_RANKING} LIMIT %s OFFSET %s",
                       [*matched.params, limit, offset])
        return [(asset_id, TIERS[tier]) for asset_id, tier in cursor.fetchall()]


def search_first(query: Query, visible: tuple[str, Sequence] | None, filters: Filters, *,
                 limit: int) -> tuple[int, list[tuple[int, str]]]:
    """How many assets are found, and the ``(asset id, tier name)`` of the best ``limit``: one statement, so the
    matching documents are read once for a count and its first page."""
    matched = _matched(query, visible, filters)
    with connection.cursor() as cursor:
        # On PostgreSQL OFFSET 0 keeps the subquery apart: its scan ranks each document as it reads it, so the
        # count's window holds narrow rows (ids and ranks, not the documents, which would spill past work_mem).
        fence = "OFFSET 0" if connection.vendor == "postgresql" else ""
        cursor.execute(f"{matched.sql} SELECT asset_id, tier, count(*) OVER () FROM (SELECT asset_id, tier, "
                       f"name_words, qualified_name FROM matched {fence}) ranked {_RANKING} LIMIT %s",
                       [*matched.params, limit])
        rows = cursor.fetchall()
    return (rows[0][2] if rows else 0), [(asset_id, TIERS[tier]) for asset_id, tier, _ in rows]


def search_ids(query: Query, visible: tuple[str, Sequence] | None, filters: Filters) -> Statement:
    """A SELECT of the ids of every asset found, to filter another query by (``pk__in=RawSQL(…)``)."""
    matched = _matched(query, visible, filters, ranked=False)
    return Statement(f"{matched.sql} SELECT asset_id FROM matched", matched.params)


def search_facets(query: Query, visible: tuple[str, Sequence] | None, filters: Filters) -> dict[str, list[dict]]:
    """Per facet, ``{"value", "label", "count"}`` over the whole filtered result (the count a filter on that
    value gives), the largest first. One statement."""
    matched = _matched(query, visible, filters, ranked=False, asset_columns=True)
    text = "text" if connection.vendor == "postgresql" else "TEXT"
    counted = "', '".join((AssetClassification.Status.SUGGESTED, AssetClassification.Status.CONFIRMED))
    sql = f"""{matched.sql}
        SELECT 'type', type, NULL, count(*) FROM matched GROUP BY type
        UNION ALL
        SELECT 'source', CAST(m.data_source_id AS {text}), s.name, count(*) FROM matched m
            JOIN {_table(DataSource)} s ON s.id = m.data_source_id GROUP BY m.data_source_id, s.name
        UNION ALL
        SELECT 'schema', CAST(m.schema_id AS {text}), sa.qualified_name, count(*) FROM matched m
            JOIN {_table(Asset)} sa ON sa.id = m.schema_id GROUP BY m.schema_id, sa.qualified_name
        UNION ALL
        SELECT 'sensitivity', sensitivity, NULL, count(*) FROM matched WHERE sensitivity <> '' GROUP BY sensitivity
        UNION ALL
        SELECT 'classification', c.name, NULL, count(*) FROM matched m
            JOIN {_table(AssetClassification)} ac ON ac.asset_id = m.asset_id AND ac.status IN ('{counted}')
            JOIN {_table(Classification)} c ON c.id = ac.classification_id GROUP BY c.name
        UNION ALL
        SELECT 'tag', CAST(tg.id AS {text}), tg.name, count(*) FROM matched m
            JOIN {_table(AssetTag)} l ON l.asset_id = m.asset_id JOIN {_table(Tag)} tg ON tg.id = l.tag_id
            GROUP BY tg.id, tg.name
        UNION ALL
        SELECT 'term', CAST(g.id AS {text}), g.name, count(*) FROM matched m
            JOIN {_table(GlossaryTermAsset)} l ON l.asset_id = m.asset_id
            JOIN {_table(GlossaryTerm)} g ON g.id = l.term_id GROUP BY g.id, g.name
        UNION ALL
        SELECT 'owner', CASE WHEN o.user_id IS NOT NULL THEN 'user:' || CAST(o.user_id AS {text})
                             ELSE 'group:' || CAST(o.group_id AS {text}) END,
               COALESCE(u.username, gr.name), count(DISTINCT m.asset_id) FROM matched m
            JOIN {_table(AssetOwner)} o ON o.asset_id = m.asset_id
            LEFT JOIN {_table(get_user_model())} u ON u.id = o.user_id
            LEFT JOIN {_table(Group)} gr ON gr.id = o.group_id
            GROUP BY o.user_id, o.group_id, u.username, gr.name
        UNION ALL
        SELECT 'certification', COALESCE(cert.status, '{NO_CERTIFICATION}'), NULL, count(*) FROM matched m
            LEFT JOIN {_table(AssetCertification)} cert ON cert.asset_id = m.asset_id
            GROUP BY COALESCE(cert.status, '{NO_CERTIFICATION}')"""
    facets: dict[str, list[dict]] = {name: [] for name in FACETS}
    with connection.cursor() as cursor:
        cursor.execute(sql, matched.params)
        for facet, value, label, count in cursor.fetchall():
            facets[facet].append({"value": str(value), "label": label if label is not None else str(value),
                                  "count": count})
    for values in facets.values():
        values.sort(key=lambda item: (-item["count"], item["label"]))
    return facets
