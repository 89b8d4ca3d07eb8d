"""A labelled corpus of columns for the detection benchmark, generated deterministically.

Each column has 100 sampled values (some None), a realistic name (English, French, German, Spanish, Italian,
Dutch, abbreviations, camelCase), a raw engine type, and the classification it should get (or None). Values come
from Faker in several locales; identifiers Faker cannot produce with valid check digits are generated here
(rejection-sampled against python-stdnum, so the labels are correct by construction). Hard negatives are the
false positives users complain about in peer catalogs.

The detection engine is not imported here: the corpus must not be shaped by what the engine happens to do.
"""
from __future__ import annotations

import base64
import hashlib
import random
import string
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from faker import Faker
from stdnum import ean, luhn, verhoeff
from stdnum.ch import ssn as ch_ssn
from stdnum.de import idnr
from stdnum.eu import vat as eu_vat
from stdnum.gb import nhs
from stdnum.in_ import aadhaar

from bench.detection import corpus_names
from bench.detection.corpus_people import add_people
from scanning.detection.engine import ColumnSample

SEED = 20240611
VALUES_PER_COLUMN = 100
LOCALES = ("en_US", "en_GB", "fr_FR", "de_DE", "es_ES", "it_IT", "nl_NL", "en_IN")


SAME = "same as with names"  # LabelledColumn.hidden_expected's default


@dataclass(frozen=True)
class LabelledColumn:
    sample: ColumnSample
    expected: str | None
    note: str = ""
    # What the names-hidden run expects, when only the name can tell (test data that fails every check: values
    # alone must not make it that class).
    hidden_expected: str | None = SAME


