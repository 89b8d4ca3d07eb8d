"""Filters shared by the API's filter sets."""
from __future__ import annotations

from datetime import UTC

import django_filters
import django_filters.rest_framework
from django import forms
from django_filters.fields import IsoDateTimeField, RangeField
from django_filters.widgets import DateRangeWidget
from rest_framework.exceptions import ValidationError


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, converted to UTC. ISO 8601 and Python allow offsets up to ±23:59; PostgreSQL
    refuses those beyond ±15:59, so a bound like ``…+16:05`` passed on unchanged was a 500."""

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError:  # year 1 at a positive offset is before the first representable UTC instant
            raise forms.ValidationError("Date-time out of range.", code="overflow") from None


class UtcIsoDateTimeRangeField(RangeField):
    widget = DateRangeWidget

    def __init__(self, *args, **kwargs):
        super().__init__((UtcIsoDateTimeField(), UtcIsoDateTimeField()), *args, **kwargs)


class DateTimeFromToRangeFilter(django_filters.IsoDateTimeFromToRangeFilter):
    """``<name>_after`` / ``<name>_before`` as ISO 8601 date-times, compared in UTC."""

    field_class = UtcIsoDateTimeRangeField


class DjangoFilterBackend(django_filters.rest_framework.DjangoFilterBackend):
    """django-filter's backend, except that

    - a boolean filter given anything but ``true`` or ``false`` is a 400: django-filter reads any other value as
      "no filter", so ``?enabled=maybe`` or ``?enabled=1`` listed everything. Empty stays "no filter" (the
      browsable API's filter form sends every field);
    - a request that names none of the filters (a plain list, a detail) is not filtered at all, rather than
      through a FilterSet, its form and the validation of every field left empty (about a tenth of a detail
      request's time), which would leave the queryset as it is. A filter reads the parameter of its name, or
      names made from it (``queued_at_after``): a parameter starting with a filter's name counts as naming it.
    """

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None or not names_a_filter(request.query_params, filterset_class):
            return queryset
        return super().filter_queryset(request, queryset, view)

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is None:
            return None
        unreadable = {name: "Use true or false." for name, declared in filterset.filters.items()
                      if isinstance(declared, django_filters.BooleanFilter)
                      and filterset.data.get(name, "").lower() not in {"", "true", "false"}}
        if unreadable:
            raise ValidationError(unreadable, code="invalid")
        return filterset


def names_a_filter(params, filterset_class) -> bool:
    return any(param.startswith(name) for param in params for name in filterset_class.base_filters)
