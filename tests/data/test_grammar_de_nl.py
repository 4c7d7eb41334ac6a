"""The grammar's German and Dutch: number words, articles, and agreement with the English.

Agreement is checked by reading the translations back, independently of how they were
made: a number slot's value must appear as its number word, a time's value must be what
the German and Dutch clock readings say, a duration's what the counted units add up to,
a date's day and month must be there, and names must be kept. The English and Italian of
every seed are pinned in tests/data/test_grammar.py.
"""
from __future__ import annotations

import random
import re

import pytest

from asrkit.data.synth.dutch import dutch_count, dutch_number
from asrkit.data.synth.german import (
    determined,
    german_attributive,
    german_count,
    german_number,
    german_ordinal,
    with_preposition,
)
from asrkit.data.synth.grammar import (
    LANGUAGES,
    TEMPLATES,
    TRANSLATION_KEYS,
    Utterance,
    _fields,
    _group,
    sample_utterance,
)
from asrkit.data.synth.slot_tables import (
    CITIES,
    CONTACTS,
    COUNTED_ITEMS,
    COVERS,
    EVENTS,
    LISTS,
    PLEASE,
    ROOMS,
    SWITCHABLES,
    TIMER_LABELS,
    TURN_ON,
    UNCOUNTED_ITEMS,
    _FIRST_NAMES,
)

# Written out here rather than read from the tables, so that the checks are independent.
GERMAN_MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
                 "Oktober", "November", "Dezember")
DUTCH_MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
                "oktober", "november", "december")
RELATIVE_DAYS = {  # value: (German, Dutch)
    "today": ("heute", "vandaag"), "tomorrow": ("morgen", "morgen"),
    "day_after_tomorrow": ("übermorgen", "overmorgen"), "monday": ("am Montag", "op maandag"),
    "tuesday": ("am Dienstag", "op dinsdag"), "wednesday": ("am Mittwoch", "op woensdag"),
    "thursday": ("am Donnerstag", "op donderdag"), "friday": ("am Freitag", "op vrijdag"),
    "saturday": ("am Samstag", "op zaterdag"), "sunday": ("am Sonntag", "op zondag"),
    "tonight": ("heute Abend", "vanavond"), "weekend": ("dieses Wochenende", "dit weekend"),
    "next_week": ("nächste Woche", "volgende week"),
}
CITY_NAMES = {  # value: (German, Dutch)
    "rome": ("Rom", "rome"), "munich": ("München", "münchen"), "the hague": ("Den Haag", "den haag"),
    "cairo": ("Kairo", "caïro"), "london": ("London", "londen"), "venice": ("Venedig", "venetië"),
    "cape town": ("Kapstadt", "kaapstad"), "geneva": ("Genf", "genève"), "new york": ("New York", "new york"),
}
ENGLISH_DAYPARTS = ("in the morning", "in the afternoon", "in the evening", "at night", "noon")
DE_WORDS = {german_number(n): n for n in range(60)} | {"ein": 1, "eine": 1, "einer": 1, "einen": 1}
NL_WORDS = {dutch_number(n): n for n in range(60)} | {"een": 1}
# Nouns of the German templates' own words: written lower case they would be misspelt
GERMAN_TEMPLATE_NOUNS = {"uhr", "grad", "prozent", "wecker", "timer", "lautstärke", "temperatur", "helligkeit",
                         "kalender", "nachricht", "erinnerung", "musik", "wetter", "vorhersage", "regenschirm",
                         "besprechungen", "zeit", "thermostat", "minuten", "stunden", "sekunden", "sms",
                         "videoanruf", "lautsprecher", "terminplan", "mitternacht", "viertel"}
GERMAN_DETERMINERS = {"der", "die", "das", "den", "dem", "ein", "eine", "einen", "einem", "einer", "kein", "keine",
                      "keinen", "mein", "meine", "meinen", "meinem", "meiner", "im", "vom", "zum", "zur", "am"}


@pytest.fixture(scope="module")
def samples() -> list[Utterance]:
    rng = random.Random(2024)
    return [sample_utterance(rng) for _ in range(6000)]


