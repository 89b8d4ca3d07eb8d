"""How lists are cut into pages.

``Pagination`` (page numbers, with an exact ``count``) for API lists whose size a workspace keeps small: data
sources, scans, rule sets, users. ``KeysetPagination`` for the assets list, which grows with the sources scanned
(hundreds of thousands of assets): no ``COUNT(*)`` (linear in the visible rows) and no ``OFFSET`` (linear in the
depth of the page); each page continues after the last row of the one before, in an order an index serves.
``EstimatedCountPaginator`` for the admin's catalog pages, whose page links need a total.
"""
from __future__ import annotations

import base64
import binascii
import datetime
import decimal
import json
import uuid
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import Paginator
from django.db import connections, models
from django.db.models import F, Func, Q, Value
from django.db.models.lookups import GreaterThan, LessThan
from django.template import loader
from django.utils.functional import cached_property
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import BasePagination, PageNumberPagination
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import replace_query_param

MAX_PAGE_SIZE = 500
# Below this many rows (as the planner estimates them) a count is exact: it costs little.
EXACT_COUNT_BELOW = 10_000


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request):
        return strict_page_size(request, self.page_size_query_param, self.page_size, self.max_page_size)

    def get_schema_operation_parameters(self, view):
        """Both are counted from 1: a page 0 is a 404 and a page size 0 a 400, so the schema says so."""
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
        return parameters


def strict_page_size(request, param: str, default: int, maximum: int) -> int:
    """A ``page_size`` that is not a positive integer is a 400, not silently the default (DRF's behaviour): the
    caller would page with a size they did not ask for. Above the maximum it is the maximum."""
    raw = request.query_params.get(param)
    if raw is None:
        return default
    size = int(raw) if raw.isdecimal() else 0
    if size < 1:
        raise ValidationError({param: "A positive integer is required."}, code="invalid")
    return min(size, maximum)


@dataclass(frozen=True)
class SortKey:
    """One column of a keyset order. NULLs sort as the largest value on every database (PostgreSQL's default),
    so that the order and the "after this row" condition agree."""

    field: models.Field
    descending: bool

    @property
    def name(self) -> str:
        return self.field.attname

    @property
    def label(self) -> str:
        return f"-{self.name}" if self.descending else self.name

    def order_by(self):
        if not self.field.null:
            return F(self.name).desc() if self.descending else F(self.name).asc()
        return F(self.name).desc(nulls_first=True) if self.descending else F(self.name).asc(nulls_last=True)

    def value(self, row):
        """The key's value in ``row``: a model instance, or a ``values()`` row (``config.rows``)."""
        return row[self.name] if isinstance(row, dict) else getattr(row, self.name)

    def parse(self, raw):
        return None if raw is None else self.field.to_python(raw)

    def after(self, value) -> Q:
        """The rows strictly after ``value`` in this key's order."""
        if value is None:  # NULL is last ascending, first descending
            return Q(**{f"{self.name}__isnull": False}) if self.descending else Q(pk__in=[])
        if self.descending:
            return Q(**{f"{self.name}__lt": value})
        beyond = Q(**{f"{self.name}__gt": value})
        return beyond | Q(**{f"{self.name}__isnull": True}) if self.field.null else beyond

    def equal(self, value) -> Q:
        return Q(**{f"{self.name}__isnull": True}) if value is None else Q(**{self.name: value})


def _row(expressions):
    return Func(*expressions, template="(%(expressions)s)", output_field=models.Field())


