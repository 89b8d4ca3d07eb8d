"""The built-in classifications and how each one is recognised.

Naming: ``<CATEGORY>.<KIND>``. National identifiers get one classification per identifier, named
``NATIONAL_ID.<ISO country>_<identifier>`` (``NATIONAL_ID.US_SSN``, ``NATIONAL_ID.FR_NIR``): a country often has
several identifiers with different validators and sensitivities, and one name per identifier lets a steward
confirm or reject them separately. ``ClassificationSpec`` is what Django seeds into ``catalog.Classification``;
``Recognizer`` is the engine's private recipe for the same name.

Two kinds of recogniser:

* **validated** — values carry a shape that a real validator confirms (Luhn, python-stdnum, phonenumbers,
  ipaddress, a check digit). With a name signal, values must still confirm the name (else the name is
  contradicted and nothing is suggested). Those with a ``value_only`` validator are also found when the column
  name says nothing (``c1``); that validator is stricter where the plain one is ambiguous (a dashed SSN, a
  phone number with separators, a self-describing password hash, a vendor-prefixed secret).
* **plausible** — values have no checkable shape (first names, cities, job titles). These need a name signal,
  and the values must be plausible for it (letters for a city, not integers or emails).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import types as tf
from . import validators as v
from .dates import birth_date_column
from .names import ACCOUNT_TABLES, DERIVED_MODIFIERS, PERSON_ROLES, PERSON_TABLES, PhraseMatcher, Segmenter, phrases
from .places import Verdict, city_column, country_column, postal_column, street_column
from .reference import people

PUBLIC, INTERNAL, CONFIDENTIAL, RESTRICTED = "public", "internal", "confidential", "restricted"
SENSITIVITIES = (PUBLIC, INTERNAL, CONFIDENTIAL, RESTRICTED)


@dataclass(frozen=True)
class ClassificationSpec:
    name: str
    category: str
    sensitivity: str
    description: str


@dataclass(frozen=True)
class TableContext:
    """Values too ambiguous to decide alone, which the table can settle when the column name says nothing.

    A column of bare sha-256 digests is a password hash in ``legacy_users`` and a checksum in ``documents``. When
    the column name is opaque (``c7``, ``fld12``) and the table matches ``tables``, a ``validator`` share of at
    least ``min_share`` suggests the class at ``strength`` (below a value-only suggestion's: the table is a
    weaker witness than a self-describing value). A meaningful name that no recogniser knows is not opaque: it
    tells us the column is something else.
    """

    validator: str
    tables: PhraseMatcher
    min_share: float = 0.9
    min_distinct: int = 5
    strength: float = 0.7
    column_check: Callable[[list[str]], bool] | None = None


@dataclass(frozen=True)
class Recognizer:
    spec: ClassificationSpec
    families: frozenset[str]
    names: PhraseMatcher  # strong name signals
    weak_names: PhraseMatcher  # ambiguous ones ("tel", "cp", "title"): lower confidence
    veto: PhraseMatcher  # a token that means the column is *about* something else (order_number → no card)
    validator: str  # VALIDATORS key used when the name says so (or the plausibility check)
    kind: str = "validated"  # or "plausible"
    value_only: str | None = None  # VALIDATORS key strict enough to decide without a name signal
    value_only_min_share: float = 0.0  # raised above DetectionSettings.min_match_share when needed
    value_only_min_distinct: int = 1
    value_only_strength: float = 0.85  # confidence at share 1.0 without name signal
    column_check: Callable[[list[str]], bool] | None = None  # extra whole-column test for value-only mode
    column_precheck: Callable[[list[tuple[str, int]]], bool] | None = None  # cheap test before any validator
    needs_person_table: bool = False  # weak names only count in a table of people (or of ``name_tables``)
    table_context: TableContext | None = None
    # Tables (by head noun) whose bare "name" column holds this class: "suppliers.name" is a company.
    name_tables: PhraseMatcher = PhraseMatcher(())
    # Under a strong name, values that keep the class's shape but fail its real check (test or synthetic data):
    # the VALIDATORS key that accepts them, and why they still count.
    test_data: str | None = None
    test_data_reason: str = ""
    # Whole-column judge for classes no single value proves (cities, birth dates): (distinct values with counts,
    # non-null count, table tokens) → places.Verdict or None. Used when the name gives no signal.
    value_judge: Callable[..., Verdict | None] | None = None

    @property
    def name(self) -> str:
        return self.spec.name


TEXT = frozenset({tf.TEXT})
TEXTISH = frozenset({tf.TEXT, tf.OTHER})
NUMERIC_ID = frozenset({tf.TEXT, tf.OTHER, tf.INTEGER, tf.DECIMAL})
CONTACT_VETO = " ".join(sorted(DERIVED_MODIFIERS))
ID_VETO = "order invoice ref reference sku tracking barcode ean gtin upc isbn version ver release build checksum"


def _one_digest_not_uuids(values: list[str]) -> bool:
    """Hex digests of one length (a hashing scheme uses one algorithm; mixed lengths are other hex data), and not
    UUIDs written without dashes (version nibble 1-8, variant 8-b on nearly every value)."""
    if len({len(value) for value in values}) != 1:
        return False
    if len(values[0]) != 32:
        return True
    uuid_shaped = sum(1 for value in values if value[12] in "12345678" and value[16].lower() in "89ab")
    return uuid_shaped < 0.9 * len(values)


# Names that say "a national identifier" without the country: every national identifier takes them as a weak
# signal, and the values (whose check digits pass) decide which one it is.
ANY_NATIONAL_ID = ("national id, national id number, national identification number, national identity number,"
                   " national identifier, identity card number, id card number, citizen id, citizen number")


def _r(name: str, category: str, sensitivity: str, description: str, *, families=TEXTISH, names="",
       weak="", veto="", name_tables="", **kw) -> Recognizer:
    if category == "NATIONAL_ID":
        weak = f"{weak}, {ANY_NATIONAL_ID}"
    return Recognizer(
        spec=ClassificationSpec(name, category, sensitivity, description),
        families=frozenset(families), names=PhraseMatcher(phrases(names)), weak_names=PhraseMatcher(phrases(weak)),
        veto=PhraseMatcher(veto.split()), name_tables=PhraseMatcher(name_tables.split()), **kw,
    )


# "<role> name" for every role a person plays: "consignee name", "approver name", "emergency contact name".
_ROLE_NAMES = ", ".join(f"{role} name, {role} full name" for role in PERSON_ROLES.phrases)


def _share_of(check, items: list[tuple[str, int]]) -> float:
    total = sum(c for _, c in items)
    return sum(c for t, c in items if check(t)) / total if total else 0.0


def _wide_ipv4(values: list[str]) -> bool:
    """Addresses, not version strings: some octets above 99, and not every first octet a single digit."""
    v4 = [x for x in values if "." in x and ":" not in x]
    if not v4:
        return True
    wide = sum(v.ipv4_has_wide_octet(x) for x in v4) >= 0.25 * len(v4)
    return wide and max(int(x.split(".", 1)[0]) for x in v4) >= 10


def _dotted_icd(values: list[str]) -> bool:
    return sum(v.is_icd10_dotted(x) for x in values) >= 0.5 * len(values)


def _gender_words(values: list[str]) -> bool:
    # Two of three distinct words suffice: männlich, weiblich and the ambiguous "divers".
    return sum(v.is_gender_word(x) for x in values) >= 2 / 3 * len(values)


RECOGNIZERS: tuple[Recognizer, ...] = (
    # --- contact -------------------------------------------------------------------------------------------
    _r("PII.EMAIL", "PII", CONFIDENTIAL, "Email address.", families=TEXTISH,
       names="email, e mail, email address, emailaddress, mail address, courriel, adresse mail, adresse email,"
             " adresse electronique, correo, correo electronico, email adresse, mailadresse, posta elettronica,"
             " indirizzo email, eml, emails",
       weak="mail, mel, contact", veto=CONTACT_VETO + " id hash hashed md5 sha",
       validator="email", value_only="email", value_only_strength=0.9,
       test_data="email_test_data", test_data_reason="addresses without a dotted domain or without a domain"
                                                     " (test, demo or exported data)"),
    _r("PII.PHONE", "PII", CONFIDENTIAL, "Telephone or fax number.", families={tf.TEXT, tf.OTHER, tf.INTEGER},
       names="phone, phone number, phonenumber, telephone, telephone number, tel, tel no, mobile, mobile number,"
             " mobile phone, cell, cellphone, cell phone, fax, msisdn, contact number, portable, numero telephone,"
             " telefon, telefonnummer, handy, handynummer, mobilnummer, telefono, movil, celular, cellulare,"
             " numero telefono, telefoonnummer, gsm, landline, phone no, ph no",
       weak="contact", veto=CONTACT_VETO + " id model brand os app imei",
       validator="phone", value_only="phone", value_only_min_share=0.9, value_only_strength=0.82,
       column_precheck=lambda items: _share_of(v.looks_like_phone_number, items) >= 0.3,
       test_data="phone_test_data", test_data_reason="numbers written like phone numbers that no numbering plan"
                                                     " assigns (fictitious 555 numbers, test data)"),
    # --- people --------------------------------------------------------------------------------------------
    _r("PII.PERSON_NAME", "PII", CONFIDENTIAL, "A person's full name.",
       names="full name, fullname, person name, customer name, client name, contact name, employee name,"
             " emp name, patient name, member name, cardholder name, card holder name, holder name,"
             " account holder, account holder name, student name, driver name, passenger name, guest name,"
             " applicant name, beneficiary name, recipient name, sender name, owner name, author name,"
             " manager name, spouse name, parent name, nom complet, nom prenom, prenom nom, nombre completo,"
             " nombre y apellidos, nome completo, vollstaendiger name, voller name, volledige naam,"
             " legal name, real name, " + _ROLE_NAMES,
       weak="display name, name, nom, nombre, nome, naam",
       veto="product company org organization file host table column schema"
            " category brand item street city country bank db server model app project team plan tag",
       validator="person_name", kind="plausible",
       value_only="full_name_shape", value_only_min_distinct=5, value_only_strength=0.75,
       column_precheck=people.person_name_column,
       name_tables=" ".join(PERSON_TABLES.phrases)),
    _r("PII.FIRST_NAME", "PII", CONFIDENTIAL, "A person's given name.",
       names="first name, firstname, fname, given name, givenname, forename, middle name, prenom, vorname,"
             " rufname, voornaam, primer nombre, nombre de pila, christian name",
       veto="company product", validator="person_name", kind="plausible",
       value_only="name_word", value_only_min_distinct=5, value_only_strength=0.75,
       column_precheck=people.first_name_column),
    _r("PII.LAST_NAME", "PII", CONFIDENTIAL, "A person's family name.",
       names="last name, lastname, lname, surname, family name, familyname, maiden name, nom de famille,"
             " nom famille, nom naissance, nom usage, nachname, familienname, geburtsname, apellido, apellidos,"
             " primer apellido, segundo apellido, cognome, achternaam, familienaam",
       veto="company product login modified updated", validator="person_name", kind="plausible",
       value_only="name_word", value_only_min_distinct=5, value_only_strength=0.75,
       column_precheck=people.last_name_column),
    _r("PII.STREET_ADDRESS", "PII", CONFIDENTIAL, "Street address (street, house number).",
       names="address, street, street address, address line, addr, addr line, home address, mailing address,"
             " billing address, shipping address, postal address, residential address, adresse, rue, voie,"
             " adresse postale, direccion, calle, domicilio, strasse, anschrift, adresse zeile, indirizzo,"
             " via, straat, adres, huisadres, street name, strassenname, endereco, logradouro, morada",
       weak="line", veto=CONTACT_VETO + " email mail e ip mac web url wallet id hash btc eth crypto memory"
            " bitcoin ethereum contract server host",
       validator="street_address", kind="plausible", value_judge=street_column),
    _r("PII.CITY", "PII", INTERNAL, "City, town or municipality.",
       names="city, town, city name, ville, ciudad, stadt, citta, localidad, municipio, municipality,"
             " locality, commune, woonplaats, plaats, gemeente, birth city, birthplace, lieu naissance,"
             " place of birth, wohnort, poblacion, comune",
       weak="ort, place", veto="id code count population size", validator="word_text", kind="plausible",
       name_tables="city town municipality locality ville stadt ciudad citta gemeente commune comune municipio",
       value_judge=city_column),
    _r("PII.POSTAL_CODE", "PII", INTERNAL, "Postal or ZIP code.", families=NUMERIC_ID,
       names="zip, zipcode, zip code, postal code, postalcode, postcode, post code, code postal,"
             " codepostal, plz, postleitzahl, codigo postal, cod postal, codice postale, postal, pincode, pin code,"
             " eircode, postnummer, postnr, kod pocztowy, cep",
       weak="cp, cap, zip4", veto="id count radius", validator="postal_code", kind="plausible",
       value_judge=postal_column),
    _r("PII.COUNTRY", "PII", INTERNAL, "Country name or code.",
       names="country, country name, country code, countrycode, pays, pais, paese, land, nationality,"
             " nationalite, nacionalidad, nazionalita, staatsangehoerigkeit, nationaliteit, country of birth,"
             " pays naissance, iso country, country iso, country of residence, residence country,"
             " country of citizenship, citizenship",
       weak="nation", veto="count", validator="word_text", kind="plausible",
       name_tables="country nation pays pais paese", value_judge=country_column),
    _r("PII.DATE_OF_BIRTH", "PII", CONFIDENTIAL, "Date of birth.",
       families={tf.DATE, tf.DATETIME, tf.TEXT, tf.OTHER, tf.INTEGER},
       names="dob, date of birth, dateofbirth, birth date, birthdate, birthday, date birth, birth dt, born,"
             " born on, naissance, date naissance, date de naissance, datenaissance, ddn, geburtsdatum,"
             " geburtstag, geb datum, gebdat, fecha nacimiento, fecha de nacimiento, nacimiento, fec nac,"
             " data nascita, data di nascita, geboortedatum, birth",
       veto="place city country lieu ort", validator="birth_date", kind="plausible",
       value_judge=birth_date_column),
    _r("PII.GENDER", "PII", CONFIDENTIAL, "Gender or sex.", families=NUMERIC_ID,
       names="gender, sex, sexe, genre, geschlecht, genero, sexo, sesso, geslacht, gender identity",
       veto="id count ratio", validator="gender", kind="plausible",
       value_only="gender", value_only_min_share=0.95, value_only_min_distinct=2, value_only_strength=0.7,
       column_check=lambda xs: _gender_words(xs) or people.gender_letters(xs),
       column_precheck=people.gender_column),
    _r("PII.USERNAME", "PII", CONFIDENTIAL, "Login name or user handle.",
       names="username, user name, login, user login, login name, screen name, screenname, handle, nickname,"
             " nick, uname, benutzername, nom utilisateur, pseudo, nombre usuario, nombre de usuario, usuario,"
             " nome utente, gebruikersnaam, sam account name, samaccountname, user principal name, upn, login id,"
             " loginid",
       weak="user, identifiant, account name", veto="id count attempts attempt at date time failed",
       # "login id" names the login itself (adventure-works\ken0), unlike "user id", a foreign key.
       validator="username", kind="plausible", value_only="handle", value_only_min_distinct=5,
       value_only_strength=0.72, column_precheck=people.username_column),
    _r("PII.JOB_TITLE", "PII", INTERNAL, "Job title or occupation.",
       names="job title, jobtitle, job, occupation, profession, job position, poste, metier, intitule poste,"
             " beruf, berufsbezeichnung, stellenbezeichnung, puesto, ocupacion, profesion, professione,"
             " mansione, beroep, functie, functietitel, job role, contact title",
       weak="position, designation, fonction, title", veto="id count code level courtesy",
       validator="job_title", kind="plausible", needs_person_table=True, value_only="job_title_value",
       value_only_min_distinct=5, value_only_strength=0.72, column_precheck=people.job_title_column,
       name_tables="position role job occupation profession designation poste metier beruf puesto ocupacion"
                   " professione beroep functie"),
    _r("PII.PASSPORT_NUMBER", "PII", RESTRICTED, "Passport number.",
       names="passport, passport number, passport no, passport num, passport id, passeport, numero passeport,"
             " reisepass, reisepassnummer, passnummer, pasaporte, numero pasaporte, passaporto, paspoort,"
             " paspoortnummer", veto="expiry expiration issued country date",
       validator="passport_number", kind="plausible"),
    _r("PII.GEO_COORDINATES", "PII", CONFIDENTIAL, "Latitude / longitude.",
       families={tf.TEXT, tf.OTHER, tf.FLOAT, tf.DECIMAL},
       names="latitude, longitude, lat, lng, lon, geo, geolocation, coordinates, coords, gps, gps coordinates,"
             " latlng, lat lng, lat lon, latlon, lat long, geo point, geopoint, breitengrad, laengengrad,"
             " coordonnees, coordenadas, coordinate",
       weak="location, position, long", veto="id count city name", validator="geo_coordinate",
       kind="plausible", value_only="geo_coordinate", value_only_min_share=0.95, value_only_min_distinct=5,
       value_only_strength=0.75, column_check=lambda xs: all(v.is_geo_pair(x) for x in xs)),
    # --- organisations -------------------------------------------------------------------------------------
    _r("ORG.COMPANY_NAME", "ORG", INTERNAL, "Company or organisation name.",
       names="company, company name, companyname, employer, employer name, organisation, organization,"
             " org name, organisation name, organization name, business name, firm, firm name, societe,"
             " entreprise, raison sociale, nom entreprise, nom societe, firma, firmenname, unternehmen,"
             " arbeitgeber, empresa, compania, nombre empresa, razon social, azienda, ragione sociale,"
             " bedrijf, bedrijfsnaam, werkgever, vendor name, supplier name, customer company",
       weak="vendor, supplier, org", veto="id count size type code", validator="word_text", kind="plausible",
       value_only="company_shape", value_only_min_distinct=5, value_only_strength=0.75,
       column_precheck=people.company_column,
       name_tables="company supplier vendor merchant manufacturer distributor wholesaler retailer shipper carrier"
                   " publisher bank insurer organisation organization firm business enterprise employer agency"
                   " societe entreprise fournisseur fabricant firma unternehmen lieferant hersteller empresa"
                   " proveedor fabricante compania azienda fornitore produttore bedrijf leverancier fabrikant"),
    # --- national identifiers ------------------------------------------------------------------------------
    _r("NATIONAL_ID.US_SSN", "NATIONAL_ID", RESTRICTED, "United States Social Security Number.",
       families=NUMERIC_ID,
       names="ssn, social security number, social security no, social security, soc sec no, ss number,"
             " soc sec num, social sec no", weak="ss no", veto="last four",
       validator="us_ssn", value_only="us_ssn_formatted", value_only_min_share=0.9,
       test_data="us_ssn_test_data", test_data_reason="nine digits written like SSNs outside the issued ranges"
                                                      " (test data)"),
    _r("NATIONAL_ID.GB_NINO", "NATIONAL_ID", RESTRICTED, "UK National Insurance number (no check digit).",
       names="nino, ni number, ni no, national insurance number, national insurance no, national insurance,"
             " nat ins no, nin", weak="insurance number",
       validator="gb_nino", value_only="gb_nino", value_only_min_share=0.9, value_only_min_distinct=3,
       test_data="gb_nino_test_data", test_data_reason="written like National Insurance numbers with a dummy (ZZ)"
                                                       " or unallocated prefix or suffix (test data)"),
    _r("NATIONAL_ID.FR_NIR", "NATIONAL_ID", RESTRICTED, "French social security number (NIR / INSEE).",
       families=NUMERIC_ID,
       names="nir, numero securite sociale, num secu, secu, no secu, numero secu, securite sociale, n ss,"
             " insee, numero insee, carte vitale, num ss, nss",
       validator="fr_nir", value_only="fr_nir", value_only_min_share=0.85),
    _r("NATIONAL_ID.DE_IDNR", "NATIONAL_ID", RESTRICTED, "German tax identification number (IdNr).",
       families=NUMERIC_ID,
       names="steuer id, steuerid, steuer idnr, steueridentifikationsnummer, idnr, identifikationsnummer,"
             " steuer identifikationsnummer, steuernummer, tax id de", weak="tax id, tin",
       validator="de_idnr", value_only="de_idnr", value_only_min_share=0.9),
    _r("NATIONAL_ID.ES_DNI", "NATIONAL_ID", RESTRICTED, "Spanish DNI / NIE / personal NIF.",
       names="dni, nie, nif, numero dni, dni nie, documento identidad, documento nacional identidad",
       weak="num documento, documento", validator="es_dni", value_only="es_dni", value_only_min_share=0.85),
    _r("NATIONAL_ID.IT_CODICE_FISCALE", "NATIONAL_ID", RESTRICTED, "Italian fiscal code (codice fiscale).",
       names="codice fiscale, codicefiscale, cod fiscale, cod fisc, fiscal code", weak="cf, tax code",
       validator="it_codice_fiscale", value_only="it_codice_fiscale", value_only_min_share=0.85),
    _r("NATIONAL_ID.NL_BSN", "NATIONAL_ID", RESTRICTED, "Dutch citizen service number (BSN).",
       families=NUMERIC_ID,
       names="bsn, burgerservicenummer, sofinummer, sofi nummer, citizen service number",
       validator="nl_bsn", value_only="nl_bsn", value_only_min_share=0.9),
    _r("NATIONAL_ID.IN_AADHAAR", "NATIONAL_ID", RESTRICTED, "Indian Aadhaar number (Verhoeff check).",
       families=NUMERIC_ID,
       names="aadhaar, aadhar, aadhaar number, aadhaar no, uidai, aadhaar id", weak="uid",
       validator="in_aadhaar", value_only="in_aadhaar", value_only_min_share=0.9),
    _r("NATIONAL_ID.IN_PAN", "NATIONAL_ID", RESTRICTED, "Indian Permanent Account Number (PAN).",
       names="pan number, pan no, pan card, permanent account number, pan card number", weak="pan",
       validator="in_pan", value_only="in_pan", value_only_min_share=0.9),
    _r("NATIONAL_ID.BR_CPF", "NATIONAL_ID", RESTRICTED, "Brazilian CPF.", families=NUMERIC_ID,
       names="cpf, numero cpf, cpf number", validator="br_cpf", value_only="br_cpf", value_only_min_share=0.9),
    _r("NATIONAL_ID.CA_SIN", "NATIONAL_ID", RESTRICTED, "Canadian Social Insurance Number.",
       families=NUMERIC_ID,
       names="sin, social insurance number, sin number, nas, numero assurance sociale",
       validator="ca_sin", value_only="ca_sin", value_only_min_share=0.9),
    _r("NATIONAL_ID.CH_AHV", "NATIONAL_ID", RESTRICTED, "Swiss AHV/AVS social security number.",
       families=NUMERIC_ID, names="ahv, avs, ahv nummer, ahv number, no avs, numero avs, sozialversicherungsnummer",
       validator="ch_ahv", value_only="ch_ahv", value_only_min_share=0.9),
    _r("NATIONAL_ID.PL_PESEL", "NATIONAL_ID", RESTRICTED, "Polish PESEL.", families=NUMERIC_ID,
       names="pesel, numer pesel", validator="pl_pesel", value_only="pl_pesel", value_only_min_share=0.9),
    # --- financial -----------------------------------------------------------------------------------------
    _r("FINANCIAL.PAYMENT_CARD", "FINANCIAL", RESTRICTED, "Payment card number (PAN), Luhn and issuer range.",
       families=NUMERIC_ID,
       names="card number, cardnumber, card no, card num, cc number, ccnum, cc num, cc no, credit card,"
             " creditcard, credit card number, debit card, debit card number, primary account number,"
             " numero carte, carte bancaire, num carte, numero de carte, kartennummer, kreditkarte,"
             " kreditkartennummer, numero tarjeta, tarjeta, tarjeta credito, numero carta, carta credito,"
             " kaartnummer, creditcardnummer, payment card",
       weak="card, cc, pan",
       veto=ID_VETO + " gift loyalty membership member library sim id business score report type brand expiry"
            " exp expiration month year holder token last bin hash masked fingerprint count",
       validator="payment_card", value_only="payment_card", value_only_min_share=0.8,
       test_data="payment_card_test_data", test_data_reason="numbers written like card numbers that fail the"
                                                            " Luhn or issuer-range check (test cards)"),
    _r("FINANCIAL.CARD_SECURITY_CODE", "FINANCIAL", RESTRICTED, "Card verification value (CVV/CVC).",
       families=NUMERIC_ID,
       names="cvv, cvc, csc, cvn, card security code, card verification value, card verification code,"
             " card verification, cryptogramme, code securite carte, kartenpruefnummer, codigo seguridad",
       weak="security code, card code", validator="card_security_code"),
    _r("FINANCIAL.IBAN", "FINANCIAL", RESTRICTED, "International Bank Account Number.",
       names="iban, iban number, iban code, numero iban, code iban, iban nummer",
       weak="bank account, account", validator="iban", value_only="iban", value_only_strength=0.92),
    _r("FINANCIAL.SWIFT_BIC", "FINANCIAL", INTERNAL, "SWIFT / BIC bank identifier code.",
       names="bic, swift, swift code, bic code, swift bic, bic swift, code bic, codigo swift, swiftcode",
       validator="bic", value_only="bic", value_only_min_share=0.95, value_only_min_distinct=3,
       value_only_strength=0.75),
    _r("FINANCIAL.BANK_ACCOUNT", "FINANCIAL", RESTRICTED, "Domestic bank account or routing number.",
       families=NUMERIC_ID,
       names="bank account, bank account number, account number, account no, acct no, acct num,"
             " acct number, accountnumber, bank acct, kontonummer, numero compte, num compte, compte bancaire,"
             " rib, numero cuenta, cuenta bancaria, num cuenta, numero conto, conto corrente, rekeningnummer,"
             " routing number, sort code, bankleitzahl, blz, aba number, aba routing",
       weak="konto, cuenta, rekening, conto", veto="id type count status name holder",
       validator="bank_account", kind="plausible"),
    _r("FINANCIAL.VAT_NUMBER", "FINANCIAL", INTERNAL, "VAT / company tax number (country-prefixed).",
       names="vat, vat number, vat no, vat id, vatin, vat reg, vat registration, tva, numero tva,"
             " tva intracommunautaire, ust id, ustid, ust idnr, umsatzsteuer id, umsatzsteuer,"
             " umsatzsteuer identifikationsnummer, nif iva, cif, partita iva, piva, btw, btw nummer, btw nr",
       weak="tax id, tax number, tin, tax", veto="rate amount percent pct total",
       validator="vat", value_only="vat", value_only_min_share=0.85),
    # --- network -------------------------------------------------------------------------------------------
    _r("NETWORK.IP_ADDRESS", "NETWORK", CONFIDENTIAL, "IPv4 or IPv6 address.",
       names="ip, ip address, ipaddress, ipaddr, ip addr, client ip, remote addr, remote ip, source ip, src ip,"
             " dst ip, dest ip, host ip, ipv, adresse ip, ip adresse, direccion ip, last login ip,"
             " x forwarded for, inet, remote address",
       veto="version ver release build count mask netmask range cidr subnet prefix",
       validator="ip_address", value_only="ip_address", value_only_min_share=0.9, value_only_min_distinct=3,
       column_check=_wide_ipv4),
    _r("NETWORK.MAC_ADDRESS", "NETWORK", CONFIDENTIAL, "MAC (hardware) address.",
       names="mac, mac address, macaddress, mac addr, hw address, hwaddr, hardware address, bssid, adresse mac",
       validator="mac_address", value_only="mac_address", value_only_min_share=0.9),
    _r("NETWORK.URL", "NETWORK", INTERNAL, "URL or web address.",
       names="url, uri, link, website, web site, homepage, home page, site web, webpage, web page, href,"
             " profile url, avatar url, photo url, image url, callback url, redirect uri, sitio web, pagina web,"
             " webseite, internetseite, sito web",
       weak="site, web, endpoint", veto=CONTACT_VETO, validator="url", value_only="url",
       value_only_strength=0.8),
    # --- credentials ---------------------------------------------------------------------------------------
    _r("CREDENTIALS.PASSWORD_HASH", "CREDENTIALS", RESTRICTED, "Password hash (bcrypt, argon2, crypt, sha/md5).",
       names="password, passwd, pwd, password hash, pwd hash, passhash, pass hash, hashed password,"
             " encrypted password, password digest, pw hash, mot de passe, mdp, motdepasse, passwort, kennwort,"
             " contrasena, contrasenya, wachtwoord, password salt hash, salted hash",
       weak="hash, pass, pw, clave, credential", veto="reset expiry expires changed at date count attempts"
            " hint policy length required avatar gravatar file content image photo checksum etag",
       validator="password_hash", value_only="password_hash_format", value_only_strength=0.9,
       table_context=TableContext("hex_digest", ACCOUNT_TABLES, column_check=_one_digest_not_uuids)),
    _r("CREDENTIALS.PASSWORD", "CREDENTIALS", RESTRICTED, "Plain-text password.",
       names="password, passwd, pwd, mot de passe, mdp, motdepasse, passwort, kennwort, contrasena,"
             " wachtwoord, pass", veto="reset expiry expires changed at date count attempts hint policy length"
             " required hash hashed digest encrypted salt",
       validator="password_plaintext", kind="plausible"),
    _r("CREDENTIALS.SECRET", "CREDENTIALS", RESTRICTED, "API key, access token or private key.",
       names="api key, apikey, api secret, secret, secret key, client secret, access key, access key id,"
             " secret access key, aws secret, private key, privkey, access token, refresh token, auth token,"
             " bearer token, api token, session token, oauth token, webhook secret, signing key, signing secret,"
             " encryption key, cle api, cle secrete, jeton, geheimnis, api schluessel, clave api, token acceso,"
             " chiave api, token",
       weak="credentials, credential, key, auth", veto="count type expires expiry expiration at created length"
            " name scope scopes",
       validator="secret", value_only="known_or_random_secret", value_only_min_share=0.9,
       value_only_strength=0.85, column_check=lambda xs: len(set(xs)) >= 0.9 * len(xs)),
    # --- devices and vehicles ------------------------------------------------------------------------------
    _r("DEVICE.IMEI", "DEVICE", CONFIDENTIAL, "Mobile equipment identity (IMEI, Luhn).", families=NUMERIC_ID,
       names="imei, imei number, device imei, imei no, numero imei",
       validator="imei_or_unpadded", value_only="imei_or_unpadded", value_only_min_share=0.9),
    _r("DEVICE.VIN", "DEVICE", CONFIDENTIAL, "Vehicle identification number (check digit).",
       names="vin, vin number, vehicle identification number, chassis number, numero chassis, numero serie"
             " vehicule, fahrgestellnummer, numero bastidor, bastidor, telaio, numero telaio",
       validator="vin", value_only="vin", value_only_min_share=0.9),
    # --- health --------------------------------------------------------------------------------------------
    _r("HEALTH.ICD10_CODE", "HEALTH", RESTRICTED, "Diagnosis code (ICD-10).",
       names="icd, icd code, icd10, diagnosis code, diag code, dx code, diagnosis, diag, dx, cim, cim code,"
             " code cim, diagnose, diagnosecode, diagnose code, codigo diagnostico, diagnostico,"
             " codice diagnosi, diagnosi", veto="count date",
       validator="icd10", value_only="icd10", value_only_min_share=0.95, value_only_min_distinct=5,
       value_only_strength=0.75, column_check=_dotted_icd),
    _r("HEALTH.MEDICAL_RECORD_NUMBER", "HEALTH", RESTRICTED, "Medical record / patient chart number.",
       families=NUMERIC_ID,
       names="mrn, medical record number, medical record no, med rec no, medical record, medical record id,"
             " patient number, patient no, chart number, chart no, health record number, numero dossier medical,"
             " dossier medical, patientennummer, historia clinica, numero historia clinica, cartella clinica,"
             " ehr number, emr number", weak="ipp",
       validator="medical_record_number", kind="plausible"),
    _r("HEALTH.GB_NHS_NUMBER", "HEALTH", RESTRICTED, "UK NHS number (mod-11 check digit).", families=NUMERIC_ID,
       names="nhs number, nhs no, nhs, nhs num, nhs id", validator="gb_nhs", value_only="gb_nhs",
       value_only_min_share=0.9, value_only_strength=0.88),
)

BUILTIN_CLASSIFICATIONS: tuple[ClassificationSpec, ...] = tuple(r.spec for r in RECOGNIZERS)
RECOGNIZERS_BY_NAME: dict[str, Recognizer] = {r.name: r for r in RECOGNIZERS}

# Glued column names. Split into: every word a recogniser knows (signals and vetoes), plus the qualifiers schemas
# put in front of them ("billing", "ship", "contact", "home", "line" …). Pieces under four letters only from
# _SHORT_GLUED — identifiers specific enough not to hide inside other words by chance — and the short words of
# multi-word phrases ("access key", "job role"), which only count when the whole phrase shows. A split is kept
# when it reveals a multi-word phrase of some recogniser, or one of its strong names of five letters or more (or
# short).
_SHORT_GLUED = frozenset("""
id no nr ip to ssn dob zip vat tax url tel fax pwd plz cvv cvc vin bic mrn nhs dni nie nif cpf nir bsn city iban
imei sex
""".split())
_MULTI_WORD = [p for r in RECOGNIZERS for p in r.names.phrases + r.weak_names.phrases if " " in p]
_GLUED_PHRASES = PhraseMatcher(
    _MULTI_WORD + [p for r in RECOGNIZERS for p in r.names.phrases
                   if " " not in p and (len(p) >= 5 or p in _SHORT_GLUED)])
GLUED_NAMES = Segmenter(
    {word for r in RECOGNIZERS for word in (r.names.vocabulary | r.weak_names.vocabulary | r.veto.vocabulary)}
    | DERIVED_MODIFIERS | set(ID_VETO.split()) | set("""
    name billing bill ship shipping delivery deliver mailing postal contact line home work mobile main primary
    secondary alternate other customer employee user client person company business office personal private
    legal current previous first last middle full display preferred given family maiden nick from
    """.split()) | PERSON_ROLES.vocabulary,
    short=_SHORT_GLUED | {word for phrase in _MULTI_WORD for word in phrase.split() if 2 <= len(word) <= 3}
    | {"alt", "new", "old"},
    explains=_GLUED_PHRASES.any_token)
