"""English for the synth grammar: number words, ordinals, "a"/"an", counted nouns.

English is said as the corpus transcribes it: American numbers without "and" ("one hundred
twenty three"), the indefinite article chosen by sound ("an hour", "a one hour"). The
Italian counterparts are in :mod:`.italian`; a new language gets a module like these two.
"""
from __future__ import annotations

_EN_SMALL = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
             "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
             "eighteen", "nineteen")
_EN_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_EN_IRREGULAR_ORDINALS = {"one": "first", "two": "second", "three": "third", "five": "fifth",
                          "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}


def english_number(n: int) -> str:
    """Spoken English for 0-999, American style without "and": 'one hundred twenty three'."""
    if not 0 <= n < 1000:
        raise ValueError(f"{n} is outside 0-999")
    if n < 20:
        return _EN_SMALL[n]
    if n < 100:
        tens, unit = divmod(n, 10)
        return _EN_TENS[tens] + (f" {_EN_SMALL[unit]}" if unit else "")
    hundreds, rest = divmod(n, 100)
    return f"{_EN_SMALL[hundreds]} hundred" + (f" {english_number(rest)}" if rest else "")


def english_ordinal(n: int) -> str:
    """'first', 'twelfth', 'twentieth', 'twenty third': only the last word changes."""
    *head, last = english_number(n).split()
    if last in _EN_IRREGULAR_ORDINALS:
        last = _EN_IRREGULAR_ORDINALS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return " ".join([*head, last])


def a_or_an(phrase: str) -> str:
    """English indefinite article by sound: 'an eight minute', 'an hour', but 'a one hour'."""
    first = phrase.split()[0]
    vowel_sound = first[0] in "aeiou" and not first.startswith(("one", "uni", "eu"))
    return ("an " if vowel_sound or first.startswith("hour") else "a ") + phrase


def english_counts(n: int, singular: str, plural: str) -> list[str]:
    """'an hour' and 'one hour' for 1, 'two hours' otherwise."""
    if n == 1:
        return [a_or_an(singular), f"one {singular}"]
    return [f"{english_number(n)} {plural}"]
