"""Value validators: cheap shape first, then the real check (Luhn, python-stdnum, phonenumbers, ipaddress).

Every validator takes a stripped ``str`` and returns ``bool``; none raises. Each starts with a precompiled,
anchored, backtracking-safe pattern (no nested quantifiers), so the expensive library call only runs on values
that already have the right shape. Callers skip values longer than ``MAX_VALUE_LENGTH``.
"""
from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable
from datetime import date, datetime

import phonenumbers
from stdnum import bic as std_bic
from stdnum import iban as std_iban
from stdnum import luhn, vatin
from stdnum.br import cpf as br_cpf
from stdnum.ca import sin as ca_sin
from stdnum.ch import ssn as ch_ssn
from stdnum.de import idnr as de_idnr
from stdnum.es import dni as es_dni
from stdnum.es import nie as es_nie
from stdnum.eu import vat as eu_vat
from stdnum.fr import nir as fr_nir
from stdnum.gb import nhs as gb_nhs
from stdnum.in_ import aadhaar as in_aadhaar
from stdnum.in_ import pan as in_pan
from stdnum.it import codicefiscale as it_cf
from stdnum.nl import bsn as nl_bsn
from stdnum.pl import pesel as pl_pesel
from stdnum.us import ssn as us_ssn

from .reference import people

MAX_VALUE_LENGTH = 512

_SEP = re.compile(r"[\s.\-/]")


def _compact(value: str) -> str:
    return _SEP.sub("", value)


# --- contact -------------------------------------------------------------------------------------------------

_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,64}(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,64}){0,8}"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?){0,6}"
    r"\.[A-Za-z]{2,24}"
)


def is_email(value: str) -> bool:
    return len(value) <= 254 and _EMAIL.fullmatch(value) is not None


# Test, demo and exported data keeps the shape of an address and loses what makes it deliverable: hosts without a
# dot ("ann@localhost", "bob@example"), or only the local part ("ann.lee"). Worth a look only under a strong name.
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{0,63}")
_HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
# What people type where they have no value: never test data, whatever the column is called.
PLACEHOLDERS = frozenset("""
n/a na n.a. none null nil nan unknown unk missing invalid todo tbd tba test testing example sample dummy fake
xxx xx x - -- ? ?? empty blank default nobody noone no yes
""".split())


def is_placeholder(value: str) -> bool:
    return value.lower() in PLACEHOLDERS


def is_email_test_data(value: str) -> bool:
    """An address, one whose host has no dot, or a bare local part with a letter in it (not a placeholder)."""
    if is_email(value):
        return True
    local, at, host = value.partition("@")
    if _EMAIL_LOCAL.fullmatch(local) is None or not any(ch.isalpha() for ch in local) or is_placeholder(local):
        return False
    return not at or _HOST_LABEL.fullmatch(host) is not None


# Digits with the usual phone punctuation and an optional extension; 7..15 digits checked below.
_PHONE_SHAPE = re.compile(r"(?:\+|00)?[\d ().\-/]{6,22}\d(?:\s{0,2}(?:x|ext\.?|#)\s{0,2}\d{1,6})?", re.I)
_PHONE_EXT = re.compile(r"\s{0,2}(?:x|ext\.?|#)\s{0,2}\d{1,6}$", re.I)
_DATE_LIKE = re.compile(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}")
_DECIMAL_NUMBER = re.compile(r"-?\d{1,9}\.\d{1,12}")
_ONE_DIGIT_TAIL = re.compile(r"[ .\-/]\d$")
PHONE_REGIONS: tuple[str, ...] = ("US", "GB", "FR", "DE", "ES", "IT", "NL", "IN", "BR", "CA", "BE", "CH", "AU")


def _phone_shape(value: str) -> str | None:
    if _PHONE_SHAPE.fullmatch(value) is None or _DATE_LIKE.fullmatch(value) or _DECIMAL_NUMBER.fullmatch(value):
        return None
    core = _PHONE_EXT.sub("", value)
    digits = sum(1 for ch in core if ch.isdigit())
    if not 7 <= digits <= 15:
        return None
    international = core.startswith("+") or core.startswith("00")
    if not international and digits > 12:
        return None  # national numbers stop at 12 digits; 13-digit runs are EAN/ISBN codes
    if _ONE_DIGIT_TAIL.search(core):
        return None  # 0-306-40615-2: a lone final check digit is an ISBN-10 / reference, not a subscriber number
    return core


