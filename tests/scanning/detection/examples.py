"""Known-valid sample values per classification (generated once, check digits verified with python-stdnum)."""
from datetime import date
from decimal import Decimal

POSITIVES = {
    "PII.EMAIL": ("email", "users", "varchar(255)", [
        "stacie60@example.org", "diazbrian@example.net", "benjamin.h@example.org", "cc@example.net",
    ]),
    "PII.PHONE": ("phone", "customers", "varchar(32)", [
        "(649)520-8312x40234", "578-924-5040x0088", "571.567.8684", "+1-734-707-2247x045", "304.935.2056",
    ]),
    "PII.PERSON_NAME": ("full_name", "employees", "varchar(120)", [
        "Amy Carey", "Rachel Taylor", "Madeline Smith", "Trevor Rios",
    ]),
    "PII.FIRST_NAME": ("prenom", "clients", "varchar(60)", ["Arthur", "Véronique", "Michelle", "Tom", "Ashley"]),
    "PII.LAST_NAME": ("nachname", "kunden", "varchar(60)", ["Tran", "Thomas", "Müller", "Adams", "Jenkins"]),
    "PII.STREET_ADDRESS": ("street_address", "customers", "text", [
        "1778 Alyssa Plain", "31392 Curtis Glen", "13409 Mills Squares", "12 rue de la Paix",
    ]),
    "PII.CITY": ("ciudad", "clientes", "varchar(80)", ["Madrid", "Sevilla", "Las Palmas", "Bilbao"]),
    "PII.POSTAL_CODE": ("zip", "customers", "varchar(10)", ["22669", "48446", "31780", "88801-1234"]),
    "PII.COUNTRY": ("country", "customers", "varchar(60)", ["Gibraltar", "Grenada", "Comoros", "Maldives"]),
    "ORG.COMPANY_NAME": ("company", "contacts", "varchar(120)", [
        "Jones, Burns and Smith", "Preston-Durham", "Washington LLC",
    ]),
    "PII.JOB_TITLE": ("job_title", "employees", "varchar(120)", [
        "Health visitor", "Financial controller", "Petroleum engineer",
    ]),
    "PII.DATE_OF_BIRTH": ("date_of_birth", "patients", "date", [date(1948, 1, 6), date(1988, 9, 3), date(1965, 5, 19)]),
    "PII.GENDER": ("gender", "users", "varchar(20)", ["female", "female", "non-binary", "male"]),
    "PII.USERNAME": ("username", "accounts", "varchar(64)", ["dperez", "susan54", "maybarbara", "rgibson"]),
    "PII.PASSPORT_NUMBER": ("passport_number", "travellers", "varchar(12)", ["O55306313", "549031129", "S93014042"]),
    "PII.GEO_COORDINATES": ("latitude", "stores", "numeric(9,6)", [
        Decimal("-57.9067105"), Decimal("46.407975"), Decimal("24.679071"),
    ]),
    "NATIONAL_ID.US_SSN": ("ssn", "employees", "char(11)", [
        "898-28-5444", "178-51-4997", "414-61-6496", "159-47-0794",
    ]),
    "NATIONAL_ID.GB_NINO": ("ni_number", "employees", "varchar(13)", [
        "AS663710A", "HN900367A", "GG 87 08 23 C", "CN240246A",
    ]),
    "NATIONAL_ID.FR_NIR": ("numero_securite_sociale", "assures", "char(15)", [
        "126040608829607", "122100506167776", "245082636289117",
    ]),
    "NATIONAL_ID.DE_IDNR": ("steuer_id", "mitarbeiter", "char(11)", ["57810929343", "79528909436", "81828456799"]),
    "NATIONAL_ID.ES_DNI": ("dni", "clientes", "char(9)", ["71863413M", "43372374D", "Y7243761V", "X5832537J"]),
    "NATIONAL_ID.IT_CODICE_FISCALE": ("codice_fiscale", "clienti", "char(16)", [
        "VRDVLR67H51C007K", "NGLPPZ49M52G041A", "BNSCRI23C64G319C",
    ]),
    "NATIONAL_ID.NL_BSN": ("bsn", "klanten", "char(9)", ["708931248", "496502785", "098314622"]),
    "NATIONAL_ID.IN_AADHAAR": ("aadhaar_number", "customers", "varchar(14)", [
        "729153224720", "207545013197", "8890 6875 4637",
    ]),
    "NATIONAL_ID.IN_PAN": ("pan_number", "customers", "char(10)", ["SYEFT4002N", "FXWGU6687X", "NAZHC0184P"]),
    "NATIONAL_ID.BR_CPF": ("cpf", "clientes", "varchar(14)", ["90719086825", "92372228820", "72952440506"]),
    "NATIONAL_ID.CA_SIN": ("sin", "employees", "varchar(11)", ["322 104 712", "203 618 384", "518 460 431"]),
    "NATIONAL_ID.CH_AHV": ("ahv_nummer", "versicherte", "varchar(16)", [
        "756.7550.7615.82", "756.2634.6040.45", "756.4049.4282.61",
    ]),
    "NATIONAL_ID.PL_PESEL": ("pesel", "pacjenci", "char(11)", ["71061445420", "99100984107", "39101064851"]),
    "FINANCIAL.PAYMENT_CARD": ("card_number", "payments", "varchar(19)", [
        "4565726725672819", "347871135219679", "30553933768766", "6011619086308237",
    ]),
    "FINANCIAL.CARD_SECURITY_CODE": ("cvv", "payments", "varchar(4)", ["361", "583", "669", "0954"]),
    "FINANCIAL.IBAN": ("iban", "fournisseurs", "varchar(34)", [
        "FR36 7866 1974 9498 3520 5369 682", "FR77 5906 0596 7056 3608 9036 583", "DE32415868344978690736",
    ]),
    "FINANCIAL.SWIFT_BIC": ("bic", "suppliers", "varchar(11)", ["YLDLGBGV", "KBCFGBL5GCU", "AYRMGBDP10R", "DEUTDEFF"]),
    "FINANCIAL.BANK_ACCOUNT": ("account_number", "bank_accounts", "varchar(34)", [
        "1828724100", "6094895758", "4746853403",
    ]),
    "FINANCIAL.VAT_NUMBER": ("vat_number", "companies", "varchar(20)", ["DE211428825", "DE291571220", "DE419353763"]),
    "NETWORK.IP_ADDRESS": ("ip_address", "sessions", "varchar(45)", [
        "169.65.7.29", "80.128.11.135", "2001:db8::1", "72.49.182.241",
    ]),
    "NETWORK.MAC_ADDRESS": ("mac_address", "devices", "macaddr", [
        "94:02:a7:14:f4:c7", "14-13-87-27-6E-16", "f4de.3c5b.f7c1",
    ]),
    "NETWORK.URL": ("website", "companies", "varchar(255)", [
        "https://www.mcdaniel-cowan.org/", "http://smith-james.com/about?x=1",
    ]),
    "CREDENTIALS.PASSWORD_HASH": ("password_hash", "users", "varchar(128)", [
        "$2b$12$rBoDRJeCc9dlmtBuqh2YJ8lu3x2uL9Z/OkE.9KdJ338aO1.pVZr.e",
        "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$RdescudvJCsgt3ub+b+dWRWJTmaaJObG8dbJ8S6TNkq",
        "pbkdf2_sha256$600000$abcdefghijkl$Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5Cg=",
    ]),
    "CREDENTIALS.PASSWORD": ("password", "legacy_accounts", "varchar(64)", ["q5xNAl35^a", "Bm96QSXDM&", "2T7PYbxj(8"]),
    "CREDENTIALS.SECRET": ("api_key", "integrations", "varchar(100)", [
        "glpat-x1A79kf3LL6nr7vaMkMQ", "ghp_kK8TspZaYLgyxwybAijPX1ppRh8dtiOJ3v6j", "AKIASJNA59HV2ONSFVMH",
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    ]),
    "DEVICE.IMEI": ("imei", "devices", "varchar(15)", ["499360556126452", "860944430975621", "019744495671994"]),
    "DEVICE.VIN": ("vin", "vehicles", "char(17)", ["1M8GDM9AXKP042788", "3EHYF2NY8RHPY4785", "4LJGZZ2R8TWZ90705"]),
    "HEALTH.ICD10_CODE": ("icd10_code", "diagnoses", "varchar(8)", ["D57.8", "C41.6", "O71.5", "I10", "N91.07"]),
    "HEALTH.MEDICAL_RECORD_NUMBER": ("mrn", "patients", "varchar(12)", ["MRN3641845", "MRN3070239", "MRN9828974"]),
    "HEALTH.GB_NHS_NUMBER": ("nhs_number", "patients", "varchar(12)", ["308 372 8522", "149 142 1169", "229 467 5959"]),
}
