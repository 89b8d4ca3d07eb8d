"""Corpus additions for the value-only people recognisers (issue 12, item 7): more people columns in other
languages, single-letter gender codes, and the confounders these recognisers must refuse — product names,
music genres, category labels, titles of works, colours, weekdays, German surnames' look-alikes (nouns ending
in -er), free text and codes — each of which looks like names one value at a time.

The confounders are written here, not drawn from Faker, so that the name lists the recognisers use and the
generator of the positives stay independent.
"""
from __future__ import annotations

GENRES = ("Rock", "Jazz", "Metal", "Alternative & Punk", "Blues", "Latin", "Reggae", "Pop", "Soundtrack",
          "Classical", "Opera", "Country", "Folk", "Soul", "Funk", "Disco", "Gospel", "Techno", "House",
          "Hip Hop", "Bossa Nova", "Easy Listening", "Heavy Metal", "R&B", "World")
CATEGORIES = ("Electronics", "Books", "Garden", "Toys", "Sports", "Beauty", "Grocery", "Automotive", "Music",
              "Movies", "Health", "Jewelry", "Shoes", "Kitchen", "Baby", "Office", "Outdoors", "Tools", "Pets")
WORKS = ("Emma", "Hamlet", "Macbeth", "Othello", "Dracula", "Rebecca", "Matilda", "Ulysses", "Carrie", "Lolita",
         "Frankenstein", "Persuasion", "Middlemarch", "Beloved", "Siddhartha", "Candide", "Ivanhoe", "Heidi",
         "Oliver Twist", "Jane Eyre", "Anna Karenina", "Madame Bovary", "Don Quixote", "The Trial",
         "War and Peace", "The Great Gatsby", "Moby Dick", "Les Misérables", "Der Zauberberg", "Faust",
         "Il Gattopardo", "Cien años de soledad", "Casablanca", "Vertigo", "Psycho", "Rocky", "Amélie",
         "Annie Hall", "Forrest Gump", "Jerry Maguire", "Billy Elliot", "Erin Brockovich", "Juno", "Lincoln")
COLOURS = ("Red", "Blue", "Green", "Black", "White", "Brown", "Grey", "Pink", "Purple", "Orange", "Yellow",
           "Silver", "Gold", "Beige", "Navy", "Olive", "Rose", "Violet", "Amber", "Ruby", "Ivory", "Coral")
DAYS_MONTHS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "January",
               "February", "March", "April", "May", "June", "July", "August", "September", "October",
               "November", "December")
TOOLS = ("Hammer", "Drill", "Ladder", "Heater", "Printer", "Scanner", "Router", "Blender", "Toaster", "Mixer",
         "Cooler", "Speaker", "Charger", "Adapter", "Monitor", "Projector", "Sticker", "Poster", "Marker", "Folder")
ADJECTIVES = ("Quick", "Silent", "Golden", "Urban", "Wild", "Lucky", "Happy", "Smart", "Bright", "Royal")


def add_people(g, add, product) -> None:
    """Append the people columns and their confounders through ``corpus.build_corpus``'s ``add``."""
    rnd = g.rnd
    # --- positives in more languages -------------------------------------------------------------------------
    add("full_name", "clientes", "varchar(120)", "PII.PERSON_NAME", g.f("es_ES").name)
    add("nome_completo", "clienti", "varchar(120)", "PII.PERSON_NAME", g.f("it_IT").name)
    add("naam", "medewerkers", "varchar(120)", "PII.PERSON_NAME",
        lambda: f"{g.f('nl_NL').first_name()} {g.f('nl_NL').last_name()}")
    add("vorname", "patienten", "varchar(60)", "PII.FIRST_NAME", g.f("de_DE").first_name)
    add("nome", "studenti", "varchar(60)", "PII.FIRST_NAME", g.f("it_IT").first_name)
    add("nom", "salaries", "varchar(60)", "PII.LAST_NAME", g.f("fr_FR").last_name)
    add("apellido", "socios", "varchar(60)", "PII.LAST_NAME", g.f("es_ES").last_name)
    add("surname", "pupils", "varchar(60)", "PII.LAST_NAME", g.f("en_GB").last_name)
    add("raison_sociale", "fournisseurs", "varchar(120)", "ORG.COMPANY_NAME", g.f("fr_FR").company)
    add("firmenname", "lieferanten", "varchar(120)", "ORG.COMPANY_NAME", g.f("de_DE").company)
    add("job_title", "staff", "varchar(120)", "PII.JOB_TITLE", g.f("en_GB").job)
    add("beruf", "versicherte", "varchar(120)", "PII.JOB_TITLE", g.f("de_DE").job)
    add("login", "utilisateurs", "varchar(64)", "PII.USERNAME", g.f("fr_FR").user_name)
    add("usuario", "cuentas", "varchar(64)", "PII.USERNAME", g.f("es_ES").user_name)
    for name, table, pair in [("sexe", "assures", "HF"), ("geschlecht", "mitglieder", "MW"), ("gender", "staff", "MF"),
                              ("geslacht", "leden", "MV")]:
        add(name, table, "char(1)", "PII.GENDER",
            lambda pair=pair: rnd.choice(pair) if rnd.random() < 0.97 else "X")
    # --- confounders ---------------------------------------------------------------------------------------
    add("name", "genres", "varchar(40)", None, lambda: rnd.choice(GENRES), note="music genres")
    add("genre", "tracks", "varchar(40)", None, lambda: rnd.choice(GENRES), note="music genres, repeated")
    add("name", "categories", "varchar(40)", None, lambda: rnd.choice(CATEGORIES), note="category labels")
    add("title", "films", "varchar(80)", None, lambda: rnd.choice(WORKS), note="titles of works, some of them names")
    add("colour", "variants", "varchar(20)", None, lambda: rnd.choice(COLOURS), note="colours that are surnames")
    add("day", "shifts", "varchar(12)", None, lambda: rnd.choice(DAYS_MONTHS), note="weekdays and months")
    add("item", "inventory", "varchar(40)", None, lambda: rnd.choice(TOOLS), note="nouns ending like agent nouns")
    add("product", "catalogue", "varchar(80)", None,
        lambda: f"{rnd.choice(ADJECTIVES)} {rnd.choice(TOOLS)} {rnd.randint(100, 999)}", note="product models")
    add("name", "items", "varchar(80)", None, product, note="product names")
    add("model_code", "parts", "varchar(20)", None,
        lambda: f"{rnd.choice(ADJECTIVES).lower()}-{rnd.randint(10, 999)}", note="lower-case codes like handles")
    add("size", "garments", "char(1)", None, lambda: rnd.choice("SML"), note="one-letter sizes")
    add("priority", "tickets", "char(1)", None, lambda: rnd.choice("HML"), note="one-letter priorities")
    add("active", "accounts", "char(1)", None, lambda: rnd.choice("YN"), note="one-letter flags")
    add("headline", "news", "varchar(120)", None, lambda: g.f("en_US").sentence(nb_words=6), note="free text")