def is_phone(value: str, regions: tuple[str, ...] = PHONE_REGIONS) -> bool:
    """A possible phone number for one of ``regions`` (or any region when the number is international)."""
    core = _phone_shape(value)
    if core is None:
        return False
    if core.startswith("00"):
        core = "+" + core[2:]
    candidates: tuple[str | None, ...] = (None,) if core.startswith("+") else regions
    for region in candidates:
        try:
            number = phonenumbers.parse(core, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(number) and (
            _phone_formatted(value) or phonenumbers.is_valid_number(number)
        ):
            return True
    return False


_PHONE_FORMATTED = re.compile(r"^(?:\+|00|\(0?\d{1,4}\)|\d{1,5}[ .\-/])")


def _phone_formatted(value: str) -> bool:
    """Written the way people write phone numbers (international prefix, area code in brackets, groups)."""
    return _PHONE_FORMATTED.match(value) is not None


def is_phone_test_data(value: str) -> bool:
    """7..15 digits written like a phone number, whether or not a numbering plan assigns it (fictitious 555-01xx
    numbers, demo data): with separators or a prefix, or a run of at least 9 digits (7 or 8 bare digits are as
    likely an id)."""
    core = _phone_shape(value)
    return core is not None and (_phone_formatted(value) or sum(ch.isdigit() for ch in core) >= 9)


def looks_like_phone_number(value: str) -> bool:
    """Cheap: written like a phone number (prefix, brackets or digit groups), no library call."""
    return _phone_shape(value) is not None and (_phone_formatted(value) or value[:1] == "0")


def is_phone_formatted(value: str, regions: tuple[str, ...] = PHONE_REGIONS) -> bool:
    """A phone number that also *looks* like one without a column name: separators, an international prefix,
    or a national trunk prefix ``0`` on a number valid in one of ``regions``.

    A bare run of 10 digits is a possible phone number in many regions, and just as possibly an order id.
    """
    if _phone_formatted(value):
        return is_phone(value, regions)
    if value[:1] == "0" and value[:2] != "00" and value.isdigit() and 9 <= len(value) <= 12:
        for region in regions:
            try:
                if phonenumbers.is_valid_number(phonenumbers.parse(value, region)):
                    return True
            except phonenumbers.NumberParseException:
                continue
    return False


# --- financial -----------------------------------------------------------------------------------------------

_CARD_SHAPE = re.compile(r"\d{4}(?:[ -]?\d{2,7}){1,4}")
# Issuer (IIN) ranges by length: Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro.
_CARD_IIN = (
    (re.compile(r"4"), (13, 16, 19)),
    (re.compile(r"5[1-5]|2(?:22[1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)"), (16,)),
    (re.compile(r"3[47]"), (15,)),
    (re.compile(r"6011|65|64[4-9]"), (16, 17, 18, 19)),
    (re.compile(r"35(?:2[89]|[3-8]\d)"), (16, 17, 18, 19)),
    (re.compile(r"3(?:0[0-5]|[689])"), (14, 15, 16, 17, 18, 19)),
    (re.compile(r"62"), (16, 17, 18, 19)),
    (re.compile(r"5018|5020|5038|5893|6304|6759|676[1-3]"), (12, 13, 14, 15, 16, 17, 18, 19)),
)


def card_digits(value: str) -> str | None:
    if len(value) > 23 or _CARD_SHAPE.fullmatch(value) is None:
        return None
    return value.replace(" ", "").replace("-", "")


def is_payment_card(value: str) -> bool:
    """Luhn-valid and inside a known issuer range with that issuer's length."""
    digits = card_digits(value)
    if digits is None or not 12 <= len(digits) <= 19:
        return False
    for prefix, lengths in _CARD_IIN:
        if len(digits) in lengths and prefix.match(digits):
            return luhn.is_valid(digits)
    return False


def is_payment_card_test_data(value: str) -> bool:
    """12..19 digits written like a card number, whatever its issuer range or Luhn digit (test cards typed by
    hand, generated fixtures), and not one digit repeated."""
    digits = card_digits(value)
    return digits is not None and 12 <= len(digits) <= 19 and digits.count(digits[0]) < len(digits)


_IBAN_SHAPE = re.compile(r"[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{1,4}){3,9}")


def is_iban(value: str) -> bool:
    return len(value) <= 42 and _IBAN_SHAPE.fullmatch(value) is not None and std_iban.is_valid(value)


_BIC_SHAPE = re.compile(r"[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?")


def is_bic(value: str) -> bool:
    return _BIC_SHAPE.fullmatch(value) is not None and std_bic.is_valid(value)


_VAT_SHAPE = re.compile(
    r"(?:AT|BE|BG|CY|CZ|DE|DK|EE|EL|GR|ES|FI|FR|HR|HU|IE|IT|LT|LU|LV|MT|NL|PL|PT|RO|SE|SI|SK|XI|GB|CH|NO)"
    r" ?[0-9A-Z][0-9A-Z .\-]{1,16}", re.I)


def is_vat(value: str) -> bool:
    """An EU (or GB/CH/NO) VAT number *with* its country prefix, check digits verified by python-stdnum."""
    if _VAT_SHAPE.fullmatch(value) is None:
        return False
    try:
        return bool(eu_vat.is_valid(value)) or _is_non_eu_vat(value)
    except Exception:  # stdnum modules raise only ValidationError, but a bad country module must not crash a scan
        return False


def _is_non_eu_vat(value: str) -> bool:
    return value[:2].upper() in ("GB", "CH", "NO") and vatin.is_valid(value)


_BANK_ACCOUNT = re.compile(r"[0-9]{2,6}(?:[ \-]?[0-9A-Z]{2,12}){0,4}")


def is_bank_account(value: str) -> bool:
    """Plausible domestic account number (6..34 characters, mostly digits); only meaningful with a column name."""
    if _BANK_ACCOUNT.fullmatch(value) is None:
        return is_iban(value)
    digits = sum(ch.isdigit() for ch in value)
    return 6 <= digits <= 34


_CVV = re.compile(r"\d{3,4}")


def is_card_security_code(value: str) -> bool:
    return _CVV.fullmatch(value) is not None


# --- national identifiers ------------------------------------------------------------------------------------

_SSN_DASHED = re.compile(r"\d{3}-\d{2}-\d{4}")
_SSN_PLAIN = re.compile(r"\d{3}[- ]?\d{2}[- ]?\d{4}")


def is_us_ssn(value: str) -> bool:
    """A structurally valid US SSN (area/group/serial rules; SSNs carry no check digit)."""
    return _SSN_PLAIN.fullmatch(value) is not None and us_ssn.is_valid(value)


def is_us_ssn_formatted(value: str) -> bool:
    return _SSN_DASHED.fullmatch(value) is not None and us_ssn.is_valid(value)


def is_us_ssn_test_data(value: str) -> bool:
    """Nine digits written like an SSN, issued or not (000-, 666- and 9xx- areas are what test data uses)."""
    return _SSN_PLAIN.fullmatch(value) is not None


# UK National Insurance number: two prefix letters (D, F, I, Q, U, V never; O not second; some pairs unused),
# six digits, suffix A-D. There is no check digit, so the full prefix rules carry the precision.
_NINO = re.compile(r"(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]")


def is_gb_nino(value: str) -> bool:
    return _NINO.fullmatch(value.upper()) is not None


# The same shape with any two prefix letters and any suffix letter: HMRC's dummy ``ZZ`` (temporary numbers) and
# what generators write (Faker's en_GB: ``ZZ 458073 T``), unallocated prefixes.
_NINO_SHAPE = re.compile(r"[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-Z]")


def is_gb_nino_test_data(value: str) -> bool:
    return _NINO_SHAPE.fullmatch(value.upper()) is not None


def _stdnum(module, shape: re.Pattern[str]) -> Callable[[str], bool]:
    def check(value: str) -> bool:
        return shape.fullmatch(value) is not None and bool(module.is_valid(value))

    check.__name__ = f"is_{module.__name__.rsplit('.', 1)[-1]}"
    return check


is_fr_nir = _stdnum(fr_nir, re.compile(r"[12378] ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}", re.I))
is_de_idnr = _stdnum(de_idnr, re.compile(r"[1-9]\d(?: ?\d{3}){3}"))
_DNI = re.compile(r"\d{8}-?[A-Za-z]")
_NIE = re.compile(r"[XYZxyz]-?\d{7}-?[A-Za-z]")


def is_es_dni(value: str) -> bool:
    """Spanish DNI or NIE (foreigners' number), check letter verified."""
    if _DNI.fullmatch(value):
        return es_dni.is_valid(value)
    if _NIE.fullmatch(value):
        return es_nie.is_valid(value)
    return False


# Digits may be replaced by the letters L-V (omocodia): that is how two people whose codes would collide get distinct
# codes.
is_it_codice_fiscale = _stdnum(it_cf, re.compile(
    r"[A-Za-z]{6}[0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z][0-9LMNPQRSTUVlmnpqrstuv]{2}"
    r"[A-Za-z][0-9LMNPQRSTUVlmnpqrstuv]{3}[A-Za-z]"))
is_nl_bsn = _stdnum(nl_bsn, re.compile(r"\d{4}\.?\d{2}\.?\d{3}|\d{8,9}"))
is_in_aadhaar = _stdnum(in_aadhaar, re.compile(r"[2-9]\d{3} ?\d{4} ?\d{4}"))
is_in_pan = _stdnum(in_pan, re.compile(r"[A-Za-z]{3}[ABCFGHLJPTKabcfghljptk][A-Za-z]\d{4}[A-Za-z]"))
is_br_cpf = _stdnum(br_cpf, re.compile(r"\d{3}\.?\d{3}\.?\d{3}-?\d{2}"))
is_ca_sin = _stdnum(ca_sin, re.compile(r"\d{3}[ -]?\d{3}[ -]?\d{3}"))
is_ch_ahv = _stdnum(ch_ssn, re.compile(r"756\.?\d{4}\.?\d{4}\.?\d{2}"))
is_pl_pesel = _stdnum(pl_pesel, re.compile(r"\d{11}"))
is_gb_nhs = _stdnum(gb_nhs, re.compile(r"\d{3}[ -]?\d{3}[ -]?\d{4}"))

_PASSPORT = re.compile(r"[A-Z0-9]{1,3}[ ]?[0-9A-Z]{4,9}")


def is_passport_number(value: str) -> bool:
    """Passport numbers have no shared checksum: 6..10 letters and digits including at least 5 digits... mostly."""
    v = value.upper()
    if _PASSPORT.fullmatch(v) is None:
        return False
    compact = v.replace(" ", "")
    return 6 <= len(compact) <= 10 and sum(ch.isdigit() for ch in compact) >= 4


# --- network -------------------------------------------------------------------------------------------------

_IPV4 = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}")
_IPV6 = re.compile(r"[0-9A-Fa-f:]{2,39}(?:%[0-9A-Za-z]{1,16})?|[0-9A-Fa-f:]{2,29}\d{1,3}(?:\.\d{1,3}){3}")


