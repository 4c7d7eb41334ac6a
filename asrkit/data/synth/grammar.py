"""Synchronous grammar of spoken commands and questions to a home assistant.

Each utterance is generated once and comes out in parallel forms: the English sentence as
spoken (lowercase, numbers spelled out; upper-cased it is a LibriSpeech-style transcript),
its Italian, German and Dutch translations (the targets of MuST-C's en-it, en-de and en-nl
pairs, :data:`TRANSLATION_KEYS`), an intent label and the slot values in canonical form
(numbers as digits, times ``HH:MM``, dates ``MM-DD``, durations in seconds). That gives
speech recognition, speech translation and spoken language understanding targets for the
same synthetic audio.

The grammar is declarative. A :class:`Template` is a format string per language,
``"turn on the {room.en} {device.en}"`` / ``"accendi {device.it_def} {room.it_di}"`` /
``"schalte {device.de_acc} {room.de_in} ein"`` / ``"zet {device.nl_def} {room.nl_in} aan"``,
whose fields name slot tables; a table is a tuple of :class:`Filler`, each holding its
surface forms by name and its canonical value. Nothing is decided outside the tables, so
the sentence count (:func:`num_sentences`), enumeration (:func:`iter_english`) and
vocabulary (:func:`vocabulary`) are exact. The random draws depend on the English alone
(its fields, in order): the translations are read off the fillers drawn, so adding a
language leaves every seed's English and Italian as they were.

Agreement lives in the fillers, not in the templates: a noun knows its gender and number in
each language, so one template says "della cucina", "nello studio", "dell'ingresso" and
"le luci sono accese", or "in der Küche", "im Wohnzimmer" and "den Ventilator"; a time knows
"all'una" from "alle due" and "um ein Uhr" from "um eins"; a count knows "un minuto" from "due
minuti" and "eine Minute" from "einer Minute". Number words come from small functions, not
tables.

This module holds the templates, sampling and enumeration. The rest, from the bottom up:

- :mod:`.english`, :mod:`.italian`, :mod:`.german`, :mod:`.dutch`: each language's number
  words, articles and counts;
- :mod:`.fillers`: :class:`~.fillers.Filler` and the constructors that give a word every
  form the templates ask of it (:func:`~.fillers.noun`, :func:`~.fillers.phrase`, ...);
- :mod:`.slot_tables`: the words themselves, ``ROOMS``, ``TIMES``, ``CONTACTS``, ...

A new language adds a module beside :mod:`.english` and the others, its forms to
:mod:`.fillers`, its words to :mod:`.slot_tables`, its format string to each template and
its code to :data:`LANGUAGES` (and :data:`TRANSLATION_KEYS`).
"""
from __future__ import annotations

import itertools
import math
import random
import re
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from .fillers import Filler
from .slot_tables import (
    CITIES,
    CLOSE,
    CONDITIONS,
    CONTACTS,
    COUNTED_ITEMS,
    COVERS,
    COVER_STATES,
    DATES,
    DAYS,
    DIVISORS,
    DURATIONS,
    EVENTS,
    GENRES,
    LIGHTS,
    LISTS,
    MEDIA_ACTIONS,
    MESSAGES,
    OPEN,
    OPERANDS,
    OPERATORS,
    PERCENTS,
    PLEASE,
    ROOMS,
    SHUT,
    SPEAKERS,
    SWITCHABLES,
    SWITCH_STATES,
    TASKS,
    TEMPERATURES,
    TIMER_LABELS,
    TIMES,
    TURN_OFF,
    TURN_ON,
    UNCOUNTED_ITEMS,
    UNIT_DURATIONS,
    VOLUMES,
)


@dataclass(frozen=True)
class Utterance:
    english: str  # lowercase spoken form, words and in-word apostrophes only
    italian: str
    german: str  # nouns capitalised, the rest lowercase, as :mod:`.german` writes it
    dutch: str
    intent: str
    slots: dict[str, str]

    @property
    def transcript(self) -> str:
        return self.english.upper()

    def translation(self, language: str) -> str:
        """The translation into ``language``, a MuST-C target code ("de", "it", "nl")."""
        if language not in TRANSLATION_KEYS:
            raise ValueError(f"no {language!r} translation: the grammar translates into {', '.join(TRANSLATION_KEYS)}")
        return getattr(self, TRANSLATION_KEYS[language])


# MuST-C target language code -> the Utterance attribute and metadata/<split>.jsonl key holding it
TRANSLATION_KEYS = {"it": "italian", "de": "german", "nl": "dutch"}
LANGUAGES = ("en", "it", "de", "nl")  # the format strings of a Template, English first


# ---------------------------------------------------------------------------------------
# Templates
# ---------------------------------------------------------------------------------------

_FORMATTER = string.Formatter()


