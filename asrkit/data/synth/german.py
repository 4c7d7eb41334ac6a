"""German for the synth grammar: number words, ordinals, articles in three cases, counts.

What makes German agree here: the article follows the noun's gender (der, die, das; die in
the plural) and its case, nominative for a subject ("ist das Licht an"), accusative for an
object ("schalte den Ventilator ein"), dative after "in", "von", "zu", "mit" ("in der
Küche"); a preposition fuses with its article where German always fuses it ("im
Wohnzimmer", "vom Fernseher", "zur Einkaufsliste"); a plural noun takes -n in the dative
("von den Lichtern"); "eins" is "ein" before a noun ("ein Uhr", "ein Prozent"), and a count
agrees with its noun ("eine Minute", "zwei Minuten", "einen Apfel").

Nouns are capitalised, as German writes them; every other word is lower case, as in the
other languages of the corpus, and there is no punctuation (so no comma before "dass").
The English, Italian and Dutch counterparts are in :mod:`.english`, :mod:`.italian` and
:mod:`.dutch`.
"""
from __future__ import annotations

_DE_SMALL = ("null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun", "zehn",
             "elf", "zwölf", "dreizehn", "vierzehn", "fünfzehn", "sechzehn", "siebzehn", "achtzehn",
             "neunzehn")
_DE_TENS = ("", "", "zwanzig", "dreißig", "vierzig", "fünfzig", "sechzig", "siebzig", "achtzig", "neunzig")
# Ordinal stems that are not the cardinal plus -t: erst-, dritt-, siebt-, acht-
_DE_ORDINAL_STEMS = {1: "erst", 3: "dritt", 7: "siebt", 8: "acht"}


def german_number(n: int) -> str:
    """German cardinal for 0-999 as one word: 'einundzwanzig', 'hundertzwei', 'dreihundertelf'.

    The unit comes before the tens, joined by "und", and one is "ein" inside a word
    ("einundzwanzig") but "eins" at its end ("hunderteins"); a hundred is "hundert".
    """
    if not 0 <= n < 1000:
        raise ValueError(f"{n} is outside 0-999")
    if n < 20:
        return _DE_SMALL[n]
    if n < 100:
        tens, unit = divmod(n, 10)
        if unit == 0:
            return _DE_TENS[tens]
        return ("ein" if unit == 1 else _DE_SMALL[unit]) + "und" + _DE_TENS[tens]
    hundreds, rest = divmod(n, 100)
    word = "hundert" if hundreds == 1 else _DE_SMALL[hundreds] + "hundert"
    return word + (german_number(rest) if rest else "")


def german_attributive(n: int) -> str:
    """The number said before a noun: 'ein Prozent', 'einundzwanzig Prozent' ('eins' loses its s)."""
    word = german_number(n)
    return word[:-1] if word.endswith("eins") else word


def german_ordinal(n: int, ending: str = "en") -> str:
    """Ordinal stem plus ``ending``: 'ersten', 'dritten', 'siebten', 'zwanzigsten', 'einunddreißigsten'.

    The weak ending "en" is what a date takes after "am" and "den" ("am dritten März").
    Stems are the cardinal plus -t below 20 and plus -st from 20 on.
    """
    if not 1 <= n < 1000:
        raise ValueError(f"{n} is outside 1-999")
    rest = n % 100
    if 0 < rest < 20:
        head = german_number(n - rest) if n >= 100 else ""
        return head + _DE_ORDINAL_STEMS.get(rest, _DE_SMALL[rest] + "t") + ending
    return german_number(n) + "st" + ending


GENDERS = ("m", "f", "n", "pl")  # the plural behaves like a fourth gender for articles
_DEFINITE = {"nom": ("der", "die", "das", "die"), "acc": ("den", "die", "das", "die"),
             "dat": ("dem", "der", "dem", "den")}
