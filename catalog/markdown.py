"""Stewards' Markdown (asset descriptions, term definitions) rendered to HTML that is safe to show.

Two maintained libraries, each doing one job: markdown-it-py parses CommonMark with raw HTML switched off (a
``<script>`` in the text stays text), and nh3 (ammonia) sanitises its output against an allow-list, so a link to
``javascript:`` or an attribute no renderer option anticipated is removed whatever the parser let through.
"""
from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt

_parser = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").enable("strikethrough")

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
    html = _parser.render(text)
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes={"http", "https", "mailto"},
                     link_rel="noopener noreferrer nofollow", filter_style_properties={"text-align"})
