"""Suggestions written straight to the database (no subscriber, no audit row): a description suggested to a
column, copied from a curated look-alike of the same source."""
import factory

from catalog.models import Asset, Suggestion
from catalog.suggestions import description_fingerprint
from tests.catalog.factories import AssetFactory, DataSourceFactory


def column_in(workspace, name: str = "email") -> Asset:
    return AssetFactory(data_source=DataSourceFactory(workspace=workspace), type=Asset.Type.COLUMN, name=name,
                        data_type="text")


class SuggestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Suggestion

    asset = factory.LazyFunction(lambda: AssetFactory(type=Asset.Type.COLUMN, name="email", data_type="text"))
    kind = Suggestion.Kind.DESCRIPTION
    rule = Suggestion.Rule.LOOKALIKE
    description = factory.Sequence(lambda n: f"Where we write, version {n}.")
    fingerprint = factory.LazyAttribute(lambda row: description_fingerprint(row.description))
    reason = "Same name and type (text) as shop.public.customers.email, described by steward."


def suggestion_in(workspace, **fields) -> Suggestion:
    return SuggestionFactory(asset=column_in(workspace), **fields)
