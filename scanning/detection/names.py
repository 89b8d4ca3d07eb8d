"""Column-name signals.

A column name is tokenised (snake_case, camelCase, kebab-case, dots, spaces; accents folded, ``ß`` → ``ss``,
trailing digits dropped: ``address1`` → ``address``, ``cvv2`` → ``cvv``) and the tokens are matched against
phrases such as ``date of birth``. Phrases match whole tokens only, so ``ACADEMIC_YEAR_CODE`` never contains
``cvc`` and ``description`` never contains ``ip``.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache

_CAMEL_1 = re.compile(r"([a-z0-9])([A-Z])")
_CAMEL_2 = re.compile(r"([A-Z]+)([A-Z][a-z])")
_SPLIT = re.compile(r"[^a-z0-9]+")
_TRAILING_DIGITS = re.compile(r"^([a-z]{2,})\d+$")


def fold(text: str) -> str:
    text = text.replace("ß", "ss").replace("ẞ", "SS")
    text = text.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
    text = text.replace("Ä", "Ae").replace("Ö", "Oe").replace("Ü", "Ue")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


@lru_cache(maxsize=65536)
def tokenize(name: str) -> tuple[str, ...]:
    """``"customerEMailAddr2"`` → ``("customer", "e", "mail", "addr")``; ``"PLZ"`` → ``("plz",)``."""
    text = fold(name or "")
    text = _CAMEL_2.sub(r"\1_\2", _CAMEL_1.sub(r"\1_\2", text)).lower()
    tokens = []
    for token in _SPLIT.split(text):
        if not token:
            continue
        m = _TRAILING_DIGITS.match(token)
        if m:
            token = m.group(1)
        if token.isdigit():
            continue
        tokens.append(token)
    return tuple(tokens)


_MIN_GLUED = 6
_MAX_GLUED = 64  # longer tokens are not names a schema would glue together; splitting them costs O(n²) lookups
_MIN_PIECE = 4


class Segmenter:
    """Split a glued token into known words — ``billingpostalcode`` → ``billing postal code`` — the way a schema
    without separators (``BILLINGADDRESS``, a lower-cased CamelCase port) spells what others write with ``_``.

    A split is kept only when it is evidence, not a pun:

    * every piece is a known word of at least four letters, or one of the ``short`` words (``id``, ``ssn``, ``zip``
      …): ``export`` never becomes ``exp ort``;
    * the pieces hold a phrase that ``explains`` accepts — for the engine, a multi-word phrase or a long, specific
      one (``postal code``, ``email``): ``mainland`` is not ``main land`` (a country), ``placeholder`` not
      ``place holder``;
    * the fewest pieces win, then words as written over plurals, then the longest first piece; a word the
      vocabulary holds whole is never cut.
    """

    def __init__(self, words: Iterable[str], *, short: Iterable[str], explains: Callable[[tuple[str, ...]], bool]):
        self.short = frozenset(short)
        self.words = frozenset(w for w in words if len(w) >= _MIN_PIECE) | self.short
        self.explains = explains

    def _known(self, piece: str) -> bool:
        if piece in self.words:
            return True
        return len(piece) > _MIN_PIECE and piece.endswith("s") and piece[:-1] in self.words

    @lru_cache(maxsize=65536)  # noqa: B019 - one Segmenter per process; its cache is meant to live as long
    def split(self, token: str) -> tuple[str, ...]:
        if not _MIN_GLUED <= len(token) <= _MAX_GLUED or self._known(token):
            return (token,)
        # best[i]: the best cover of token[:i] — fewest pieces, then longest pieces first.
        best: list[tuple[str, ...] | None] = [()] + [None] * len(token)
        for end in range(2, len(token) + 1):
            for start in range(end - 2, -1, -1):
                head = best[start]
                piece = token[start:end]
                if head is None or not self._known(piece):
                    continue
                candidate = head + (piece,)
                if best[end] is None or self._rank(candidate) < self._rank(best[end]):
                    best[end] = candidate
        pieces = best[-1]
        return pieces if pieces is not None and len(pieces) > 1 and self.explains(pieces) else (token,)

    def tokens(self, tokens: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(piece for token in tokens for piece in self.split(token))

    def _rank(self, pieces: tuple[str, ...]) -> tuple:
        """Fewest pieces; then words known as written over plurals ("password salt", not "passwords alt"); then
        the longest pieces first."""
        plurals = sum(1 for piece in pieces if piece not in self.words)
        return len(pieces), plurals, tuple(-len(piece) for piece in pieces)


def _stem(token: str, vocabulary: frozenset[str]) -> str:
    if token in vocabulary or len(token) <= 3:
        return token
    if token.endswith("ies") and token[:-3] + "y" in vocabulary:
        return token[:-3] + "y"
    if token.endswith("es") and token[:-2] in vocabulary:
        return token[:-2]
    if token.endswith("s") and token[:-1] in vocabulary:
        return token[:-1]
    return token


class PhraseMatcher:
    """Match any of several phrases (space-separated tokens) against a token sequence, on token boundaries."""

    def __init__(self, phrases: Iterable[str]):
        self.phrases = tuple(p for p in phrases if p)
        self.vocabulary = frozenset(t for p in self.phrases for t in p.split())
        if self.phrases:
            alternatives = sorted((p.replace(" ", "_") for p in self.phrases), key=len, reverse=True)
            self._regex: re.Pattern[str] | None = re.compile(
                "_(" + "|".join(re.escape(a) for a in alternatives) + ")_"
            )
        else:
            self._regex = None

    def search(self, tokens: tuple[str, ...]) -> str | None:
        if self._regex is None or not tokens:
            return None
        joined = "_" + "_".join(_stem(t, self.vocabulary) for t in tokens) + "_"
        m = self._regex.search(joined)
        return m.group(1).replace("_", " ") if m else None

    def any_token(self, tokens: tuple[str, ...]) -> bool:
        return self.search(tokens) is not None

    def locate(self, tokens: tuple[str, ...]) -> tuple[str, int, int] | None:
        """(phrase, first token, one past its last token) of the leftmost longest match, or None."""
        if self._regex is None or not tokens:
            return None
        joined = "_" + "_".join(_stem(t, self.vocabulary) for t in tokens) + "_"
        m = self._regex.search(joined)
        if m is None:
            return None
        phrase = m.group(1).replace("_", " ")
        start = joined.count("_", 0, m.start(1)) - 1
        return phrase, start, start + len(phrase.split())


# Tables whose rows are people: a bare ``name`` column there is a person's name. Elsewhere (products, cities,
# categories, …) it is not, so the bare word never suggests a person on its own.
PERSON_TABLES = PhraseMatcher("""
customer client user person people employee emp staff patient member contact student pupil author
subscriber applicant candidate driver passenger guest owner account_holder holder beneficiary borrower tenant
visitor donor volunteer teacher doctor physician nurse agent buyer seller player athlete lead prospect
recipient sender manager worker personnel contributor participant attendee traveler traveller resident
citizen voter insured policyholder cardholder individual signer signatory parent child spouse
personne utilisateur salarie employe adherent abonne eleve etudiant patient beneficiaire locataire
kunde kunden mitarbeiter benutzer person personen nutzer mitglied schueler patienten
cliente usuario empleado paciente persona socio alumno estudiante
utente dipendente persona socio studente paziente
klant klanten medewerker medewerkers gebruiker gebruikers persoon personen lid leden leerling leerlingen
""".split())

# Tables whose rows are people or their sign-in accounts: where a credential column would live.
ACCOUNT_TABLES = PhraseMatcher(PERSON_TABLES.phrases + tuple("""
account login logon auth authentication credential password passwd pwd identity principal operator admin administrator
compte identifiant connexion konto anmeldung zugang zugangsdaten cuenta acceso credenciales conta accesso
credenziali inlog
""".split()))

# Words after a table's noun that say which copy or view of it this is, not what it holds: users_old,
# accounts_archive, members_v2, supplier_master, customer_details.
_TABLE_QUALIFIERS = re.compile(r"old|new|bak|backup|tmp|temp|archive|archived|hist|history|legacy|copy|staging"
                               r"|stage|prev|previous|orig|original|snapshot|import|export|v\d*"
                               r"|master|info|details?|data|list|lookup|lkp|ref|dim|tbl|table")


def head_noun(table_tokens: tuple[str, ...]) -> tuple[str, ...]:
    """The table's head noun, as a one-token tuple (or empty): ``legacy_users`` → users, ``users_old`` → users,
    ``user_preferences`` → preferences."""
    tokens = list(table_tokens)
    while len(tokens) > 1 and _TABLE_QUALIFIERS.fullmatch(tokens[-1]):
        tokens.pop()
    return tuple(tokens[-1:])


# Column names that say nothing: "c1", "f12", "x", "col7", "field_3", "attr5" (legacy schemas, generated
# exports). Short tokens such as "id", "no" or "ip" do mean something, so only a lone letter counts.
_OPAQUE_TOKEN = re.compile(r"[a-z]\d*")
# Not "value" or "data": key-value tables name their payload column that, and it holds anything.
_OPAQUE_WORDS = frozenset("col column field fld attr attribute unnamed untitled".split())


def is_opaque_name(tokens: tuple[str, ...]) -> bool:
    return all(t in _OPAQUE_WORDS or _OPAQUE_TOKEN.fullmatch(t) for t in tokens)


# Words that mean "this is about the thing, not the thing itself": email_verified, phone_count, ip_version.
DERIVED_MODIFIERS = frozenset("""
verified verify verification valid validated validation confirmed confirm flag is has enabled disabled count cnt
num_of type status optin opt consent sent bounce bounced domain template format pattern regex length len at date
time updated changed created frequency preference pref notification notify subscribed unsubscribed allowed
visible public hidden required mandatory exists present provided missing changed_at last_changed
""".split())



def phrases(text: str) -> list[str]:
    """Comma-separated phrases: ``"next of kin, approver"`` → ``["next of kin", "approver"]``."""
    return [p.strip() for p in text.split(",") if p.strip()]


# The roles a person plays in a record: "consignee_name", "approver_name", "guest_name" name a person. Only words
# that nearly always mean a person: "driver", "agent", "host", "client", "parent" or "owner" are also software,
# companies or tree nodes, and "user" or "login" name accounts (their "name" is a username).
PERSON_ROLES = PhraseMatcher(phrases("""
approver, reviewer, assignee, assigner, reporter, requester, requestor, submitter, author, editor, supervisor,
manager, account manager, sales rep, sales representative, salesperson, salesman, saleswoman, representative,
recruiter, interviewer, interviewee, consignee, consignor, addressee, recipient, sender, beneficiary, guarantor,
cosigner, signatory, witness, guardian, next of kin, emergency contact, spouse, mother, father, landlord, tenant,
caller, physician, doctor, nurse, dentist, surgeon, therapist, pharmacist, caregiver, carer, instructor, teacher,
tutor, trainer, coach, mentor, advisor, adviser, counsellor, counselor, attendee, participant, applicant,
candidate, employee, customer, patient, student, passenger, traveler, traveller, guest, visitor, subscriber, donor,
volunteer, buyer, seller, cardholder, policyholder, insured, claimant, plaintiff, defendant, victim, officer,
inspector, auditor, technician, contact person, member
"""))
# The roles that name a person even as the whole column name ("approver", "account_manager" holding full names):
# those a record assigns to one person. Not the record's own subject ("customer", "guest", "visitor", "member"):
# such a column as often holds a category ("Returning Visitor", "Gold Member") or a company.
BARE_ROLES = PhraseMatcher(phrases("""
approver, reviewer, assignee, assigner, reporter, requester, requestor, submitter, author, editor, supervisor,
manager, account manager, sales rep, sales representative, salesperson, salesman, saleswoman, recruiter,
interviewer, consignee, signatory, witness, guardian, next of kin, emergency contact, spouse, landlord, physician,
doctor, nurse, instructor, teacher, tutor, coach, mentor, advisor, adviser, counsellor, counselor, officer,
inspector, auditor, technician, contact person
"""))


def person_role(tokens: tuple[str, ...]) -> str | None:
    """The role when the whole column name is one (``approver``, ``account_manager``, ``sales_reps``), else None."""
    found = BARE_ROLES.locate(tokens)
    return found[0] if found is not None and found[1] == 0 and found[2] == len(tokens) else None


# A bare generic word for "name": what it names depends on the table ("suppliers.name" is a company).
BARE_NAME_WORDS = frozenset("name nom nombre nome naam".split())


def is_bare_name(tokens: tuple[str, ...], table_tokens: tuple[str, ...]) -> bool:
    """``name``, or ``name`` qualified only by its own table: ``supplier_name`` in ``suppliers``, ``cust_name`` in
    ``customers``, ``s_name`` in ``supplier`` (a column prefixed with its table's abbreviation says no more)."""
    if not tokens or tokens[-1] not in BARE_NAME_WORDS or len(tokens) > 2:
        return False
    if len(tokens) == 1:
        return True
    qualifier, head = tokens[0], head_noun(table_tokens)
    if not head:
        return False
    noun = head[0]
    return (qualifier == noun or qualifier == noun.rstrip("s") or noun.startswith(qualifier)
            and len(qualifier) <= 4)


# Words that, following the matched phrase, say what the column is instead: a count, a type, an approval or the
# key of a lookup ("phone_count", "address_type", "credit_card_approval_code", "country_id"). Not "code" or
# "number": "cvv_code" and "phone_number" are the thing itself. With values, the values
# decide (a "country_id" of ISO codes holds countries); from the name alone these stop the suggestion.
NAME_ONLY_VETO = frozenset("""
id ids key fk pk ref count cnt type types kind category class status state flag approval level format template
length len mask pattern policy rule rules setting settings option options
""".split())
# The ones that stop a name even with values, for classes whose values cannot contradict it (a "job_type" of
# "full time", a "city_category" of "urban").
TRAILING_VETO = frozenset("count cnt type types kind category class status flag level format".split())