def _fields(fmt: str) -> list[tuple[str, str]]:
    """("device", "it_def") for each "{device.it_def}" in ``fmt``, in order."""
    return [tuple(name.split(".", 1)) for _, name, _, _ in _FORMATTER.parse(fmt) if name is not None]


def _spoken(text: str) -> str:
    # Empty optional fillers ("please" left out) leave double spaces behind.
    return " ".join(text.split())


@dataclass(frozen=True)
class Template:
    """One phrasing of an intent: English, Italian, German and Dutch format strings over
    named slot tables.

    ``tables`` lists (field, fillers) in order of first use in the English; the field name
    is the slot name. Sampling draws the fillers in that order, so the English alone decides
    the random draws: the translations are read off the fillers drawn.
    """
    intent: str
    en: str
    it: str
    de: str
    nl: str
    tables: tuple[tuple[str, tuple[Filler, ...]], ...]

    def size(self) -> int:
        return math.prod(len(fillers) for _, fillers in self.tables)

    def realise(self, choice: Mapping[str, Filler]) -> Utterance:
        slots = {}
        for name, filler in choice.items():
            if filler.value is not None:
                slots[name] = filler.value
            slots.update(filler.more_slots)
        english, italian, german, dutch = (_spoken(fmt.format(**choice))
                                           for fmt in (self.en, self.it, self.de, self.nl))
        return Utterance(english, italian, german, dutch, self.intent, slots)


def _group(intent: str, phrasings: tuple[tuple[str, str, str, str], ...], **tables) -> list[Template]:
    """Templates for ``intent``, one per (English, Italian, German, Dutch) phrasing, over ``tables``.

    Checked here, at import, so a grammar mistake fails loudly rather than as a KeyError
    in the middle of corpus synthesis: every language uses the same fields, and only its own
    forms ("{device.de_acc}" in the German), every filler has every form asked of it, and
    English fields stand as whole words so that :func:`vocabulary` can read words off the
    tables.
    """
    templates = []
    for phrasing in phrasings:
        if len(phrasing) != len(LANGUAGES):
            raise ValueError(f"{intent}: {phrasing[0]!r} has {len(phrasing)} format strings, not one per "
                             f"language ({', '.join(LANGUAGES)})")
        en = phrasing[0]
        names = list(dict.fromkeys(name for name, _ in _fields(en)))
        if re.search(r"[^ ]\{|\}[^ ]", en):
            raise ValueError(f"{intent}: {en!r} glues a field to a word")
        for language, fmt in zip(LANGUAGES, phrasing):
            fields = _fields(fmt)
            if set(names) != {name for name, _ in fields}:
                raise ValueError(f"{intent}: {en!r} and its {language} {fmt!r} use different fields")
            for name, form in fields:
                if name not in tables:
                    raise ValueError(f"{intent}: {en!r} uses {name!r}, which has no table")
                if form.split("_", 1)[0] != language:
                    raise ValueError(f"{intent}: the {language} {fmt!r} uses the form {form!r} of another language")
                missing = [f.value for f in tables[name] if form not in f.forms]
                if missing:
                    raise ValueError(f"{intent}: fillers {missing[:3]} of {name!r} have no form {form!r}")
        templates.append(Template(intent, *phrasing, tuple((name, tuple(tables[name])) for name in names)))
    return templates


# Word order in German and Dutch: the verb's particle closes a command ("schalte das Licht in
# der Küche ein", "zet de lamp in de keuken aan"), an infinitive closes a question ("kannst du
# das Licht einschalten", "kun je de lamp aanzetten"), and the verb closes a clause after
# "dass"/"dat" ("ich möchte dass das Licht an ist"). "please" follows the verb ("schalte bitte",
# "zet alsjeblieft").

_SWITCH_PHRASINGS = (
    ("{please.en} turn {action.en} the {device.en}", "{please.it} {action.it_imp} {device.it_def}",
     "{action.de_imp} {please.de} {device.de_acc} {action.de_part}",
     "{action.nl_imp} {please.nl} {device.nl_def} {action.nl_part}"),
    ("{please.en} turn {action.en} the {room.en} {device.en}",
     "{please.it} {action.it_imp} {device.it_def} {room.it_di}",
     "{action.de_imp} {please.de} {device.de_acc} {room.de_in} {action.de_part}",
     "{action.nl_imp} {please.nl} {device.nl_def} {room.nl_in} {action.nl_part}"),
    ("turn the {device.en} {action.en} {room.en_in}", "{action.it_imp} {device.it_def} {room.it_in}",
     "{action.de_imp} {device.de_acc} {room.de_in} {action.de_part}",
     "{action.nl_imp} {device.nl_def} {room.nl_in} {action.nl_part}"),
    ("switch {action.en} the {device.en} {room.en_in}", "{action.it_imp} {device.it_def} {room.it_in}",
     "{action.de_imp} {device.de_acc} {room.de_in} {action.de_part}",
     "{action.nl_imp} {device.nl_def} {room.nl_in} {action.nl_part}"),
    ("can you turn {action.en} the {room.en} {device.en}",
     "puoi {action.it_inf} {device.it_def} {room.it_di}",
     "kannst du {device.de_acc} {room.de_in} {action.de_inf}",
     "kun je {device.nl_def} {room.nl_in} {action.nl_inf}"),
    ("i want the {device.en} {room.en_in} {action.en_adj}",
     "voglio {device.it_def} {room.it_in} {action.it_adj}{device.it_end}",
     "ich möchte dass {device.de_nom} {room.de_in} {action.de_adj} {device.de_be}",
     "ik wil {device.nl_def} {room.nl_in} {action.nl_adj}"),
)

