"""Fillers: the words that fill a template's slots, with every form the templates ask of them.

A :class:`Filler` holds its surface forms by name ("en", "en_in", "it_def", "it_di", ...)
and the canonical value it stands for. The constructors here derive those forms from a few
words and their grammar: :func:`noun` gives a noun phrase its English article and locative
and its Italian articles, articulated prepositions and agreeing endings, so the slot tables
(:mod:`.slot_tables`) only list the words. A new language adds its forms here.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .english import a_or_an, english_number
from .italian import articled, indefinite, italian_number


@dataclass(frozen=True, eq=False)
class Filler:
    """One way to fill a slot: surface forms by name, and the canonical value it stands for.

    ``value`` is None for fillers that add no meaning (an optional "please");
    ``more_slots`` holds slots a filler fixes besides its own ("three apples" sets
    ``quantity`` too, because the count and the noun must agree in both languages).
    """
    forms: Mapping[str, str]
    value: str | None
    more_slots: Mapping[str, str] = field(default_factory=dict)

    def __getattr__(self, name: str) -> str:
        # str.format resolves "{device.it_def}" here. Reading __dict__ rather than self.forms
        # keeps copy/pickle, which probe attributes before __init__ has run, from recursing.
        forms = self.__dict__.get("forms", {})
        try:
            return forms[name]
        except KeyError:
            raise AttributeError(name) from None


def phrase(en: str, it: str, value: str | None = None, **forms: str) -> Filler:
    """A fixed pair of phrases; its value is the English unless given."""
    return Filler({"en": en, "it": it, **forms}, en if value is None else value)


def noun(en: str, it: str, *, gender: str = "m", plural: bool = False, article: bool = True,
         value: str | None = None, en_in: str | None = None, it_in: str | None = None) -> Filler:
    """A noun phrase with every form templates ask of one.

    ``it`` is the bare Italian noun; ``article=False`` for names and phrases that take no
    article ("maria", "mia sorella", "papà"). ``en_in``/``it_in`` override the locative
    where usage is idiomatic rather than regular: "on the balcony", "in cucina".
    """
    def with_prep(prep: str) -> str:
        if article:
            return articled(prep, it, gender, plural)
        if not prep:
            return it
        if prep == "a" and it[0] == "a":  # euphonic d: "ad anna"
            return f"ad {it}"
        return f"{prep} {it}"

    ending = {("m", False): "o", ("f", False): "a", ("m", True): "i", ("f", True): "e"}[gender, plural]
    possessive = {("m", False): "il mio", ("f", False): "la mia",
                  ("m", True): "i miei", ("f", True): "le mie"}[gender, plural]
    forms = {
        "en": en,
        "en_a": en if plural else a_or_an(en),
        "en_be": "are" if plural else "is",
        "en_in": en_in or f"in the {en}",
        "it": it,
        "it_def": with_prep(""),
        "it_di": with_prep("di"),
        "it_a": with_prep("a"),
        "it_in": it_in or with_prep("in"),
        "it_indef": with_prep("di") if plural else indefinite(it, gender),  # plural: partitive "delle"
        "it_poss": possessive,
        "it_be": "sono" if plural else "è",
        "it_end": ending,  # adjective ending that agrees: acces+a, apert+e
    }
    return Filler(forms, en if value is None else value)


def _number(n: int) -> Filler:
    """A number as said: 'fifty' / 'cinquanta', with 'al cinquanta', "all'otto", 'allo zero'."""
    it = italian_number(n)
    return Filler({"en": english_number(n), "it": it, "it_a": articled("a", it, "m")}, str(n))


def numbers(lo: int, hi: int) -> tuple[Filler, ...]:
    """The numbers ``lo`` to ``hi`` inclusive, as :func:`_number` says them."""
    return tuple(_number(n) for n in range(lo, hi + 1))


def action(en: str, en_adj: str, it_imp: str, it_inf: str, it_adj: str) -> Filler:
    """A verb pair: English particle/verb and adjective, Italian imperative, infinitive and
    adjective stem (the device supplies the agreeing ending: acces+a)."""
    forms = {"en": en, "en_adj": en_adj, "it_imp": it_imp, "it_inf": it_inf, "it_adj": it_adj}
    return Filler(forms, None)  # the intent already says which action it is
