"""Corpus columns for places and birth dates (issue 12): more positives in more shapes and languages, and the
confounders the value-only recognizers must refuse (street-like product names and codes, category labels, genres,
titles of works, state and language codes, regions, non-birth dates in tables of people).

The place values below are real places typed for the test (as a customer table would hold them: mostly larger
towns, in the language of the shop), not read from the engine's reference data; values Faker makes are used only
as test data, never as reference data. Generated after ``corpus.build_corpus``'s own columns with an RNG of its
own, so adding columns here never changes the values of the others.
"""
from __future__ import annotations

import random
import string
from datetime import date, datetime, timedelta

from faker import Faker

from bench.detection.corpus import LabelledColumn, _with_nulls
from scanning.detection.engine import ColumnSample

CITIES = {
    "us": "New York, Los Angeles, Chicago, Houston, Phoenix, Philadelphia, San Antonio, San Diego, Dallas, Austin,"
          " Jacksonville, Columbus, Charlotte, Indianapolis, Seattle, Denver, Boston, Nashville, Portland, Memphis,"
          " Louisville, Baltimore, Milwaukee, Albuquerque, Tucson, Fresno, Sacramento, Kansas City, Atlanta, Omaha,"
          " Raleigh, Miami, Oakland, Minneapolis, Tulsa, Cleveland, Wichita, Arlington, Tampa, Bakersfield,"
          " Redmond, Bothell, Kirkland, Boise, Spokane, Reno, Madison, Buffalo, Anchorage, Des Moines",
    "gb": "London, Birmingham, Manchester, Leeds, Glasgow, Sheffield, Bradford, Liverpool, Edinburgh, Bristol,"
          " Cardiff, Leicester, Coventry, Nottingham, Newcastle upon Tyne, Belfast, Brighton, Plymouth, Southampton,"
          " Reading, Aberdeen, Norwich, Swansea, Oxford, Cambridge, York, Exeter, Bath, Dundee, Inverness",
    "fr": "Paris, Marseille, Lyon, Toulouse, Nice, Nantes, Strasbourg, Montpellier, Bordeaux, Lille, Rennes, Reims,"
          " Le Havre, Saint-Étienne, Toulon, Grenoble, Dijon, Angers, Nîmes, Villeurbanne, Clermont-Ferrand,"
          " Le Mans, Aix-en-Provence, Brest, Tours, Amiens, Limoges, Annecy, Perpignan, Metz",
    "br": "São Paulo, Rio de Janeiro, Brasília, Salvador, Fortaleza, Belo Horizonte, Manaus, Curitiba, Recife,"
          " Porto Alegre, Belém, Goiânia, Guarulhos, Campinas, São Luís, Maceió, Natal, Teresina, Florianópolis,"
          " São José dos Campos, Ribeirão Preto, Sorocaba, Uberlândia, Juiz de Fora, Londrina",
    "ru": "Москва, Санкт-Петербург, Новосибирск, Екатеринбург, Казань, Нижний Новгород, Челябинск, Самара, Омск,"
          " Ростов-на-Дону, Уфа, Красноярск, Воронеж, Пермь, Волгоград",
    # Exonyms: a French shop's customers abroad.
    "exo": "Londres, Munich, Milan, Florence, Venise, Lisbonne, Prague, Varsovie, Vienne, Bruxelles, Genève,"
           " Cologne, Francfort, Barcelone, Séville, Moscou, Pékin, Le Caire, Alger, Tunis, Naples, Rome, Turin,"
           " Anvers, Bâle, Zurich, Berne, Copenhague, Édimbourg, Dublin",
}
COUNTRIES_DE = ("Deutschland, Österreich, Schweiz, Frankreich, Italien, Spanien, Niederlande, Belgien, Polen,"
                " Tschechien, Dänemark, Schweden, Norwegen, Vereinigte Staaten, Kanada, Japan, China, Brasilien,"
                " Türkei, Griechenland, Portugal, Ungarn, Irland, Finnland")