def is_ipv4(value: str) -> bool:
    if _IPV4.fullmatch(value) is None:
        return False
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True


def is_ipv6(value: str) -> bool:
    if ":" not in value or _IPV6.fullmatch(value) is None:
        return False
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return True


def is_ip_address(value: str) -> bool:
    return is_ipv4(value) or is_ipv6(value)


def ipv4_has_wide_octet(value: str) -> bool:
    """At least one octet above 99: real address samples do, version strings such as 1.2.3.4 rarely do."""
    return any(len(part) == 3 for part in value.split("."))


_MAC = re.compile(
    r"[0-9A-Fa-f]{2}(?:([:\-])[0-9A-Fa-f]{2})(?:\1[0-9A-Fa-f]{2}){4}|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}"
)


def is_mac_address(value: str) -> bool:
    return _MAC.fullmatch(value) is not None


_URL = re.compile(
    r"(?:(?:https?|ftp|sftp|ftps|wss?)://|www\.)"
    r"(?:[A-Za-z0-9._~%!$&'()*+,;=:-]{1,256}@)?"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})){0,10}|\[[0-9A-Fa-f:.]{2,45}\])"
    r"(?::\d{1,5})?(?:[/?#][^\s]{0,400})?",
    re.I,
)


def is_url(value: str) -> bool:
    return _URL.fullmatch(value) is not None


