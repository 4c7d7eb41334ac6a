"""Italian for the synth grammar: number words, articles, articulated prepositions, counts.

The rules that make Italian agree: elision ("l'ingresso", "un'ora"), lo/gli before s+consonant
and z ("lo studio", "gli irrigatori"), a preposition fused with its article ("della cucina",
"nello studio", "all'una"), and a count agreeing with its noun ("un minuto", "due minuti").
The English counterparts are in :mod:`.english`.
"""
from __future__ import annotations

_IT_SMALL = ("zero", "uno", "due", "tre", "quattro", "cinque", "sei", "sette", "otto", "nove",
             "dieci", "undici", "dodici", "tredici", "quattordici", "quindici", "sedici",
             "diciassette", "diciotto", "diciannove")
_IT_TENS = ("", "", "venti", "trenta", "quaranta", "cinquanta", "sessanta", "settanta",
            "ottanta", "novanta")


def italian_number(n: int) -> str:
    """Italian cardinal for 0-999 as one word: 'ventitré', 'ventuno', 'ventotto', 'centottanta'."""
    if not 0 <= n < 1000:
        raise ValueError(f"{n} is outside 0-999")
    if n < 20:
        return _IT_SMALL[n]
    if n < 100:
        tens, unit = divmod(n, 10)
        word = _IT_TENS[tens]
        if unit == 0:
            return word
        if unit in (1, 8):  # the tens drop their vowel before uno and otto: ventuno, trentotto
            word = word[:-1]
        return word + ("tré" if unit == 3 else _IT_SMALL[unit])  # a final tre is stressed: ventitré
    hundreds, rest = divmod(n, 100)
    word = "cento" if hundreds == 1 else _IT_SMALL[hundreds] + "cento"
    if rest == 0:
        return word
    if rest // 10 == 8:  # centottanta; before uno and otto both spellings are current, we keep cento
        word = word[:-1]
    return word + ("tré" if rest == 3 else italian_number(rest))


_IT_VOWELS = "aeiouàèéìòù"
# Articulated prepositions are the preposition's stem glued to the article: de+lla, ne+llo.
_IT_PREP_STEMS = {"di": "de", "a": "a", "da": "da", "in": "ne", "su": "su"}


def _it_elides(word: str) -> bool:
    """Vowel-initial words (and a silent h: "l'hip hop") take l' and un'."""
    return word[0] in _IT_VOWELS or word[0] == "h"


def _it_takes_lo(word: str) -> bool:
    """Masculine words that take lo/gli/uno: s+consonant, z, x, y, gn, ps, pn."""
    return (word[0] in "zxy" or word[:2] in ("gn", "ps", "pn")
            or (word[0] == "s" and len(word) > 1 and word[1] not in _IT_VOWELS))


def _glue(article: str, word: str) -> str:
    return article + word if article.endswith("'") else f"{article} {word}"


def definite_article(word: str, gender: str, plural: bool = False) -> str:
    """il, lo, l', la, i, gli, le for a phrase starting with ``word``; gender is "m" or "f"."""
    if gender == "f":
        return "le" if plural else ("l'" if _it_elides(word) else "la")
    if plural:
        return "gli" if _it_elides(word) or _it_takes_lo(word) else "i"
    if _it_elides(word):
        return "l'"
    return "lo" if _it_takes_lo(word) else "il"


def articled(prep: str, phrase: str, gender: str, plural: bool = False) -> str:
    """``phrase`` with its definite article, fused with ``prep`` if one is given.

    ``articled("di", "cucina", "f")`` is "della cucina", ``articled("in", "studio", "m")``
    "nello studio", ``articled("a", "una", "f")`` "all'una", ``articled("", "zero", "m")``
    "lo zero".
    """
    article = definite_article(phrase, gender, plural)
    if prep:
        article = _IT_PREP_STEMS[prep] + {"il": "l", "i": "i", "gli": "gli"}.get(article, "l" + article)
    return _glue(article, phrase)


def indefinite(phrase: str, gender: str) -> str:
    """'un minuto', 'uno yogurt', 'una mela', "un'arancia"."""
    if gender == "f":
        return _glue("un'" if _it_elides(phrase) else "una", phrase)
    return _glue("uno" if _it_takes_lo(phrase) else "un", phrase)


def italian_count(n: int, singular: str, plural: str, gender: str) -> str:
    """'un'ora', 'due ore'; 'ventuno minuti' (the shortened 'ventun minuti' is optional)."""
    return indefinite(singular, gender) if n == 1 else f"{italian_number(n)} {plural}"
