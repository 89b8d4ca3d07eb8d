"""The model serializer base (config.serializers) builds its fields once per class and copies them per serializer."""
from __future__ import annotations

from rest_framework import serializers

from catalog.api.classifications import ClassificationSerializer
from catalog.api.serializers import AssetSerializer
from scanning.api.serializers import ScanSerializer


def test_each_serializer_gets_the_fields_drf_would_build_as_its_own_copies():
    for serializer_class in (AssetSerializer, ClassificationSerializer, ScanSerializer):
        first, second = serializer_class(), serializer_class()
        built_by_drf = serializers.ModelSerializer.get_fields(serializer_class())
        assert repr(first.fields) == repr(second.fields)
        assert {name: repr(field) for name, field in first.get_fields().items()} == {
            name: repr(field) for name, field in built_by_drf.items()}
        assert all(first.fields[name] is not second.fields[name] for name in first.fields)


def test_a_change_to_one_serializers_field_stays_there():
    changed = AssetSerializer()
    changed.fields["description"].help_text = "changed for one request"
    assert AssetSerializer().fields["description"].help_text != "changed for one request"