class _Gen:
    def __init__(self, seed: int):
        self.rnd = random.Random(seed)
        self.fakers = {}
        for i, loc in enumerate(LOCALES + ("pt_BR", "en_CA", "pl_PL")):
            f = Faker(loc)
            f.seed_instance(seed + i)
            self.fakers[loc] = f

    def f(self, loc: str = "en_US") -> Faker:
        return self.fakers[loc]

    def city(self, loc: str):
        """Faker's ``city`` for ``loc``, independent of PYTHONHASHSEED: it_IT builds its city list from a set, whose
        order (and so the city a seed picks) changes from one process to the next."""
        f = self.fakers[loc]
        cities = sorted(getattr(f.provider("faker.providers.address"), "cities", ()))
        return (lambda: f.random_element(cities)) if loc == "it_IT" and cities else f.city

    def digits(self, n: int, first: str = "123456789") -> str:
        return self.rnd.choice(first) + "".join(self.rnd.choice(string.digits) for _ in range(n - 1))

    def luhn_number(self, n: int, prefix: str = "") -> str:
        body = prefix + "".join(self.rnd.choice(string.digits) for _ in range(n - 1 - len(prefix)))
        return body + luhn.calc_check_digit(body)

    def until(self, make, ok):
        while True:
            value = make()
            if ok(value):
                return value

    # --- identifiers with check digits ---------------------------------------------------------------------
    def de_idnr(self) -> str:
        return self.until(lambda: self.digits(11), idnr.is_valid)

    def aadhaar(self) -> str:
        def make():
            body = self.digits(11, "23456789")
            return body + verhoeff.calc_check_digit(body)
        n = self.until(make, aadhaar.is_valid)
        return n if self.rnd.random() < 0.5 else f"{n[:4]} {n[4:8]} {n[8:]}"

    def es_dni(self) -> str:
        if self.rnd.random() < 0.2:
            prefix = self.rnd.choice("XYZ")
            num = self.digits(7, string.digits)
            value = int(str("XYZ".index(prefix)) + num)
            return prefix + num + "TRWAGMYFPDXBNJZSQVHLCKE"[value % 23]
        num = self.digits(8, string.digits)
        return num + "TRWAGMYFPDXBNJZSQVHLCKE"[int(num) % 23]

    def gb_nino(self) -> str:
        first = self.rnd.choice("ABCEGHJKLMNOPRSTWXY")
        second = self.rnd.choice("ABCEGHJKLMNPRSTWXY")
        if first + second in ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ"):
            return self.gb_nino()
        d = self.digits(6, string.digits)
        suffix = self.rnd.choice("ABCD")
        if self.rnd.random() < 0.5:
            return f"{first}{second} {d[:2]} {d[2:4]} {d[4:]} {suffix}"
        return f"{first}{second}{d}{suffix}"

    def in_pan(self) -> str:
        letters = string.ascii_uppercase
        return ("".join(self.rnd.choice(letters) for _ in range(3)) + self.rnd.choice("PCHFATBLJG")
                + self.rnd.choice(letters) + self.digits(4, string.digits) + self.rnd.choice(letters))

    def ch_ahv(self) -> str:
        n = self.until(lambda: (b := "756" + self.digits(9, string.digits)) + ean.calc_check_digit(b), ch_ssn.is_valid)
        return f"{n[:3]}.{n[3:7]}.{n[7:11]}.{n[11:]}"

    def gb_nhs(self) -> str:
        n = self.until(lambda: self.digits(10), nhs.is_valid)
        return f"{n[:3]} {n[3:6]} {n[6:]}"

    def vat(self, country: str) -> str:
        makers = {
            "DE": lambda: "DE" + self.digits(9),
            "FR": lambda: "FR" + self.digits(2, string.digits) + self.digits(9),
            "IT": lambda: "IT" + self.digits(11, "0123"),
            "NL": lambda: "NL" + self.digits(9) + "B" + self.rnd.choice(["01", "02", "03"]),
            "BE": lambda: "BE0" + self.digits(9),
            "AT": lambda: "ATU" + self.digits(8),
            "DK": lambda: "DK" + self.digits(8),
        }
        if country == "FR":
            def fr():
                siren = self.luhn_number(9)
                key = (12 + 3 * (int(siren) % 97)) % 97
                return f"FR{key:02d}{siren}"
            return self.until(fr, eu_vat.is_valid)
        return self.until(makers[country], eu_vat.is_valid)

    def imei(self) -> str:
        tac = self.rnd.choice(["35", "86", "01", "99", "49"]) + self.digits(6, string.digits)
        return self.luhn_number(15, tac)

    def icd10(self) -> str:
        letter = self.rnd.choice("ABCDEFGHIJKLMNOPQRSTZ")
        code = f"{letter}{self.rnd.randint(0, 9)}{self.rnd.randint(0, 9)}"
        if self.rnd.random() < 0.8:
            code += "." + "".join(self.rnd.choice(string.digits) for _ in range(self.rnd.choice([1, 1, 2])))
        return code

    # --- credentials ---------------------------------------------------------------------------------------
    def token(self, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
        return "".join(self.rnd.choice(alphabet) for _ in range(n))

    def bcrypt(self) -> str:
        return f"$2b${self.rnd.choice(['10', '12'])}$" + self.token(53, "./" + string.ascii_letters + string.digits)

    def argon2(self) -> str:
        b64 = string.ascii_letters + string.digits + "+/"
        return f"$argon2id$v=19$m=65536,t=3,p=4${self.token(22, b64)}${self.token(43, b64)}"

    def django_pbkdf2(self) -> str:
        digest = base64.b64encode(hashlib.sha256(self.token(12).encode()).digest()).decode()
        return f"pbkdf2_sha256$600000${self.token(22)}${digest}"

    def sha512crypt(self) -> str:
        return f"$6${self.token(16)}${self.token(86, './' + string.ascii_letters + string.digits)}"

    def known_secret(self) -> str:
        kind = self.rnd.randrange(6)
        if kind == 0:
            return "AKIA" + self.token(16, string.ascii_uppercase + string.digits)
        if kind == 1:
            return "ghp_" + self.token(36)
        if kind == 2:
            return "sk_live_" + self.token(24)
        if kind == 3:
            return "xoxb-" + self.digits(11) + "-" + self.digits(12) + "-" + self.token(24)
        if kind == 4:
            return "AIza" + self.token(35, string.ascii_letters + string.digits + "_-")
        return "glpat-" + self.token(20)


def _group4(value: str) -> str:
    return " ".join(value[i:i + 4] for i in range(0, len(value), 4))


def _with_nulls(g: _Gen, make, null_rate: float = 0.05, n: int = VALUES_PER_COLUMN) -> list:
    return [None if g.rnd.random() < null_rate else make() for _ in range(n)]


ADJ = ["Ergonomic", "Rustic", "Sleek", "Incredible", "Practical", "Small", "Handcrafted", "Gorgeous", "Refined",
       "Licensed", "Modern", "Compact", "Premium", "Classic", "Deluxe"]
MAT = ["Steel", "Wooden", "Cotton", "Granite", "Plastic", "Rubber", "Bamboo", "Leather", "Glass", "Concrete"]
THING = ["Chair", "Table", "Shoes", "Gloves", "Keyboard", "Mouse", "Lamp", "Bottle", "Backpack", "Jacket",
         "Speaker", "Monitor", "Blender", "Kettle", "Notebook"]


def build_corpus(seed: int = SEED) -> list[LabelledColumn]:
    g = _Gen(seed)
    cols: list[LabelledColumn] = []

    def add(name, table, dtype, expected, make, null_rate=0.05, note=""):
        cols.append(LabelledColumn(ColumnSample(name, table, dtype, _with_nulls(g, make, null_rate)), expected, note))

    # --- contact ---------------------------------------------------------------------------------------------
    for name, loc, tbl in [("email", "en_US", "users"), ("courriel", "fr_FR", "clients"),
                           ("correo_electronico", "es_ES", "clientes"), ("EmailAddress", "en_GB", "Contacts"),
                           ("e_mail", "de_DE", "kunden"), ("contact_email", "nl_NL", "leads"),
                           ("eml", "en_IN", "subscribers"), ("mail", "it_IT", "utenti")]:
        add(name, tbl, "varchar(255)", "PII.EMAIL", g.f(loc).email)
    for name, loc, tbl in [("phone", "en_US", "customers"), ("telephone", "fr_FR", "clients"),
                           ("tel", "de_DE", "kunden"), ("telefono", "es_ES", "clientes"),
                           ("mobileNumber", "en_GB", "users"), ("cellulare", "it_IT", "utenti"),
                           ("telefoonnummer", "nl_NL", "klanten"), ("phone_no", "en_IN", "members"),
                           ("fax", "fr_FR", "fournisseurs"), ("handynummer", "de_DE", "mitarbeiter")]:
        add(name, tbl, "varchar(32)", "PII.PHONE", g.f(loc).phone_number)
    # --- people ----------------------------------------------------------------------------------------------
    for name, loc, tbl in [("full_name", "en_US", "employees"), ("name", "en_GB", "customers"),
                           ("nom_complet", "fr_FR", "adherents"), ("nombre_completo", "es_ES", "empleados"),
                           ("customerName", "de_DE", "orders"), ("name", "nl_NL", "patients"),
                           ("contact_name", "en_IN", "suppliers"), ("cardholder_name", "it_IT", "payments")]:
        add(name, tbl, "varchar(120)", "PII.PERSON_NAME", g.f(loc).name)
    for name, loc, tbl in [("first_name", "en_US", "users"), ("prenom", "fr_FR", "clients"),
                           ("vorname", "de_DE", "kunden"), ("fname", "en_GB", "staff"),
                           ("nombre", "es_ES", "clientes"), ("voornaam", "nl_NL", "klanten"),
                           ("givenName", "it_IT", "people")]:
        add(name, tbl, "varchar(60)", "PII.FIRST_NAME", g.f(loc).first_name)
    for name, loc, tbl in [("last_name", "en_US", "users"), ("nom", "fr_FR", "clients"),
                           ("nachname", "de_DE", "kunden"), ("surname", "en_GB", "staff"),
                           ("apellidos", "es_ES", "clientes"), ("cognome", "it_IT", "utenti"),
                           ("achternaam", "nl_NL", "klanten"), ("lname", "en_IN", "students")]:
        add(name, tbl, "varchar(60)", "PII.LAST_NAME", g.f(loc).last_name)
    for name, loc, tbl in [("street_address", "en_US", "customers"), ("adresse", "fr_FR", "clients"),
                           ("strasse", "de_DE", "kunden"), ("direccion", "es_ES", "clientes"),
                           ("address_line1", "en_GB", "shipping"), ("indirizzo", "it_IT", "clienti"),
                           ("billingAddress", "nl_NL", "invoices")]:
        add(name, tbl, "text", "PII.STREET_ADDRESS", g.f(loc).street_address)
    for name, loc, tbl in [("city", "en_US", "customers"), ("ville", "fr_FR", "clients"), ("stadt", "de_DE", "kunden"),
                           ("ciudad", "es_ES", "clientes"), ("town", "en_GB", "stores"), ("citta", "it_IT", "clienti"),
                           ("woonplaats", "nl_NL", "klanten")]:
        add(name, tbl, "varchar(80)", "PII.CITY", g.city(loc))
    for name, loc, tbl, dtype in [("zip", "en_US", "customers", "varchar(10)"),
                                  ("code_postal", "fr_FR", "clients", "varchar(5)"),
                                  ("plz", "de_DE", "kunden", "varchar(5)"),
                                  ("codigo_postal", "es_ES", "clientes", "char(5)"),
                                  ("postcode", "en_GB", "addresses", "varchar(8)"),
                                  ("cap", "it_IT", "indirizzi", "char(5)"),
                                  ("postcode", "nl_NL", "adressen", "varchar(7)"),
                                  ("pincode", "en_IN", "addresses", "varchar(6)"),
                                  ("zip_code", "en_US", "stores", "int")]:
        f = g.f(loc)
        make = (lambda f=f: int(f.postcode()[:5])) if dtype == "int" else f.postcode
        add(name, tbl, dtype, "PII.POSTAL_CODE", make)
    for name, loc, tbl in [("country", "en_US", "customers"), ("pays", "fr_FR", "clients"), ("land", "de_DE", "kunden"),
                           ("pais", "es_ES", "clientes"), ("nationality", "en_GB", "employees")]:
        add(name, tbl, "varchar(60)", "PII.COUNTRY", g.f(loc).country)
    add("country_code", "accounts", "char(2)", "PII.COUNTRY", g.f("en_US").country_code)
    for name, loc, tbl in [("company", "en_US", "contacts"), ("societe", "fr_FR", "contacts"),
                           ("firma", "de_DE", "kontakte"), ("empresa", "es_ES", "contactos"),
                           ("employer_name", "en_GB", "applicants"), ("ragione_sociale", "it_IT", "fornitori")]:
        add(name, tbl, "varchar(120)", "ORG.COMPANY_NAME", g.f(loc).company)
    for name, loc, tbl in [("job_title", "en_US", "employees"), ("poste", "fr_FR", "salaries"),
                           ("beruf", "de_DE", "mitarbeiter"), ("puesto", "es_ES", "empleados"),
                           ("occupation", "en_GB", "applicants"), ("profession", "fr_FR", "patients")]:
        add(name, tbl, "varchar(120)", "PII.JOB_TITLE", g.f(loc).job)
    for name, loc, tbl, dtype in [("date_of_birth", "en_US", "patients", "date"), ("dob", "en_GB", "members", "date"),
                                  ("date_naissance", "fr_FR", "clients", "date"),
                                  ("geburtsdatum", "de_DE", "kunden", "date"),
                                  ("fecha_nacimiento", "es_ES", "clientes", "varchar(10)"),
                                  ("birthDate", "it_IT", "users", "timestamp"),
                                  ("geboortedatum", "nl_NL", "klanten", "text")]:
        f = g.f(loc)

        def birth_date(f=f, dtype=dtype):
            born = f.date_of_birth(minimum_age=18, maximum_age=90)
            if dtype == "date":
                return born
            if dtype == "timestamp":
                return datetime.combine(born, datetime.min.time())
            return born.strftime("%d/%m/%Y")
        add(name, tbl, dtype, "PII.DATE_OF_BIRTH", birth_date)
    for name, tbl, vocab, dtype in [("gender", "users", ["male", "female", "non-binary"], "varchar(20)"),
                                    ("sexe", "patients", ["M", "F"], "char(1)"),
                                    ("geschlecht", "kunden", ["männlich", "weiblich", "divers"], "varchar(10)"),
                                    ("sexo", "pacientes", ["H", "M"], "char(1)"),
                                    ("sex", "members", ["1", "2"], "smallint")]:
        def gender(vocab=vocab, dtype=dtype):
            value = g.rnd.choice(vocab)
            return int(value) if dtype == "smallint" else value
        add(name, tbl, dtype, "PII.GENDER", gender)
    for name, loc, tbl in [("username", "en_US", "accounts"), ("login", "fr_FR", "comptes"),
                           ("benutzername", "de_DE", "konten"), ("user_name", "en_GB", "forum_users"),
                           ("screen_name", "en_IN", "profiles")]:
        add(name, tbl, "varchar(64)", "PII.USERNAME", g.f(loc).user_name)
    for name, tbl in [("passport_number", "travellers"), ("num_passeport", "voyageurs"),
                      ("reisepassnummer", "reisende")]:
        add(name, tbl, "varchar(12)", "PII.PASSPORT_NUMBER", g.f("en_US").passport_number)
    for name, tbl, dtype in [("latitude", "stores", "numeric(9,6)"), ("lng", "stores", "double precision"),
                             ("geo_coordinates", "events", "text")]:
        f = g.f("en_US")

        def coordinates(f=f, name=name):
            if name == "latitude":
                return f.latitude()
            if name == "lng":
                return float(f.longitude())
            return f"{f.latitude()}, {f.longitude()}"
        add(name, tbl, dtype, "PII.GEO_COORDINATES", coordinates)
    # --- national identifiers --------------------------------------------------------------------------------
    add("ssn", "employees", "char(11)", "NATIONAL_ID.US_SSN", g.f("en_US").ssn)
    add("social_security_number", "patients", "varchar(11)", "NATIONAL_ID.US_SSN", g.f("en_US").ssn)
    add("ni_number", "employees", "varchar(13)", "NATIONAL_ID.GB_NINO", g.gb_nino)
    add("national_insurance_no", "payroll", "varchar(13)", "NATIONAL_ID.GB_NINO", g.gb_nino)
    add("numero_securite_sociale", "assures", "char(15)", "NATIONAL_ID.FR_NIR", g.f("fr_FR").ssn)
    add("nir", "patients", "varchar(21)", "NATIONAL_ID.FR_NIR", g.f("fr_FR").ssn)
    add("steuer_id", "mitarbeiter", "char(11)", "NATIONAL_ID.DE_IDNR", g.de_idnr)
    add("steueridentifikationsnummer", "personal", "varchar(11)", "NATIONAL_ID.DE_IDNR", g.de_idnr)
    add("dni", "clientes", "char(9)", "NATIONAL_ID.ES_DNI", g.es_dni)
    add("nif", "empleados", "varchar(12)", "NATIONAL_ID.ES_DNI", g.es_dni)
    add("codice_fiscale", "clienti", "char(16)", "NATIONAL_ID.IT_CODICE_FISCALE", g.f("it_IT").ssn)
    add("cf", "dipendenti", "varchar(16)", "NATIONAL_ID.IT_CODICE_FISCALE", g.f("it_IT").ssn)
    add("bsn", "klanten", "char(9)", "NATIONAL_ID.NL_BSN", g.f("nl_NL").ssn)
    add("burgerservicenummer", "medewerkers", "varchar(9)", "NATIONAL_ID.NL_BSN", g.f("nl_NL").ssn)
    add("aadhaar_number", "customers", "varchar(14)", "NATIONAL_ID.IN_AADHAAR", g.aadhaar)
    add("pan_number", "customers", "char(10)", "NATIONAL_ID.IN_PAN", g.in_pan)
    add("cpf", "clientes", "varchar(14)", "NATIONAL_ID.BR_CPF", g.f("pt_BR").ssn)
    add("sin", "employees", "varchar(11)", "NATIONAL_ID.CA_SIN", g.f("en_CA").ssn)
    add("ahv_nummer", "versicherte", "varchar(16)", "NATIONAL_ID.CH_AHV", g.ch_ahv)
    add("pesel", "pacjenci", "char(11)", "NATIONAL_ID.PL_PESEL", g.f("pl_PL").pesel)
    # --- financial -------------------------------------------------------------------------------------------
    card_types = ["visa", "mastercard", "amex", "discover", "diners", "visa16"]
    for name, tbl, spaced in [("card_number", "payments", False), ("credit_card", "orders", False),
                              ("numero_carte", "paiements", True), ("kreditkartennummer", "zahlungen", False),
                              ("numero_tarjeta", "pagos", True), ("ccNum", "billing", False)]:
        f = g.f("en_US")

        def card(f=f, spaced=spaced):
            n = f.credit_card_number(card_type=g.rnd.choice(card_types))
            return " ".join(n[i:i + 4] for i in range(0, len(n), 4)) if spaced else n
        add(name, tbl, "varchar(19)", "FINANCIAL.PAYMENT_CARD", card)
    add("card_pan", "tokens", "bigint", "FINANCIAL.PAYMENT_CARD",
        lambda: int(g.f("en_US").credit_card_number(card_type="visa16")))
    for name, tbl in [("cvv", "payments"), ("cvc", "cards"), ("card_security_code", "billing"),
                      ("cryptogramme", "cartes")]:
        add(name, tbl, "varchar(4)", "FINANCIAL.CARD_SECURITY_CODE", g.f("en_US").credit_card_security_code)
    for name, loc, tbl in [("iban", "fr_FR", "fournisseurs"), ("iban", "de_DE", "lieferanten"),
                           ("IBAN_Code", "es_ES", "proveedores"), ("iban_number", "nl_NL", "leveranciers"),
                           ("iban", "it_IT", "fornitori")]:
        f = g.f(loc)
        spaced = loc in ("fr_FR", "nl_NL")
        make = (lambda f=f: _group4(f.iban())) if spaced else f.iban
        add(name, tbl, "varchar(34)", "FINANCIAL.IBAN", make)
    add("bic", "suppliers", "varchar(11)", "FINANCIAL.SWIFT_BIC", g.f("en_US").swift)
    add("swift_code", "banks", "varchar(11)", "FINANCIAL.SWIFT_BIC", lambda: g.f("de_DE").swift(length=8))
    for name, tbl, make in [("account_number", "bank_accounts", lambda: g.digits(10)),
                            ("kontonummer", "konten", lambda: g.digits(10, "0123456789")),
                            ("numero_cuenta", "cuentas",
                             lambda: g.digits(4) + "-" + g.digits(4) + "-" + g.digits(2) + "-" + g.digits(10)),
                            ("routing_number", "payouts", lambda: g.digits(9, "0123"))]:
        add(name, tbl, "varchar(34)", "FINANCIAL.BANK_ACCOUNT", make)
    for name, tbl, country in [("vat_number", "companies", "DE"), ("numero_tva", "societes", "FR"),
                               ("partita_iva", "aziende", "IT"), ("btw_nummer", "bedrijven", "NL"),
                               ("ust_id", "firmen", "DE"), ("vat_id", "suppliers", "BE")]:
        add(name, tbl, "varchar(20)", "FINANCIAL.VAT_NUMBER", lambda country=country: g.vat(country))
    # --- network ---------------------------------------------------------------------------------------------
    f = g.f("en_US")
    add("ip_address", "sessions", "varchar(45)", "NETWORK.IP_ADDRESS", f.ipv4)
    add("client_ip", "access_log", "inet", "NETWORK.IP_ADDRESS", f.ipv4_private)
    add("remote_addr", "requests", "varchar(45)", "NETWORK.IP_ADDRESS", f.ipv6)
    add("adresse_ip", "connexions", "varchar(45)", "NETWORK.IP_ADDRESS",
        lambda: f.ipv4() if g.rnd.random() < 0.6 else f.ipv6())
    add("mac_address", "devices", "macaddr", "NETWORK.MAC_ADDRESS", f.mac_address)
    add("hwaddr", "interfaces", "varchar(17)", "NETWORK.MAC_ADDRESS", lambda: f.mac_address().upper().replace(":", "-"))
    add("website", "companies", "varchar(255)", "NETWORK.URL", f.url)
    add("profile_url", "users", "text", "NETWORK.URL", lambda: f.url() + f.uri_path())
    add("site_web", "societes", "varchar(255)", "NETWORK.URL", g.f("fr_FR").url)
    add("link", "bookmarks", "text", "NETWORK.URL", f.uri)
    # --- credentials -----------------------------------------------------------------------------------------
    add("password_hash", "users", "varchar(128)", "CREDENTIALS.PASSWORD_HASH", g.bcrypt)
    add("password", "auth_user", "varchar(128)", "CREDENTIALS.PASSWORD_HASH", g.django_pbkdf2)
    add("mot_de_passe", "utilisateurs", "varchar(255)", "CREDENTIALS.PASSWORD_HASH", g.argon2)
    add("passwort", "benutzer", "varchar(255)", "CREDENTIALS.PASSWORD_HASH", g.sha512crypt)
    add("pwd_sha256", "legacy_users", "char(64)", "CREDENTIALS.PASSWORD_HASH", f.sha256)
    add("password", "legacy_accounts", "varchar(64)", "CREDENTIALS.PASSWORD", f.password)
    add("api_key", "integrations", "varchar(100)", "CREDENTIALS.SECRET", g.known_secret)
    add("secret_access_key", "aws_credentials", "varchar(100)", "CREDENTIALS.SECRET",
        lambda: g.token(40, string.ascii_letters + string.digits + "+/"))
    add("access_token", "oauth_tokens", "text", "CREDENTIALS.SECRET", lambda: g.token(48))
    add("cle_api", "connecteurs", "varchar(100)", "CREDENTIALS.SECRET", g.known_secret)
    # --- devices, vehicles, health ---------------------------------------------------------------------------
    add("imei", "devices", "varchar(15)", "DEVICE.IMEI", g.imei)
    add("device_imei", "phones", "bigint", "DEVICE.IMEI", lambda: int(g.imei()))
    add("vin", "vehicles", "char(17)", "DEVICE.VIN", f.vin)
    add("fahrgestellnummer", "fahrzeuge", "varchar(17)", "DEVICE.VIN", f.vin)
    add("icd10_code", "diagnoses", "varchar(8)", "HEALTH.ICD10_CODE", g.icd10)
    add("diagnosis_code", "encounters", "varchar(8)", "HEALTH.ICD10_CODE", g.icd10)
    add("mrn", "patients", "varchar(12)", "HEALTH.MEDICAL_RECORD_NUMBER", lambda: "MRN" + g.digits(7, string.digits))
    add("medical_record_number", "admissions", "varchar(12)", "HEALTH.MEDICAL_RECORD_NUMBER", lambda: g.digits(8))
    add("nhs_number", "patients", "varchar(12)", "HEALTH.GB_NHS_NUMBER", g.gb_nhs)

    # --- hard negatives --------------------------------------------------------------------------------------
    add("order_number", "orders", "varchar(20)", None, lambda: g.luhn_number(16), note="Luhn-valid order numbers")
    add("order_ref", "commandes", "bigint", None, lambda: int(g.luhn_number(15)), note="Luhn-valid order refs")
    add("ref", "invoices", "varchar(20)", None, lambda: g.luhn_number(g.rnd.choice([13, 16, 19])),
        note="Luhn-valid refs")
    add("invoice_number", "invoices", "varchar(20)", None, lambda: "INV-" + g.digits(8), note="invoice numbers")
    add("tracking_number", "shipments", "varchar(30)", None, lambda: g.digits(12), note="tracking numbers")
    add("store_id", "stores", "int", None, lambda: int(g.digits(5)), note="postal-code-like ids")
    add("branch_code", "branches", "char(5)", None, lambda: g.digits(5, "0123456789"), note="postal-code-like ids")
    add("warehouse_id", "stock", "integer", None, lambda: int(g.digits(5)), note="postal-code-like ids")
    add("version", "releases", "varchar(20)", None,
        lambda: f"{g.rnd.randint(1, 12)}.{g.rnd.randint(0, 20)}.{g.rnd.randint(0, 30)}.{g.rnd.randint(0, 99)}",
        note="version strings that look like IPv4")
    add("firmware_version", "devices", "varchar(20)", None,
        lambda: f"{g.rnd.randint(0, 9)}.{g.rnd.randint(0, 9)}.{g.rnd.randint(0, 40)}.{g.rnd.randint(0, 250)}",
        note="version strings that look like IPv4")

    def product():
        return f"{g.rnd.choice(ADJ)} {g.rnd.choice(MAT)} {g.rnd.choice(THING)}"
    add("name", "products", "varchar(120)", None, product, note="product names in a name column")
    add("nom", "produits", "varchar(120)", None, product, note="product names in a French name column")
    add("name", "categories", "varchar(60)", None, lambda: g.rnd.choice(THING) + "s", note="category names")
    add("product_name", "order_lines", "varchar(120)", None, product, note="product names")

    def comment():
        text = g.f("en_US").sentence(nb_words=12)
        if g.rnd.random() < 0.06:
            text += " Contact " + g.f("en_US").email()
        return text
    add("comments", "tickets", "text", None, comment, note="free text with an occasional email")
    add("notes", "orders", "text", None, comment, note="free text with an occasional email")
    add("description", "products", "text", None, lambda: g.f("fr_FR").paragraph(nb_sentences=2))
    add("email_verified", "users", "integer", None, lambda: g.rnd.choice([0, 1]), note="integer flag named email")
    add("is_email_verified", "accounts", "boolean", None, lambda: g.rnd.random() < 0.5, note="boolean flag")
    add("phone_verified", "users", "tinyint(1)", None, lambda: g.rnd.choice([0, 1]), note="tinyint flag")
    add("email_count", "campaigns", "int", None, lambda: g.rnd.randint(0, 5000), note="count named email")
    add("ACADEMIC_YEAR_CODE", "ENROLMENTS", "VARCHAR2(4)", None,
        lambda: g.rnd.choice(["201", "202", "2324", "2425", "223"]), note="not a CVV")
    add("academic_year_code", "courses", "varchar(9)", None, lambda: g.rnd.choice(["2023-24", "2024-25", "2022-23"]))
    add("photo", "employees", "bytea", None, lambda: bytes(g.rnd.getrandbits(8) for _ in range(64)), note="binary")
    add("passport_scan", "travellers", "BLOB", None, lambda: bytes(g.rnd.getrandbits(8) for _ in range(64)),
        note="binary with a sensitive name")
    add("ssn_encrypted", "employees", "varbinary(256)", None, lambda: bytes(g.rnd.getrandbits(8) for _ in range(32)),
        note="binary with a sensitive name")
    add("is_active", "users", "boolean", None, lambda: g.rnd.random() < 0.8, note="boolean")
    add("newsletter_opt_in", "customers", "bool", None, lambda: g.rnd.random() < 0.3, note="boolean")
    add("status", "orders", "varchar(12)", None,
        lambda: g.rnd.choice(["PENDING", "SHIPPED", "DELIVERED", "CANCELLED", "RETURNED"]))
    add("http_status", "requests", "smallint", None, lambda: g.rnd.choice([200, 201, 301, 404, 500]))
    add("status_code", "jobs", "char(3)", None, lambda: g.rnd.choice(["OK", "ERR", "RUN", "NEW"]))
    add("sku", "products", "varchar(20)", None, lambda: f"SKU-{g.digits(5)}-{g.token(2, string.ascii_uppercase)}")
    add("ean13", "products", "char(13)", None, lambda: g.f("en_US").ean13())
    add("amount", "payments", "numeric(12,2)", None, lambda: Decimal(g.rnd.randint(100, 999999)) / 100)
    add("total_price", "orders", "decimal(10,2)", None, lambda: Decimal(g.rnd.randint(100, 99999)) / 100)
    add("quantity", "order_lines", "int", None, lambda: g.rnd.randint(1, 20))
    add("created_at", "orders", "timestamp with time zone", None,
        lambda: datetime(2024, 1, 1) + timedelta(minutes=g.rnd.randint(0, 500000)))
    add("updated_on", "customers", "date", None, lambda: date(2020, 1, 1) + timedelta(days=g.rnd.randint(0, 1500)))
    add("id", "events", "uuid", None, lambda: g.f("en_US").uuid4())
    add("event_uuid", "events", "varchar(36)", None, lambda: g.f("en_US").uuid4())
    add("file_checksum", "documents", "char(32)", None, g.f("en_US").md5, note="md5 checksums")
    add("commit_sha", "deployments", "char(40)", None, g.f("en_US").sha1, note="git SHAs")
    add("content_sha256", "attachments", "char(64)", None, g.f("en_US").sha256, note="sha-256 content hashes")
    add("gravatar_hash", "users", "char(32)", None, lambda: hashlib.md5(g.f("en_US").email().encode()).hexdigest(),
        note="md5 of an email in a users table, not a password")
    add("color", "products", "varchar(20)", None, g.f("en_US").color_name)
    add("year", "cars", "int", None, lambda: g.rnd.randint(1950, 2024))
    add("score", "reviews", "real", None, lambda: round(g.rnd.random() * 5, 2))
    add("title", "articles", "varchar(200)", None, lambda: g.f("en_US").sentence(nb_words=6))
    add("category", "tickets", "varchar(30)", None, lambda: g.rnd.choice(["billing", "technical", "sales", "other"]))
    add("currency", "payments", "char(3)", None, lambda: g.rnd.choice(["EUR", "USD", "GBP", "CHF"]))
    add("language", "users", "varchar(5)", None, lambda: g.rnd.choice(["en", "fr", "de", "es", "it", "nl"]))
    add("timezone", "users", "varchar(40)", None, g.f("en_US").timezone)
    add("user_agent", "sessions", "text", None, g.f("en_US").user_agent)
    add("file_path", "documents", "text", None, g.f("en_US").file_path)
    add("mime_type", "documents", "varchar(60)", None, g.f("en_US").mime_type)
    add("hostname", "servers", "varchar(100)", None, g.f("en_US").hostname)
    add("payload", "events", "jsonb", None, lambda: {"k": g.rnd.randint(0, 9)})
    add("card_type", "payments", "varchar(20)", None, lambda: g.rnd.choice(["VISA", "MASTERCARD", "AMEX"]))
    add("card_last4", "payments", "char(4)", None, lambda: g.digits(4, string.digits))
    add("card_expiry", "payments", "char(5)", None, lambda: f"{g.rnd.randint(1, 12):02d}/{g.rnd.randint(25, 31)}")
    add("room_code", "bookings", "varchar(4)", None, lambda: g.digits(3))
    add("security_level", "users", "int", None, lambda: g.rnd.randint(1, 5))
    add("build_number", "ci_runs", "int", None, lambda: g.rnd.randint(1000, 99999))
    add("ticket_id", "tickets", "bigint", None, lambda: g.rnd.randint(10**9, 10**10))
    add("isbn", "books", "varchar(17)", None, g.f("en_US").isbn13)
    add("postal_count", "stats", "int", None, lambda: g.rnd.randint(0, 99999))
    add("tax_rate", "invoices", "numeric(5,2)", None, lambda: Decimal(g.rnd.choice([0, 550, 1000, 2000])) / 100)
    add("emails_sent", "campaigns", "int", None, lambda: g.rnd.randint(0, 10000))
    add("city_id", "addresses", "int", None, lambda: g.rnd.randint(1, 40000))
    add("address_id", "customers", "bigint", None, lambda: g.rnd.randint(1, 10**6))
    add("login_count", "users", "int", None, lambda: g.rnd.randint(0, 500))
    add("token_expires_at", "sessions", "timestamp", None,
        lambda: datetime(2025, 1, 1) + timedelta(hours=g.rnd.randint(0, 9999)))
    add("empty_col", "legacy", "varchar(50)", None, lambda: None, note="all null, no name signal")
    add("phone", "legacy_contacts", "varchar(20)", None, lambda: g.rnd.choice(["n/a", "unknown", "-", "none"]),
        note="name says phone, values contradict")
    add("email", "import_errors", "varchar(100)", None, lambda: g.rnd.choice(["missing", "invalid", "TODO"]),
        note="name says email, values contradict")

    # --- names without separators (Oracle/DB2 upper case, lower-cased CamelCase ports) --------------------------
    # Appended last so that the columns above keep their generated values.
    add("BILLINGPOSTALCODE", "INVOICES", "VARCHAR2(10)", "PII.POSTAL_CODE", g.f("en_US").postcode)
    add("HOMEPHONE", "EMPLOYEES", "VARCHAR2(24)", "PII.PHONE", g.f("en_GB").phone_number)
    add("CONTACTEMAIL", "SUPPLIERS", "VARCHAR2(80)", "PII.EMAIL", g.f("fr_FR").email)
    add("NATIONALIDNUMBER", "EMPLOYEES", "VARCHAR2(15)", "NATIONAL_ID.US_SSN", g.f("en_US").ssn)
    add("shipaddress", "orders", "varchar(60)", "PII.STREET_ADDRESS", g.f("de_DE").street_address)
    add("contactlastname", "customers", "varchar(50)", "PII.LAST_NAME", g.f("it_IT").last_name)
    add("EMAILVERIFIED", "USERS", "NUMBER(1)", None, lambda: g.rnd.choice([0, 1]), note="glued flag named email")
    add("PRODUCTNAME", "PRODUCTS", "VARCHAR2(40)", None, product, note="product names, glued name")
    add("ipsumtext", "fixtures", "text", None, lambda: g.f("en_US").sentence(nb_words=8), note="'ip' inside a word")
    # Words a glued-name splitter could pun on ("exp ort", "main land") and hex that is not a credential.
    add("export", "reports", "varchar(8)", None, lambda: g.rnd.choice(["csv", "pdf", "xlsx", "json"]),
        note="'export' is not 'exp ort'")
    add("placeholder", "ui_fields", "varchar(40)", None,
        lambda: g.rnd.choice(["Enter text", "Your answer", "Search", "Type here"]), note="not 'place holder'")
    add("mainland", "regions", "varchar(20)", None, lambda: g.rnd.choice(["Europe", "Asia", "Africa", "Oceania"]),
        note="not 'main land' (a country)")
    add("hashkey", "cache", "char(32)", None, g.f("en_US").md5, note="cache keys, md5 hex")
    add("value", "user_preferences", "char(32)", None, lambda: g.f("en_US").uuid4().replace("-", ""),
        note="dashless UUIDs in a key-value table about users")
    add_people(g, add, product)
    cols += corpus_names.columns(seed)
    from bench.detection.corpus_places import place_columns  # noqa: PLC0415 - it imports this module
    cols.extend(place_columns(seed))
    return cols


def hide_names(columns: list[LabelledColumn]) -> list[LabelledColumn]:
    """The same columns with meaningless names (c1, c2, …): only the values can speak."""
    return [replace(c, sample=replace(c.sample, column_name=f"c{i + 1}"),
                    expected=c.expected if c.hidden_expected == SAME else c.hidden_expected)
            for i, c in enumerate(columns)]