# Endings of the ein-words (ein, kein, mein); "ein" itself has no plural
_EIN_ENDINGS = {"nom": ("", "e", "", "e"), "acc": ("en", "e", "", "e"), "dat": ("em", "er", "em", "en")}
_FUSED = {("in", "dem"): "im", ("von", "dem"): "vom", ("zu", "dem"): "zum", ("zu", "der"): "zur",
          ("an", "dem"): "am", ("bei", "dem"): "beim"}
_DATIVE_PREPOSITIONS = ("in", "von", "zu", "mit", "an", "bei", "auf")  # "in der Küche": where, not where to


def _check_gender(gender: str) -> int:
    if gender not in GENDERS:
        raise ValueError(f"German gender {gender!r} is not one of {GENDERS}")
    return GENDERS.index(gender)


def dative_plural(noun: str) -> str:
    """A plural noun phrase in the dative: its head (the first capitalised word) takes -n
    unless it already ends in -n or -s ('Lichtern', 'Fenstern', but 'Jalousien', 'Autos')."""
    words = noun.split()
    for i, word in enumerate(words):
        if word[0].isupper():
            if word[-1] in "elr":  # -e, -el, -er plurals: Kekse, Äpfel, Lichter
                words[i] = word + "n"
            break
    return " ".join(words)


def determined(det: str, noun: str, gender: str, case: str) -> str:
    """``noun`` with its determiner in ``case`` ("nom", "acc" or "dat").

    ``det`` is "der" (the definite article), one of the ein-words "ein", "kein", "mein",
    or "" for none (names: "Maria", "Mama"). ``determined("der", "Ventilator", "m", "acc")``
    is "den Ventilator", ``determined("mein", "Schwester", "f", "dat")`` "meiner Schwester",
    ``determined("ein", "Äpfel", "pl", "acc")`` "Äpfel".
    """
    i = _check_gender(gender)
    if gender == "pl" and case == "dat":
        noun = dative_plural(noun)
    if det == "":
        return noun
    if det == "der":
        return f"{_DEFINITE[case][i]} {noun}"
    if det not in ("ein", "kein", "mein"):
        raise ValueError(f"German determiner {det!r} is not der, ein, kein, mein or ''")
    if det == "ein" and gender == "pl":
        return noun
    return f"{det}{_EIN_ENDINGS[case][i]} {noun}"


def with_preposition(prep: str, det: str, noun: str, gender: str) -> str:
    """A dative preposition and its noun phrase, fused where German fuses them: 'in der Küche',
    'im Wohnzimmer', 'vom Fernseher', 'zur Einkaufsliste', 'mit meinem Bruder', 'in Rom'."""
    if prep not in _DATIVE_PREPOSITIONS:
        raise ValueError(f"{prep!r} is not a dative preposition ({', '.join(_DATIVE_PREPOSITIONS)})")
    phrase = determined(det, noun, gender, "dat")
    article, _, rest = phrase.partition(" ")
    if det == "der" and (prep, article) in _FUSED:
        return f"{_FUSED[prep, article]} {rest}"
    return f"{prep} {phrase}"


def my_next(noun: str, gender: str) -> str:
    """'mein nächster Termin', 'meine nächste Besprechung', 'mein nächstes Telefonat' (nominative:
    after an ein-word the adjective shows the gender)."""
    adjective = "nächst" + ("er", "e", "es", "en")[_check_gender(gender)]
    determiner = determined("mein", noun, gender, "nom").split(" ", 1)[0]
    return f"{determiner} {adjective} {noun}"


def german_count(n: int, singular: str, plural: str, gender: str, case: str = "acc") -> str:
    """'eine Minute', 'einer Stunde' (dative), 'einen Apfel', 'ein Ei'; 'zwei Minuten', 'drei Eier'."""
    if n == 1:
        return determined("ein", singular, gender, case)
    return f"{german_number(n)} {dative_plural(plural) if case == 'dat' else plural}"
