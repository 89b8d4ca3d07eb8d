"""Value-only people recognisers (scanning/detection/reference/people.py): with the column name hidden, the
values alone decide — positives in several languages, and look-alikes that must be refused."""
import pytest

from scanning.detection import ColumnSample, detect_column
from scanning.detection.reference import people


def hidden(values, data_type="varchar(120)"):
    return detect_column(ColumnSample("c7", "t", data_type, values))


def classified(values, data_type="varchar(120)"):
    found = hidden(values, data_type)
    return found.classification if found else None


FIRST = ["James", "Marie", "Jürgen", "Giorgio", "Sofía", "Lars", "Aurélie", "Pieter", "Ingrid", "Mohamed",
         "Chiara", "Thomas", "Heike", "Joaquín", "Anneke", "Emma", "Luca", "Nathalie", "Olga", "Sven"]
LAST = ["Smith", "Dubois", "Müller", "García", "Rossi", "Jansen", "Kowalski", "Novak", "Fernández", "Bianchi",
        "Schneider", "Lefebvre", "Johnson", "Nguyen", "Patel", "Moreau", "Romano", "Fischer", "Hansen", "Silva"]
FULL = ["Dr. Anna Maria Rossi", "Jean-Pierre Martin", "Hans Müller", "María García López", "Pieter van der Berg",
        "John Smith", "Sophie Lefebvre", "Giulia Bianchi", "Lars Hansen", "Priya Patel", "Frau Ingrid Schneider",
        "Carlos Fernández", "Emma Johnson", "Luca Romano", "Chloé Moreau", "Jan Kowalski", "Olga Novak",
        "Ahmed Hassan", "Thomas Fischer", "Ana Silva"]
COMPANIES = ["Müller GmbH", "Dupont SARL", "Rossi S.p.A.", "Jansen B.V.", "Smith Ltd", "Acme Inc.",
             "Pérez y García S.L.", "Schneider AG", "Bianchi e Figli", "Martin et Fils", "Johnson & Sons",
             "Moreau SAS", "Fischer KG", "Hansen A/S", "Nguyen LLC", "Silva Lda", "Novak s.r.o.", "Kowalski Sp. z o.o."]
JOBS = ["Software Engineer", "Accountant", "Registered Nurse", "Sales Manager", "Ingénieur d'études", "Bäcker",
        "Técnico de laboratorio", "Architecte", "Data Analyst", "Elektriker", "Abogado", "Journaliste",
        "Project Coordinator", "Enfermera", "Teacher", "Infirmière", "Mechaniker", "Pharmacist"]
HANDLES = ["jsmith", "marie.dubois", "hmueller42", "garcia_sofia", "lrossi", "pieter-jansen", "thomas77",
           "nguyen.anh", "cbianchi", "emma_johnson", "lars.hansen", "fischer_t", "moreau88", "apatel", "silva.ana",
           "kowalski_jan", "olga.novak", "giorgio1985"]


@pytest.mark.parametrize(("values", "expected"), [
    (FIRST, "PII.FIRST_NAME"), (LAST, "PII.LAST_NAME"), (FULL, "PII.PERSON_NAME"),
    (COMPANIES, "ORG.COMPANY_NAME"), (JOBS * 2, "PII.JOB_TITLE"), (HANDLES, "PII.USERNAME"),
])
def test_multilingual_positives_without_a_column_name(values, expected):
    assert classified(values) == expected


@pytest.mark.parametrize("values", [
    ["M", "F", "F", "M", "M", "F", "F", "M"] * 5,  # English, French, Italian
    ["H", "F", "H", "F", "F", "H"] * 5,  # homme / femme
    ["M", "W", "W", "M", "W", "M"] * 5 + ["X"],  # männlich / weiblich, one X
])
def test_single_letter_gender_codes(values):
    assert classified(values, "char(1)") == "PII.GENDER"


@pytest.mark.parametrize("values", [
    ["S", "M", "L", "M", "S", "L"] * 5,  # sizes
    ["H", "M", "L", "H", "M", "L"] * 5,  # priorities
    ["Y", "N", "Y", "N"] * 5,  # flags
])
def test_single_letters_that_are_not_genders(values):
    assert classified(values, "char(1)") is None


@pytest.mark.parametrize("values", [
    ["Rock", "Jazz", "Metal", "Blues", "Latin", "Reggae", "Pop", "Classical", "Opera", "Country", "Folk",
     "Soul", "Funk", "Disco", "Gospel", "Techno", "House"] * 5,  # genres, repeated
    ["Emma", "Hamlet", "Macbeth", "Othello", "Dracula", "Rebecca", "Matilda", "Ulysses", "Carrie", "Heidi",
     "Jane Eyre", "Oliver Twist", "Don Quixote", "The Trial", "War and Peace", "Moby Dick", "Faust"],  # works
    ["Red", "Blue", "Green", "Black", "White", "Brown", "Grey", "Pink", "Rose", "Violet"] * 5,  # colours
    ["Madrid", "Girona", "Córdoba", "Sevilla", "Toledo", "Murcia", "Palencia", "Jaén"] * 6,  # repeated cities
    ["Hammer", "Drill", "Ladder", "Heater", "Printer", "Scanner", "Router", "Blender", "Toaster", "Mixer"] * 5,
    ["Ergonomic Steel Chair", "Rustic Wooden Table", "Sleek Cotton Shoes", "Small Granite Lamp",
     "Modern Rubber Gloves", "Classic Leather Jacket", "Premium Glass Bottle", "Compact Bamboo Keyboard"] * 3,
    ["quick-123", "quick-456", "lucky-12", "lucky-98", "happy-7", "happy-77", "royal-1", "royal-2"] * 3,
    ["The meeting is moved to Monday.", "Please call back tomorrow.", "Shipped with the wrong colour."] * 5,
])
def test_confounders_are_refused(values):
    # No people class; a column of cities is a city column (scanning/detection/places.py), nothing else.
    assert classified(values) in ((None, "PII.CITY") if "Madrid" in values else (None,))


def test_reference_is_loaded_once_and_multilingual():
    ref = people.reference()
    assert ref is people.reference()
    assert {"giorgio", "jurgen", "aurelie", "joaquin"} <= set(ref.first)  # folded: Jürgen → jurgen
    assert {"smith", "garcia", "rossi", "mueller"} <= set(ref.last)
    assert {"gmbh", "sarl", "spa", "bv", "ltd"} <= ref.legal_forms
    assert "engineer" in ref.job_heads


def test_company_needs_more_than_a_crf_reading():
    # The CRF reads product names as corporations; without legal forms they are not companies.
    assert not people.company_column([(t, 1) for t in ["Ergonomic Steel Chair", "Rustic Wooden Table",
                                                         "Sleek Cotton Shoes", "Small Granite Lamp",
                                                         "Modern Rubber Gloves", "Classic Leather Jacket"]])


def test_name_shapes():
    assert people.is_full_name_shape("Dipl.-Ing. Urban Fiebig B.Sc.")
    assert not people.is_full_name_shape("Smith and Sons")
    assert people.is_name_word("van der Berg")
    assert not people.is_name_word("rock")  # names are capitalised
    assert people.has_legal_form("Rossi S.p.A.") and not people.has_legal_form("AB de Villiers")