_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-@+\\]{1,63}")


def is_username(value: str) -> bool:
    return _USERNAME.fullmatch(value) is not None


# --- credentials ---------------------------------------------------------------------------------------------

_PASSWORD_HASH_FORMATS = re.compile(
    r"\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}"  # bcrypt
    r"|\$argon2(?:id|i|d)\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/=]{8,}\$[A-Za-z0-9+/=]{16,}"  # argon2
    r"|\$(?:1|5|6|md5|sha1|y|7|gy)\$[^\s$]{0,64}\$?[./A-Za-z0-9$]{8,200}"  # crypt(3) md5 / sha256 / sha512 / yescrypt
    r"|(?:pbkdf2_sha256|pbkdf2_sha1|argon2|bcrypt_sha256|bcrypt|scrypt)\$[^\s]{10,400}"  # Django
    r"|\{(?:SSHA|SHA|SSHA256|SSHA512|CRYPT|MD5|SMD5)\}[A-Za-z0-9+/=.$]{8,200}"  # LDAP
    r"|sha(?:1|256|512)\$[A-Za-z0-9]{0,64}\$[a-f0-9]{40,128}"  # werkzeug / legacy Django
    r"|scrypt:\d+:\d+:\d+\$[^\s]{8,300}|pbkdf2:sha\d+:\d+\$[^\s]{8,300}"  # werkzeug
)
_HEX_DIGEST = re.compile(r"(?:[a-f0-9]{32}|[a-f0-9]{40}|[a-f0-9]{56}|[a-f0-9]{64}|[a-f0-9]{96}|[a-f0-9]{128}"
                         r"|[A-F0-9]{32}|[A-F0-9]{40}|[A-F0-9]{64}|[A-F0-9]{128})")


