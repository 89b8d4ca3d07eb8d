"""What the browsable API and OPTIONS call a view: the model's own words ("Data sources", "Data source"), not the
class name with DRF's suffix ("Data Source List", "Api Token Instance"); and how the browsable API shows a view's
description."""
from __future__ import annotations

import re

from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from rest_framework.views import get_view_description as drf_view_description
from rest_framework.views import get_view_name as drf_view_name

CODE = re.compile(r"``(.+?)``|`([^`]+)`")
PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def view_name(view) -> str:
    if getattr(view, "name", None) is not None:  # the API root, an extra action: named where they are declared
        return view.name
    model = getattr(getattr(view, "queryset", None), "model", None)
    if model is not None and type(view).__name__.removesuffix("ViewSet") != model.__name__:
        model = None  # a view about its model, not of it (detection on assets, the scan action on a source)
    suffix = getattr(view, "suffix", None)
    if model is not None and suffix == "List":
        return capfirst(model._meta.verbose_name_plural)
    if model is not None and suffix == "Instance":
        return capfirst(model._meta.verbose_name)
    name = drf_view_name(view)  # a view with no model of its own ("Me", "Mfa"): its name, without the suffix
    return name.removesuffix(f" {suffix}") if suffix else name


def view_description(view, html: bool = False) -> str:
    """The view's docstring. In the browsable API as paragraphs the browser wraps, with ``code`` shown as code:
    DRF, without the Markdown package, showed the docstring's line breaks and its backticks as typed."""
    description = drf_view_description(view, html=False)
    if not html:
        return description
    paragraphs = [" ".join(paragraph.split()) for paragraph in PARAGRAPH_BREAK.split(description.strip())]
    return mark_safe("".join(f"<p>{CODE.sub(_as_code, escape(paragraph))}</p>" for paragraph in paragraphs
                             if paragraph))


def _as_code(match: re.Match) -> str:
    return f"<code>{match.group(1) or match.group(2)}</code>"
