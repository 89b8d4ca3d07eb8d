"""API lists served from database rows (``values()``) rather than model instances.

A page of 50 assets built 50 model instances (and 50 of their data sources, for one id) and then walked DRF's
serializer machinery field by field: about two thirds of the list request's time (docs/benchmarks.md, "## API").
When every field a serializer outputs is a column the query can select (the model's own, or one reached through
non-null foreign keys, or an annotation), the page is read with ``values()`` and each value goes through the same
serializer field's ``to_representation``. The serializer class stays the only description of the shape (and of
the OpenAPI schema); a serializer this cannot read column by column is served the usual way.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from rest_framework import ISO_8601, mixins, relations, serializers
from rest_framework import fields as drf_fields
from rest_framework.response import Response
from rest_framework.settings import api_settings

# Field classes whose to_representation gives back a value of this type unchanged (int(), str(), a bool's own
# value): skipped per value. Subclasses are not included: they may override to_representation.
_UNCHANGED_TYPES = {drf_fields.IntegerField: int, drf_fields.CharField: str, drf_fields.BooleanField: bool}


@dataclass(frozen=True)
class _Output:
    name: str
    column: str
    represent: object  # the serializer field's to_representation; None for a primary key, which is output as is
    unchanged_type: type | None  # a value of exactly this type is what represent would give back


class RowPlan:
    """How one serializer's output is read from ``values()`` rows: which columns, and what to do with each."""

    def __init__(self, outputs: list[_Output], expressions: dict[str, models.Expression] | None = None):
        self.outputs = outputs
        self.columns = tuple(dict.fromkeys(output.column for output in outputs))
        self.expressions = {name: expression for name, expression in (expressions or {}).items()
                            if name in self.columns}

    def rows(self, queryset: models.QuerySet) -> models.QuerySet:
        """``queryset`` as rows of the plan's columns and of the columns its order is made of (a cursor paginator
        continues after the last row's sort values); a property's column is its SQL form (``row_expressions``)."""
        columns = dict.fromkeys((*self.columns, *_order_columns(queryset)))
        return queryset.values(*(column for column in columns if column not in self.expressions), **self.expressions)

    def represent(self, row: dict) -> dict:
        """What the serializer gives for the instance ``row`` was read from (None stays None, as in DRF)."""
        data = {}
        for output in self.outputs:
            value = row[output.column]
            if value is not None and output.represent is not None and type(value) is not output.unchanged_type:
                value = output.represent(value)
            data[output.name] = value
        return data

    def represent_many(self, rows) -> list[dict]:
        return [self.represent(row) for row in rows]


def row_plan(serializer: serializers.BaseSerializer, queryset: models.QuerySet) -> RowPlan | None:
    """The plan for ``serializer`` (an instance, with the fields of this request) over ``queryset``; None when
    some output is not a plain column (a method field, a nested serializer, a many-to-many, a property...)."""
    list_class = getattr(getattr(serializer, "Meta", None), "list_serializer_class", serializers.ListSerializer)
    if not isinstance(serializer, serializers.Serializer) or list_class is not serializers.ListSerializer or (
            type(serializer).to_representation is not serializers.Serializer.to_representation):
        return None
    outputs = []
    for field in serializer.fields.values():
        if field.write_only:
            continue
        output = _output(field, queryset)
        if output is None:
            return None
        outputs.append(output)
    return RowPlan(outputs, getattr(queryset.model, "row_expressions", None))


def _output(field: drf_fields.Field, queryset: models.QuerySet) -> _Output | None:
    if isinstance(field, serializers.BaseSerializer | relations.ManyRelatedField | drf_fields.SerializerMethodField
                  | drf_fields.HiddenField) or field.source == "*":
        return None
    is_pk_relation = type(field) is relations.PrimaryKeyRelatedField and field.pk_field is None
    standard_lookup = relations.RelatedField.get_attribute if is_pk_relation else drf_fields.Field.get_attribute
    if isinstance(field, relations.RelatedField) and not is_pk_relation:
        return None
    if type(field).get_attribute is not standard_lookup:
        return None
    column = _column(queryset, field.source_attrs, relation=is_pk_relation)
    if column is None:
        return None
    if is_pk_relation:
        return _Output(field.field_name, column, None, None)
    unchanged_type = str if _choice_unchanged(field) else _UNCHANGED_TYPES.get(type(field))
    return _Output(field.field_name, column, _iso_datetime(field) or field.to_representation, unchanged_type)