def is_password_hash_format(value: str) -> bool:
    """A self-describing password hash (bcrypt, argon2, crypt, Django, LDAP, werkzeug)."""
    return _PASSWORD_HASH_FORMATS.fullmatch(value) is not None


def is_hex_digest(value: str) -> bool:
    """A bare md5 / sha-1 / sha-2 digest in hex: a password hash, a checksum or a commit id; never on its own."""
    return _HEX_DIGEST.fullmatch(value) is not None


_B64_DIGEST = re.compile(r"[A-Za-z0-9+/]{22}==|[A-Za-z0-9+/]{27}=|[A-Za-z0-9+/]{43}=|[A-Za-z0-9+/]{86}==")


def is_password_hash(value: str) -> bool:
    """Self-describing password hash, or a bare md5/sha digest in hex or base64 (the latter two only count with a
    column name)."""
    return (is_password_hash_format(value) or is_hex_digest(value)
            or _B64_DIGEST.fullmatch(value) is not None)


_SECRET_PREFIXES = re.compile(
    r"(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}"  # AWS access key ids
    r"|gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,255}"  # GitHub
    r"|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,247}|whsec_[A-Za-z0-9]{24,64}"  # Stripe
    r"|xox[abposr]-[A-Za-z0-9-]{10,250}|xapp-\d-[A-Za-z0-9-]{10,250}"  # Slack
    r"|AIza[0-9A-Za-z_\-]{35}"  # Google API key
    r"|glpat-[A-Za-z0-9_\-]{20,64}"  # GitLab
    r"|SG\.[A-Za-z0-9_\-]{16,32}\.[A-Za-z0-9_\-]{16,64}"  # SendGrid
    r"|npm_[A-Za-z0-9]{36}|pypi-[A-Za-z0-9_\-]{50,250}|hf_[A-Za-z0-9]{30,40}"  # npm, PyPI, Hugging Face
    r"|sk-(?:proj-|ant-[a-z0-9]{0,8}-?)?[A-Za-z0-9_\-]{20,200}"  # OpenAI / Anthropic style
    r"|shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}|sq0(?:atp|csp)-[0-9A-Za-z\-_]{22,43}"  # Shopify, Square
    r"|(?:ACCOUNT|AC|SK)[a-f0-9]{32}"  # Twilio
    r"|dop_v1_[a-f0-9]{64}|xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}"  # DigitalOcean, Brevo
    r"|eyJ[A-Za-z0-9_\-]{8,1000}\.eyJ[A-Za-z0-9_\-]{8,2000}\.[A-Za-z0-9_\-]{8,1000}"  # JWT
    r"|-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----[\s\S]{0,400}"
)
_TOKENISH = re.compile(r"[A-Za-z0-9+/=_\-.~]{20,400}")


def is_known_secret(value: str) -> bool:
    """A credential with a vendor prefix (AWS, GitHub, Stripe, Slack, Google, GitLab, JWT, private keys, …)."""
    return _SECRET_PREFIXES.match(value) is not None and " " not in value[:60]


def shannon_entropy(value: str) -> float:
    if not value:
        return 0.0
    counts: dict[str, int] = {}
    for ch in value:
        counts[ch] = counts.get(ch, 0) + 1
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def is_high_entropy_token(value: str) -> bool:
    """A long random-looking token (≥ 20 characters, ≥ 3.5 bits/char, mixes classes); only with a column name."""
    if _TOKENISH.fullmatch(value) is None:
        return False
    classes = sum((any(c.islower() for c in value), any(c.isupper() for c in value), any(c.isdigit() for c in value)))
    return classes >= 2 and shannon_entropy(value) >= 3.5