# ---------------------------------------------------------------------------------------
# Number words, articles, counts
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("n, word", [
    (0, "null"), (1, "eins"), (6, "sechs"), (7, "sieben"), (11, "elf"), (16, "sechzehn"), (17, "siebzehn"),
    (20, "zwanzig"), (21, "einundzwanzig"), (30, "dreißig"), (31, "einunddreißig"), (66, "sechsundsechzig"),
    (77, "siebenundsiebzig"), (100, "hundert"), (101, "hunderteins"), (102, "hundertzwei"), (111, "hundertelf"),
    (121, "hunderteinundzwanzig"), (200, "zweihundert"), (999, "neunhundertneunundneunzig"),
])
def test_german_number_words(n, word):
    assert german_number(n) == word


def test_german_one_before_a_noun_is_ein():
    assert [german_attributive(n) for n in (1, 2, 21, 101)] == ["ein", "zwei", "einundzwanzig", "hundertein"]


@pytest.mark.parametrize("n, word", [
    (1, "ersten"), (2, "zweiten"), (3, "dritten"), (7, "siebten"), (8, "achten"), (16, "sechzehnten"),
    (19, "neunzehnten"), (20, "zwanzigsten"), (21, "einundzwanzigsten"), (31, "einunddreißigsten"),
    (101, "hundertersten"),
])
def test_german_ordinals(n, word):
    assert german_ordinal(n) == word


@pytest.mark.parametrize("n, word", [
    (0, "nul"), (1, "één"), (8, "acht"), (13, "dertien"), (14, "veertien"), (20, "twintig"), (21, "eenentwintig"),
    (22, "tweeëntwintig"), (23, "drieëntwintig"), (24, "vierentwintig"), (80, "tachtig"), (88, "achtentachtig"),
    (100, "honderd"), (101, "honderdeen"), (102, "honderdtwee"), (122, "honderdtweeëntwintig"),
    (300, "driehonderd"), (999, "negenhonderdnegenennegentig"),
])
def test_dutch_number_words(n, word):
    assert dutch_number(n) == word


@pytest.mark.parametrize("function", [german_number, dutch_number])
def test_numbers_outside_0_to_999_are_refused(function):
    for n in (-1, 1000):
        with pytest.raises(ValueError, match="outside 0-999"):
            function(n)


@pytest.mark.parametrize("args, expected", [
    (("in", "der", "Küche", "f"), "in der Küche"),
    (("in", "der", "Wohnzimmer", "n"), "im Wohnzimmer"),
    (("in", "der", "Flur", "m"), "im Flur"),
    (("von", "der", "Fernseher", "m"), "vom Fernseher"),
    (("von", "der", "Lichter", "pl"), "von den Lichtern"),
    (("von", "der", "Jalousien", "pl"), "von den Jalousien"),
    (("zu", "der", "Einkaufsliste", "f"), "zur Einkaufsliste"),
    (("mit", "mein", "Bruder", "m"), "mit meinem Bruder"),
    (("mit", "der", "Babysitterin", "f"), "mit der Babysitterin"),
    (("in", "", "Rom", "n"), "in Rom"),
])
def test_german_prepositions_take_the_dative_and_fuse(args, expected):
    assert with_preposition(*args) == expected


def test_german_articles_follow_gender_and_case():
    assert [determined("der", "Ventilator", "m", case) for case in ("nom", "acc", "dat")] == [
        "der Ventilator", "den Ventilator", "dem Ventilator"]
    assert determined("der", "Lampe", "f", "acc") == "die Lampe"
    assert determined("der", "Licht", "n", "nom") == "das Licht"
    assert determined("ein", "Apfel", "m", "acc") == "einen Apfel"
    assert determined("ein", "Äpfel", "pl", "acc") == "Äpfel"
    assert determined("kein", "Zucker", "m", "acc") == "keinen Zucker"
    assert determined("mein", "Schwester", "f", "dat") == "meiner Schwester"
    with pytest.raises(ValueError, match="gender"):
        determined("der", "Licht", "x", "nom")


