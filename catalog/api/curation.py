"""/api/v1/assets/{id}/curation/ and /api/v1/assets/bulk/: the stewards' curation of an asset, and of many at once.

One document per asset (``GET``; ``PUT`` replaces it whole, ``PATCH`` the parts given) rather than nested
sub-resources (``/assets/{id}/owners/``, ``/tags/``…): what a steward edits on an asset's page is one form, an owner
or a tag link has no identity a client needs, one request reads it in a fixed number of queries and writes it in one
transaction, and OpenAPI shows it as one schema. Lists are replaced whole, so a repeated ``PUT`` writes and audits
nothing. Bulk curation adds and removes, as a selection of thousands of assets rarely shares one wanted state.

Who: members read what they see; the curation rule (catalog.curation.may_curate: the workspace's stewards and data
owners, and the asset's own owners) writes, a visible asset the caller may not curate answers 403, another
workspace's 404. The views translate shapes and call catalog.asset_curation; the services authorise, validate and
audit.
"""
from __future__ import annotations

from django.http import QueryDict
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from accounts.api.base import RestrictedViewSetMixin
from accounts.fields import DESCRIPTION_MAX_LENGTH, NOTE_MAX_LENGTH
from catalog import asset_curation, curation
from catalog.api.filters import AssetFilterSet
from catalog.markdown import render_markdown
from catalog.models import Asset, AssetCertification, AssetOwner
from catalog.selectors import (
    asset_curatable_list,
    asset_list,
    glossary_term_list,
    owner_group_choices,
    owner_user_choices,
    tag_list,
    with_curation,
)
from config.browsable import PostFormPageMixin
from config.filters import KnownParametersOnly, check_filters, refuse_unknown_parameters
from config.serializers import BoundedManyRelatedField, IdField

# Where each relation input finds its choices: what the caller sees (an id from elsewhere is "does not exist").
CHOICES = {"user": owner_user_choices, "group": owner_group_choices, "tags": tag_list, "terms": glossary_term_list}
# Owners, tags or terms per list: each item is looked up by a query of its own, so a 2.5 MB body of 400,000 ids (or
# 50,000 owners) held a worker for minutes; a bulk operation's lists are applied to each of up to 5,000 assets.
MAX_ITEMS = 1_000
MAX_BULK_ITEMS = 100


def _ids(queryset, *, max_length: int, **kwargs) -> BoundedManyRelatedField:
    return BoundedManyRelatedField(child_relation=serializers.PrimaryKeyRelatedField(queryset=queryset),
                                   max_length=max_length, **kwargs)


class OwnerSerializer(serializers.Serializer):
    user = serializers.PrimaryKeyRelatedField(queryset=owner_user_choices(user=None), allow_null=True,
                                              required=False, help_text="A member of the asset's workspace; or:")
    group = serializers.PrimaryKeyRelatedField(queryset=owner_group_choices(user=None), allow_null=True,
                                               required=False, help_text="A group (exactly one of user and group).")
    owner_type = serializers.ChoiceField(choices=AssetOwner.OwnerType.choices)
    name = serializers.SerializerMethodField(help_text="The user's username or the group's name.")

    def get_name(self, owner) -> str:
        return owner.user.get_username() if owner.user_id else owner.group.name

    def validate(self, attrs):
        # A PATCH validates its body partially, nested owners too, so an owner without its type passed (and the
        # service failed on it: a 500). An owner is whole in every request.
        if "owner_type" not in attrs:
            raise ValidationError({"owner_type": [self.fields["owner_type"].error_messages["required"]]})
        return attrs


class NoteField(serializers.CharField):
    """The certification's note: blank when there is none (rather than null, as a note is text)."""

    def get_attribute(self, instance):
        return super().get_attribute(instance) or ""


class CertificationFields(serializers.Serializer):
    """The certification as flat fields (a nullable nested object is not something every OpenAPI 3.0 client
    reads): each is read from the asset's certification, null without one, and written as the one
    ``{"status", "note", "expires_at"}`` the service takes."""

    certification = serializers.ChoiceField(
        choices=AssetCertification.Status.choices, allow_null=True, source="certification.status",
        help_text="certified or deprecated; null: neither (writing null ends the one there is).")
    certification_note = NoteField(allow_blank=True, required=False, max_length=NOTE_MAX_LENGTH,
                                   source="certification.note")
    certification_expires_at = serializers.DateTimeField(
        allow_null=True, required=False, source="certification.expires_at",
        help_text="When it ends by itself (a periodic task ends it), within 100 years; null: never.")