def is_random_token(value: str) -> bool:
    """A machine-generated credential without a vendor prefix: ≥ 32 base64/url-safe characters mixing upper,
    lower case and digits, not a hex digest or UUID, at ≥ 4 bits/char. Columns of these are session ids, API keys
    and access tokens far more often than anything else."""
    if len(value) < 32 or _TOKENISH.fullmatch(value) is None or _HEX_OR_UUID.fullmatch(value):
        return False
    if not (any(c.islower() for c in value) and any(c.isupper() for c in value) and any(c.isdigit() for c in value)):
        return False
    return shannon_entropy(value) >= 4.0


_HEX_OR_UUID = re.compile(r"[0-9a-fA-F\-]+")


def is_known_or_random_secret(value: str) -> bool:
    return is_known_secret(value) or is_random_token(value)


def is_secret(value: str) -> bool:
    return is_known_secret(value) or is_high_entropy_token(value)


# --- devices -------------------------------------------------------------------------------------------------

_IMEI = re.compile(r"\d{2}[ \-]?\d{6}[ \-]?\d{6}[ \-]?\d")
# GSMA reporting bodies (first two TAC digits) actually allocated.
_IMEI_RB = frozenset({
    "01", "10", "30", "33", "35", "44", "45", "49", "50", "51", "52", "53", "54", "86", "91", "98", "99",
})


def is_imei(value: str) -> bool:
    if _IMEI.fullmatch(value) is None:
        return False
    digits = value.replace(" ", "").replace("-", "")
    return digits[:2] in _IMEI_RB and luhn.is_valid(digits)


def is_imei_or_unpadded(value: str) -> bool:
    """IMEI, also when stored in an integer column that dropped the leading zero of TAC 01…."""
    if len(value) == 14 and value[:1] == "1" and value.isdigit():
        value = "0" + value
    return is_imei(value)


_VIN = re.compile(r"[A-HJ-NPR-Z0-9]{17}")
_VIN_VALUES = {**{str(d): d for d in range(10)},
               **dict(zip("ABCDEFGH", range(1, 9), strict=True)), **dict(zip("JKLMN", range(1, 6), strict=True)),
               "P": 7, "R": 9, **dict(zip("STUVWXYZ", range(2, 10), strict=True))}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def vin_check_digit(vin: str) -> str:
    total = sum(_VIN_VALUES[ch] * w for ch, w in zip(vin, _VIN_WEIGHTS, strict=True))
    r = total % 11
    return "X" if r == 10 else str(r)


def is_vin(value: str) -> bool:
    """A 17-character VIN whose ninth character is the ISO 3779 / FMVSS 115 check digit."""
    v = value.upper()
    if _VIN.fullmatch(v) is None or not any(ch.isalpha() for ch in v):
        return False
    return v[8] == vin_check_digit(v)


# --- health --------------------------------------------------------------------------------------------------

_ICD10 = re.compile(r"[A-TV-Z][0-9][0-9AB](?:\.?[0-9A-TV-Z]{1,4})?")
_ICD10_DOTTED = re.compile(r"[A-TV-Z][0-9][0-9AB]\.[0-9A-TV-Z]{1,4}")


def is_icd10(value: str) -> bool:
    return _ICD10.fullmatch(value) is not None


def is_icd10_dotted(value: str) -> bool:
    return _ICD10_DOTTED.fullmatch(value) is not None


_MRN = re.compile(r"(?:[A-Z]{1,4}[\-]?)?\d{5,12}(?:[\-]?[A-Z0-9]{1,3})?")


def is_medical_record_number(value: str) -> bool:
    """Medical record numbers are facility-specific: an optional letter prefix and 5..12 digits, by rule."""
    return _MRN.fullmatch(value.upper()) is not None


# --- people, places and dates --------------------------------------------------------------------------------

_PERSON_WORD = re.compile(r"[^\W\d_]+(?:(?:\.? |['’\-.])[^\W\d_]+){0,6}\.?")


# Legal forms: a value that carries one names a company, not a person ("Mini Gifts Distributors Ltd.").
_LEGAL_FORMS = frozenset("""
inc incorporated ltd limited llc llp plc corp corporation co company cie gmbh ag kg ohg ug sarl sas sa eurl bv nv
vof srl spa snc sl slu ab oy as asa aps pty pte bhd kk
""".split())