_COVER_PHRASINGS = (
    ("{please.en} {action.en} the {device.en}", "{please.it} {action.it_imp} {device.it_def}",
     "{action.de_imp} {please.de} {device.de_acc} {action.de_part}",
     "{action.nl_imp} {please.nl} {device.nl_def} {action.nl_part}"),
    ("{please.en} {action.en} the {room.en} {device.en}",
     "{please.it} {action.it_imp} {device.it_def} {room.it_di}",
     "{action.de_imp} {please.de} {device.de_acc} {room.de_in} {action.de_part}",
     "{action.nl_imp} {please.nl} {device.nl_def} {room.nl_in} {action.nl_part}"),
    ("{action.en} the {device.en} {room.en_in}", "{action.it_imp} {device.it_def} {room.it_in}",
     "{action.de_imp} {device.de_acc} {room.de_in} {action.de_part}",
     "{action.nl_imp} {device.nl_def} {room.nl_in} {action.nl_part}"),
    ("can you {action.en} the {room.en} {device.en}", "puoi {action.it_inf} {device.it_def} {room.it_di}",
     "kannst du {device.de_acc} {room.de_in} {action.de_inf}",
     "kun je {device.nl_def} {room.nl_in} {action.nl_inf}"),
    ("i want the {device.en} {room.en_in} {action.en_adj}",
     "voglio {device.it_def} {room.it_in} {action.it_adj}{device.it_end}",
     "ich möchte dass {device.de_nom} {room.de_in} {action.de_adj} {device.de_be}",
     "ik wil {device.nl_def} {room.nl_in} {action.nl_adj}"),
)

_STATUS_PHRASINGS = (
    ("{device.en_be} the {device.en} {state.en_adj}",
     "{device.it_def} {device.it_be} {state.it_adj}{device.it_end}",
     "{device.de_be} {device.de_nom} {state.de_adj}", "{device.nl_be} {device.nl_def} {state.nl_adj}"),
    ("{device.en_be} the {room.en} {device.en} {state.en_adj}",
     "{device.it_def} {room.it_di} {device.it_be} {state.it_adj}{device.it_end}",
     "{device.de_be} {device.de_nom} {room.de_in} {state.de_adj}",
     "{device.nl_be} {device.nl_def} {room.nl_in} {state.nl_adj}"),
    ("{device.en_be} the {device.en} {room.en_in} {state.en_adj}",
     "{device.it_def} {room.it_in} {device.it_be} {state.it_adj}{device.it_end}",
     "{device.de_be} {device.de_nom} {room.de_in} {state.de_adj}",
     "{device.nl_be} {device.nl_def} {room.nl_in} {state.nl_adj}"),
    ("did i leave the {device.en} {state.en_adj} {room.en_in}",
     "ho lasciato {device.it_def} {state.it_adj}{device.it_end} {room.it_in}",
     "{device.de_be} {device.de_nom} {room.de_in} noch {state.de_adj}",
     "heb ik {device.nl_def} {room.nl_in} {state.nl_adj} laten staan"),
    ("check if the {room.en} {device.en} {device.en_be} {state.en_adj}",
     "controlla se {device.it_def} {room.it_di} {device.it_be} {state.it_adj}{device.it_end}",
     "prüfe ob {device.de_nom} {room.de_in} {state.de_adj} {device.de_be}",
     "controleer of {device.nl_def} {room.nl_in} {state.nl_adj} {device.nl_be}"),
)

_HOME = {"room": ROOMS, "please": PLEASE}