def _scope(serializer: serializers.Serializer, user, choices=None) -> None:
    """Give every relation input of ``serializer`` (nested ones included) the choices ``user`` may name: by the
    field's name, or by the name of the operation it is part of (``tags.add``)."""
    for name, field in serializer.fields.items():
        if field.read_only:
            continue
        target = getattr(field, "child", None) or getattr(field, "child_relation", None) or field
        selector = CHOICES.get(name) or CHOICES.get(field.source) or choices
        if isinstance(target, serializers.Serializer):
            _scope(target, user, CHOICES.get(name))
        elif selector is not None:
            target.queryset = selector(user=user)


class PropertiesField(serializers.DictField):
    """The asset's custom properties as ``{key: value}``, read from its prefetched values (catalog.selectors
    .with_curation); written as given, each value checked by catalog.properties against its definition."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.JSONField(allow_null=True), **kwargs)

    def get_attribute(self, instance):
        return {row.definition.name: row.value for row in instance.property_values.all()}


class ScopedSerializer(serializers.Serializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _scope(self, getattr(self.context.get("request"), "user", None))


class AssetCurationSerializer(CertificationFields, ScopedSerializer):
    """What stewards say about an asset. ``PUT`` gives every part; ``PATCH`` the parts it changes."""

    id = serializers.IntegerField(read_only=True, help_text="The asset's id.")
    description = serializers.CharField(allow_blank=True, max_length=DESCRIPTION_MAX_LENGTH, trim_whitespace=False,
                                        help_text="The stewards' description, Markdown (the source's own comment "
                                                  "is the asset's source_description).")
    description_html = serializers.SerializerMethodField(help_text="The description rendered, sanitised.")
    owners = OwnerSerializer(many=True, max_length=MAX_ITEMS,
                             help_text="Each a user or a group, with the capacity they own it in.")
    tags = _ids(tag_list(user=None), max_length=MAX_ITEMS, help_text="Tag ids, of the asset's workspace.")
    terms = _ids(
        glossary_term_list(user=None), max_length=MAX_ITEMS, source="glossary_terms",
        help_text="Glossary term ids, of the asset's workspace; linking a term that implies a classification to a "
                  "column also confirms that classification on it.")
    certified_by = serializers.IntegerField(source="certification.certified_by_id", read_only=True,
                                            allow_null=True, help_text="The user who certified or deprecated it "
                                                                       "(null: none, or the system).")
    certified_at = serializers.DateTimeField(source="certification.certified_at", read_only=True, allow_null=True)
    properties = PropertiesField(
        required=False,
        help_text="Custom properties of the asset's workspace (/api/v1/property-definitions/) by key: text, url, "
                  "choice and date (YYYY-MM-DD) as strings, numbers, true/false, a list for several choices; null "
                  "clears one. PUT: the asset's properties become exactly those given (left out: unchanged); PATCH: "
                  "those given change, the others stay.")

    def get_description_html(self, asset) -> str:
        return render_markdown(asset.description)


class OwnerOperationSerializer(serializers.Serializer):
    set = OwnerSerializer(many=True, required=False, max_length=MAX_BULK_ITEMS,
                          help_text="The owners each asset ends up with, exactly.")
    add = OwnerSerializer(many=True, required=False, max_length=MAX_BULK_ITEMS)
    remove = OwnerSerializer(many=True, required=False, max_length=MAX_BULK_ITEMS,
                             help_text="Owners removed (matched on user or group and owner type).")


def _ids_operation(queryset_of, what: str) -> type[serializers.Serializer]:
    def ids(help_text):
        return _ids(queryset_of(user=None), max_length=MAX_BULK_ITEMS, required=False, help_text=help_text)

    return type(f"{what.capitalize()}OperationSerializer", (serializers.Serializer,), {
        "set": ids(f"The {what} each asset ends up with, exactly (ids)."),
        "add": ids(f"{what.capitalize()} to add (ids)."), "remove": ids(f"{what.capitalize()} to remove (ids)."),
        "__module__": __name__})


class PropertiesOperationSerializer(serializers.Serializer):
    set = serializers.DictField(child=serializers.JSONField(allow_null=True), required=False,
                                help_text="Properties set on every asset, by key (null clears one); every selected "
                                          "asset's workspace must define each key.")
    clear = serializers.ListField(child=serializers.CharField(max_length=64), required=False,
                                  help_text="Keys of the properties cleared on every asset.")


TagOperationSerializer = _ids_operation(tag_list, "tags")
TermOperationSerializer = _ids_operation(glossary_term_list, "terms")


class BulkCurationSerializer(CertificationFields, ScopedSerializer):
    """Which assets (``assets`` or ``filters``, one of them), and what to change on every one: each of ``owners``,
    ``tags`` and ``terms`` takes ``set``, or ``add`` and/or ``remove``; ``certification`` sets one (null ends
    it); ``properties`` takes ``set`` (``{key: value}``) and/or ``clear`` (keys). Left out: left as it is."""

    certification = serializers.ChoiceField(
        choices=AssetCertification.Status.choices, allow_null=True, required=False, source="certification.status",
        help_text="certified or deprecated on every asset; null: end theirs; left out: left as it is.")

    assets = serializers.ListField(
        child=IdField(), required=False, allow_empty=False,
        max_length=asset_curation.MAX_BULK_ASSETS,
        error_messages={"max_length": f"At most {asset_curation.MAX_BULK_ASSETS:,} assets per bulk operation: "
                                      "narrow the selection."},
        help_text=f"Asset ids (at most {asset_curation.MAX_BULK_ASSETS:,}).")
    filters = serializers.DictField(
        required=False, help_text="The asset list's filters (GET /api/v1/assets/), e.g. {\"type\": [\"column\"], "
                                  "\"tag\": 4}: every asset they select (removed ones only with \"removed\": "
                                  f"true), at most {asset_curation.MAX_BULK_ASSETS:,}.")
    owners = OwnerOperationSerializer(required=False)
    tags = TagOperationSerializer(required=False)
    terms = TermOperationSerializer(required=False)
    properties = PropertiesOperationSerializer(required=False)

    def validate(self, attrs):
        if ("assets" in attrs) == ("filters" in attrs):
            raise ValidationError({"assets": ["Select the assets by assets (ids) or by filters: one of them."]})
        return attrs


def _counts(name: str, doc: str, **words: str) -> type[serializers.Serializer]:
    return type(name, (serializers.Serializer,), {
        "__doc__": doc, "__module__": __name__,
        **{word: serializers.IntegerField(min_value=0, help_text=help_text) for word, help_text in words.items()}})


_LINKS_ASKED = ("Of the (asset, item) pairs the operation named — each selected asset with each item of set or add, "
                "and with each item of remove —, those already as asked.")
LinkCountsSerializer = _counts(
    "BulkLinkCounts", "What an owners, tags or terms operation did.",
    added="Links added (an owner, a tag or a term on one asset).",
    removed="Links removed: those of remove, or with set those it left out.", unchanged=_LINKS_ASKED)


class BulkCertificationCountsSerializer(serializers.Serializer):
    """What the certification did: with a status, ``changed`` and ``unchanged``; with null, ``ended`` and
    ``unchanged``."""

    changed = serializers.IntegerField(required=False, min_value=0, help_text="Assets certified or deprecated, or "
                                                                              "whose note or expiry changed.")
    ended = serializers.IntegerField(required=False, min_value=0,
                                     help_text="Assets whose certification was ended (certification null).")
    unchanged = serializers.IntegerField(min_value=0, help_text="Assets whose certification already was as asked "
                                                                "(or that had none to end).")


PropertyCountsSerializer = _counts(
    "BulkPropertyCounts", "What the properties operation did, counted per asset and property.",
    set="Values written (new or changed).", cleared="Values cleared.",
    unchanged="Values already as asked (or absent when cleared).")


class BulkOperationsSerializer(serializers.Serializer):
    """Per part asked for (a part left out of the request is left out here)."""

    owners = LinkCountsSerializer(required=False)
    tags = LinkCountsSerializer(required=False)
    terms = LinkCountsSerializer(required=False)
    certification = BulkCertificationCountsSerializer(required=False)
    properties = PropertyCountsSerializer(required=False)


class BulkCurationResultSerializer(serializers.Serializer):
    assets = serializers.IntegerField(help_text="How many assets were selected (every one was curated: all or "
                                                "nothing).")
    changed = serializers.IntegerField(help_text="How many of them at least one part changed.")
    changed_ids = serializers.ListField(
        child=serializers.IntegerField(),
        help_text=f"The ids of the assets changed, ascending: the first {asset_curation.CHANGED_IDS_SHOWN:,}.")
    changed_ids_complete = serializers.BooleanField(help_text="false: more assets changed than changed_ids lists "
                                                              "(changed counts them all).")
    operations = BulkOperationsSerializer(help_text="What each part did.")


def _filter_data(filters: dict) -> QueryDict:
    """The body's filters as the query string the asset list reads (a list repeats the parameter)."""
    data = QueryDict(mutable=True)
    for name, value in filters.items():
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(item, (str, int, bool)) for item in values):
            raise ValidationError({"filters": {name: ["Give a value or a list of values."]}})
        data.setlist(name, [str(item).lower() if isinstance(item, bool) else str(item) for item in values])
    return data