COUNTRIES_IT = ("Italia, Francia, Germania, Spagna, Svizzera, Austria, Regno Unito, Stati Uniti, Brasile,"
                " Argentina, Giappone, Cina, India, Grecia, Portogallo, Paesi Bassi, Belgio, Polonia, Romania")
COUNTRIES_EN = ("USA, UK, Germany, France, Canada, Brazil, Mexico, Spain, Italy, Sweden, Norway, Finland,"
                " Denmark, Ireland, Austria, Switzerland, Belgium, Portugal, Poland, Argentina, Venezuela, Japan")
US_STATES = ("AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC"
             " ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY").split()
STATE_NAMES = ("California, Texas, Florida, New York, Pennsylvania, Illinois, Ohio, Georgia, North Carolina,"
               " Michigan, New Jersey, Virginia, Washington, Arizona, Massachusetts, Tennessee, Indiana, Missouri,"
               " Maryland, Wisconsin, Colorado, Minnesota, South Carolina, Alabama, Louisiana, Kentucky, Oregon")
GENRES = ("Rock, Jazz, Metal, Alternative & Punk, Rock And Roll, Blues, Latin, Reggae, Pop, Soundtrack,"
          " Bossa Nova, Easy Listening, Heavy Metal, R&B/Soul, Electronica/Dance, World, Hip Hop/Rap,"
          " Science Fiction, TV Shows, Sci Fi & Fantasy, Drama, Comedy, Alternative, Classical, Opera")
CATEGORIES = ("Beverages, Condiments, Confections, Dairy Products, Grains/Cereals, Meat/Poultry, Produce,"
              " Seafood, Action, Animation, Children, Classics, Documentary, Family, Foreign, Games, Horror,"
              " Music, New, Sports, Travel")
STREET_TYPES = "Street, Avenue, Road, Boulevard, Lane, Drive, Court, Place, Way, Terrace".split(", ")
STREET_NAMES = ("Main, Oak, Pine, Maple, Cedar, Elm, Washington, Lake, Hill, Park, Church, Mill, Spring, River,"
                " Sunset, Highland, Forest, Jefferson, Lincoln, Franklin, Madison, Walnut, Cherry, Willow, Union")
ADJ = "Urban, Classic, Metro, Vintage, Modern, Coastal, Grand, Royal, Rustic, Nordic".split(", ")
NOUN = "Lamp, Sofa, Chair, Table, Poster, Mug, Bench, Shelf, Rug, Clock".split(", ")


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",")]


