"""Admin edits go through the services with the stored row, so they are applied, granted and audited.

Regressions: the admin handed the services the instance its form had already changed, so a rename looked like no
change at all (nothing in the audit trail); and saving a workspace with members failed with a 500 because the
read-only memberships inline never recorded that it changed nothing.
"""
from django.urls import reverse

from accounts.models import AuditEvent, Membership, User
from accounts.permissions import workspace_allows
from accounts.roles import Role


def management_form(inline_formsets) -> dict:
    """The inline formsets' management data, unchanged (their rows are read-only)."""
    data = {}
    for inline in inline_formsets:
        formset = inline.formset
        data.update({f"{formset.prefix}-{key}": value for key, value in formset.management_form.initial.items()})
        for form in formset.forms:
            data.update({f"{form.prefix}-{name}": value for name, value in form.initial.items()
                         if name in form.fields})
            data[f"{form.prefix}-id"] = form.instance.pk
    return data


def test_role_change_in_admin_is_saved_granted_and_audited(world):
    analyst_membership = world.memberships["analyst"]
    url = reverse("admin:accounts_membership_change", args=[analyst_membership.pk])
    response = world.client("superuser").post(url, {"role": Role.DATA_STEWARD}, format="multipart")
    assert response.status_code == 302, response.content[:500]
    assert Membership.objects.get(pk=analyst_membership.pk).role == Role.DATA_STEWARD
    analyst = User.objects.get(pk=analyst_membership.user_id)
    assert workspace_allows(analyst, "sources.add_datasource", world.workspace_a)
    event = AuditEvent.objects.filter(event="membership.changed").get()
    assert event.changes["role"] == [Role.ANALYST, Role.DATA_STEWARD]


def test_workspace_rename_in_admin_is_audited_with_its_diff(world):
    url = reverse("admin:accounts_workspace_change", args=[world.workspace_a.pk])
    client = world.client("superuser")
    form = client.get(url).context["adminform"].form
    data = {**form.initial, "organization": world.workspace_a.organization_id, "name": "Finance",
            **management_form(client.get(url).context["inline_admin_formsets"])}
    response = client.post(url, data, format="multipart")
    assert response.status_code == 302, response.content[:500]
    event = AuditEvent.objects.filter(event="workspace.changed").get()
    assert event.changes["name"] == ["Workspace A", "Finance"]