def _has_legal_form(value: str) -> bool:
    """"Mini Gifts Distributors Ltd.", "Rovelli S.p.A.", "Siemens AG Österreich" — but not "AB de Villiers",
    "Nguyen Van Co" or "Lisa As": never the first word, and a two-letter form only in capitals (in a value that is
    not all capitals) or with dots."""
    words = value.split()
    shouting = value.isupper()
    for word in words[1:]:
        form = word.replace(".", "").replace(",", "").lower()
        if form not in _LEGAL_FORMS:
            continue
        if len(form) > 2 or "." in word or (word.isupper() and not shouting):
            return True
    return False


def is_person_name(value: str) -> bool:
    """Letters only (any script), 1..6 words joined by spaces, hyphens, apostrophes or dots; at most 60 chars;
    no company legal form after the first word."""
    return len(value) <= 60 and _PERSON_WORD.fullmatch(value) is not None and not _has_legal_form(value)


_COURTESY = frozenset("mr mrs ms miss mx dr prof sir sr sra srta mme mlle m herr frau dott sig".split())


def is_job_title(value: str) -> bool:
    """Words, and not a courtesy title (Mr., Ms., Dr.)."""
    return is_word_text(value) and value.lower().rstrip(".") not in _COURTESY


def is_word_text(value: str) -> bool:
    """Short text made mostly of letters (cities, countries, job titles, company names)."""
    if len(value) > 120:
        return False
    letters = sum(ch.isalpha() for ch in value)
    digits = sum(ch.isdigit() for ch in value)
    return letters >= 2 and digits <= 2 and letters >= 0.6 * len(value.replace(" ", ""))


_POSTAL = re.compile(r"(?=[A-Za-z0-9 \-]{3,10}$)[A-Za-z]{0,3}[0-9][A-Za-z0-9]{0,6}(?:[ \-][A-Za-z0-9]{2,4})?")


def is_postal_code(value: str) -> bool:
    """Generic postal code shape (US 12345 / 12345-6789, UK SW1A 1AA, NL 1234 AB, CA K1A 0B1, …)."""
    return _POSTAL.fullmatch(value) is not None


_STREET = re.compile(r"(?=.*[^\W\d_]{2})(?=.*\s).{6,200}", re.S)


def is_street_address(value: str) -> bool:
    """Several words with letters; addresses nearly always include a house number, checked by the detector."""
    return _STREET.fullmatch(value) is not None and "@" not in value and "://" not in value


_GENDERS_FULL = frozenset({
    "male", "female", "man", "woman", "men", "women", "non-binary", "nonbinary", "non binary", "other",
    "unknown", "homme", "femme", "masculin", "féminin", "feminin", "männlich", "maennlich", "weiblich", "divers",
    "hombre", "mujer", "masculino", "femenino", "maschio", "femmina", "maschile", "femminile", "vrouw",
    "prefer not to say", "undisclosed", "intersex", "transgender", "genderqueer", "agender",
})
_GENDERS_SHORT = frozenset({"m", "f", "x", "u", "h", "w", "d", "o", "n", "v", "nb", "0", "1", "2", "9"})


def is_gender(value: str) -> bool:
    v = value.strip().lower()
    return v in _GENDERS_FULL or v in _GENDERS_SHORT


def is_gender_word(value: str) -> bool:
    return value.strip().lower() in _GENDERS_FULL - {"other", "unknown", "man", "men", "divers"}


_DATE_TEXT = re.compile(
    r"(?P<y1>\d{4})[-/.](?P<m1>\d{1,2})[-/.](?P<d1>\d{1,2})(?:[T ][\d:.]{5,15}(?:Z|[+-]\d{2}:?\d{2})?)?"
    r"|(?P<a>\d{1,2})[-/.](?P<b>\d{1,2})[-/.](?P<y2>\d{4})"
    r"|(?P<y3>\d{4})(?P<m3>\d{2})(?P<d3>\d{2})"
)


def parse_year(value: object) -> int | None:
    """Year of a date-like value (date objects or common date spellings), else None."""
    if isinstance(value, (date, datetime)):
        return value.year
    m = _DATE_TEXT.fullmatch(str(value).strip())
    if m is None:
        return None
    year = m.group("y1") or m.group("y2") or m.group("y3")
    month = m.group("m1") or m.group("m3")
    if month is not None and not 1 <= int(month) <= 12:
        return None
    if m.group("a") and not (1 <= int(m.group("a")) <= 31 and 1 <= int(m.group("b")) <= 31):
        return None
    return int(year)