def place_columns(seed: int) -> list[LabelledColumn]:
    rnd = random.Random(seed + 12)
    fakers = {}
    for i, loc in enumerate(("pt_BR", "pl_PL", "en_CA", "sv_SE")):
        fakers[loc] = Faker(loc)
        fakers[loc].seed_instance(seed + 120 + i)

    class _G:  # corpus._with_nulls reads only ``rnd``
        pass

    g = _G()
    g.rnd = rnd
    cols: list[LabelledColumn] = []

    def add(name, table, dtype, expected, make, null_rate=0.05, note=""):
        cols.append(LabelledColumn(ColumnSample(name, table, dtype, _with_nulls(g, make, null_rate)), expected, note))

    def pick(values):
        return lambda: rnd.choice(values)

    def weighted(values):
        # Customers cluster in the larger towns: the first of each list are drawn more often.
        weights = [1 / (i + 1) ** 0.7 for i in range(len(values))]
        return lambda: rnd.choices(values, weights)[0]

    # --- cities --------------------------------------------------------------------------------------------
    add("city", "customers_us", "varchar(60)", "PII.CITY", weighted(_split(CITIES["us"])))
    add("town", "members", "varchar(60)", "PII.CITY", weighted(_split(CITIES["gb"])))
    add("ville", "abonnes", "varchar(60)", "PII.CITY", weighted(_split(CITIES["fr"])))
    add("cidade", "clientes", "varchar(60)", "PII.CITY", weighted(_split(CITIES["br"])))
    add("gorod", "polzovateli", "varchar(60)", "PII.CITY", weighted(_split(CITIES["ru"])))
    add("ville_livraison", "commandes", "varchar(60)", "PII.CITY", weighted(_split(CITIES["exo"])))
    add("BILLINGCITY", "INVOICE", "VARCHAR2(40)", "PII.CITY",
        weighted(_split(CITIES["us"]) + _split(CITIES["gb"]) + _split(CITIES["br"])))
    # --- countries -----------------------------------------------------------------------------------------
    add("land", "mitglieder", "varchar(40)", "PII.COUNTRY", weighted(_split(COUNTRIES_DE)))
    add("paese", "clienti", "varchar(40)", "PII.COUNTRY", weighted(_split(COUNTRIES_IT)))
    add("country", "customers", "varchar(15)", "PII.COUNTRY", weighted(_split(COUNTRIES_EN)))
    add("country_iso3", "passengers", "char(3)", "PII.COUNTRY",
        pick("USA GBR FRA DEU ESP ITA NLD BEL CHE AUT SWE NOR DNK FIN POL PRT IRL CAN MEX BRA ARG JPN CHN IND"
             " AUS NZL ZAF EGY MAR TUR GRC".split()))
    # --- postal codes --------------------------------------------------------------------------------------
    add("postal_code", "customers", "varchar(10)", "PII.POSTAL_CODE", fakers["en_CA"].postcode)
    add("kod_pocztowy", "klienci", "varchar(6)", "PII.POSTAL_CODE", fakers["pl_PL"].postcode)
    add("cep", "clientes", "varchar(9)", "PII.POSTAL_CODE", fakers["pt_BR"].postcode)
    add("postnummer", "kunder", "varchar(6)", "PII.POSTAL_CODE", fakers["sv_SE"].postcode)

    def world_postcode():
        kind = rnd.randrange(6)
        digits = lambda n: "".join(rnd.choice(string.digits) for _ in range(n))  # noqa: E731
        letter = lambda: rnd.choice("ABCDEFGHJKLMNPRSTUWXYZ")  # noqa: E731
        if kind == 0:
            return digits(5)
        if kind == 1:
            area = rnd.choice(["SW", "EC", "W", "N", "SE", "NW", "B", "M", "L", "LS", "G", "EH", "BS", "CF", "OX"])
            return f"{area}{rnd.randint(1, 9)} {rnd.randint(1, 9)}{rnd.choice('ABDEFGHJLNPQRSTUWXYZ')}{letter()}"
        if kind == 2:
            return f"{digits(5)}-{digits(3)}"
        if kind == 3:
            return f"{rnd.randint(1000, 9999)} {letter()}{letter()}"
        if kind == 4:
            return f"{digits(3)} {digits(2)}"
        return digits(4)
    add("ship_postal_code", "orders", "varchar(10)", "PII.POSTAL_CODE", world_postcode,
        note="a world-wide shop's ship-to codes")
    # --- street addresses ----------------------------------------------------------------------------------
    add("endereco", "clientes", "varchar(120)", "PII.STREET_ADDRESS", fakers["pt_BR"].street_address)
    add("adres", "klienci", "varchar(120)", "PII.STREET_ADDRESS", fakers["pl_PL"].street_address)
    add("address", "employees", "varchar(120)", "PII.STREET_ADDRESS",
        lambda: f"{rnd.randint(1, 9999)}"
                f" {fakers['en_CA'].last_name() if rnd.random() < 0.5 else rnd.choice(_split(STREET_NAMES))}"
                f" {rnd.choice(STREET_TYPES)}")
    add("address1", "suppliers", "varchar(120)", "PII.STREET_ADDRESS", fakers["en_CA"].street_address)
    # --- birth dates ---------------------------------------------------------------------------------------
    today = date(2026, 1, 1)

    def born(low, high, fmt=None):
        def make():
            day = today - timedelta(days=rnd.randint(low * 365, high * 365))
            return day.strftime(fmt) if fmt else day
        return make
    add("birth_date", "employees", "date", "PII.DATE_OF_BIRTH", born(20, 66))
    add("dob", "patients", "varchar(10)", "PII.DATE_OF_BIRTH", born(1, 95, "%Y-%m-%d"),
        note="a clinic: children too, most adults")
    add("birthdate", "customers", "varchar(10)", "PII.DATE_OF_BIRTH", born(18, 85, "%m/%d/%Y"))
    add("date_naissance", "salaries", "timestamp", "PII.DATE_OF_BIRTH",
        lambda: datetime.combine(born(22, 64)(), datetime.min.time()))

    # --- confounders ---------------------------------------------------------------------------------------
    add("name", "products", "varchar(60)", None,
        lambda: f"{rnd.choice(['Boulevard', 'Avenue', 'Park Avenue', 'Main Street'])} {rnd.choice(NOUN)}"
                f" No. {rnd.randint(1, 40)}", note="street-like product names")
    add("model", "lamps", "varchar(30)", None,
        lambda: f"{rnd.choice(['ST', 'AVE', 'RD', 'BLVD'])}-{rnd.randint(100, 9999)}", note="street-like codes")
    add("title", "posters", "varchar(60)", None,
        lambda: f"Route {rnd.choice([1, 9, 66, 101])} {rnd.choice(ADJ)} {rnd.choice(NOUN)}",
        note="numbered titles with a street word")
    add("genre", "tracks", "varchar(40)", None, pick(_split(GENRES)), note="music and film genres")
    add("category", "products", "varchar(40)", None, pick(_split(CATEGORIES)), note="category labels")
    add("title", "films", "varchar(60)", None,
        lambda: f"{rnd.choice(ADJ)} {rnd.choice(['Paris', 'London', 'Berlin', 'Memphis', 'Chicago'])}"
                f" {rnd.choice(['Story', 'Nights', 'Affair', 'Express', 'Blues'])}", note="titles of works")
    add("state", "customers", "char(2)", None, pick(US_STATES), note="US state codes, not countries")
    add("state", "stores", "varchar(30)", None, weighted(_split(STATE_NAMES)), note="state names, not cities")
    add("lang", "profiles", "char(2)", None, pick("EN FR DE ES IT NL PT".split()), note="language codes")
    add("region", "sales", "varchar(20)", None,
        pick(["North America", "Europe", "Asia", "South America", "Africa", "Oceania"]), note="continents")
    add("hire_date", "employees", "date", None, lambda: date(1988, 1, 1) + timedelta(days=rnd.randint(0, 13500)),
        note="hire dates in a table of people")
    add("date_joined", "members", "varchar(10)", None,
        lambda: (date(2005, 1, 1) + timedelta(days=rnd.randint(0, 7300))).strftime("%d/%m/%Y"),
        note="sign-up dates in a table of people")
    add("last_login", "users", "timestamp", None,
        lambda: datetime(2025, 1, 1) + timedelta(minutes=rnd.randint(0, 500000)), note="timestamps with times")
    add("order_date", "customers_orders", "date", None,
        lambda: date(2015, 1, 1) + timedelta(days=rnd.randint(0, 3800)), note="order dates")
    add("release_date", "films", "date", None, lambda: date(1950, 1, 1) + timedelta(days=rnd.randint(0, 27000)),
        note="release dates spread over decades, not people")
    add("contract_end", "employees", "date", None, lambda: date(2026, 6, 1) + timedelta(days=rnd.randint(0, 2000)),
        note="future dates")
    add("loyalty_tier", "customers", "varchar(20)", None, pick(["Gold", "Silver", "Bronze", "Platinum"]),
        note="labels in a table of people")
    return cols
