"""Factories for custom property definitions, written straight to the database (no service, no audit row)."""
import factory

from catalog.models import PropertyDefinition
from tests.support.factories import WorkspaceFactory


class PropertyDefinitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PropertyDefinition

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"property_{n}")
    label = factory.Sequence(lambda n: f"Property {n}")
    type = PropertyDefinition.Type.TEXT
