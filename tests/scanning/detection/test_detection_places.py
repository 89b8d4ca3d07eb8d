"""Value-only recognizers for places (countries, cities, postal codes, street addresses): the reference data, each
column judge on positives in several languages, and the confounders it must refuse — also through the engine with
opaque column names (c1)."""
import random
from collections import Counter

import pytest

from scanning.detection import ColumnSample, detect_column
from scanning.detection import places as P
from scanning.detection.names import tokenize
from scanning.detection.reference import places as ref


def judge(fn, values, table="t"):
    counts = Counter(values)
    return fn(list(counts.items()), sum(counts.values()), tokenize(table))


def hidden(values, table="t", data_type="varchar(120)"):
    found = detect_column(ColumnSample("c1", table, data_type, values))
    return found.classification if found else None


def spread(values, n=60, seed=1):
    rnd = random.Random(seed)
    return [rnd.choice(values) for _ in range(n)]


# --- reference data -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, code", [
    ("Germany", "DE"), ("Allemagne", "DE"), ("Deutschland", "DE"), ("Alemania", "DE"), ("Germania", "DE"),
    ("Korea, Republic of", "KR"), ("Republic of Korea", "KR"), ("South Korea", "KR"), ("Corée, République de", "KR"),
    ("Marshall (Îles)", "MH"), ("Holy See (Vatican City State)", "VA"), ("Simbabwe", "ZW"), ("Япония", "JP"),
])
def test_country_names_in_many_languages(name, code):
    assert ref.country_of_name(name) == code


def test_former_countries_are_known_and_made_up_ones_are_not():
    assert ref.country_of_name("Yugoslavia") is not None
    assert ref.country_of_name("Yougoslavie") is not None
    assert ref.country_of_name("Ruritania") is None


@pytest.mark.parametrize("city", ["München", "Munich", "Monaco di Baviera", "Мюнхен", "Saint-Étienne", "St. Louis",
                                  "São Paulo", "Sao Paulo", "Nueva York", "東京"])
def test_major_cities_under_every_name(city):
    assert ref.place_tier(city) >= 2


def test_minor_places_and_unknown_words():
    assert ref.place_tier("Gransee") >= 1
    assert ref.place_tier("Ergonomic Steel Chair") == 0


def test_toponymy_is_learned_from_the_gazetteer():
    shaped = ref.toponymy().shaped
    assert all(shaped(ref.norm(v)) for v in ["Lake Marvinhaven", "Reynoldsville", "North Dorothy", "Grossendorf"])
    assert not any(shaped(ref.norm(v)) for v in ["Danielle Smith", "Chair", "Billing", "Technical"])


def test_gazetteer_membership_by_hash():
    g = ref._Gazetteer(["paris", "lyon", "lyon"])
    assert g.size == 2 and "paris" in g and "lyon" in g and "nice" not in g


def test_postal_patterns_come_from_the_address_data():
    assert ref.postal_countries("SW1A 1AA") == ("GB",)
    assert "NL" in ref.postal_countries("1234 AB")
    assert "CA" in ref.postal_countries("K1A 0B1")
    assert "US" in ref.postal_countries("12345-6789")
    assert ref.postal_countries("hello") == ()


# --- countries ------------------------------------------------------------------------------------------------

COUNTRIES_FR = ["France", "Allemagne", "Espagne", "Italie", "Belgique", "Suisse", "Royaume-Uni", "États-Unis",
                "Canada", "Maroc", "Algérie", "Tunisie", "Sénégal", "Portugal", "Pays-Bas"]


def test_country_names_and_codes():
    assert judge(P.country_column, spread(COUNTRIES_FR)) is not None
    assert judge(P.country_column, spread("FR DE ES IT BE CH GB US CA MA".split())) is not None
    assert judge(P.country_column, spread("FRA DEU ESP ITA BEL CHE GBR USA CAN MAR".split())) is not None
    assert hidden(spread(COUNTRIES_FR), table="clients") == "PII.COUNTRY"


@pytest.mark.parametrize("values", [
    "en fr de es it nl pt".split(),  # language codes
    "EN FR DE ES IT NL PT".split(),
    "EUR USD GBP CHF JPY CAD".split(),  # currencies
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO".split(),  # US states
    ["Europe", "Asia", "Africa", "Oceania", "North America", "South America"],  # continents
], ids=["languages", "languages upper", "currencies", "us-states", "continents"])
def test_code_and_region_columns_are_not_countries(values):
    assert judge(P.country_column, spread(values)) is None


# --- cities ---------------------------------------------------------------------------------------------------

