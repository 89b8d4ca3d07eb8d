"""Factories for tags and glossary terms, written straight to the database (no service, no audit row)."""
import factory

from catalog.models import GlossaryTerm, Tag
from tests.support.factories import WorkspaceFactory


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"tag-{n}")


class GlossaryTermFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GlossaryTerm
        skip_postgeneration_save = True

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Term {n}")
    definition = "What it means."
    status = GlossaryTerm.Status.APPROVED