def selected_assets(user, data: dict):
    """The assets a bulk request selects among those ``user`` sees: by ids (an id not among them is refused,
    whether it does not exist or is another workspace's), or by the asset list's filters."""
    visible = asset_list(user=user)
    if "assets" in data:
        wanted = set(data["assets"])
        found = set(visible.filter(pk__in=wanted).values_list("pk", flat=True))
        if wanted - found:
            missing = sorted(wanted - found)
            raise ValidationError({"assets": [f"No asset you can see has the id {', '.join(map(str, missing[:10]))}"
                                              + (f" (and {len(missing) - 10} more)" if len(missing) > 10 else "")
                                              + "."]})
        return visible.filter(pk__in=found)
    unknown = sorted(set(data["filters"]) - set(AssetFilterSet.base_filters))
    if unknown:
        raise ValidationError({"filters": dict.fromkeys(unknown, ["Unknown filter; the filters are those of the "
                                                                  "asset list."])})
    filterset = AssetFilterSet(data=_filter_data(data["filters"]), queryset=visible)
    try:
        check_filters(filterset)  # as the list checks them: a boolean it cannot read is refused, not ignored
    except ValidationError as exc:
        raise ValidationError({"filters": exc.detail}) from None
    return filterset.qs


def _curation_arguments(data: dict) -> dict:
    """The validated body as the services' keyword arguments (a part left out stays as it is)."""
    arguments = {name: data[name] for name in ("owners", "tags") if name in data}
    if "terms" in data or "glossary_terms" in data:
        arguments["terms"] = data.get("terms", data.get("glossary_terms"))
    if "certification" in data:
        wanted = data["certification"]
        if "status" not in wanted:
            raise ValidationError({"certification": ["Give the certification with its note or expiry."]})
        arguments["certification"] = wanted if wanted["status"] is not None else None
    return arguments