class KeysetPagination(BasePagination):
    """Cursor pagination over any order of concrete fields (``?ordering=`` included), made total by appending
    the primary key unless the order already covers a unique constraint.

    The response is ``{"next": <url or null>, "results": [...]}``: follow ``next`` until it is null. A cursor is
    opaque to clients; it holds the sort values of the last row served, and only selects where the (already
    scoped) list continues. An order of non-null columns in one direction is compared as a row value,
    ``(a, b) > (x, y)``, which PostgreSQL answers from the index that serves the order.
    """

    cursor_query_param = "cursor"
    cursor_query_description = "The cursor of the next page, as given by the previous page's `next`."
    page_size_query_param = "page_size"
    page_size_query_description = f"Number of results to return per page (at most {MAX_PAGE_SIZE})."
    max_page_size = MAX_PAGE_SIZE
    template = "rest_framework/pagination/previous_and_next.html"

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        page_size = self.get_page_size(request)
        keys = self.sort_keys(queryset)
        position = self.decode_cursor(request, keys)
        queryset = queryset.order_by(*[key.order_by() for key in keys])
        if position is not None:
            queryset = queryset.filter(self.after(keys, position))
        rows = list(queryset[:page_size + 1])
        self.next_position = [key.value(rows[page_size - 1]) for key in keys] if len(rows) > page_size else None
        self.keys = keys
        # The browsable API draws its "Next" button only when asked to (DRF's own paginators do the same).
        self.display_page_controls = self.next_position is not None
        return rows[:page_size]

    def get_page_size(self, request) -> int:
        return strict_page_size(request, self.page_size_query_param, api_settings.PAGE_SIZE, self.max_page_size)

    @staticmethod
    def sort_keys(queryset) -> list[SortKey]:
        """The queryset's order (``?ordering=`` or the model's), completed to a total order."""
        opts = queryset.model._meta
        names = list(queryset.query.order_by or opts.ordering)
        keys = []
        for name in names:
            if not isinstance(name, str) or "__" in name:
                raise ImproperlyConfigured(f"keyset pagination orders by concrete fields of {opts.label}, "
                                           f"not {name!r}")
            descending = name.startswith("-")
            field = opts.pk if name.lstrip("-") == "pk" else opts.get_field(name.lstrip("-"))
            keys.append(SortKey(field, descending))
        if not _unique(opts, {key.field for key in keys if not key.field.null}):
            keys.append(SortKey(opts.pk, keys[0].descending if keys else False))
        return keys

    @staticmethod
    def after(keys: list[SortKey], position: list) -> Q:
        directions = {key.descending for key in keys}
        if len(directions) == 1 and not any(key.field.null for key in keys):
            compare = LessThan if directions == {True} else GreaterThan
            columns = _row([F(key.name) for key in keys])
            values = _row([Value(value, output_field=_value_field(key.field))
                           for key, value in zip(keys, position, strict=True)])
            return Q(compare(columns, values))
        # Mixed directions or NULLs: a > x OR (a = x AND b > y) OR ...
        condition, prefix = Q(pk__in=[]), Q()
        for key, value in zip(keys, position, strict=True):
            condition |= prefix & key.after(value)
            prefix &= key.equal(value)
        return condition

    # --- the cursor -------------------------------------------------------------------------------------------

    def decode_cursor(self, request, keys: list[SortKey]) -> list | None:
        raw = request.query_params.get(self.cursor_query_param)
        if not raw:
            return None
        try:
            payload = json.loads(base64.urlsafe_b64decode(raw.encode("ascii")))
            if payload["order"] != [key.label for key in keys]:
                raise ValueError("the cursor was made for another order")
            return [key.parse(value) for key, value in zip(keys, payload["after"], strict=True)]
        except (UnicodeError, binascii.Error, ValueError, TypeError, KeyError, DjangoValidationError):
            raise NotFound("Invalid cursor.") from None

    def encode_cursor(self, position: list) -> str:
        payload = {"order": [key.label for key in self.keys], "after": position}
        return base64.urlsafe_b64encode(json.dumps(payload, default=_exact_text).encode()).decode("ascii")

    def get_next_link(self) -> str | None:
        if self.next_position is None:
            return None
        return replace_query_param(self.request.build_absolute_uri(), self.cursor_query_param,
                                   self.encode_cursor(self.next_position))

    # --- response, browsable API and schema -------------------------------------------------------------------

    def get_paginated_response(self, data):
        return Response({"next": self.get_next_link(), "results": data})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["next", "results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri",
                         "example": "http://api.example.org/accounts/?cursor=eyJvcmRlciI6IFsi"},
                "results": schema,
            },
        }

    def get_html_context(self):
        return {"previous_url": None, "next_url": self.get_next_link()}  # forward only

    def to_html(self):
        return loader.get_template(self.template).render(self.get_html_context())

    def get_schema_operation_parameters(self, view):
        return [
            {"name": self.cursor_query_param, "required": False, "in": "query",
             "description": self.cursor_query_description, "schema": {"type": "string"}},
            {"name": self.page_size_query_param, "required": False, "in": "query",
             "description": self.page_size_query_description, "schema": {"type": "integer", "minimum": 1}},
        ]


def _unique(opts, fields: set) -> bool:
    """Do ``fields`` (non-null) include the primary key, a unique field or a unique constraint's fields?"""
    if any(field.primary_key or field.unique for field in fields):
        return True
    names = {field.name for field in fields}
    return any(isinstance(constraint, models.UniqueConstraint) and constraint.fields and constraint.condition is None
               and set(constraint.fields) <= names for constraint in opts.constraints)


def _exact_text(value) -> str:
    """A sort value as text its field parses back to the same value (DjangoJSONEncoder would cut datetimes to
    milliseconds, and the page would repeat or skip rows that differ below that)."""
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    raise TypeError(f"cannot put a {type(value).__name__} in a cursor")


def _value_field(field: models.Field) -> models.Field:
    return field.target_field if field.is_relation else field


class EstimatedCountPaginator(Paginator):
    """A paginator whose total is the PostgreSQL planner's estimate when that estimate is large.

    The admin's changelist counts its rows to draw the page links; over a catalog of hundreds of thousands of
    columns that ``COUNT(*)`` is most of the page's time. Above ``EXACT_COUNT_BELOW`` estimated rows the page
    shows the estimate (fresh after ``ANALYZE``, which a large scan runs); below it, and on other databases, the
    count is exact.
    """

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if isinstance(queryset, models.QuerySet) and connections[queryset.db].vendor == "postgresql":
            plan = json.loads(queryset.explain(format="json"))
            estimate = int(plan[0]["Plan"]["Plan Rows"])
            if estimate >= EXACT_COUNT_BELOW:
                return estimate
        return super().count
