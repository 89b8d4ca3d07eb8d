"""Shapes of catalog objects in the API."""
from rest_framework import serializers

from catalog.models import Asset
from config.serializers import ModelSerializer


class UnsetAsNullChoiceField(serializers.ChoiceField):
    """A choice the model may leave blank: the blank value reads as null, which the schema's enum allows."""

    def to_representation(self, value):
        return super().to_representation(value) or None


class AssetSerializer(ModelSerializer):
    """An asset as scanned. Only the stewards' ``description`` is writable; everything else belongs to scans."""

    workspace = serializers.IntegerField(source="data_source.workspace_id", read_only=True)
    title = serializers.CharField(read_only=True, help_text="What to show the asset as: its qualified name; for a "
                                                           "data source's own asset (type source), the source's name.")
    sensitivity = UnsetAsNullChoiceField(
        choices=Asset.Sensitivity.choices, read_only=True, allow_null=True,
        help_text="The highest sensitivity of the classifications on it or below it; null when none has one.")
    properties = serializers.DictField(read_only=True, help_text="What the source says about the object beyond "
                                                                 "its type (e.g. a column's character set).")
    profile = serializers.DictField(read_only=True, help_text=Asset._meta.get_field("profile").help_text)

    class Meta:
        model = Asset
        fields = ["id", "data_source", "workspace", "type", "parent", "qualified_name", "title", "name", "data_type",
                  "is_nullable", "default", "source_description", "description", "ordinal", "row_count",
                  "properties", "profile", "sensitivity", "first_seen_at", "changed_at", "removed_at"]
        read_only_fields = [name for name in fields if name != "description"]


class InventoryClassificationSerializer(serializers.Serializer):
    name = serializers.CharField()
    status = serializers.CharField(help_text="suggested or confirmed (rejected ones are not listed).")


class InventoryRowSerializer(serializers.Serializer):
    """A row of the inventory of sensitive data (catalog.inventory): a column and what makes it sensitive."""

    id = serializers.IntegerField(help_text="The column's asset id.")
    data_source = serializers.CharField(help_text="The data source's name.")
    qualified_name = serializers.CharField()
    data_type = serializers.CharField()
    classifications = InventoryClassificationSerializer(many=True, help_text="Suggested and confirmed ones.")
    sensitivity = serializers.ChoiceField(choices=Asset.Sensitivity.choices)
    owners = serializers.ListField(
        child=serializers.CharField(),
        help_text="The data source's owners (of its own asset, in any capacity): usernames, and groups as "
                  "'name (group)'.")
    last_scanned = serializers.DateTimeField(allow_null=True, help_text="When the data source's last successful "
                                                                        "scan ended.")