TEMPLATES: tuple[Template, ...] = (
    *_group("device_on", _SWITCH_PHRASINGS, device=SWITCHABLES, action=(TURN_ON,), **_HOME),
    *_group("device_off", _SWITCH_PHRASINGS, device=SWITCHABLES, action=(TURN_OFF,), **_HOME),
    *_group("device_status", _STATUS_PHRASINGS, device=SWITCHABLES, state=SWITCH_STATES, room=ROOMS),
    *_group("device_status", _STATUS_PHRASINGS, device=COVERS, state=COVER_STATES, room=ROOMS),
    *_group("open_cover", _COVER_PHRASINGS, device=COVERS, action=(OPEN,), **_HOME),
    *_group("close_cover", _COVER_PHRASINGS, device=COVERS, action=(CLOSE, SHUT), **_HOME),
    *_group("set_temperature", (
        ("set the thermostat to {temperature.en} degrees", "imposta il termostato a {temperature.it} gradi",
         "stelle den Thermostat auf {temperature.de} Grad", "zet de thermostaat op {temperature.nl} graden"),
        ("set the temperature {room.en_in} to {temperature.en} degrees",
         "imposta la temperatura {room.it_in} a {temperature.it} gradi",
         "stelle die Temperatur {room.de_in} auf {temperature.de} Grad",
         "zet de temperatuur {room.nl_in} op {temperature.nl} graden"),
        ("make it {temperature.en} degrees {room.en_in}",
         "porta la temperatura {room.it_in} a {temperature.it} gradi",
         "bring die Temperatur {room.de_in} auf {temperature.de} Grad",
         "breng de temperatuur {room.nl_in} op {temperature.nl} graden"),
        ("change the {room.en} temperature to {temperature.en} degrees",
         "cambia la temperatura {room.it_di} a {temperature.it} gradi",
         "ändere die Temperatur {room.de_in} auf {temperature.de} Grad",
         "verander de temperatuur {room.nl_in} naar {temperature.nl} graden"),
        ("heat the {room.en} to {temperature.en} degrees", "riscalda {room.it_def} a {temperature.it} gradi",
         "heize {room.de_acc} auf {temperature.de} Grad", "verwarm {room.nl_def} tot {temperature.nl} graden"),
        ("i'd like it to be {temperature.en} degrees {room.en_in}",
         "vorrei che ci fossero {temperature.it} gradi {room.it_in}",
         "ich hätte gern {temperature.de} Grad {room.de_in}",
         "ik wil graag dat het {room.nl_in} {temperature.nl} graden is"),
    ), temperature=TEMPERATURES, room=ROOMS),
    *_group("set_brightness", (
        ("set the {device.en} to {brightness.en} percent",
         "imposta {device.it_def} {brightness.it_a} per cento",
         "stelle {device.de_acc} auf {brightness.de_attr} Prozent",
         "zet {device.nl_def} op {brightness.nl} procent"),
        ("set the {room.en} {device.en} to {brightness.en} percent",
         "imposta {device.it_def} {room.it_di} {brightness.it_a} per cento",
         "stelle {device.de_acc} {room.de_in} auf {brightness.de_attr} Prozent",
         "zet {device.nl_def} {room.nl_in} op {brightness.nl} procent"),
        ("dim the {device.en} {room.en_in} to {brightness.en} percent",
         "abbassa {device.it_def} {room.it_in} {brightness.it_a} per cento",
         "dimme {device.de_acc} {room.de_in} auf {brightness.de_attr} Prozent",
         "dim {device.nl_def} {room.nl_in} tot {brightness.nl} procent"),
        ("brighten the {device.en} to {brightness.en} percent",
         "alza {device.it_def} {brightness.it_a} per cento",
         "dreh {device.de_acc} auf {brightness.de_attr} Prozent hoch",
         "maak {device.nl_def} feller tot {brightness.nl} procent"),
        ("set the brightness {room.en_in} to {brightness.en} percent",
         "imposta la luminosità {room.it_in} {brightness.it_a} per cento",
         "stelle die Helligkeit {room.de_in} auf {brightness.de_attr} Prozent",
         "zet de helderheid {room.nl_in} op {brightness.nl} procent"),
        ("change the brightness of the {device.en} to {brightness.en} percent",
         "cambia la luminosità {device.it_di} {brightness.it_a} per cento",
         "ändere die Helligkeit {device.de_von} auf {brightness.de_attr} Prozent",
         "verander de helderheid van {device.nl_def} naar {brightness.nl} procent"),
    ), device=LIGHTS, brightness=PERCENTS, room=ROOMS),
    *_group("set_volume", (
        ("set the volume to {volume.en}", "imposta il volume a {volume.it}",
         "stelle die Lautstärke auf {volume.de}", "zet het volume op {volume.nl}"),
        ("set the volume to {volume.en} percent", "imposta il volume {volume.it_a} per cento",
         "stelle die Lautstärke auf {volume.de_attr} Prozent", "zet het volume op {volume.nl} procent"),
        ("change the volume {room.en_in} to {volume.en}", "cambia il volume {room.it_in} a {volume.it}",
         "ändere die Lautstärke {room.de_in} auf {volume.de}", "verander het volume {room.nl_in} naar {volume.nl}"),
        ("turn the volume to {volume.en}", "metti il volume a {volume.it}",
         "dreh die Lautstärke auf {volume.de}", "draai het volume naar {volume.nl}"),
        ("volume {volume.en} please", "volume a {volume.it} per favore",
         "Lautstärke auf {volume.de} bitte", "volume op {volume.nl} alsjeblieft"),
        ("set the {device.en} volume to {volume.en}", "imposta il volume {device.it_di} a {volume.it}",
         "stelle die Lautstärke {device.de_von} auf {volume.de}",
         "zet het volume van {device.nl_def} op {volume.nl}"),
    ), volume=VOLUMES, room=ROOMS, device=SPEAKERS),
    *_group("media_control", (
        ("{action.en}", "{action.it}", "{action.de}", "{action.nl}"),
        ("{action.en} {room.en_in}", "{action.it} {room.it_in}", "{action.de_verb} {room.de_in} {action.de_rest}",
         "{action.nl_verb} {room.nl_in} {action.nl_rest}"),
        ("please {action.en}", "{action.it} per favore", "{action.de_verb} bitte {action.de_rest}",
         "{action.nl_verb} alsjeblieft {action.nl_rest}"),
        ("can you {action.en} {room.en_in}", "puoi {action.it_inf} {room.it_in}",
         "kannst du {room.de_in} {action.de_inf}", "kun je {room.nl_in} {action.nl_inf}"),
    ), action=MEDIA_ACTIONS, room=ROOMS),
    *_group("play_music", (
        ("play some {genre.en}", "metti un po' di {genre.it}", "spiele {genre.de_some}", "speel wat {genre.nl}"),
        ("play {genre.en} {room.en_in}", "metti {genre.it_di} {room.it_in}", "spiele {genre.de} {room.de_in}",
         "speel {genre.nl} {room.nl_in}"),
        ("put on some {genre.en} {room.en_in}", "metti un po' di {genre.it} {room.it_in}",
         "leg {genre.de_some} {room.de_in} auf", "zet {room.nl_in} wat {genre.nl} op"),
        ("i want to listen to {genre.en}", "voglio ascoltare {genre.it_di}", "ich möchte {genre.de} hören",
         "ik wil naar {genre.nl} luisteren"),
        ("can you play some {genre.en} {room.en_in}", "puoi mettere un po' di {genre.it} {room.it_in}",
         "kannst du {room.de_in} {genre.de_some} spielen", "kun je {room.nl_in} wat {genre.nl} spelen"),
        ("play music {room.en_in}", "metti la musica {room.it_in}", "spiele Musik {room.de_in}",
         "speel muziek {room.nl_in}"),
    ), genre=GENRES, room=ROOMS),
    *_group("set_alarm", (
        ("set an alarm for {time.en}", "punta una sveglia per {time.it}", "stelle einen Wecker für {time.de}",
         "zet een wekker voor {time.nl}"),
        ("set an alarm for {time.en} {date.en_on}", "punta una sveglia per {time.it} {date.it}",
         "stelle einen Wecker für {time.de} {date.de_on}", "zet een wekker voor {time.nl} {date.nl_on}"),
        ("wake me up {time.en_at}", "svegliami {time.it_at}", "weck mich {time.de_at}",
         "maak me wakker {time.nl_at}"),
        ("wake me up {date.en_on} {time.en_at}", "svegliami {date.it} {time.it_at}",
         "weck mich {date.de_on} {time.de_at}", "maak me {date.nl_on} {time.nl_at} wakker"),
        ("i need to get up {time.en_at} {date.en_on}", "devo alzarmi {time.it_at} {date.it}",
         "ich muss {date.de_on} {time.de_at} aufstehen", "ik moet {date.nl_on} {time.nl_at} opstaan"),
        ("can you set an alarm for {time.en}", "puoi puntare una sveglia per {time.it}",
         "kannst du einen Wecker für {time.de} stellen", "kun je een wekker zetten voor {time.nl}"),
        ("alarm for {time.en}", "sveglia per {time.it}", "Wecker für {time.de}", "wekker voor {time.nl}"),
    ), time=TIMES, date=DAYS),
    *_group("set_timer", (
        ("set a timer for {duration.en}", "imposta un timer di {duration.it}",
         "stelle einen Timer auf {duration.de}", "zet een timer op {duration.nl}"),
        ("start a timer for {duration.en}", "avvia un timer di {duration.it}",
         "starte einen Timer für {duration.de}", "start een timer van {duration.nl}"),
        ("set a timer for the {label.en} for {duration.en}",
         "imposta un timer per {label.it_def} di {duration.it}",
         "stelle einen Timer für {label.de_acc} auf {duration.de}",
         "zet een timer voor {label.nl_def} op {duration.nl}"),
        ("timer for {duration.en}", "timer di {duration.it}", "Timer für {duration.de}",
         "timer voor {duration.nl}"),
    ), duration=DURATIONS, label=TIMER_LABELS),
    *_group("set_timer", (
        ("start {duration.en_a_adj} timer", "avvia un timer di {duration.it}",
         "starte einen Timer für {duration.de}", "start een timer van {duration.nl}"),
        ("set {duration.en_a_adj} timer for the {label.en}",
         "imposta un timer di {duration.it} per {label.it_def}",
         "stelle einen Timer auf {duration.de} für {label.de_acc}",
         "zet een timer van {duration.nl} voor {label.nl_def}"),
    ), duration=UNIT_DURATIONS, label=TIMER_LABELS),
    *_group("set_reminder", (
        ("remind me to {task.en}", "ricordami di {task.it}", "erinnere mich daran {task.de}",
         "herinner me eraan om {task.nl}"),
        ("remind me to {task.en} {time.en_at}", "ricordami di {task.it} {time.it_at}",
         "erinnere mich {time.de_at} daran {task.de}", "herinner me {time.nl_at} eraan om {task.nl}"),
        ("remind me {date.en_on} to {task.en}", "ricordami {date.it} di {task.it}",
         "erinnere mich {date.de_on} daran {task.de}", "herinner me {date.nl_on} eraan om {task.nl}"),
        ("remind me to {task.en} {date.en_on} {time.en_at}", "ricordami di {task.it} {date.it} {time.it_at}",
         "erinnere mich {date.de_on} {time.de_at} daran {task.de}",
         "herinner me {date.nl_on} {time.nl_at} eraan om {task.nl}"),
        ("remind me in {duration.en} to {task.en}", "ricordami tra {duration.it} di {task.it}",
         "erinnere mich in {duration.de_dat} daran {task.de}", "herinner me over {duration.nl} eraan om {task.nl}"),
        ("set a reminder to {task.en} {date.en_on}", "imposta un promemoria per {task.it} {date.it}",
         "erstelle eine Erinnerung für {date.de} {task.de}", "maak een herinnering voor {date.nl} om {task.nl}"),
        ("don't let me forget to {task.en}", "non farmi dimenticare di {task.it}",
         "lass mich nicht vergessen {task.de}", "laat me niet vergeten om {task.nl}"),
    ), task=TASKS, time=TIMES, date=DAYS, duration=DURATIONS),
    *_group("calendar_query", (
        ("what's on my calendar {date.en_on}", "cosa c'è in agenda {date.it}",
         "was steht {date.de_on} in meinem Kalender", "wat staat er {date.nl_on} in mijn agenda"),
        ("what do i have {date.en_on}", "che impegni ho {date.it}", "was habe ich {date.de_on} vor",
         "wat heb ik {date.nl_on}"),
        ("do i have any meetings {date.en_on}", "ho delle riunioni {date.it}",
         "habe ich {date.de_on} Besprechungen", "heb ik {date.nl_on} vergaderingen"),
        ("am i free {date.en_on} {time.en_at}", "sono libero {date.it} {time.it_at}",
         "habe ich {date.de_on} {time.de_at} Zeit", "ben ik {date.nl_on} {time.nl_at} vrij"),
        ("what's my schedule like {date.en_on}", "com'è la mia agenda {date.it}",
         "wie sieht mein Terminplan {date.de_on} aus", "hoe ziet mijn planning er {date.nl_on} uit"),
        ("when is my next {event.en}", "quando è {event.it_poss} prossim{event.it_end} {event.it}",
         "wann ist {event.de_my_next}", "wanneer is mijn volgende {event.nl}"),
        ("do i have {event.en_a} {date.en_on}", "ho {event.it_indef} {date.it}",
         "habe ich {date.de_on} {event.de_indef}", "heb ik {date.nl_on} {event.nl_indef}"),
    ), date=DATES, time=TIMES, event=EVENTS),
    *_group("create_event", (
        ("schedule {event.en_a} {date.en_on} {time.en_at}", "fissa {event.it_indef} {date.it} {time.it_at}",
         "plane {event.de_indef} {date.de_on} {time.de_at}", "plan {event.nl_indef} {date.nl_on} {time.nl_at}"),
        ("schedule {event.en_a} with {contact.en} {date.en_on} {time.en_at}",
         "fissa {event.it_indef} con {contact.it_def} {date.it} {time.it_at}",
         "plane {event.de_indef} mit {contact.de_dat} {date.de_on} {time.de_at}",
         "plan {event.nl_indef} met {contact.nl_def} {date.nl_on} {time.nl_at}"),
        ("add {event.en_a} to my calendar {date.en_on}", "aggiungi {event.it_indef} in agenda {date.it}",
         "trage {event.de_indef} {date.de_on} in meinen Kalender ein",
         "zet {event.nl_indef} {date.nl_on} in mijn agenda"),
        ("put {event.en_a} on my calendar {date.en_on} {time.en_at}",
         "metti {event.it_indef} in agenda {date.it} {time.it_at}",
         "trage {event.de_indef} {date.de_on} {time.de_at} in meinen Kalender ein",
         "zet {event.nl_indef} {date.nl_on} {time.nl_at} in mijn agenda"),
        ("book {event.en_a} for {date.en} {time.en_at}",
         "prenota {event.it_indef} per {date.it} {time.it_at}",
         "buche {event.de_indef} für {date.de} {time.de_at}", "boek {event.nl_indef} voor {date.nl} {time.nl_at}"),
    ), event=EVENTS, contact=CONTACTS, date=DATES, time=TIMES),
    *_group("weather_query", (
        ("what's the weather like {city.en_in}", "che tempo fa {city.it_a}", "wie ist das Wetter {city.de_in}",
         "hoe is het weer {city.nl_in}"),
        ("what's the weather {date.en_on}", "che tempo farà {date.it}", "wie wird das Wetter {date.de_on}",
         "hoe wordt het weer {date.nl_on}"),
        ("what will the weather be like {city.en_in} {date.en_on}", "che tempo farà {city.it_a} {date.it}",
         "wie wird das Wetter {date.de_on} {city.de_in}", "hoe wordt het weer {date.nl_on} {city.nl_in}"),
        ("will it {condition.en} {date.en_on}", "{condition.it} {date.it}",
         "wird es {date.de_on} {condition.de}", "{condition.nl_aux} het {date.nl_on} {condition.nl}"),
        ("is it going to {condition.en} {city.en_in} {date.en_on}", "{condition.it} {city.it_a} {date.it}",
         "wird es {date.de_on} {city.de_in} {condition.de}",
         "{condition.nl_aux} het {date.nl_on} {city.nl_in} {condition.nl}"),
        ("do i need an umbrella {date.en_on}", "mi serve l'ombrello {date.it}",
         "brauche ich {date.de_on} einen Regenschirm", "heb ik {date.nl_on} een paraplu nodig"),
        ("how hot will it be {city.en_in} {date.en_on}", "quanto caldo farà {city.it_a} {date.it}",
         "wie warm wird es {date.de_on} {city.de_in}", "hoe warm wordt het {date.nl_on} {city.nl_in}"),
        ("what's the forecast for {date.en}", "quali sono le previsioni per {date.it}",
         "wie ist die Vorhersage für {date.de}", "wat is de weersverwachting voor {date.nl}"),
    ), city=CITIES, date=DATES, condition=CONDITIONS),
    *_group("add_to_list", (
        ("add {item.en} to my {list.en}", "aggiungi {item.it} {list.it_a}", "setze {item.de} auf {list.de_my}",
         "zet {item.nl} op {list.nl_my}"),
        ("put {item.en} on the {list.en}", "metti {item.it} {list.it_in}", "setze {item.de} auf {list.de_acc}",
         "zet {item.nl} op {list.nl_def}"),
        ("please add {item.en} to the {list.en}", "aggiungi {item.it} {list.it_a} per favore",
         "füge bitte {item.de} {list.de_zu} hinzu", "voeg alsjeblieft {item.nl} toe aan {list.nl_def}"),
        ("can you add {item.en} to my {list.en}", "puoi aggiungere {item.it} {list.it_a}",
         "kannst du {item.de} auf {list.de_my} setzen", "kun je {item.nl} aan {list.nl_my} toevoegen"),
    ), item=UNCOUNTED_ITEMS + COUNTED_ITEMS, list=LISTS),
    *_group("add_to_list", (
        ("we're out of {item.en}", "abbiamo finito {item.it}", "wir haben {item.de_kein} mehr",
         "we hebben geen {item.nl} meer"),
        ("we ran out of {item.en}", "abbiamo esaurito {item.it}", "uns {item.de_be} {item.de_nom} ausgegangen",
         "{item.nl_def} {item.nl_be} op"),
    ), item=UNCOUNTED_ITEMS),
    *_group("send_message", (
        ("send a message to {contact.en} saying {message.en}",
         "manda un messaggio {contact.it_a} con scritto {message.it}",
         "schicke {contact.de_dat} eine Nachricht dass {message.de}",
         "stuur een bericht naar {contact.nl_def} dat {message.nl}"),
        ("text {contact.en} that {message.en}", "scrivi {contact.it_a} che {message.it}",
         "schreib {contact.de_dat} dass {message.de}", "sms {contact.nl_def} dat {message.nl}"),
        ("tell {contact.en} that {message.en}", "di' {contact.it_a} che {message.it}",
         "sag {contact.de_dat} dass {message.de}", "zeg tegen {contact.nl_def} dat {message.nl}"),
        ("let {contact.en} know {message.en}", "fai sapere {contact.it_a} che {message.it}",
         "lass {contact.de_acc} wissen dass {message.de}", "laat {contact.nl_def} weten dat {message.nl}"),
        ("send {contact.en} a text saying {message.en}",
         "manda {contact.it_a} un messaggio con scritto {message.it}",
         "schicke {contact.de_dat} eine SMS dass {message.de}", "stuur {contact.nl_def} een sms dat {message.nl}"),
    ), contact=CONTACTS, message=MESSAGES),
    *_group("call_contact", (
        ("call {contact.en}", "chiama {contact.it_def}", "ruf {contact.de_acc} an", "bel {contact.nl_def}"),
        ("phone {contact.en}", "telefona {contact.it_a}", "telefoniere mit {contact.de_dat}",
         "bel {contact.nl_def} op"),
        ("give {contact.en} a call", "fai una telefonata {contact.it_a}", "ruf {contact.de_acc} kurz an",
         "geef {contact.nl_def} een belletje"),
        ("call {contact.en} on speaker", "chiama {contact.it_def} in vivavoce",
         "ruf {contact.de_acc} über Lautsprecher an", "bel {contact.nl_def} via de luidspreker"),
        ("start a video call with {contact.en}", "avvia una videochiamata con {contact.it_def}",
         "starte einen Videoanruf mit {contact.de_dat}", "start een videogesprek met {contact.nl_def}"),
        ("{please.en} can you call {contact.en}", "{please.it} puoi chiamare {contact.it_def}",
         "kannst du {please.de} {contact.de_acc} anrufen", "kun je {please.nl} {contact.nl_def} bellen"),
    ), contact=CONTACTS, please=PLEASE),
    *_group("calculate", (
        ("what's {x.en} {operator.en} {y.en}", "quanto fa {x.it} {operator.it} {y.it}",
         "was ist {x.de} {operator.de} {y.de}", "wat is {x.nl} {operator.nl} {y.nl}"),
        ("what is {x.en} {operator.en} {y.en}", "quanto fa {x.it} {operator.it} {y.it}",
         "was ist {x.de} {operator.de} {y.de}", "wat is {x.nl} {operator.nl} {y.nl}"),
        ("how much is {x.en} {operator.en} {y.en}", "quanto fa {x.it} {operator.it} {y.it}",
         "wie viel ist {x.de} {operator.de} {y.de}", "hoeveel is {x.nl} {operator.nl} {y.nl}"),
        ("calculate {x.en} {operator.en} {y.en}", "calcola {x.it} {operator.it} {y.it}",
         "berechne {x.de} {operator.de} {y.de}", "bereken {x.nl} {operator.nl} {y.nl}"),
        ("tell me what {x.en} {operator.en} {y.en} is", "dimmi quanto fa {x.it} {operator.it} {y.it}",
         "sag mir was {x.de} {operator.de} {y.de} ist", "zeg me wat {x.nl} {operator.nl} {y.nl} is"),
    ), x=OPERANDS, operator=OPERATORS, y=DIVISORS),
)

