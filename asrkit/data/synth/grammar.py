"""Synchronous grammar of spoken commands and questions to a home assistant.

Each utterance is generated once and comes out in four parallel forms: the English
sentence as spoken (lowercase, numbers spelled out; upper-cased it is a LibriSpeech-style
transcript), its Italian translation, an intent label and the slot values in canonical
form (numbers as digits, times ``HH:MM``, dates ``MM-DD``, durations in seconds). That
gives speech recognition, speech translation and spoken language understanding targets
for the same synthetic audio.

The grammar is declarative. A :class:`Template` is a pair of format strings,
``"turn on the {room.en} {device.en}"`` / ``"accendi {device.it_def} {room.it_di}"``,
whose fields name slot tables; a table is a tuple of :class:`Filler`, each holding its
surface forms by name and its canonical value. Nothing is decided outside the tables, so
the sentence count (:func:`num_sentences`), enumeration (:func:`iter_english`) and
vocabulary (:func:`vocabulary`) are exact.

Italian agreement lives in the fillers, not in the templates: a noun knows its gender and
number, so one template says "della cucina", "nello studio", "dell'ingresso" and "le luci
sono accese"; a time knows "all'una" from "alle due"; a count knows "un minuto" from "due
minuti". Number words in both languages come from small functions, not tables.

This module holds the templates, sampling and enumeration. The rest, from the bottom up:

- :mod:`.english`, :mod:`.italian`: each language's number words, articles and counts;
- :mod:`.fillers`: :class:`~.fillers.Filler` and the constructors that give a word every
  form the templates ask of it (:func:`~.fillers.noun`, :func:`~.fillers.phrase`, ...);
- :mod:`.slot_tables`: the words themselves, ``ROOMS``, ``TIMES``, ``CONTACTS``, ...

A new language adds a module beside :mod:`.english` and :mod:`.italian`, its forms to
:mod:`.fillers`, its words to :mod:`.slot_tables` and its format string to each template.
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
    intent: str
    slots: dict[str, str]

    @property
    def transcript(self) -> str:
        return self.english.upper()


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
    """One phrasing of an intent: English and Italian format strings over named slot tables.

    ``tables`` lists (field, fillers) in order of first use in the English; the field name
    is the slot name.
    """
    intent: str
    en: str
    it: str
    tables: tuple[tuple[str, tuple[Filler, ...]], ...]

    def size(self) -> int:
        return math.prod(len(fillers) for _, fillers in self.tables)

    def realise(self, choice: Mapping[str, Filler]) -> Utterance:
        slots = {}
        for name, filler in choice.items():
            if filler.value is not None:
                slots[name] = filler.value
            slots.update(filler.more_slots)
        return Utterance(_spoken(self.en.format(**choice)), _spoken(self.it.format(**choice)),
                         self.intent, slots)


def _group(intent: str, phrasings: tuple[tuple[str, str], ...], **tables) -> list[Template]:
    """Templates for ``intent``, one per (English, Italian) phrasing, over ``tables``.

    Checked here, at import, so a grammar mistake fails loudly rather than as a KeyError
    in the middle of corpus synthesis: both languages use the same fields, every filler has
    every form asked of it, and English fields stand as whole words so that
    :func:`vocabulary` can read words off the tables.
    """
    templates = []
    for en, it in phrasings:
        en_fields, it_fields = _fields(en), _fields(it)
        names = list(dict.fromkeys(name for name, _ in en_fields))
        if set(names) != {name for name, _ in it_fields}:
            raise ValueError(f"{intent}: {en!r} and {it!r} use different fields")
        if re.search(r"[^ ]\{|\}[^ ]", en):
            raise ValueError(f"{intent}: {en!r} glues a field to a word")
        for name, form in en_fields + it_fields:
            if name not in tables:
                raise ValueError(f"{intent}: {en!r} uses {name!r}, which has no table")
            missing = [f.value for f in tables[name] if form not in f.forms]
            if missing:
                raise ValueError(f"{intent}: fillers {missing[:3]} of {name!r} have no form {form!r}")
        templates.append(Template(intent, en, it, tuple((name, tuple(tables[name])) for name in names)))
    return templates


_SWITCH_PHRASINGS = (
    ("{please.en} turn {action.en} the {device.en}", "{please.it} {action.it_imp} {device.it_def}"),
    ("{please.en} turn {action.en} the {room.en} {device.en}",
     "{please.it} {action.it_imp} {device.it_def} {room.it_di}"),
    ("turn the {device.en} {action.en} {room.en_in}", "{action.it_imp} {device.it_def} {room.it_in}"),
    ("switch {action.en} the {device.en} {room.en_in}", "{action.it_imp} {device.it_def} {room.it_in}"),
    ("can you turn {action.en} the {room.en} {device.en}",
     "puoi {action.it_inf} {device.it_def} {room.it_di}"),
    ("i want the {device.en} {room.en_in} {action.en_adj}",
     "voglio {device.it_def} {room.it_in} {action.it_adj}{device.it_end}"),
)

_COVER_PHRASINGS = (
    ("{please.en} {action.en} the {device.en}", "{please.it} {action.it_imp} {device.it_def}"),
    ("{please.en} {action.en} the {room.en} {device.en}",
     "{please.it} {action.it_imp} {device.it_def} {room.it_di}"),
    ("{action.en} the {device.en} {room.en_in}", "{action.it_imp} {device.it_def} {room.it_in}"),
    ("can you {action.en} the {room.en} {device.en}", "puoi {action.it_inf} {device.it_def} {room.it_di}"),
    ("i want the {device.en} {room.en_in} {action.en_adj}",
     "voglio {device.it_def} {room.it_in} {action.it_adj}{device.it_end}"),
)

_STATUS_PHRASINGS = (
    ("{device.en_be} the {device.en} {state.en_adj}",
     "{device.it_def} {device.it_be} {state.it_adj}{device.it_end}"),
    ("{device.en_be} the {room.en} {device.en} {state.en_adj}",
     "{device.it_def} {room.it_di} {device.it_be} {state.it_adj}{device.it_end}"),
    ("{device.en_be} the {device.en} {room.en_in} {state.en_adj}",
     "{device.it_def} {room.it_in} {device.it_be} {state.it_adj}{device.it_end}"),
    ("did i leave the {device.en} {state.en_adj} {room.en_in}",
     "ho lasciato {device.it_def} {state.it_adj}{device.it_end} {room.it_in}"),
    ("check if the {room.en} {device.en} {device.en_be} {state.en_adj}",
     "controlla se {device.it_def} {room.it_di} {device.it_be} {state.it_adj}{device.it_end}"),
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
        ("set the thermostat to {temperature.en} degrees", "imposta il termostato a {temperature.it} gradi"),
        ("set the temperature {room.en_in} to {temperature.en} degrees",
         "imposta la temperatura {room.it_in} a {temperature.it} gradi"),
        ("make it {temperature.en} degrees {room.en_in}",
         "porta la temperatura {room.it_in} a {temperature.it} gradi"),
        ("change the {room.en} temperature to {temperature.en} degrees",
         "cambia la temperatura {room.it_di} a {temperature.it} gradi"),
        ("heat the {room.en} to {temperature.en} degrees", "riscalda {room.it_def} a {temperature.it} gradi"),
        ("i'd like it to be {temperature.en} degrees {room.en_in}",
         "vorrei che ci fossero {temperature.it} gradi {room.it_in}"),
    ), temperature=TEMPERATURES, room=ROOMS),
    *_group("set_brightness", (
        ("set the {device.en} to {brightness.en} percent",
         "imposta {device.it_def} {brightness.it_a} per cento"),
        ("set the {room.en} {device.en} to {brightness.en} percent",
         "imposta {device.it_def} {room.it_di} {brightness.it_a} per cento"),
        ("dim the {device.en} {room.en_in} to {brightness.en} percent",
         "abbassa {device.it_def} {room.it_in} {brightness.it_a} per cento"),
        ("brighten the {device.en} to {brightness.en} percent",
         "alza {device.it_def} {brightness.it_a} per cento"),
        ("set the brightness {room.en_in} to {brightness.en} percent",
         "imposta la luminosità {room.it_in} {brightness.it_a} per cento"),
        ("change the brightness of the {device.en} to {brightness.en} percent",
         "cambia la luminosità {device.it_di} {brightness.it_a} per cento"),
    ), device=LIGHTS, brightness=PERCENTS, room=ROOMS),
    *_group("set_volume", (
        ("set the volume to {volume.en}", "imposta il volume a {volume.it}"),
        ("set the volume to {volume.en} percent", "imposta il volume {volume.it_a} per cento"),
        ("change the volume {room.en_in} to {volume.en}", "cambia il volume {room.it_in} a {volume.it}"),
        ("turn the volume to {volume.en}", "metti il volume a {volume.it}"),
        ("volume {volume.en} please", "volume a {volume.it} per favore"),
        ("set the {device.en} volume to {volume.en}", "imposta il volume {device.it_di} a {volume.it}"),
    ), volume=VOLUMES, room=ROOMS, device=SPEAKERS),
    *_group("media_control", (
        ("{action.en}", "{action.it}"),
        ("{action.en} {room.en_in}", "{action.it} {room.it_in}"),
        ("please {action.en}", "{action.it} per favore"),
        ("can you {action.en} {room.en_in}", "puoi {action.it_inf} {room.it_in}"),
    ), action=MEDIA_ACTIONS, room=ROOMS),
    *_group("play_music", (
        ("play some {genre.en}", "metti un po' di {genre.it}"),
        ("play {genre.en} {room.en_in}", "metti {genre.it_di} {room.it_in}"),
        ("put on some {genre.en} {room.en_in}", "metti un po' di {genre.it} {room.it_in}"),
        ("i want to listen to {genre.en}", "voglio ascoltare {genre.it_di}"),
        ("can you play some {genre.en} {room.en_in}", "puoi mettere un po' di {genre.it} {room.it_in}"),
        ("play music {room.en_in}", "metti la musica {room.it_in}"),
    ), genre=GENRES, room=ROOMS),
    *_group("set_alarm", (
        ("set an alarm for {time.en}", "punta una sveglia per {time.it}"),
        ("set an alarm for {time.en} {date.en_on}", "punta una sveglia per {time.it} {date.it}"),
        ("wake me up {time.en_at}", "svegliami {time.it_at}"),
        ("wake me up {date.en_on} {time.en_at}", "svegliami {date.it} {time.it_at}"),
        ("i need to get up {time.en_at} {date.en_on}", "devo alzarmi {time.it_at} {date.it}"),
        ("can you set an alarm for {time.en}", "puoi puntare una sveglia per {time.it}"),
        ("alarm for {time.en}", "sveglia per {time.it}"),
    ), time=TIMES, date=DAYS),
    *_group("set_timer", (
        ("set a timer for {duration.en}", "imposta un timer di {duration.it}"),
        ("start a timer for {duration.en}", "avvia un timer di {duration.it}"),
        ("set a timer for the {label.en} for {duration.en}",
         "imposta un timer per {label.it_def} di {duration.it}"),
        ("timer for {duration.en}", "timer di {duration.it}"),
    ), duration=DURATIONS, label=TIMER_LABELS),
    *_group("set_timer", (
        ("start {duration.en_a_adj} timer", "avvia un timer di {duration.it}"),
        ("set {duration.en_a_adj} timer for the {label.en}",
         "imposta un timer di {duration.it} per {label.it_def}"),
    ), duration=UNIT_DURATIONS, label=TIMER_LABELS),
    *_group("set_reminder", (
        ("remind me to {task.en}", "ricordami di {task.it}"),
        ("remind me to {task.en} {time.en_at}", "ricordami di {task.it} {time.it_at}"),
        ("remind me {date.en_on} to {task.en}", "ricordami {date.it} di {task.it}"),
        ("remind me to {task.en} {date.en_on} {time.en_at}", "ricordami di {task.it} {date.it} {time.it_at}"),
        ("remind me in {duration.en} to {task.en}", "ricordami tra {duration.it} di {task.it}"),
        ("set a reminder to {task.en} {date.en_on}", "imposta un promemoria per {task.it} {date.it}"),
        ("don't let me forget to {task.en}", "non farmi dimenticare di {task.it}"),
    ), task=TASKS, time=TIMES, date=DAYS, duration=DURATIONS),
    *_group("calendar_query", (
        ("what's on my calendar {date.en_on}", "cosa c'è in agenda {date.it}"),
        ("what do i have {date.en_on}", "che impegni ho {date.it}"),
        ("do i have any meetings {date.en_on}", "ho delle riunioni {date.it}"),
        ("am i free {date.en_on} {time.en_at}", "sono libero {date.it} {time.it_at}"),
        ("what's my schedule like {date.en_on}", "com'è la mia agenda {date.it}"),
        ("when is my next {event.en}", "quando è {event.it_poss} prossim{event.it_end} {event.it}"),
        ("do i have {event.en_a} {date.en_on}", "ho {event.it_indef} {date.it}"),
    ), date=DATES, time=TIMES, event=EVENTS),
    *_group("create_event", (
        ("schedule {event.en_a} {date.en_on} {time.en_at}", "fissa {event.it_indef} {date.it} {time.it_at}"),
        ("schedule {event.en_a} with {contact.en} {date.en_on} {time.en_at}",
         "fissa {event.it_indef} con {contact.it_def} {date.it} {time.it_at}"),
        ("add {event.en_a} to my calendar {date.en_on}", "aggiungi {event.it_indef} in agenda {date.it}"),
        ("put {event.en_a} on my calendar {date.en_on} {time.en_at}",
         "metti {event.it_indef} in agenda {date.it} {time.it_at}"),
        ("book {event.en_a} for {date.en} {time.en_at}",
         "prenota {event.it_indef} per {date.it} {time.it_at}"),
    ), event=EVENTS, contact=CONTACTS, date=DATES, time=TIMES),
    *_group("weather_query", (
        ("what's the weather like {city.en_in}", "che tempo fa {city.it_a}"),
        ("what's the weather {date.en_on}", "che tempo farà {date.it}"),
        ("what will the weather be like {city.en_in} {date.en_on}", "che tempo farà {city.it_a} {date.it}"),
        ("will it {condition.en} {date.en_on}", "{condition.it} {date.it}"),
        ("is it going to {condition.en} {city.en_in} {date.en_on}", "{condition.it} {city.it_a} {date.it}"),
        ("do i need an umbrella {date.en_on}", "mi serve l'ombrello {date.it}"),
        ("how hot will it be {city.en_in} {date.en_on}", "quanto caldo farà {city.it_a} {date.it}"),
        ("what's the forecast for {date.en}", "quali sono le previsioni per {date.it}"),
    ), city=CITIES, date=DATES, condition=CONDITIONS),
    *_group("add_to_list", (
        ("add {item.en} to my {list.en}", "aggiungi {item.it} {list.it_a}"),
        ("put {item.en} on the {list.en}", "metti {item.it} {list.it_in}"),
        ("please add {item.en} to the {list.en}", "aggiungi {item.it} {list.it_a} per favore"),
        ("can you add {item.en} to my {list.en}", "puoi aggiungere {item.it} {list.it_a}"),
    ), item=UNCOUNTED_ITEMS + COUNTED_ITEMS, list=LISTS),
    *_group("add_to_list", (
        ("we're out of {item.en}", "abbiamo finito {item.it}"),
        ("we ran out of {item.en}", "abbiamo esaurito {item.it}"),
    ), item=UNCOUNTED_ITEMS),
    *_group("send_message", (
        ("send a message to {contact.en} saying {message.en}",
         "manda un messaggio {contact.it_a} con scritto {message.it}"),
        ("text {contact.en} that {message.en}", "scrivi {contact.it_a} che {message.it}"),
        ("tell {contact.en} that {message.en}", "di' {contact.it_a} che {message.it}"),
        ("let {contact.en} know {message.en}", "fai sapere {contact.it_a} che {message.it}"),
        ("send {contact.en} a text saying {message.en}",
         "manda {contact.it_a} un messaggio con scritto {message.it}"),
    ), contact=CONTACTS, message=MESSAGES),
    *_group("call_contact", (
        ("call {contact.en}", "chiama {contact.it_def}"),
        ("phone {contact.en}", "telefona {contact.it_a}"),
        ("give {contact.en} a call", "fai una telefonata {contact.it_a}"),
        ("call {contact.en} on speaker", "chiama {contact.it_def} in vivavoce"),
        ("start a video call with {contact.en}", "avvia una videochiamata con {contact.it_def}"),
        ("{please.en} can you call {contact.en}", "{please.it} puoi chiamare {contact.it_def}"),
    ), contact=CONTACTS, please=PLEASE),
    *_group("calculate", (
        ("what's {x.en} {operator.en} {y.en}", "quanto fa {x.it} {operator.it} {y.it}"),
        ("what is {x.en} {operator.en} {y.en}", "quanto fa {x.it} {operator.it} {y.it}"),
        ("how much is {x.en} {operator.en} {y.en}", "quanto fa {x.it} {operator.it} {y.it}"),
        ("calculate {x.en} {operator.en} {y.en}", "calcola {x.it} {operator.it} {y.it}"),
        ("tell me what {x.en} {operator.en} {y.en} is", "dimmi quanto fa {x.it} {operator.it} {y.it}"),
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
