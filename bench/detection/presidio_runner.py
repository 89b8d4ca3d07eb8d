"""Microsoft Presidio as the comparison: AnalyzerEngine with pattern recognizers only.

The NLP engine is a *blank* spaCy English pipeline (``spacy.blank("en")``: a tokenizer, no model, nothing to
download), wrapped in Presidio's ``SpacyNlpEngine``. The NER-based recognizer (persons, locations, …) is not
used, so Presidio is scored only on the classifications its pattern recognizers support (``SUPPORTED``). Each
value is analysed on its own, with the column name's tokens passed as context words in the run with names; a
column gets the entity found on the most values if that is at least half of the non-null values.
"""
from __future__ import annotations

from collections import Counter

import spacy
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.nlp_engine import SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import (
    AbaRoutingRecognizer,
    CaSinRecognizer,
    CreditCardRecognizer,
    DeTaxIdRecognizer,
    DeVatIdRecognizer,
    EmailRecognizer,
    EsNieRecognizer,
    EsNifRecognizer,
    IbanRecognizer,
    InAadhaarRecognizer,
    InPanRecognizer,
    IpRecognizer,
    ItFiscalCodeRecognizer,
    ItVatCodeRecognizer,
    MacAddressRecognizer,
    NhsRecognizer,
    PhoneRecognizer,
    PlPeselRecognizer,
    UkNinoRecognizer,
    UrlRecognizer,
    UsBankRecognizer,
    UsPassportRecognizer,
    UsSsnRecognizer,
)

from scanning.detection.names import tokenize

# Presidio entity → Racine classification.
ENTITY_MAP = {
    "EMAIL_ADDRESS": "PII.EMAIL",
    "PHONE_NUMBER": "PII.PHONE",
    "CREDIT_CARD": "FINANCIAL.PAYMENT_CARD",
    "IBAN_CODE": "FINANCIAL.IBAN",
    "IP_ADDRESS": "NETWORK.IP_ADDRESS",
    "MAC_ADDRESS": "NETWORK.MAC_ADDRESS",
    "URL": "NETWORK.URL",
    "US_SSN": "NATIONAL_ID.US_SSN",
    "UK_NINO": "NATIONAL_ID.GB_NINO",
    "UK_NHS": "HEALTH.GB_NHS_NUMBER",
    "ES_NIF": "NATIONAL_ID.ES_DNI",
    "ES_NIE": "NATIONAL_ID.ES_DNI",
    "IT_FISCAL_CODE": "NATIONAL_ID.IT_CODICE_FISCALE",
    "IN_AADHAAR": "NATIONAL_ID.IN_AADHAAR",
    "IN_PAN": "NATIONAL_ID.IN_PAN",
    "CA_SIN": "NATIONAL_ID.CA_SIN",
    "PL_PESEL": "NATIONAL_ID.PL_PESEL",
    "DE_TAX_ID": "NATIONAL_ID.DE_IDNR",
    "DE_VAT_ID": "FINANCIAL.VAT_NUMBER",
    "IT_VAT_CODE": "FINANCIAL.VAT_NUMBER",
    "US_PASSPORT": "PII.PASSPORT_NUMBER",
    "US_BANK_NUMBER": "FINANCIAL.BANK_ACCOUNT",
    "ABA_ROUTING_NUMBER": "FINANCIAL.BANK_ACCOUNT",
}
SUPPORTED = frozenset(ENTITY_MAP.values())


class BlankSpacyNlpEngine(SpacyNlpEngine):
    """Presidio's spaCy engine over ``spacy.blank("en")``: tokens only, no model download."""

    def __init__(self):
        super().__init__(models=[{"lang_code": "en", "model_name": "blank:en"}])

    def load(self) -> None:
        self.nlp = {"en": spacy.blank("en")}


def _offline_tldextract() -> None:
    """Presidio's email/URL recognizers use tldextract, which would fetch the public suffix list: use its
    bundled snapshot instead (no network)."""
    import logging

    import tldextract
    import tldextract.tldextract as module

    module.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    logging.getLogger("tldextract").setLevel(logging.CRITICAL)


def build_analyzer() -> AnalyzerEngine:
    _offline_tldextract()
    nlp_engine = BlankSpacyNlpEngine()
    nlp_engine.load()
    registry = RecognizerRegistry(supported_languages=["en"])
    for recognizer in (
        EmailRecognizer, PhoneRecognizer, CreditCardRecognizer, IbanRecognizer, IpRecognizer, MacAddressRecognizer,
        UrlRecognizer, UsSsnRecognizer, UkNinoRecognizer, NhsRecognizer, EsNifRecognizer, EsNieRecognizer,
        ItFiscalCodeRecognizer, InAadhaarRecognizer, InPanRecognizer, CaSinRecognizer, PlPeselRecognizer,
        DeTaxIdRecognizer, DeVatIdRecognizer, ItVatCodeRecognizer, UsPassportRecognizer, UsBankRecognizer,
        AbaRoutingRecognizer,
    ):
        registry.add_recognizer(recognizer(supported_language="en"))
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["en"])


def classify_column(analyzer: AnalyzerEngine, column_name: str, values, *, use_name: bool) -> str | None:
    context = list(tokenize(column_name)) if use_name else None
    votes: Counter[str] = Counter()
    non_null = 0
    for value in values:
        if value is None or isinstance(value, (bytes, bytearray, memoryview, bool)):
            continue
        text = str(value).strip()
        if not text:
            continue
        non_null += 1
        results = analyzer.analyze(text=text, language="en", context=context)
        if results:
            best = max(results, key=lambda r: (r.score, r.end - r.start))
            votes[best.entity_type] += 1
    if not votes:
        return None
    entity, count = votes.most_common(1)[0]
    if count * 2 < non_null:
        return None
    return ENTITY_MAP.get(entity)