def test_counts_agree_with_their_noun():
    assert german_count(1, "Minute", "Minuten", "f") == "eine Minute"
    assert german_count(1, "Stunde", "Stunden", "f", "dat") == "einer Stunde"
    assert german_count(2, "Minuten", "Minuten", "f") == "zwei Minuten"
    assert german_count(1, "Ei", "Eier", "n") == "ein Ei"
    assert german_count(3, "Ei", "Eier", "n") == "drei Eier"
    assert dutch_count(1, "minuut", "minuten") == "een minuut"
    assert dutch_count(1, "minuut", "minuten", stressed=True) == "één minuut"
    assert dutch_count(21, "minuut", "minuten") == "eenentwintig minuten"
    assert dutch_count(2, "uur", "uur") == "twee uur"


# ---------------------------------------------------------------------------------------
# Templates: every language, every field
# ---------------------------------------------------------------------------------------

def test_every_template_has_every_language_with_the_same_fields():
    assert LANGUAGES == ("en", "it", "de", "nl")
    for template in TEMPLATES:
        names = {name for name, _ in template.tables}
        for language in LANGUAGES:
            fmt = getattr(template, language)
            assert fmt.strip(), (template.en, language)
            assert {name for name, _ in _fields(fmt)} == names, (template.en, language)
            assert all(form.split("_")[0] == language for _, form in _fields(fmt)), (template.en, language)


def test_a_template_missing_a_language_or_using_another_ones_form_is_refused():
    with pytest.raises(ValueError, match="not one per language"):
        _group("device_on", (("turn {action.en}", "{action.it_imp}", "{action.de_imp}"),), action=(TURN_ON,))
    with pytest.raises(ValueError, match="of another language"):
        _group("device_on", (("turn {action.en}", "{action.it_imp}", "{action.it_imp}", "{action.nl_imp}"),),
               action=(TURN_ON,))
    with pytest.raises(ValueError, match="different fields"):
        _group("device_on", (("{please.en} turn {action.en}", "{please.it} {action.it_imp}", "{action.de_imp}",
                              "{please.nl} {action.nl_imp}"),), action=(TURN_ON,), please=PLEASE)
    with pytest.raises(ValueError, match="have no form"):
        _group("call_contact", (("call {contact.en}", "chiama {contact.it_def}", "ruf {contact.de_indef} an",
                                 "bel {contact.nl_def}"),), contact=CONTACTS)


def test_translations_are_filled_single_spaced_and_unpunctuated(samples):
    for u in samples:
        for text in (u.german, u.dutch):
            assert text and "{" not in text and "}" not in text, u
            assert text == " ".join(text.split()), u
            assert text[-1] not in ".?!,;:", u
        assert u.german != u.english and u.dutch != u.english, u
        assert u.dutch == u.dutch.lower(), u


def test_translation_keys_name_the_utterance_attributes(samples):
    assert TRANSLATION_KEYS == {"it": "italian", "de": "german", "nl": "dutch"}
    u = samples[0]
    assert [u.translation(code) for code in ("it", "de", "nl")] == [u.italian, u.german, u.dutch]
    with pytest.raises(ValueError, match="translates into it, de, nl"):
        u.translation("fr")


# ---------------------------------------------------------------------------------------
# German nouns are capitalised
# ---------------------------------------------------------------------------------------

def test_german_nouns_in_the_tables_are_capitalised():
    tables = (ROOMS, SWITCHABLES, COVERS, EVENTS, TIMER_LABELS, LISTS, CONTACTS, CITIES, UNCOUNTED_ITEMS)
    for filler in (f for table in tables for f in table):
        assert filler.de.split()[-1][0].isupper(), filler.de  # the head noun ends the phrase
    for filler in COUNTED_ITEMS:
        assert filler.de.split()[-1][0].isupper(), filler.de