CITIES = {
    "en": ["London", "Manchester", "Leeds", "Glasgow", "Bristol", "Cardiff", "Liverpool", "York", "Oxford", "Bath"],
    "de": ["Berlin", "Hamburg", "München", "Köln", "Frankfurt am Main", "Stuttgart", "Düsseldorf", "Leipzig",
           "Dortmund", "Essen"],
    "fr-exonyms": ["Londres", "Munich", "Milan", "Florence", "Lisbonne", "Varsovie", "Vienne", "Bruxelles",
                   "Genève", "Moscou"],
    "ru": ["Москва", "Санкт-Петербург", "Новосибирск", "Екатеринбург", "Казань", "Самара", "Омск", "Уфа"],
    "made-up towns": ["Lake Marvinhaven", "Reynoldsville", "Port Jennifer", "East Crystalport", "Farleytown",
                      "North Dorothy", "Smithville", "Monroeside", "New Amanda", "South Matthew"],
}


@pytest.mark.parametrize("language", list(CITIES))
def test_city_columns_in_several_languages(language):
    verdict = judge(P.city_column, spread(CITIES[language]))
    assert verdict is not None and verdict.share >= 0.8


SURNAMES = ["Smith", "Johnson", "Williams", "Jones", "Brown", "Davis", "Miller", "Wilson", "Moore", "Taylor",
            "Anderson", "Thomas", "Jackson", "White", "Harris", "Martin", "Thompson", "Garcia", "Martinez",
            "Robinson", "Clark", "Lewis", "Lee", "Walker", "Hall", "Allen", "Young", "King", "Wright", "Scott"]


def test_surnames_that_are_also_towns_are_at_most_a_weak_city():
    """Most of the commonest English surnames are also the name of a US town of 15,000 or more (Jackson, Allen,
    Davis): the values cannot tell them apart, so the suggestion stays below a real city column's."""
    surnames = judge(P.city_column, spread(SURNAMES))
    cities = judge(P.city_column, spread(CITIES["en"]))
    assert surnames is None or surnames.confidence < 0.7 <= cities.confidence


@pytest.mark.parametrize("values", [
    ["Rock", "Jazz", "Metal", "Blues", "Latin", "Reggae", "Pop", "Soundtrack", "Classical", "Opera"],
    ["Beverages", "Condiments", "Confections", "Dairy Products", "Produce", "Seafood", "Grains/Cereals"],
    ["Orange", "Olive", "Lime", "Salmon", "Navy", "Teal", "Maroon", "Silver", "Ivory", "Plum", "Indigo"],
    ["France", "Germany", "Spain", "Italy", "Portugal", "Belgium", "Austria", "Poland"],  # countries
    ["California", "Texas", "Florida", "Ohio", "Georgia", "Michigan", "Arizona", "Oregon", "Nevada", "Utah"],
    ["Ergonomic Steel Chair", "Rustic Wooden Table", "Sleek Cotton Shoes", "Small Granite Lamp",
     "Modern Rubber Mouse", "Compact Glass Bottle"],
], ids=["genres", "categories", "colours", "countries", "us-states", "products"])
def test_city_confounders(values):
    assert judge(P.city_column, spread(values)) is None


def test_few_distinct_values_say_nothing():
    assert judge(P.city_column, ["Paris", "London", "Berlin"] * 10) is None


# --- postal codes ---------------------------------------------------------------------------------------------

def _codes(make, n=60, seed=3):
    rnd = random.Random(seed)
    return [make(rnd) for _ in range(n)]


@pytest.mark.parametrize("make", [
    lambda r: f"{r.randint(1000, 9999)} {r.choice('ABCDEFGHJKLMNPRSTVWXZ')}{r.choice('ABCDEFGHJKLMNPRSTVWXZ')}",
    lambda r: f"{r.choice(['SW', 'EC', 'M', 'B', 'LS'])}{r.randint(1, 9)} {r.randint(1, 9)}"
              f"{r.choice('ABDEFGHJLNPQRSTUWXYZ')}{r.choice('ABDEFGHJLNPQRSTUWXYZ')}",
    lambda r: f"{r.randint(0, 99):02d}-{r.randint(0, 999):03d}",
    lambda r: f"{r.randint(10000, 99999)}" + (f"-{r.randint(0, 9999):04d}" if r.random() < 0.4 else ""),
], ids=["nl", "gb", "pl", "us zip+4 mix"])
def test_postal_codes_with_a_shape(make):
    assert judge(P.postal_column, _codes(make)) is not None


