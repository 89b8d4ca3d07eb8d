"""Curation of assets (catalog.curation): owners, tags, certification and its expiry, the description's Markdown —
each change audited, under the permission rules: stewards curate their workspace's assets, owners what they own,
analysts and auditors read."""
import json
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from accounts.actors import SYSTEM
from accounts.models import AuditEvent, User
from accounts.permissions import has_perm
from accounts.roles import Role
from catalog import curation, selectors, services
from catalog.markdown import render_markdown
from catalog.models import Asset, AssetCertification, AssetOwner
from catalog.tasks import asset_certifications_expire_task
from config.celery import app as celery_app
from tests.catalog.curation_factories import TagFactory
from tests.catalog.factories import AssetFactory, DataSourceFactory
from tests.support.factories import UserFactory, membership


def fresh(user):
    return User.objects.get(pk=user.pk)


@pytest.fixture
def asset_a(world):
    return AssetFactory(data_source=DataSourceFactory(workspace=world.workspace_a))


def events(asset, name):
    return list(AuditEvent.objects.filter(event=name, object_id=str(asset.pk)).order_by("pk"))


def test_steward_adds_owners_audited_and_repeat_is_a_noop(world, asset_a):
    steward, analyst = world.user("steward"), world.user("analyst")
    curation.asset_owner_add(asset=asset_a, user=analyst, owner_type="business", acting_user=steward)
    curation.asset_owner_add(asset=asset_a, user=analyst, owner_type="business", acting_user=steward)
    [event] = events(asset_a, "asset.owner_added")
    assert event.actor_id == steward.pk and event.changes == {"owners": [None, "user:analyst (business)"]}


def test_owner_curates_what_they_own_and_loses_it_with_the_ownership(world, asset_a):
    analyst = world.user("analyst")
    other = AssetFactory(data_source=asset_a.data_source)
    with pytest.raises(PermissionDenied):
        curation.asset_certify(asset=asset_a, status="certified", acting_user=analyst)
    owner = curation.asset_owner_add(asset=asset_a, user=analyst, owner_type="technical", acting_user=SYSTEM)
    analyst = fresh(analyst)
    curation.asset_certify(asset=asset_a, status="certified", acting_user=analyst)
    with pytest.raises(PermissionDenied):  # owning one asset curates that one only
        curation.asset_certify(asset=other, status="certified", acting_user=analyst)
    assert list(selectors.asset_curatable_list(user=analyst)) == [asset_a]
    curation.asset_owner_remove(owner=owner, acting_user=world.user("steward"))
    assert not curation.may_curate(fresh(analyst), asset_a)
    assert has_perm(fresh(analyst), "view", asset_a)  # still the analyst of the workspace


def test_group_owner_curates_through_its_members(world, asset_a):
    """Through its members in the asset's workspace only (tests/security/test_s22_attack22.py)."""
    member = UserFactory(username="group_member")
    membership(member, world.workspace_a, Role.ANALYST)
    group = Group.objects.create(name="finance data team")
    member.groups.add(group)
    assert not curation.may_curate(member, asset_a)
    curation.asset_owner_add(asset=asset_a, group=group, owner_type="business", acting_user=world.user("steward"))
    assert curation.may_curate(fresh(member), asset_a)
    assert not curation.may_curate(fresh(member), AssetFactory(data_source=asset_a.data_source))
    member.groups.remove(group)  # the rule follows the group's members
    assert not curation.may_curate(fresh(member), asset_a)


def test_owner_must_be_a_member_of_the_workspace(world, asset_a):
    with pytest.raises(ValidationError) as error:
        curation.asset_owner_add(asset=asset_a, user=world.user("other_workspace_user"), owner_type="business",
                                 acting_user=world.user("steward"))
    assert "user" in error.value.message_dict
    with pytest.raises(ValidationError):
        curation.asset_owner_add(asset=asset_a, user=world.user("analyst"), owner_type="boss",
                                 acting_user=world.user("steward"))


@pytest.mark.parametrize("persona", ["analyst", "auditor", "other_workspace_user"])
def test_readers_and_other_workspaces_cannot_curate(world, asset_a, persona):
    tag = TagFactory(workspace=world.workspace_a)
    with pytest.raises(PermissionDenied):
        curation.asset_tag_add(asset=asset_a, tag=tag, acting_user=world.user(persona))
    with pytest.raises(PermissionDenied):
        curation.asset_owners_set(asset=asset_a, owners=[], acting_user=world.user(persona))


def test_owners_set_applies_the_difference(world, asset_a):
    steward, analyst = world.user("steward"), world.user("analyst")
    curation.asset_owners_set(asset=asset_a, acting_user=steward,
                              owners=[{"user": analyst, "owner_type": "business"},
                                      {"user": steward, "owner_type": "steward"}])
    curation.asset_owners_set(asset=asset_a, acting_user=steward, owners=[{"user": steward, "owner_type": "steward"}])
    assert [(o.user, o.owner_type) for o in AssetOwner.objects.filter(asset=asset_a)] == [(steward, "steward")]
    assert len(events(asset_a, "asset.owner_added")) == 2 and len(events(asset_a, "asset.owner_removed")) == 1


