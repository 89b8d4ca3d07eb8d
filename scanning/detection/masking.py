"""Mask sampled values before they enter evidence.

Raw values never leave the engine: evidence carries at most three masked examples, shaped so a steward can
recognise the *kind* of data (``j***@e***.com``, ``**** **** **** 1234``) without learning the value.
"""
from __future__ import annotations

import re

# Any letter or digit of any script: an ASCII-only class left Arabic-Indic digits and Cyrillic letters readable.
_ALNUM = re.compile(r"[^\W_]")
_KNOWN_SECRET_PREFIX = re.compile(
    r"^(AKIA|ASIA|ghp_|gho_|ghu_|ghs_|ghr_|github_pat_|sk_live_|sk_test_|rk_live_|rk_test_|whsec_|xox[abposr]-|"
    r"AIza|glpat-|SG\.|npm_|pypi-|hf_|sk-proj-|sk-ant-|sk-|eyJ|-----BEGIN)"
)
# What a kind-specific mask may keep of a value, when the value has that part's shape: a mask is chosen by the
# classification (a steward's custom rule names any, and may match any value), so a part kept whatever it holds
# showed most of a value of another kind ("alice.martin@hunter2secret" as a URL kept "martin@hunter2secret").
_TLD = re.compile(r"[A-Za-z]{2,6}")
_URL_SCHEMES = frozenset({"http", "https", "ftp", "ftps", "sftp", "ws", "wss", "file"})
_ADDRESS_GROUP = re.compile(r"[0-9A-Fa-f]{1,4}")  # an IPv4 octet or an IPv6 group
_HASH_PREFIX = re.compile(r"^(\$[0-9a-z]+\$|pbkdf2_sha\d+\$|argon2\$|bcrypt\$|\{[A-Z0-9]+\}|scrypt:|pbkdf2:)")


def _generic(value: str) -> str:
    n = len(value)
    if n < 4:
        return "*" * max(n, 1)
    return f"{value[0]}***({n})"


def _keep_last(value: str, keep: int) -> str:
    """Replace every letter/digit except the last ``keep`` with ``*``, keeping separators."""
    positions = [m.start() for m in _ALNUM.finditer(value)]
    if len(positions) <= keep * 2:  # short values: masking would reveal too large a share
        keep = 0
    hidden = set(positions[: len(positions) - keep])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(value))


def _mask_email(value: str) -> str:
    local, _, domain = value.rpartition("@")
    host, dot, tld = domain.rpartition(".")
    if not dot:
        host, tld = domain, ""
    masked_local = (local[0] + "***") if local else "***"
    masked_host = (host[0] + "***") if host else "***"
    return f"{masked_local}@{masked_host}" + (f".{_shown_tld(tld)}" if tld else "")


def _shown_tld(tld: str) -> str:
    return tld if _TLD.fullmatch(tld) else "***"


def _mask_card(value: str) -> str:
    digits = [ch for ch in value if ch.isdigit()]
    return "**** **** **** " + "".join(digits[-4:])


def _mask_ip(value: str) -> str:
    if ":" in value:
        return _first_group(value.split(":", 1)[0]) + ":****:****"
    parts = value.split(".")
    return _first_group(parts[0]) + ".***" * (len(parts) - 1)


def _first_group(group: str) -> str:
    return group if _ADDRESS_GROUP.fullmatch(group) else "***"


def _mask_url(value: str) -> str:
    m = re.match(r"^([a-zA-Z]+://)?([^/?#:]*)", value)
    scheme, host = (m.group(1) or ""), (m.group(2) or "")
    if scheme[:-3].lower() not in _URL_SCHEMES:
        scheme = ""
    labels = host.split(".")
    tld = labels[-1] if len(labels) > 1 else ""
    start = labels[0] if labels[0] != "www" or len(labels) < 3 else labels[1]
    return f"{scheme}{start[:1]}***" + (f".{_shown_tld(tld)}" if tld else "") + "/***"


def _mask_secret(value: str) -> str:
    m = _KNOWN_SECRET_PREFIX.match(value) or _HASH_PREFIX.match(value)
    prefix = m.group(1) if m else ""
    return f"{prefix}***({len(value)})"


def mask_value(value: object, classification: str) -> str:
    """A masked rendering of ``value`` for evidence; it never contains the raw value."""
    text = str(value).strip() if value is not None else ""
    if not text:
        return ""
    if len(text) > 512:
        return f"***({len(text)})"
    kind = classification.rsplit(".", 1)[-1]
    if kind == "EMAIL" and "@" in text:
        masked = _mask_email(text)
    elif kind == "PAYMENT_CARD":
        masked = _mask_card(text)
    elif kind in ("IBAN", "BANK_ACCOUNT", "IMEI", "VIN", "PASSPORT_NUMBER", "MEDICAL_RECORD_NUMBER",
                  "GB_NHS_NUMBER", "PHONE") or classification.startswith("NATIONAL_ID."):
        masked = _keep_last(text, 2)
    elif kind == "IP_ADDRESS":
        masked = _mask_ip(text)
    elif kind == "MAC_ADDRESS":
        masked = text[:2] + _ALNUM.sub("*", text[2:])
    elif kind == "URL":
        masked = _mask_url(text)
    elif classification.startswith("CREDENTIALS."):
        masked = _mask_secret(text)
    elif kind == "DATE_OF_BIRTH":
        masked = _ALNUM.sub("*", text)  # a date's shape (separators) without its digits or a month's name
    else:
        masked = _generic(text)
    if text in masked:  # belt and braces: e.g. a one-character local part of an email
        return _generic(text) if text not in _generic(text) else "*" * len(text)
    return masked
