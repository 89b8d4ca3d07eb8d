"""The API's model serializer base."""
from __future__ import annotations

import copy

from django.core.validators import MaxLengthValidator
from rest_framework import serializers
from rest_framework.relations import MANY_RELATION_KWARGS

# Ids a list of related objects may hold (a term's related terms…): each is looked up by a query of its own, so an
# unbounded list held a worker for minutes (attack22).
MAX_RELATED_IDS = 1_000


class BoundedManyRelatedField(serializers.ManyRelatedField):
    """A list of related objects refused past ``max_length`` items (``MAX_RELATED_IDS`` unless given) before any is
    looked up (the bound is also a validator, which the OpenAPI schema publishes as ``maxItems``)."""

    default_error_messages = {"max_length": "At most {max_length:,} items."}

    def __init__(self, *, max_length: int = MAX_RELATED_IDS, **kwargs):
        super().__init__(**kwargs)
        self.max_length = max_length
        self.validators.append(MaxLengthValidator(max_length))

    def to_internal_value(self, data):
        if not isinstance(data, str) and hasattr(data, "__len__") and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class _BoundedListPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """DRF's, whose ``many=True`` form is a :class:`BoundedManyRelatedField` (as ``RelatedField.many_init``)."""

    @classmethod
    def many_init(cls, *args, **kwargs):
        return BoundedManyRelatedField(child_relation=cls(*args, **kwargs),
                                       **{key: value for key, value in kwargs.items() if key in MANY_RELATION_KWARGS})


class ModelSerializer(serializers.ModelSerializer):
    """DRF's, with each model field's constant default as the serializer field's ``initial`` value.

    The browsable API's HTML form shows a field's ``initial``, which DRF leaves at the field type's (``False`` for a
    boolean): a checkbox whose model default is True showed unticked, and posting the form as shown created a
    disabled rule or scan."""

    # (Comments, not the docstring: drf-spectacular publishes the docstring of a serializer without its own.)
    # The fields are built from the model once per class and copied for each serializer, as DRF copies declared
    # fields: building them walks the model's fields, validators and choices on every request, twice the cost of
    # the copy (a tenth of an asset's detail request). They depend only on the class: a serializer that adjusts
    # them per request does so on its own copy, in __init__.
    def get_fields(self):
        cls = type(self)
        prototype = cls.__dict__.get("_prototype_fields")
        if prototype is None:
            prototype = super().get_fields()
            cls._prototype_fields = prototype
        return copy.deepcopy(prototype)

    def build_relational_field(self, field_name, relation_info):
        field_class, field_kwargs = super().build_relational_field(field_name, relation_info)
        if relation_info.to_many and field_class is serializers.PrimaryKeyRelatedField:
            field_class = _BoundedListPrimaryKeyRelatedField
        return field_class, field_kwargs

    def build_standard_field(self, field_name, model_field):
        field_class, field_kwargs = super().build_standard_field(field_name, model_field)
        if model_field.has_default() and not callable(model_field.default):
            field_kwargs.setdefault("initial", model_field.default)
        return field_class, field_kwargs



# The largest id a database integer column holds (PostgreSQL's bigint; SQLite raises OverflowError past it).
MAX_ID = 2**63 - 1


def is_id_text(text: str | None) -> bool:
    """A query value that is a database id: ASCII digits (``str.isdigit()`` also takes "²", which ``int()``
    refuses: a 500) of a value a database integer holds (SQLite raised OverflowError past it)."""
    return bool(text) and text.isascii() and text.isdigit() and int(text) <= MAX_ID


class IdField(serializers.IntegerField):
    """An object's id in a request body: a positive integer a database integer column can hold (a larger one was
    a 500 on SQLite)."""

    def __init__(self, **kwargs):
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)