INTENTS: tuple[str, ...] = tuple(dict.fromkeys(t.intent for t in TEMPLATES))
_BY_INTENT = {intent: tuple(t for t in TEMPLATES if t.intent == intent) for intent in INTENTS}


# ---------------------------------------------------------------------------------------
# Sampling and enumeration
# ---------------------------------------------------------------------------------------

def sample_utterance(rng: random.Random) -> Utterance:
    """An intent uniformly, one of its templates uniformly, then each slot uniformly.

    Intents are balanced on purpose: sampling by template size would make nearly every
    utterance a ``create_event`` (event x contact x date x time is >99% of all sentences).
    """
    intent = rng.choice(INTENTS)
    template = rng.choice(_BY_INTENT[intent])
    return template.realise({name: rng.choice(fillers) for name, fillers in template.tables})


def iter_english() -> Iterator[str]:
    """Every English sentence the grammar makes, template by template, lazily."""
    for template in TEMPLATES:
        names = [name for name, _ in template.tables]
        for combo in itertools.product(*(fillers for _, fillers in template.tables)):
            yield _spoken(template.en.format(**dict(zip(names, combo))))


def num_sentences() -> int:
    """Sentences :func:`iter_english` yields: an upper bound on the distinct ones."""
    return sum(t.size() for t in TEMPLATES)


def vocabulary() -> set[str]:
    """Every English word the grammar can say, upper-cased as in transcripts."""
    words = set()
    for template in TEMPLATES:
        tables = dict(template.tables)
        for literal, name, _, _ in _FORMATTER.parse(template.en):
            words.update(literal.split())
            if name is not None:
                field_name, form = name.split(".", 1)
                for filler in tables[field_name]:
                    words.update(filler.forms[form].split())
    return {w.upper() for w in words}
