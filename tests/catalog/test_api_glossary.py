"""/api/v1/tags/ and /api/v1/glossary-terms/ under the permission matrix: members read their workspace's, stewards
write them, data owners add and change terms, auditors read everything."""
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditEvent
from config.serializers import MAX_RELATED_IDS
from tests.catalog.curation_factories import GlossaryTermFactory, TagFactory
from tests.support.permission_matrix import PermissionMatrix, table

COLUMNS = ("list retrieve_a retrieve_b create update_a update_b partial_update_a partial_update_b "
           "destroy_a destroy_b")
STEWARDS_WRITE = dict(
    anonymous=           "401 401 401 401 401 401 401 401 401 401",
    outsider=            "403 403 403 403 403 403 403 403 403 403",
    analyst=             "200 200 404 403 403 403 403 403 403 403",
    steward=             "200 200 404 201 200 404 200 404 204 404",
    workspace_admin=     "200 200 404 201 200 404 200 404 204 404",
    auditor=             "200 200 200 403 403 403 403 403 403 403",
    other_workspace_user="200 404 200 400 404 200 404 200 404 204",
    staff_unverified=    "403 403 403 403 403 403 403 403 403 403",
    superuser=           "200 200 200 201 200 200 200 200 204 204",
)
VISIBLE = {"analyst": "A", "steward": "A", "workspace_admin": "A", "auditor": "AB", "other_workspace_user": "B",
           "superuser": "AB"}


class TestTagMatrix(PermissionMatrix):
    basename = "tag"
    expected = table(COLUMNS, **STEWARDS_WRITE)
    visible = VISIBLE

    def objects(self, world):
        return TagFactory(workspace=world.workspace_a), TagFactory(workspace=world.workspace_b)

    def payload(self, world, action):
        return {"workspace": world.workspace_a.pk, "name": f"gold-{action}", "description": "Trusted data."}


class TestGlossaryTermMatrix(PermissionMatrix):
    basename = "glossaryterm"
    expected = table(COLUMNS, **STEWARDS_WRITE)
    visible = VISIBLE

    def objects(self, world):
        return GlossaryTermFactory(workspace=world.workspace_a), GlossaryTermFactory(workspace=world.workspace_b)

    def payload(self, world, action):
        return {"workspace": world.workspace_a.pk, "name": f"Customer {action}", "definition": "**Buys**.",
                "synonyms": ["client"], "status": "approved"}


def test_term_cycle_is_a_400_on_parent(world):
    top = GlossaryTermFactory(workspace=world.workspace_a)
    child = GlossaryTermFactory(workspace=world.workspace_a, parent=top)
    response = world.client("steward").patch(reverse("api:glossaryterm-detail", args=[top.pk]),
                                             {"parent": child.pk}, format="json")
    assert response.status_code == 400 and "parent" in str(response.json())


def test_term_definition_is_rendered_safely_and_changes_audited(world):
    term = GlossaryTermFactory(workspace=world.workspace_a)
    response = world.client("steward").patch(reverse("api:glossaryterm-detail", args=[term.pk]),
                                             {"definition": "<script>x</script> **bold**"}, format="json")
    assert response.status_code == 200
    html = response.json()["definition_html"]
    assert "<script" not in html and "<strong>bold</strong>" in html
    assert AuditEvent.objects.filter(event="glossary_term.changed", object_id=str(term.pk)).exists()


def test_parent_of_another_workspace_reads_as_missing(world):
    term = GlossaryTermFactory(workspace=world.workspace_a)
    theirs = GlossaryTermFactory(workspace=world.workspace_b)
    response = world.client("steward").patch(reverse("api:glossaryterm-detail", args=[term.pk]),
                                             {"parent": theirs.pk}, format="json")
    assert response.status_code == 400 and "parent" in str(response.json())


def test_a_list_of_related_terms_past_the_bound_is_a_400_before_any_is_looked_up(world):
    """Regression (attack22): each related term's id was looked up by a query of its own, however many were sent."""
    term = GlossaryTermFactory(workspace=world.workspace_a)
    related = GlossaryTermFactory(workspace=world.workspace_a)
    client = world.client("steward")
    url = reverse("api:glossaryterm-detail", args=[term.pk])
    client.get(url)  # warm per-process caches
    with CaptureQueriesContext(connection) as queries:
        response = client.patch(url, {"related_terms": [related.pk] * (MAX_RELATED_IDS + 1)}, format="json")
    assert response.status_code == 400 and "related_terms" in str(response.json())
    assert len(queries) < 50
    response = client.patch(url, {"related_terms": [related.pk] * 3}, format="json")
    assert response.status_code == 200 and response.json()["related_terms"] == [related.pk]
    schema = client.get(reverse("schema"), {"format": "json"}).json()
    assert schema["components"]["schemas"]["GlossaryTerm"]["properties"]["related_terms"]["maxItems"] == \
        MAX_RELATED_IDS