def test_tags_of_the_workspace_only_and_audited(world, asset_a):
    steward = world.user("steward")
    mine, theirs = TagFactory(workspace=world.workspace_a, name="gold"), TagFactory(workspace=world.workspace_b)
    with pytest.raises(ValidationError):
        curation.asset_tag_add(asset=asset_a, tag=theirs, acting_user=SYSTEM)
    curation.asset_tags_set(asset=asset_a, tags=[mine], acting_user=steward)
    curation.asset_tags_set(asset=asset_a, tags=[mine], acting_user=steward)
    curation.asset_tags_set(asset=asset_a, tags=[], acting_user=steward)
    assert [e.changes for e in events(asset_a, "asset.tag_added") + events(asset_a, "asset.tag_removed")] == [
        {"tags": [None, "gold"]}, {"tags": ["gold", None]}]
    assert not asset_a.tags.exists()


def test_certification_records_who_when_and_ends(world, asset_a):
    steward = world.user("steward")
    until = timezone.now() + timedelta(days=30)
    certification = curation.asset_certify(asset=asset_a, status="certified", note="checked", expires_at=until,
                                           acting_user=steward)
    assert certification.certified_by == steward and certification.certified_at is not None
    curation.asset_certify(asset=asset_a, status="certified", note="checked", expires_at=until, acting_user=steward)
    assert len(events(asset_a, "asset.certified")) == 1  # the same word again writes nothing
    curation.asset_certify(asset=asset_a, status="deprecated", acting_user=steward)
    assert events(asset_a, "asset.deprecated")[0].changes["certification_status"] == ["certified", "deprecated"]
    curation.asset_certification_end(asset=asset_a, acting_user=steward, reason="replaced")
    assert not AssetCertification.objects.filter(asset=asset_a).exists()
    assert events(asset_a, "asset.certification_ended")[0].extra["reason"] == "replaced"
    with pytest.raises(ValidationError):
        curation.asset_certify(asset=asset_a, status="certified", acting_user=steward,
                               expires_at=timezone.now() - timedelta(minutes=1))


def test_expired_certifications_end_by_the_task_audited_once(world, asset_a):
    steward = world.user("steward")
    lasting = AssetFactory(data_source=asset_a.data_source)
    curation.asset_certify(asset=asset_a, status="certified", acting_user=steward,
                           expires_at=timezone.now() + timedelta(hours=1))
    curation.asset_certify(asset=lasting, status="certified", acting_user=steward,
                           expires_at=timezone.now() + timedelta(days=10))
    later = timezone.now() + timedelta(hours=2)
    assert curation.asset_certifications_expire(now=later) == 1
    assert curation.asset_certifications_expire(now=later) == 0  # a second tick ends nothing twice
    [event] = events(asset_a, "asset.certification_expired")
    assert event.actor is None and event.actor_label == "system"
    assert event.changes == {"certification_status": ["certified", None]}
    assert AssetCertification.objects.filter(asset=lasting).exists()
    assert asset_certifications_expire_task.apply().get() == 0


def test_beat_runs_the_expiry_that_setup_periodic_tasks_installs(world, asset_a):
    """The job the product installs in django-celery-beat's tables names a registered task that ends an expired
    certification, audited as the system."""
    call_command("setup_periodic_tasks", stdout=StringIO())
    entry = PeriodicTask.objects.get(task="catalog.tasks.asset_certifications_expire_task")
    assert entry.enabled and (entry.interval.every, entry.interval.period) == (15 * 60, "seconds")
    curation.asset_certify(asset=asset_a, status="deprecated", acting_user=world.user("steward"),
                           expires_at=timezone.now() + timedelta(hours=1))
    AssetCertification.objects.update(expires_at=timezone.now() - timedelta(seconds=1))  # an hour later
    celery_app.loader.import_default_modules()
    ended = celery_app.tasks[entry.task].apply(args=json.loads(entry.args), kwargs=json.loads(entry.kwargs)).get()
    assert ended == 1 and not AssetCertification.objects.exists()
    [event] = events(asset_a, "asset.certification_expired")
    assert (event.actor_label, event.extra["reason"]) == ("system", "expired")
    assert event.changes == {"certification_status": ["deprecated", None]}


def test_description_is_the_stewards_and_source_comment_stays(world, asset_a):
    Asset.objects.filter(pk=asset_a.pk).update(source_description="comment from the database")
    asset_a.refresh_from_db()
    services.asset_update(asset=asset_a, description="**Customers** [site](https://example.org)",
                          acting_user=world.user("steward"))
    asset_a.refresh_from_db()
    assert asset_a.source_description == "comment from the database"
    assert events(asset_a, "asset.changed")[0].changes["description"][1].startswith("**Customers**")
    with pytest.raises(ValidationError):
        services.asset_update(asset=asset_a, source_description="x", acting_user=world.user("steward"))


@pytest.mark.parametrize(("text", "absent"), [
    ("<script>alert(1)</script>", "<script"),
    ("[x](javascript:alert(1))", "href="),
    ('<img src=x onerror="alert(1)">', "<img"),
    ("[x](https://example.org)", "noopener"),
])
def test_markdown_is_rendered_safely(text, absent):
    html = render_markdown(text)
    if absent == "noopener":
        assert 'href="https://example.org"' in html and 'rel="noopener noreferrer nofollow"' in html
    else:
        assert absent not in html
