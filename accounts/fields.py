"""Free text users write (descriptions, notes, reasons), bounded in one place so the API, the admin and the services
refuse the same oversize value with a message on the field."""
from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models

DESCRIPTION_MAX_LENGTH = 10_000
NOTE_MAX_LENGTH = 2_000
# Characters no database text holds: NUL (PostgreSQL's text and jsonb refuse it) and lone surrogates (no character
# at all, which a JSON escape such as "\\ud800" still produces).
UNSTORABLE_TEXT = re.compile(r"[\x00\ud800-\udfff]")


class BoundedTextField(models.TextField):
    """A TextField whose ``max_length`` model validation enforces (``full_clean``), as it does a CharField's; a
    plain TextField's ``max_length`` reaches only its form widget. Still ``text`` in the database, shown as a
    text area in the admin; DRF's model serializers read ``max_length`` and answer 400 on the field."""

    def __init__(self, *args, max_length: int, **kwargs):
        super().__init__(*args, max_length=max_length, **kwargs)
        self.validators.append(MaxLengthValidator(max_length))


def check_text(model: type[models.Model], field_name: str, value: str, *, as_field: str | None = None) -> None:
    """Validate one value against a bounded text field of ``model``, for services that store it without
    ``full_clean``; the error is on ``as_field`` (the input's name) or the field's own name."""
    try:
        model._meta.get_field(field_name).run_validators(value)
    except ValidationError as exc:
        raise ValidationError({as_field or field_name: exc.messages}) from None
