from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import AuditEvent
from sources import crypto
from tests.catalog.factories import DataSourceFactory

pytestmark = pytest.mark.django_db


def test_rotate_encryption_keys_reencrypts_with_newest_key(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.RACINE_ENCRYPTION_KEYS = [old]
    with_secret = DataSourceFactory(encrypted_secret=crypto.encrypt("s3cret"))
    DataSourceFactory(encrypted_secret="")
    settings.RACINE_ENCRYPTION_KEYS = [new, old]
    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert "Re-encrypted 1 secret." in out.getvalue()
    settings.RACINE_ENCRYPTION_KEYS = [new]  # the old key can now be dropped
    with_secret.refresh_from_db()
    assert crypto.decrypt(with_secret.encrypted_secret) == "s3cret"
    assert AuditEvent.objects.filter(event="datasource.secret_rotated", object_id=str(with_secret.pk)).exists()


def test_rotate_with_a_missing_key_fails_with_advice(settings):
    settings.RACINE_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    DataSourceFactory(encrypted_secret=crypto.encrypt("s3cret"))
    settings.RACINE_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match="put back the key"):
        call_command("rotate_encryption_keys", stdout=StringIO())
