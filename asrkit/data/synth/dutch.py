"""Dutch for the synth grammar: number words, articles, counts.

Dutch agrees less than Italian or German: nouns have no case, the definite article is "de"
or "het" ("de keuken", "het licht"; "de" for every plural) and the indefinite one "een".
Number words are written as one word with the unit first, joined by "en", which takes a
diaeresis after a unit ending in e ("eenentwintig", "tweeëntwintig", "honderdtwee"); the
number one is written "één" where it is the numeral ("om één uur", "één appel") and "een"
where it is the article ("een appel"). After a number "uur" stays singular ("twee uur").

Everything is lower case and unpunctuated, as in the other languages of the corpus (so
"italiaanse muziek", not "Italiaanse muziek"). The English, Italian and German
counterparts are in :mod:`.english`, :mod:`.italian` and :mod:`.german`.
"""
from __future__ import annotations

_NL_SMALL = ("nul", "één", "twee", "drie", "vier", "vijf", "zes", "zeven", "acht", "negen", "tien",
             "elf", "twaalf", "dertien", "veertien", "vijftien", "zestien", "zeventien", "achttien",
             "negentien")
_NL_TENS = ("", "", "twintig", "dertig", "veertig", "vijftig", "zestig", "zeventig", "tachtig", "negentig")


def dutch_number(n: int) -> str:
    """Dutch cardinal for 0-999 as one word: 'eenentwintig', 'tweeëntwintig', 'honderdtwee'.

    One alone is "één"; inside a word it loses its accents ("eenentwintig", "honderdeen").
    """
    if not 0 <= n < 1000:
        raise ValueError(f"{n} is outside 0-999")
    if n < 20:
        return _NL_SMALL[n]
    if n < 100:
        tens, unit = divmod(n, 10)
        if unit == 0:
            return _NL_TENS[tens]
        unit_word = "een" if unit == 1 else _NL_SMALL[unit]
        return unit_word + ("ën" if unit_word.endswith("e") else "en") + _NL_TENS[tens]
    hundreds, rest = divmod(n, 100)
    word = "honderd" if hundreds == 1 else _NL_SMALL[hundreds] + "honderd"
    if rest == 0:
        return word
    return word + ("een" if rest == 1 else dutch_number(rest))


GENDERS = ("de", "het", "pl")  # named by the definite article they take


def definite(noun: str, gender: str) -> str:
    """'de keuken', 'het licht', 'de lichten'."""
    if gender not in GENDERS:
        raise ValueError(f"Dutch gender {gender!r} is not one of {GENDERS}")
    return f"{'het' if gender == 'het' else 'de'} {noun}"


def indefinite(noun: str, gender: str) -> str:
    """'een afspraak', 'een sollicitatiegesprek'; a plural stays bare ('slaapliedjes')."""
    if gender not in GENDERS:
        raise ValueError(f"Dutch gender {gender!r} is not one of {GENDERS}")
    return noun if gender == "pl" else f"een {noun}"


def dutch_count(n: int, singular: str, plural: str, stressed: bool = False) -> str:
    """'een minuut' ('één minuut' when ``stressed``: the English said 'one', not 'a'), 'twee minuten'."""
    if n == 1:
        return f"{'één' if stressed else 'een'} {singular}"
    return f"{dutch_number(n)} {plural}"
