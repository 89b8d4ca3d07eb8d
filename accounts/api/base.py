"""The API's side of the one choke point: every viewset's queryset goes through the ``visible`` selector without
opt-in, every relation input accepts only what the caller may see, and the action's permission is checked before
anything else runs."""
from collections.abc import Callable

from django.db.models import QuerySet
from rest_framework import exceptions, viewsets
from rest_framework.permissions import BasePermission
from rest_framework.settings import api_settings

from accounts.permissions import has_any_grant, has_perm
from accounts.selectors import visible
from config.rows import RowListModelMixin

HTTP_ACTIONS = {"GET": "view", "HEAD": "view", "OPTIONS": "view",
                "POST": "add", "PUT": "change", "PATCH": "change", "DELETE": "delete"}


class ModelActionPermission(BasePermission):
    """403 unless the user holds the view's action on its model somewhere; scope is left to get_queryset (404)."""

    def has_permission(self, request, view):
        action = view.permission_action()
        return action is not None and has_any_grant(request.user, view.governed_model(), action)


class RestrictedViewSetMixin:
    """Scopes every queryset with the ``visible`` selector; there is no way for a subclass to forget it: a subclass
    declares the ``queryset`` it lists (its shape: joins, annotations) and never scopes it itself.

    - ``action_permissions`` maps custom @action names to a permission action (``{"run": "run"}`` checks
      ``scanning.run_scan``); an action missing there falls back to the HTTP method.
    - Detail routes answer 404 when the object is outside what the user may view, and 403 when they may view it
      but not perform the action on it.
    - Creates are authorised against the parent workspace in ``perform_create`` / the service, with
      ``workspace_allows``.
    """

    action_permissions: dict[str, str] = {}

    def get_permissions(self):
        # The project's defaults (authentication, token scope, MFA) first, then the model's action rule.
        return [cls() for cls in api_settings.DEFAULT_PERMISSION_CLASSES] + [ModelActionPermission()]

    def governed_model(self):
        return self.queryset.model

    def permission_action(self) -> str | None:
        action = self.action_permissions.get(getattr(self, "action", None) or "")
        return action or HTTP_ACTIONS.get(self.request.method)

    def get_queryset(self):
        action = "view" if self.detail_lookup_phase() else self.permission_action()
        return visible(super().get_queryset(), user=self.request.user, action=action)

    def detail_lookup_phase(self) -> bool:
        return getattr(self, "_looking_up_object", False)

    def get_object(self):
        self._looking_up_object = True
        try:
            obj = super().get_object()  # 404 outside what the user may see
        finally:
            self._looking_up_object = False
        action = self.permission_action()
        if action != "view" and not has_perm(self.request.user, action, obj):
            raise exceptions.PermissionDenied()
        return obj


# Lists read as rows when their serializer allows it (config.rows).
class RestrictedModelViewSet(RestrictedViewSetMixin, RowListModelMixin, viewsets.ModelViewSet):
    pass


class RestrictedReadOnlyModelViewSet(RestrictedViewSetMixin, RowListModelMixin, viewsets.ReadOnlyModelViewSet):
    pass


class ScopedRelationsMixin:
    """For serializers: relation inputs accept only the objects their selector gives the caller, so an id outside
    the caller's scope is refused exactly like one that does not exist (400 ``does_not_exist``).

    ``scoped_relations`` maps a field name to a selector called with ``user=`` (the request's; None without a
    request, e.g. schema generation, where no id is valid). A field that is read-only (an update serializer's
    ``workspace``) or absent is left alone; a many-relation scopes its items.
    """

    scoped_relations: dict[str, Callable[..., QuerySet]] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        user = getattr(request, "user", None)
        for name, selector in self.scoped_relations.items():
            field = self.fields.get(name)
            if field is not None and not field.read_only:
                getattr(field, "child_relation", field).queryset = selector(user=user)
