"""Stewards' Markdown (asset descriptions, term definitions) rendered to HTML that is safe to show.

Two maintained libraries, each doing one job: markdown-it-py parses CommonMark with raw HTML switched off (a
``<script>`` in the text stays text), and nh3 (ammonia) sanitises its output against an allow-list, so a link to
``javascript:`` or an attribute no renderer option anticipated is removed whatever the parser let through.

Tables are bounded: a table row with fewer cells than its header is completed with empty ones, so a 10,000-character
text (a header of 1,000 columns over 2,500 lines of ``|``) spelled 65,536 cells — 670 kB of HTML and seconds of
parsing per rendering, for every term of a glossary page. A text whose tables could hold more than
``MAX_TABLE_CELLS`` cells is rendered without tables (its pipes stay text).
"""
from __future__ import annotations

import html
import re

import nh3
from markdown_it import MarkdownIt

_parser = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").enable("strikethrough")
_parser_without_tables = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("strikethrough")

MAX_TABLE_CELLS = 10_000
_DELIMITER_CHARACTERS = frozenset("|-: \t")


def _table_cells_bound(text: str) -> int:
    """At most how many cells the tables of ``text`` hold: its lines times the columns of its widest delimiter
    row (``|---|:-:|``: a table's rows all have its delimiter row's columns, filled or not)."""
    lines = text.splitlines()
    columns = max((line.count("|") + 1 for line in lines
                   if "|" in line and "-" in line and _DELIMITER_CHARACTERS.issuperset(line)), default=0)
    return len(lines) * columns


ALLOWED_TAGS = {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "s", "del", "code", "pre",
                "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"style"}, "td": {"style"}}


_LINE_ENDINGS = re.compile(r"\r\n?")


def text_with_newlines(text: str) -> str:
    """``text`` with every line ending a ``\\n``: browsers post a textarea's lines ending in ``\\r\\n`` (the HTML
    standard says so), an API client usually ``\\n``, an old Mac file ``\\r``. The curation services store the
    stewards' texts (descriptions, term definitions, notes) this way, so the same text typed in the admin and sent
    to the API is the same stored text: compared as unchanged, searched and exported alike."""
    return _LINE_ENDINGS.sub("\n", text) if text else text


def render_markdown(text: str) -> str:
    """Safe HTML for ``text``: links keep only http, https and mailto targets and open nothing with the page's
    rights (``rel="noopener noreferrer nofollow"``); images and raw HTML are not rendered."""
    if not text:
        return ""
    parser = _parser if _table_cells_bound(text) <= MAX_TABLE_CELLS else _parser_without_tables
    html = parser.render(text)
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes={"http", "https", "mailto"},
                     link_rel="noopener noreferrer nofollow", filter_style_properties={"text-align"})


_SPACES = re.compile(r"\s+")


def markdown_as_plain_text(text: str) -> str:
    """``text`` as it reads once rendered, on one line and without its markup (``Personal data under the
    **GDPR**.`` → ``Personal data under the GDPR.``): for list cells, which show a line of it, not its layout."""
    if not text:
        return ""
    return _SPACES.sub(" ", html.unescape(nh3.clean(render_markdown(text), tags=set()))).strip()
