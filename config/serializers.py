"""The API's model serializer base."""
from __future__ import annotations

from rest_framework import serializers


class ModelSerializer(serializers.ModelSerializer):
    """DRF's, with each model field's constant default as the serializer field's ``initial`` value.

    The browsable API's HTML form shows a field's ``initial``, which DRF leaves at the field type's (``False`` for a
    boolean): a checkbox whose model default is True showed unticked, and posting the form as shown created a
    disabled rule or scan."""

    def build_standard_field(self, field_name, model_field):
        field_class, field_kwargs = super().build_standard_field(field_name, model_field)
        if model_field.has_default() and not callable(model_field.default):
            field_kwargs.setdefault("initial", model_field.default)
        return field_class, field_kwargs
