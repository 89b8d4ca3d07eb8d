"""The API's list filters: the filter backends every list endpoint runs, and what their filter sets share.

A list answers 400, naming the parameter, for a query parameter it does not read (``KnownParametersOnly``), an
ordering field it does not offer (``OrderingFilter``) and a filter value it cannot read (``DjangoFilterBackend``):
a typo or a filter that does not exist must not silently return the whole list.
"""
from __future__ import annotations

from datetime import UTC

import django_filters
import django_filters.rest_framework
from django import forms
from django_filters.fields import IsoDateTimeField, RangeField
from django_filters.utils import translate_validation
from django_filters.widgets import DateRangeWidget, SuffixedMultiWidget
from rest_framework import filters
from rest_framework.exceptions import ValidationError
from rest_framework.settings import api_settings

from config.serializers import MAX_ID


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


class FilterSet(django_filters.FilterSet):
    """A filter set whose filters may have a default: a filter declared with ``initial`` takes that value when the
    request does not give one, e.g. removed assets hidden unless asked for. The default is put in the data before
    the form is bound (the way django-filter's maintainers suggest, carltongibson/django-filter#322): a bound
    form ignores ``initial``."""

    def __init__(self, data=None, *args, **kwargs):
        super().__init__(None if data is None else self.with_defaults(data), *args, **kwargs)
        for declared in self.filters.values():  # each instance's own copies
            if isinstance(declared, django_filters.NumberFilter):
                # Mostly ids: a number no database integer holds is a 400 (SQLite raised OverflowError: a 500).
                declared.extra.setdefault("max_value", MAX_ID)
                declared.extra.setdefault("min_value", -MAX_ID)

    @classmethod
    def defaults(cls) -> dict[str, str]:
        return {name: declared.extra["initial"] for name, declared in cls.base_filters.items()
                if "initial" in declared.extra}

    @classmethod
    def with_defaults(cls, data):
        """``data`` (a dict or a QueryDict) with the default of every filter it leaves out or empty (the browsable
        API's filter form sends every field)."""
        missing = {name: value for name, value in cls.defaults().items() if not data.get(name)}
        if not missing:
            return data
        data = data.copy()
        for name, value in missing.items():
            data[name] = value
        return data

    @classmethod
    def filter_by_defaults(cls, queryset):
        """What a request naming none of the filters sees, without building the filter set and its form."""
        for name, value in cls.defaults().items():
            declared = cls.base_filters[name]
            queryset = declared.filter(queryset, declared.field.clean(value))
        return queryset


class DjangoFilterBackend(django_filters.rest_framework.DjangoFilterBackend):
    """django-filter's backend, except that

    - a value no filter can read is a 400 (``check_filters``), booleans included;
    - a request that names none of the filters (a plain list, a detail) is not filtered through a FilterSet, its
      form and the validation of every field left empty (about a tenth of a detail request's time): a detail is
      left as it is, and a list gets only the filters' defaults (``FilterSet.filter_by_defaults``).
    """

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None:
            return queryset
        if names_a_filter(request.query_params, filterset_class):
            filterset = self.get_filterset(request, queryset, view)
            check_filters(filterset)
            return filterset.qs
        if getattr(view, "detail", False) or not issubclass(filterset_class, FilterSet):
            return queryset
        return filterset_class.filter_by_defaults(queryset)

    def query_parameters(self, view, queryset) -> set[str]:
        filterset_class = self.get_filterset_class(view, queryset)
        return filter_parameters(filterset_class) if filterset_class is not None else set()


def check_filters(filterset) -> None:
    """A 400 naming every filter whose value cannot be read: the form's errors, and a boolean given anything but
    ``true`` or ``false`` (django-filter reads ``?enabled=maybe`` or ``?enabled=1`` as no filter, and would list
    everything). Empty stays "no filter" (the browsable API's filter form sends every field)."""
    unreadable = {name: ["Use true or false."] for name, declared in filterset.filters.items()
                  if isinstance(declared, django_filters.BooleanFilter)
                  and str(filterset.data.get(name, "")).lower() not in {"", "true", "false"}}
    if unreadable:
        raise ValidationError(unreadable, code="invalid")
    if not filterset.is_valid():
        raise translate_validation(filterset.errors)


def filter_parameters(filterset_class) -> set[str]:
    """The query parameters the filters read: a filter's name, or the names a range filter's widget makes of it
    (``queued_at_after`` and ``queued_at_before``)."""
    names = set()
    for name, declared in filterset_class.base_filters.items():
        widget = declared.extra.get("widget") or declared.field_class.widget
        widget_class = widget if isinstance(widget, type) else type(widget)
        if issubclass(widget_class, SuffixedMultiWidget):
            names.update(f"{name}_{suffix}" if suffix else name for suffix in widget_class.suffixes)
        else:
            names.add(name)
    return names


def names_a_filter(params, filterset_class) -> bool:
    return not filter_parameters(filterset_class).isdisjoint(params)


class SearchFilter(filters.SearchFilter):
    """DRF's search, offered (in the schema, and as a parameter a list reads) only where the view searches."""

    def get_schema_operation_parameters(self, view):
        return super().get_schema_operation_parameters(view) if getattr(view, "search_fields", None) else []


class OrderingFilter(filters.OrderingFilter):
    """DRF's ordering, except that a field the view does not offer is a 400 naming it, not silently dropped."""

    def remove_invalid_fields(self, queryset, fields, view, request):
        valid = super().remove_invalid_fields(queryset, fields, view, request)
        invalid = [term for term in fields if term not in valid]
        if invalid:
            offered = ", ".join(name for name, _label in self.get_valid_fields(queryset, view, {"request": request}))
            raise ValidationError({self.ordering_param: f"Cannot order by {', '.join(invalid)}; order by one or "
                                                        f"more of: {offered} (a leading - for descending)."},
                                  code="invalid")
        return valid

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        fields = getattr(view, "ordering_fields", None)
        if isinstance(fields, list | tuple):
            parameters[0]["description"] = (f"Comma-separated fields to order by, each with a leading - for "
                                            f"descending: {', '.join(fields)}.")
        return parameters


class KnownParametersOnly(filters.BaseFilterBackend):
    """A list answers 400 for a query parameter that none of its filter backends, its paginator or the format
    override reads, naming it (``refuse_unknown_parameters``)."""

    def filter_queryset(self, request, queryset, view):
        if not getattr(view, "detail", False):
            refuse_unknown_parameters(request, view, queryset)
        return queryset


def refuse_unknown_parameters(request, view, queryset) -> None:
    unknown = sorted(set(request.query_params) - known_parameters(view, queryset))
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Unknown query parameter."), code="unknown")


def known_parameters(view, queryset) -> set[str]:
    """The parameters ``view`` reads: those its schema documents (its paginator's and filter backends'), and
    ``format``."""
    names = {api_settings.URL_FORMAT_OVERRIDE}
    paginator = getattr(view, "paginator", None)
    if paginator is not None:
        names.update(parameter["name"] for parameter in paginator.get_schema_operation_parameters(view))
    for backend_class in view.filter_backends:
        backend = backend_class()
        if hasattr(backend, "query_parameters"):
            names.update(backend.query_parameters(view, queryset))
        else:
            names.update(parameter["name"] for parameter in backend.get_schema_operation_parameters(view))
    return names
