"""Masked examples hide letters and digits of every script, not only ASCII ones."""
import pytest

from scanning.detection.masking import mask_value


@pytest.mark.parametrize("value, classification, hidden", [
    ("+1 ٥٥٥ ٥٦٧ 1234", "PII.PHONE", "٥٦٧"),           # Arabic-Indic digits
    ("АБ1234567", "PII.PASSPORT_NUMBER", "АБ"),          # Cyrillic letters
    ("+7 ９１２ ３４５ 6789", "PII.PHONE", "９１２"),      # full-width digits among ASCII ones
    ("DE89 ३७०४ 0044 0532 0130 00", "FINANCIAL.IBAN", "३७०४"),  # Devanagari digits
])
def test_non_ascii_letters_and_digits_are_masked(value, classification, hidden):
    masked = mask_value(value, classification)
    assert hidden not in masked
    assert not any(ch in masked for ch in hidden)
    assert masked.count("*") >= len([ch for ch in value if ch.isalnum()]) - 2
