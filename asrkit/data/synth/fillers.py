"""Fillers: the words that fill a template's slots, with every form the templates ask of them.

A :class:`Filler` holds its surface forms by name ("en", "en_in", "it_def", "it_di",
"de_acc", "nl_def", ...) and the canonical value it stands for. The constructors here derive
those forms from a few words and their grammar: :func:`noun` gives a noun phrase its English
article and locative, its Italian articles, articulated prepositions and agreeing endings,
its German articles in each case and fused prepositions, and its Dutch article, so the slot
tables (:mod:`.slot_tables`) only list the words. A new language adds its forms here.

Form names start with the language ("en", "it", "de", "nl"); the rest says the form:
"_def" definite article, "_indef" indefinite, "_in" locative, "_di"/"_a"/"_von"/"_zu" a
preposition with its article, "_acc"/"_dat"/"_nom" a German case, "_be" the agreeing "is".
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from . import dutch, german
from .dutch import dutch_number
from .english import a_or_an, english_number
from .german import german_attributive, german_number
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


def phrase(en: str, it: str, value: str | None = None, *, de: str, nl: str, **forms: str) -> Filler:
    """A fixed phrase in the four languages; its value is the English unless given."""
    return Filler({"en": en, "it": it, "de": de, "nl": nl, **forms}, en if value is None else value)


def noun(en: str, it: str, *, gender: str = "m", plural: bool = False, article: bool = True,
         value: str | None = None, en_in: str | None = None, it_in: str | None = None,
         de: tuple[str, str], de_det: str = "der", de_in: str | None = None,
         nl: tuple[str, str], nl_article: bool = True, nl_in: str | None = None) -> Filler:
    """A noun phrase with every form templates ask of one.

    ``it`` is the bare Italian noun; ``article=False`` for names and phrases that take no
    article ("maria", "mia sorella", "papà"). ``en_in``/``it_in``/``de_in``/``nl_in``
    override the locative where usage is idiomatic rather than regular: "on the balcony",
    "in cucina", "auf dem Dachboden", "op zolder".

    ``de`` is the German noun and its gender, ("Küche", "f"), ("Lichter", "pl"), and
    ``de_det`` its determiner: "der" (the article), "mein" ("meine Schwester") or "" (names).
    ``nl`` is the Dutch noun and the article it takes, ("keuken", "de"), ("licht", "het"),
    ("lichten", "pl"); ``nl_article=False`` for names and "mijn zus". Gender and number are
    each language's own: "christmas lights" is one "Lichterkette" and "homework" "compiti".
    Forms that need an article (indefinite, "kein", "mein") exist only for nouns that take
    one, so a template asking a name for "einen" fails at import.
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
    forms.update(_german_noun(*de, de_det, de_in))
    forms.update(_dutch_noun(*nl, nl_article, nl_in))
    return Filler(forms, en if value is None else value)


def _german_noun(noun: str, gender: str, det: str, locative: str | None) -> dict[str, str]:
    """German forms: "de" bare ("Licht"), "de_nom"/"de_acc"/"de_dat" with the determiner in
    each case, "de_in"/"de_von"/"de_zu" fused with their preposition ("im Wohnzimmer", "vom
    Fernseher", "zur Einkaufsliste"), "de_be" ("ist"/"sind"); and for nouns with an article
    "de_indef" ("einen Termin"), "de_kein" ("keinen Zucker"), "de_my" ("meine Einkaufsliste",
    accusative) and "de_my_next" ("mein nächster Termin", nominative)."""
    forms = {
        "de": noun,
        **{f"de_{case}": german.determined(det, noun, gender, case) for case in ("nom", "acc", "dat")},
        "de_in": locative or german.with_preposition("in", det, noun, gender),
        "de_von": german.with_preposition("von", det, noun, gender),
        "de_zu": german.with_preposition("zu", det, noun, gender),
        "de_be": "sind" if gender == "pl" else "ist",
    }
    if det == "der":
        forms.update({
            "de_indef": german.determined("ein", noun, gender, "acc"),
            "de_kein": german.determined("kein", noun, gender, "acc"),
            "de_my": german.determined("mein", noun, gender, "acc"),
            "de_my_next": german.my_next(noun, gender),
        })
    return forms


def _dutch_noun(noun: str, gender: str, article: bool, locative: str | None) -> dict[str, str]:
    """Dutch forms: "nl" bare, "nl_def" ("de keuken", "het licht"; a name as it is), "nl_in",
    "nl_be" ("is"/"zijn"); and for nouns with an article "nl_indef" ("een afspraak") and
    "nl_my" ("mijn boodschappenlijst")."""
    the = dutch.definite(noun, gender) if article else noun
    forms = {"nl": noun, "nl_def": the, "nl_in": locative or f"in {the}",
             "nl_be": "zijn" if gender == "pl" else "is"}
    if article:
        forms.update({"nl_indef": dutch.indefinite(noun, gender), "nl_my": f"mijn {noun}"})
    return forms


def _number(n: int) -> Filler:
    """A number as said: 'fifty' / 'cinquanta' / 'fünfzig' / 'vijftig', with 'al cinquanta',
    "all'otto", 'allo zero', and German 'ein' before a noun ('ein Prozent', alone 'eins')."""
    it = italian_number(n)
    forms = {"en": english_number(n), "it": it, "it_a": articled("a", it, "m"),
             "de": german_number(n), "de_attr": german_attributive(n), "nl": dutch_number(n)}
    return Filler(forms, str(n))


def numbers(lo: int, hi: int) -> tuple[Filler, ...]:
    """The numbers ``lo`` to ``hi`` inclusive, as :func:`_number` says them."""
    return tuple(_number(n) for n in range(lo, hi + 1))


def action(en: str, en_adj: str, it_imp: str, it_inf: str, it_adj: str, *,
           de: tuple[str, str, str, str], nl: tuple[str, str, str, str]) -> Filler:
    """A verb: English particle/verb and adjective, Italian imperative, infinitive and
    adjective stem (the device supplies the agreeing ending: acces+a); German and Dutch
    (imperative, separable particle, infinitive, adjective), ("schalte", "ein", "einschalten",
    "an"), ("zet", "aan", "aanzetten", "aan"): the particle closes the clause ("schalte das
    Licht in der Küche ein") and is "" for verbs that have none ("öffne", "open")."""
    forms = {"en": en, "en_adj": en_adj, "it_imp": it_imp, "it_inf": it_inf, "it_adj": it_adj}
    for lang, words in (("de", de), ("nl", nl)):
        forms.update(zip((f"{lang}_imp", f"{lang}_part", f"{lang}_inf", f"{lang}_adj"), words))
    return Filler(forms, None)  # the intent already says which action it is
