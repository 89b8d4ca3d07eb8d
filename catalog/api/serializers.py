"""Shapes of catalog objects in the API."""
from rest_framework import serializers

from catalog.models import Asset


class UnsetAsNullChoiceField(serializers.ChoiceField):
    """A choice the model may leave blank: the blank value reads as null, which the schema's enum allows."""

    def to_representation(self, value):
        return super().to_representation(value) or None


class AssetSerializer(serializers.ModelSerializer):
    """An asset as scanned. Only the stewards' ``description`` is writable; everything else belongs to scans."""

    workspace = serializers.IntegerField(source="data_source.workspace_id", read_only=True)
    sensitivity = UnsetAsNullChoiceField(
        choices=Asset.Sensitivity.choices, read_only=True, allow_null=True,
        help_text="The highest sensitivity of the classifications on it or below it; null when none has one.")
    properties = serializers.DictField(read_only=True, help_text="What the source says about the object beyond "
                                                                 "its type (e.g. a column's character set).")
    profile = serializers.DictField(read_only=True, help_text=Asset._meta.get_field("profile").help_text)

    class Meta:
        model = Asset
        fields = ["id", "data_source", "workspace", "type", "parent", "qualified_name", "name", "data_type",
                  "is_nullable", "default", "source_description", "description", "ordinal", "row_count",
                  "properties", "profile", "sensitivity", "first_seen_at", "changed_at", "removed_at"]
        read_only_fields = [name for name in fields if name != "description"]