def _column(queryset: models.QuerySet, attrs: list[str], *, relation: bool) -> str | None:
    """The ``values()`` name of the model column at ``attrs`` (through non-null forward foreign keys only, so a
    join never turns a missing related row into a value DRF would not give), of an annotation, or of a property
    the model gives in SQL too (``row_expressions``: name → expression, e.g. ``Asset.title``)."""
    if len(attrs) == 1 and not relation and (attrs[0] in queryset.query.annotations
                                            or attrs[0] in getattr(queryset.model, "row_expressions", {})):
        return attrs[0]
    opts, path = queryset.model._meta, []
    for attr in attrs[:-1]:
        try:
            model_field = opts.get_field(attr)
        except FieldDoesNotExist:
            return None
        if not (model_field.many_to_one or model_field.one_to_one) or not model_field.concrete or model_field.null \
                or attr != model_field.name:
            return None
        path.append(attr)
        opts = model_field.related_model._meta
    try:
        model_field = opts.get_field(attrs[-1])  # also finds a foreign key by its attname, ``<fk>_id``
    except FieldDoesNotExist:
        return None
    if not model_field.concrete or model_field.many_to_many or model_field.one_to_many:
        return None
    by_attname = attrs[-1] == model_field.attname != model_field.name
    if (model_field.is_relation and not by_attname) != relation:
        return None
    return "__".join([*path, model_field.attname])


def _iso_datetime(field: drf_fields.Field):
    """DRF's DateTimeField.to_representation of an aware datetime in ISO 8601, with the time zone looked up once
    per plan instead of per value (a context-local read, half the cost of a page's representation)."""
    if type(field) is not drf_fields.DateTimeField or hasattr(field, "timezone") \
            or str(getattr(field, "format", api_settings.DATETIME_FORMAT)).lower() != ISO_8601:
        return None
    zone = field.default_timezone()
    if zone is None:
        return None

    def represent(value):
        if not isinstance(value, datetime.datetime) or value.tzinfo is None:
            return field.to_representation(value)
        try:
            text = value.astimezone(zone).isoformat()
        except OverflowError:
            return field.to_representation(value)  # DRF's own error
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return represent


def _choice_unchanged(field: drf_fields.Field) -> bool:
    """A ChoiceField (not a subclass) whose choices are strings naming themselves gives back a string value."""
    return type(field) is drf_fields.ChoiceField and all(
        isinstance(value, str) and key == value for key, value in field.choice_strings_to_values.items())


def _order_columns(queryset: models.QuerySet) -> list[str]:
    """The model columns ``queryset`` is ordered by (its order or the model's), and the primary key."""
    opts = queryset.model._meta
    names = []
    for name in (*(queryset.query.order_by or opts.ordering), "pk"):
        if not isinstance(name, str) or "__" in name or name.lstrip("-") == "?":
            continue
        name = name.lstrip("-")
        try:
            names.append(opts.pk.attname if name == "pk" else opts.get_field(name).attname)
        except FieldDoesNotExist:
            names.append(name)  # an annotation, or a column named by its attname
    return names


# (serializer class, model) pairs found not to be plain columns: their lists skip building a serializer to find
# out again. Only this direction is remembered; a plan is made per request, from that request's fields.
_SERIALIZED: set[tuple[type, type]] = set()


class RowListModelMixin(mixins.ListModelMixin):
    """DRF's ``list()``, from rows when the list serializer allows it (``row_plan``)."""

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        shape = (self.get_serializer_class(), queryset.model)
        plan = None if shape in _SERIALIZED else row_plan(self.get_serializer(), queryset)
        if plan is None:
            _SERIALIZED.add(shape)
        else:
            queryset = plan.rows(queryset)
        page = self.paginate_queryset(queryset)
        objects = queryset if page is None else page
        data = plan.represent_many(objects) if plan is not None else self.get_serializer(objects, many=True).data
        return Response(data) if page is None else self.get_paginated_response(data)