# What the browsable API's page for /assets/bulk/ shows above its form.
BULK_EXAMPLE = {"filters": {"type": ["column"], "tag": 4},
                "owners": {"add": [{"user": 2, "owner_type": "steward"}]},
                "terms": {"add": [7]}, "certification": "certified", "certification_note": "Reviewed in Q4."}


class AssetCurationViewSet(PostFormPageMixin, RestrictedViewSetMixin, viewsets.GenericViewSet):
    """The curation of assets: owners, tags, glossary terms, certification and the stewards' description."""

    queryset = with_curation(Asset.objects.all())
    serializer_class = AssetCurationSerializer
    # Members read; whether they may write is the curation rule's (checked per asset, below and in the services).
    action_permissions = {"curation": "view", "curation_update": "view", "curation_partial_update": "view",
                          "bulk": "view"}
    pagination_class = None
    # Nothing is filtered by query parameters here (bulk's filters are in its body); bulk refuses any but format.
    filter_backends = [KnownParametersOnly]

    def get_serializer_class(self):
        # /assets/bulk/'s body, for the browsable API's form and OPTIONS (its own shape, not one asset's curation).
        # (OPTIONS runs as the action "metadata": the route's POST tells.)
        bulk = "bulk" in (self.action, getattr(self, "action_map", {}).get("post"))
        return BulkCurationSerializer if bulk else super().get_serializer_class()

    def post_form_page(self, action: str) -> dict:
        """/assets/bulk/ opened in a browser: how to use it, and its limit, above the form (not a 405)."""
        return {**super().post_form_page(action), "example": BULK_EXAMPLE,
                "limits": {"assets": asset_curation.MAX_BULK_ASSETS,
                           "changed_ids_shown": asset_curation.CHANGED_IDS_SHOWN}}

    def browsable_example(self, method: str) -> dict | None:
        """The body the form on /assets/bulk/ starts with (config.renderers): one asset the user may curate,
        given a tag of its workspace (or, without tags, a glossary term; else certified), so that POST shows an
        answer at once and changes one asset only."""
        if self.action_map.get(method.lower()) != "bulk":
            return None
        user = self.request.user
        asset = asset_curatable_list(user=user).filter(removed_at__isnull=True).order_by("pk").values(
            "pk", "data_source__workspace_id").first()
        if asset is None:
            return None
        body = {"assets": [asset["pk"]]}
        workspace = asset["data_source__workspace_id"]
        tag = tag_list(user=user).filter(workspace_id=workspace).order_by("name").values_list("pk", flat=True).first()
        term = (glossary_term_list(user=user).filter(workspace_id=workspace).order_by("name")
                .values_list("pk", flat=True).first())
        if tag is not None:
            return {**body, "tags": {"add": [tag]}}
        if term is not None:
            return {**body, "terms": {"add": [term]}}
        return {**body, "certification": "certified", "certification_note": "Checked by hand."}

    def _curatable(self) -> Asset:
        asset = self.get_object()
        if not curation.may_curate(self.request.user, asset):
            raise PermissionDenied()
        return asset

    def _write(self, request, *, partial: bool):
        asset = self._curatable()
        serializer = self.get_serializer(asset, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        asset_curation.asset_curation_set(asset=asset, acting_user=request.user,
                                          description=data.get("description"), property_values=data.get("properties"),
                                          properties_exact=not partial, **_curation_arguments(data))
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(summary="An asset's curation", responses=AssetCurationSerializer)
    @action(detail=True, methods=["get"])
    def curation(self, request, pk=None):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(summary="Replace an asset's curation", request=AssetCurationSerializer,
                   responses=AssetCurationSerializer,
                   description="Every part given: the owners, tags and terms become exactly those listed, the "
                               "certification the one given (null: none). Changes are audited per part; a repeated "
                               "request changes and audits nothing.")
    @curation.mapping.put
    def curation_update(self, request, pk=None):
        return self._write(request, partial=False)

    @extend_schema(summary="Change parts of an asset's curation", request=AssetCurationSerializer,
                   responses=AssetCurationSerializer,
                   description="Only the parts given change, each replaced whole (a list is the new list).")
    @curation.mapping.patch
    def curation_partial_update(self, request, pk=None):
        return self._write(request, partial=True)

    @extend_schema(
        summary="Curate many assets at once", request=BulkCurationSerializer,
        responses=BulkCurationResultSerializer,
        description=f"All or nothing, in one transaction: at most {asset_curation.MAX_BULK_ASSETS:,} assets (400 "
                    "past it, naming the cap and the selection's size); every one must be an asset you may curate "
                    "(403 naming how many are not, and nothing changes). Each change is audited on its asset as "
                    "when made by hand, plus one asset.bulk_curated event per workspace saying what was asked of "
                    "which assets. The answer says what was done: per part, how many links were added, removed "
                    "or already as asked (certifications changed or ended, properties set or cleared), and which "
                    f"assets changed (their ids, the first {asset_curation.CHANGED_IDS_SHOWN:,}). A repeated "
                    "request changes nothing and says so (changed: 0).")
    @action(detail=False, methods=["post"])
    def bulk(self, request):
        """Curate many assets at once: select them by `assets` (ids) or `filters` (the asset list's), and say what
        to change on every one — `owners`, `tags`, `terms` (`set`, or `add` and/or `remove`), `certification`,
        `properties`. All or nothing; the answer says what was done."""
        refuse_unknown_parameters(request, self, Asset.objects.none())
        serializer = BulkCurationSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        assets = selected_assets(request.user, data)
        selection = {"assets": data["assets"]} if "assets" in data else {"filters": data["filters"]}
        try:
            done = asset_curation.assets_curate(assets=assets, acting_user=request.user, selection=selection,
                                                property_values=data.get("properties"),
                                                **_curation_arguments(data))
        except curation.CurationRefused as refused:
            # The problem handler words every refusal alike (a service's may name what the caller cannot see);
            # this one names only how many of the caller's own selection, so it is shown.
            raise PermissionDenied(str(refused)) from None
        return Response(BulkCurationResultSerializer(done.summary()).data)


def register(router) -> None:
    # Before the asset viewset's routes: /assets/bulk/ would otherwise read as the asset with the id "bulk".
    router.register("assets", AssetCurationViewSet, basename="assetcuration")
