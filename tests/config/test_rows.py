"""Lists read as ``values()`` rows (config.rows) answer exactly what the serializer answers from instances: for
every list endpoint, every persona, every field; and the shapes the row reading cannot serve fall back to it."""
from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers

from catalog.api.serializers import AssetSerializer
from catalog.models import Asset, AssetClassification, DataSource, GlossaryTerm
from config import rows
from config.api_router import router
from tests.catalog.factories import AssetFactory, DataSourceFactory
from tests.support.personas import PERSONAS
from tests.test_api_list_queries import FACTORIES

ROW_LISTS = sorted(basename for _, viewset, basename in router.registry
                   if issubclass(viewset, rows.RowListModelMixin))


def _every_page(client, url: str) -> list:
    bodies = []
    while url:
        response = client.get(url, HTTP_X_REQUEST_ID="rows")  # problems quote it: the same in both runs
        bodies.append((response.status_code, response.json()))
        url = response.json().get("next") if response.status_code == 200 else None
    return bodies


@pytest.fixture
def served_by_serializer(monkeypatch):
    """Within the block, lists are served by DRF's serializer over model instances, as before config.rows."""
    def without_rows():
        monkeypatch.setattr(rows, "row_plan", lambda serializer, queryset: None)
    monkeypatch.setattr(rows, "_SERIALIZED", set())  # what this test teaches it is forgotten afterwards
    return without_rows


@pytest.mark.parametrize("basename", ROW_LISTS)
def test_rows_answer_what_the_serializer_answers_for_every_persona(world, basename, served_by_serializer):
    clients = {persona: world.client(persona) for persona in PERSONAS}  # first: a verified client is audited
    for workspace in (world.workspace_a, world.workspace_b):
        for _ in range(3):
            if basename in FACTORIES:
                FACTORIES[basename](workspace)
    url = reverse(f"api:{basename}-list") + "?page_size=2"
    from_rows = {persona: _every_page(client, url) for persona, client in clients.items()}

    served_by_serializer()
    from_instances = {persona: _every_page(client, url) for persona, client in clients.items()}

    assert from_rows == from_instances
    assert any(status == 200 and body.get("results") for pages in from_rows.values() for status, body in pages)


def test_asset_rows_carry_every_value_kind_as_the_serializer_does(world, served_by_serializer):
    """Nulls, blanks, JSON, a sensitivity left unset (null) and one set, a removal time, every ordering."""
    source = DataSourceFactory(workspace=world.workspace_a)
    table = AssetFactory(data_source=source, type=Asset.Type.TABLE, qualified_name="db.s.t", row_count=10 ** 12,
                         properties={"engine": "InnoDB", "nested": {"a": [1, 2.5, None]}},
                         sensitivity=Asset.Sensitivity.RESTRICTED)
    AssetFactory(data_source=source, parent=table, type=Asset.Type.COLUMN, qualified_name="db.s.t.c",
                 data_type="text", is_nullable=None, default=None, ordinal=1, sensitivity="",
                 removed_at=timezone.now() - datetime.timedelta(microseconds=1),
                 profile={"null_ratio": 0.25, "lengths": {"max": 12}})
    client = world.client("analyst")
    urls = [reverse("api:asset-list") + f"?page_size=1&removed={removed}&ordering={ordering}"
            for ordering in ("", "-changed_at", "row_count", "-type", "name") for removed in ("false", "true")]
    from_rows = [_every_page(client, url) for url in urls]
    served_by_serializer()
    assert from_rows == [_every_page(client, url) for url in urls]
    column = next(body["results"][0] for _, body in from_rows[1] if body["results"][0]["type"] == "column")
    assert column["sensitivity"] is None and column["removed_at"].endswith("Z") and column["is_nullable"] is None


def test_a_source_assets_title_is_its_name_in_rows_as_in_the_serializer(world, served_by_serializer):
    """Regression: the asset's ``title`` (a property) made every asset list fall back to model instances; its SQL
    form (``Asset.row_expressions``) gives the same text."""
    source = DataSourceFactory(workspace=world.workspace_a, name="HR warehouse")
    AssetFactory(data_source=source, type=Asset.Type.SOURCE, name="HR warehouse", qualified_name="HR warehouse/")
    AssetFactory(data_source=source, type=Asset.Type.TABLE, qualified_name="hr.main.staff")
    client = world.client("analyst")
    url = reverse("api:asset-list") + f"?data_source={source.pk}&ordering=name"
    from_rows = _every_page(client, url)
    titles = {item["type"]: item["title"] for _, body in from_rows for item in body["results"]}
    assert titles == {"source": "HR warehouse", "table": "hr.main.staff"}
    served_by_serializer()
    assert from_rows == _every_page(client, url)


