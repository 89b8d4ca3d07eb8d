"""manage.py check_secrets: every stored connector secret decrypts with the configured keys, or the sources whose
secret does not are named and nothing is changed."""
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError

from sources import crypto
from sources.models import DataSource
from tests.catalog.factories import DataSourceFactory

pytestmark = pytest.mark.django_db


def test_all_secrets_readable(settings):
    settings.RACINE_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    DataSourceFactory(encrypted_secret=crypto.encrypt("s3cret"))
    DataSourceFactory(encrypted_secret="")
    out = StringIO()

    call_command("check_secrets", stdout=out)

    assert "The 1 stored data source secret decrypts with RACINE_ENCRYPTION_KEYS." in out.getvalue()


def test_several_secrets_readable(settings):
    settings.RACINE_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    DataSourceFactory(encrypted_secret=crypto.encrypt("s3cret"))
    DataSourceFactory(encrypted_secret=crypto.encrypt("an0ther"))
    out = StringIO()

    call_command("check_secrets", stdout=out)

    assert "All 2 stored data source secrets decrypt with RACINE_ENCRYPTION_KEYS." in out.getvalue()


def test_no_stored_secret_is_not_reported_as_all_readable():
    DataSourceFactory(encrypted_secret="")
    out = StringIO()

    call_command("check_secrets", stdout=out)

    assert out.getvalue().strip() == "No data source has a stored secret: nothing to decrypt."


def test_unreadable_secrets_are_named_and_left_as_they_are(settings):
    old, other = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.RACINE_ENCRYPTION_KEYS = [old]
    lost = DataSourceFactory(name="crm", encrypted_secret=crypto.encrypt("s3cret"))
    settings.RACINE_ENCRYPTION_KEYS = [other]
    DataSourceFactory(name="billing", encrypted_secret=crypto.encrypt("an0ther"))
    before = dict(DataSource.objects.values_list("pk", "encrypted_secret"))

    with pytest.raises(CommandError) as raised:
        call_command("check_secrets", stdout=StringIO())

    message = str(raised.value)
    assert message.startswith("1 of 2 data source secrets cannot be decrypted with RACINE_ENCRYPTION_KEYS: "
                              f"'crm' (id {lost.pk}, workspace {lost.workspace.name!r}).")
    assert "billing" not in message and "nothing was changed" in message
    assert dict(DataSource.objects.values_list("pk", "encrypted_secret")) == before