def test_german_sentences_capitalise_nouns_and_nothing_else(samples):
    for u in samples:
        words = u.german.replace("Den Haag", "Haag").split()  # a city's name, capitalised
        assert not GERMAN_TEMPLATE_NOUNS & set(words), u.german
        for i, word in enumerate(words[:-1]):
            if word in GERMAN_DETERMINERS:  # a noun follows, perhaps after one adjective
                assert any(w[0].isupper() for w in words[i + 1:i + 3]), u.german
            if word[0].isupper():
                assert word.lower() not in GERMAN_DETERMINERS | {"und", "um", "für", "in", "auf"}, u.german


# ---------------------------------------------------------------------------------------
# Agreement with the English, read back from the translations
# ---------------------------------------------------------------------------------------

def test_numbers_agree_across_the_four_languages(samples):
    checked = 0
    for u in samples:
        de, nl = u.german.split(), u.dutch.split()
        for name in ("temperature", "brightness", "volume", "x", "y"):
            if name in u.slots:
                n = int(u.slots[name])
                assert german_number(n) in de or german_attributive(n) in de, (name, u)
                assert dutch_number(n) in nl, (name, u)
                checked += 1
        if "quantity" in u.slots:
            n = int(u.slots["quantity"])
            if n == 1:
                assert {"ein", "eine", "einen"} & set(de) and {"een", "één"} & set(nl), u
            else:
                assert german_number(n) in de and dutch_number(n) in nl, u
            checked += 1
    assert checked > 1000


def _read_german_clock(text: str) -> tuple[int, int, str | None]:
    """(hour % 12, minutes, "am"/"pm"/None) of the time said in a German sentence."""
    hours = "|".join(sorted((german_number(h) for h in range(1, 13)), key=len, reverse=True)) + "|ein"
    part = next((p for p, words in (("am", ("nachts", "morgens", "vormittags")),
                                    ("pm", ("mittags", "nachmittags", "abends")))
                 if set(words) & set(text.split())), None)
    if "Mitternacht" in text:
        return 0, 0, "am"
    if m := re.search(rf"\bViertel (nach|vor) ({hours})\b", text):
        h = DE_WORDS[m[2]]
        return (h if m[1] == "nach" else h - 1) % 12, 15 if m[1] == "nach" else 45, part
    if m := re.search(rf"\bhalb ({hours})\b", text):
        return (DE_WORDS[m[1]] - 1) % 12, 30, part
    if m := re.search(rf"\b({hours}) Uhr(?: (\w+))?", text):
        minutes = DE_WORDS.get(m[2], 0) if m[2] else 0
        return DE_WORDS[m[1]] % 12, minutes, part
    m = re.search(rf"\b(?:um|für) ({hours})\b", text)
    return DE_WORDS[m[1]] % 12, 0, part


def _read_dutch_clock(text: str) -> tuple[int, int, str | None]:
    hours = "|".join(sorted((dutch_number(h) for h in range(1, 13)), key=len, reverse=True))
    part = next((p for p, words in (("am", ("'s nachts", "'s ochtends")), ("pm", ("'s middags", "'s avonds")))
                 if any(w in text for w in words)), None)
    if "middernacht" in text:
        return 0, 0, "am"
    if m := re.search(rf"\bkwart (over|voor) ({hours})\b", text):
        h = NL_WORDS[m[2]]
        return (h if m[1] == "over" else h - 1) % 12, 15 if m[1] == "over" else 45, part
    if m := re.search(rf"\bhalf ({hours})\b", text):
        return (NL_WORDS[m[1]] - 1) % 12, 30, part
    if m := re.search(rf"\b({hours}) uur(?: (\w+))?", text):
        minutes = NL_WORDS.get(m[2], 0) if m[2] else 0
        return NL_WORDS[m[1]] % 12, minutes, part
    m = re.search(rf"\b(?:om|voor) ({hours})\b(?! (?:{'|'.join(DUTCH_MONTHS)}))", text)  # not "voor één maart"
    return NL_WORDS[m[1]] % 12, 0, part