def test_a_list_page_is_not_made_of_model_instances(world, monkeypatch):
    AssetFactory(data_source=DataSourceFactory(workspace=world.workspace_a))
    built = []
    original = Asset.from_db.__func__

    def counting_from_db(cls, *args, **kwargs):
        built.append(cls)
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(Asset, "from_db", classmethod(counting_from_db))
    response = world.client("analyst").get(reverse("api:asset-list"))
    assert response.status_code == 200 and response.json()["results"]
    assert built == []


# --- which serializers the rows can serve ---------------------------------------------------------------------


def _plan(serializer_class, queryset):
    return rows.row_plan(serializer_class(), queryset)


def test_the_asset_serializer_is_read_from_rows_with_its_workspace_through_the_source():
    plan = _plan(AssetSerializer, Asset.objects.all())
    assert plan is not None and "data_source__workspace_id" in plan.columns


class _WithMethod(serializers.ModelSerializer):
    label = serializers.SerializerMethodField()

    class Meta:
        model = DataSource
        fields = ["id", "label"]

    def get_label(self, obj):
        return obj.name


class _WithProperty(serializers.ModelSerializer):
    class Meta:
        model = DataSource
        fields = ["id", "has_secret"]


class _WithManyToMany(serializers.ModelSerializer):
    class Meta:
        model = GlossaryTerm
        fields = ["id", "related_terms"]


class _ThroughNullableRelation(serializers.ModelSerializer):
    decided_by_name = serializers.CharField(source="decided_by.username", read_only=True)

    class Meta:
        model = AssetClassification
        fields = ["id", "decided_by_name"]


class _WithOwnRepresentation(serializers.ModelSerializer):
    class Meta:
        model = DataSource
        fields = ["id", "name"]

    def to_representation(self, instance):
        return {"id": instance.pk}


class _Nested(serializers.ModelSerializer):
    data_source = _WithOwnRepresentation(read_only=True)

    class Meta:
        model = Asset
        fields = ["id", "data_source"]


@pytest.mark.parametrize(("serializer_class", "model"), [
    (_WithMethod, DataSource), (_WithProperty, DataSource), (_WithManyToMany, GlossaryTerm),
    (_ThroughNullableRelation, AssetClassification), (_WithOwnRepresentation, DataSource), (_Nested, Asset)])
def test_what_is_not_a_plain_column_is_left_to_the_serializer(serializer_class, model):
    assert _plan(serializer_class, model.objects.all()) is None


class _ListedOtherwise(serializers.ModelSerializer):
    class Meta:
        model = DataSource
        fields = ["id", "name"]
        list_serializer_class = type("OwnList", (serializers.ListSerializer,), {})


def test_a_serializer_with_its_own_list_serializer_is_left_to_it():
    assert _plan(_ListedOtherwise, DataSource.objects.all()) is None


class _Kinds(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=6, decimal_places=2)
    count = serializers.IntegerField(source="amount")  # not an int in the row: int() must still run
    at = serializers.DateTimeField()
    label = serializers.CharField(source="at")  # not a str in the row: str() must still run


@pytest.mark.django_db
def test_values_of_another_type_than_the_field_go_through_its_representation():
    class Row:
        amount = Decimal("12.50")
        at = datetime.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))

    serializer = _Kinds()
    plan = rows.RowPlan([rows._Output(name, name, field.to_representation, rows._UNCHANGED_TYPES.get(type(field)))
                         for name, field in serializer.fields.items()])
    row = {"amount": Row.amount, "count": Row.amount, "at": Row.at, "label": Row.at}
    assert plan.represent(row) == {"amount": "12.50", "count": 12, "at": "2026-01-02T01:04:05.000006Z",
                                   "label": str(Row.at)}


@pytest.mark.parametrize("moment", [
    datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.UTC),
    datetime.datetime(2026, 6, 1, 12, 0, 0, 123456, tzinfo=datetime.timezone(datetime.timedelta(hours=-7))),
    datetime.datetime(1, 1, 1, 0, 0, tzinfo=datetime.UTC),
])
def test_datetimes_are_written_as_drf_writes_them(moment, settings):
    field = serializers.DateTimeField()
    assert rows._iso_datetime(field)(moment) == field.to_representation(moment)
    settings.TIME_ZONE = "Europe/Paris"
    timezone.activate("Europe/Paris")
    try:
        field = serializers.DateTimeField()
        assert rows._iso_datetime(field)(moment) == field.to_representation(moment)
    finally:
        timezone.deactivate()