def is_birth_date(value: object) -> bool:
    """A date between 1900 and today (people alive or recently so)."""
    year = parse_year(value)
    return year is not None and 1900 <= year <= date.today().year


_LAT_LON_PAIR = re.compile(r"\(?\s?(-?\d{1,2}\.\d{3,10})\s?[,; ]\s?(-?\d{1,3}\.\d{3,10})\s?\)?")
_COORD = re.compile(r"-?\d{1,3}\.\d{2,12}")
_DMS = re.compile(r"\d{1,3}°\s?\d{1,2}['′]\s?(?:\d{1,2}(?:\.\d{1,4})?[\"″]\s?)?[NSEWnsew]")


def is_geo_pair(value: str) -> bool:
    m = _LAT_LON_PAIR.fullmatch(value)
    return m is not None and abs(float(m.group(1))) <= 90 and abs(float(m.group(2))) <= 180


def is_coordinate(value: str) -> bool:
    """One latitude/longitude component (decimal degrees with decimals, or degrees-minutes-seconds)."""
    if _COORD.fullmatch(value):
        return abs(float(value)) <= 180
    return _DMS.fullmatch(value) is not None or is_geo_pair(value)


_PASSWORD_PLAIN = re.compile(r"[!-~]{4,128}")


def is_password_plaintext(value: str) -> bool:
    """Printable, no spaces, 4..128 characters, and not a hash."""
    return _PASSWORD_PLAIN.fullmatch(value) is not None and not is_password_hash(value)


def is_luhn(value: str) -> bool:
    digits = value.replace(" ", "").replace("-", "")
    return digits.isdigit() and len(digits) >= 2 and luhn.is_valid(digits)


VALIDATORS: dict[str, Callable[[str], bool]] = {
    "email": is_email,
    "email_test_data": is_email_test_data,
    "phone_test_data": is_phone_test_data,
    "payment_card_test_data": is_payment_card_test_data,
    "us_ssn_test_data": is_us_ssn_test_data,
    "gb_nino_test_data": is_gb_nino_test_data,
    "phone": is_phone,
    "phone_formatted": is_phone_formatted,
    "luhn": is_luhn,
    "payment_card": is_payment_card,
    "iban": is_iban,
    "bic": is_bic,
    "vat": is_vat,
    "bank_account": is_bank_account,
    "card_security_code": is_card_security_code,
    "us_ssn": is_us_ssn,
    "gb_nino": is_gb_nino,
    "gb_nhs": is_gb_nhs,
    "fr_nir": is_fr_nir,
    "de_idnr": is_de_idnr,
    "es_dni": is_es_dni,
    "it_codice_fiscale": is_it_codice_fiscale,
    "nl_bsn": is_nl_bsn,
    "in_aadhaar": is_in_aadhaar,
    "in_pan": is_in_pan,
    "br_cpf": is_br_cpf,
    "ca_sin": is_ca_sin,
    "ch_ahv": is_ch_ahv,
    "pl_pesel": is_pl_pesel,
    "passport_number": is_passport_number,
    "ip_address": is_ip_address,
    "ipv4": is_ipv4,
    "ipv6": is_ipv6,
    "mac_address": is_mac_address,
    "url": is_url,
    "username": is_username,
    "password_hash": is_password_hash,
    "password_hash_format": is_password_hash_format,
    "hex_digest": is_hex_digest,
    "known_secret": is_known_secret,
    "high_entropy_token": is_high_entropy_token,
    "secret": is_secret,
    "imei": is_imei,
    "imei_or_unpadded": is_imei_or_unpadded,
    "random_token": is_random_token,
    "known_or_random_secret": is_known_or_random_secret,
    "password_plaintext": is_password_plaintext,
    "vin": is_vin,
    "icd10": is_icd10,
    "medical_record_number": is_medical_record_number,
    "person_name": is_person_name,
    "postal_code": is_postal_code,
    "street_address": is_street_address,
    "gender": is_gender,
    "birth_date": is_birth_date,
    "geo_coordinate": is_coordinate,
    "word_text": is_word_text,
    "job_title": is_job_title,
    **people.VALIDATORS,
}