def test_times_agree_across_the_four_languages(samples):
    timed = [u for u in samples if "time" in u.slots]
    assert len(timed) > 500
    for u in timed:
        hour, minutes = map(int, u.slots["time"].split(":"))
        said_daypart = any(p in u.english for p in ENGLISH_DAYPARTS) or "midnight" in u.english
        for reading in (_read_german_clock(u.german), _read_dutch_clock(u.dutch)):
            assert reading[:2] == (hour % 12, minutes), (reading, u)
            assert (reading[2] is not None) == said_daypart, (reading, u)
            if said_daypart:
                assert reading[2] == ("pm" if hour >= 12 else "am"), (reading, u)


def test_known_clock_readings():
    from asrkit.data.synth.slot_tables import TIMES

    said = {(f.en, f.de_at, f.nl_at) for f in TIMES}
    for expected in [("one o'clock", "um ein Uhr", "om één uur"), ("one", "um eins", "om één"),
                     ("half past seven", "um halb acht", "om half acht"),
                     ("half past twelve", "um halb eins", "om half één"),
                     ("quarter to eight", "um Viertel vor acht", "om kwart voor acht"),
                     ("seven oh five", "um sieben Uhr fünf", "om zeven uur vijf"),
                     ("half past seven in the evening", "um halb acht abends", "om half acht 's avonds"),
                     ("midnight", "um Mitternacht", "om middernacht")]:
        assert expected in said


def _seconds(words: list[str], numbers: dict[str, int], units: dict[str, int],
             phrases: dict[str, int]) -> int:
    text = " ".join(words)
    total = 0
    for phrase, seconds in phrases.items():
        if phrase in text:
            total += seconds
            text = text.replace(phrase, "")
    words = text.split()
    return total + sum(numbers[a] * units[b] for a, b in zip(words, words[1:]) if a in numbers and b in units)


def test_durations_agree_across_the_four_languages(samples):
    de_units = {w: s for ws, s in ((("Sekunde", "Sekunden"), 1), (("Minute", "Minuten"), 60),
                                   (("Stunde", "Stunden"), 3600)) for w in ws}
    nl_units = {"seconde": 1, "seconden": 1, "minuut": 60, "minuten": 60, "uur": 3600}
    de_phrases = {"halbe Stunde": 1800, "halben Stunde": 1800, "Viertelstunde": 900,
                  "eineinhalb Stunden": 5400, "eineinhalb Minuten": 90}
    nl_phrases = {"anderhalf uur": 5400, "anderhalve minuut": 90, "half uur": 1800, "kwartier": 900}  # longest first
    timed = [u for u in samples if "duration" in u.slots]
    assert len(timed) > 300
    for u in timed:
        value = int(u.slots["duration"])
        assert _seconds(u.german.split(), DE_WORDS, de_units, de_phrases) == value, u
        assert _seconds(u.dutch.split(), NL_WORDS, nl_units, nl_phrases) == value, u


def test_dates_agree_across_the_four_languages(samples):
    dated = [u for u in samples if "date" in u.slots]
    assert len(dated) > 500
    for u in dated:
        value = u.slots["date"]
        if m := re.fullmatch(r"(\d\d)-(\d\d)", value):
            month, day = int(m[1]), int(m[2])
            assert f"{german_ordinal(day)} {GERMAN_MONTHS[month - 1]}" in u.german, u
            assert f"{dutch_number(day)} {DUTCH_MONTHS[month - 1]}" in u.dutch, u
        else:
            de, nl = RELATIVE_DAYS[value]
            assert de.split()[-1] in u.german.split() and nl.split()[-1] in u.dutch.split(), u


def test_names_are_kept_in_every_language(samples):
    named = [u for u in samples if u.slots.get("contact") in _FIRST_NAMES]
    assert len(named) > 100
    for u in named:
        name = u.slots["contact"]
        assert name in u.english.split() and name in u.italian.split() and name in u.dutch.split(), u
        assert name.capitalize() in u.german.split(), u
    for u in samples:
        if u.slots.get("city") in CITY_NAMES:
            de, nl = CITY_NAMES[u.slots["city"]]
            assert f"in {de}" in u.german and f"in {nl}" in u.dutch, u