def test_bare_digit_codes_need_a_table_of_people_or_addresses():
    codes = _codes(lambda r: f"{r.randint(1000, 99999):05d}")
    assert judge(P.postal_column, codes, table="kunden") is not None
    assert judge(P.postal_column, codes, table="addresses") is not None
    assert judge(P.postal_column, codes, table="branches") is None


def test_sequential_numbers_and_integer_columns_are_not_postal_codes():
    assert judge(P.postal_column, [str(n) for n in range(10001, 10061)], table="customers") is None
    ints = _codes(lambda r: r.randint(10000, 99999))
    assert hidden(ints, table="customers", data_type="int") is None


@pytest.mark.parametrize("values", [
    ["2023-24", "2024-25", "2022-23"] * 20, ["05/27", "11/29", "01/31", "07/26", "12/28"] * 12,
    [f"SKU-{n}-AB" for n in range(10000, 10060)], [f"{n % 9}.{n % 7}.{n}.{n % 5}" for n in range(60)],
], ids=["academic years", "card expiry", "skus", "versions"])
def test_postal_confounders(values):
    assert judge(P.postal_column, values, table="customers") is None


# --- street addresses -----------------------------------------------------------------------------------------

STREETS = {
    "en": ["141 Hodges Mountains", "17066 Heather Grove Apt. 915", "8 Margaret Spur", "7835 Erica Trace",
           "22 Baker Street", "1600 Pennsylvania Avenue NW", "350 Fifth Avenue", "10 Downing Street"],
    "fr": ["214, avenue Charlotte Gilles", "8, rue Jeanne Henry", "1, boulevard Petit", "12 rue de la Paix",
           "3 place Bellecour", "45, chemin des Vignes", "7 impasse du Moulin", "19 quai des Chartrons"],
    "de": ["Hauptstraße 12", "Rose-Krebs-Straße 7", "Danielle-Dobes-Ring 4", "Goethestr. 3", "Marktweg 5",
           "Lindenallee 44", "Schillerplatz 1", "Bahnhofstraße 27a"],
    "es": ["Calle Mayor, 12", "Avenida de la Constitución 45", "Paseo del Prado 8", "Cuesta Ambrosio Porta 19",
           "Ronda Lucila Andres 837 Puerta 3", "Plaza Mayor 1", "Calle de Alcalá 100", "Camino Real 7"],
    "it": ["Via Roma 12", "Piazza Pellico, 59", "Contrada Danilo, 77", "Corso Vittorio Emanuele 10",
           "Viale Monza 21", "Vicolo Stretto 3", "Largo Augusto 8", "Via Garibaldi, 4 Appartamento 17"],
    "nl": ["Kerkstraat 12", "Thomstraat 7", "Lolahof 7", "Lucasboulevard 7", "Prinsengracht 263",
           "Stationsplein 1", "Dorpsweg 44", "Julianalaan 9"],
    "pl": ["ulica Paderewskiego 77", "al. Leszczynowa 70", "al. Leśna 74/39", "aleja Kolejowa 8",
           "ul. Marszałkowska 10", "ul. Długa 5", "plac Zamkowy 4", "ul. Piękna 22"],
}


@pytest.mark.parametrize("language", list(STREETS))
def test_street_addresses_in_several_languages(language):
    assert all(P.street_parts(v) for v in STREETS[language]), [v for v in STREETS[language] if not P.street_parts(v)]
    assert judge(P.street_column, STREETS[language] * 3) is not None


@pytest.mark.parametrize("values", [
    [f"{s} {n} No. {i}" for s in ["Boulevard", "Avenue", "Main Street"] for n in ["Lamp", "Sofa"] for i in range(5)],
    [f"{p}-{n}" for p in ["ST", "AVE", "RD", "BLVD"] for n in range(100, 112)],
    [f"Route {n} {a} Mug" for n in [1, 9, 66, 101] for a in ["Urban", "Classic", "Retro"]],
    [f"Park Avenue Sofa {n}" for n in range(1, 40)],  # one "street" name again and again
    ["Main Street", "Oak Avenue", "Baker Street", "Rue de la Paix", "Hauptstraße"] * 6,  # streets without numbers
    ["Please call me back at 5 pm on Main Street", "Delivered to the wrong door", "Left at reception"] * 5,
], ids=["products", "codes", "titles", "one-name", "no-number", "free-text"])
def test_street_confounders(values):
    assert judge(P.street_column, values) is None


def test_street_column_through_the_engine():
    values = STREETS["fr"] * 4 + [None] * 3
    assert hidden(values, table="clients") == "PII.STREET_ADDRESS"
