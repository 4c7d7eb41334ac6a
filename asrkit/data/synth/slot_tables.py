"""Slot tables: the words the synth grammar fills its templates with, in English, Italian,
German and Dutch.

A table is a tuple of :class:`~.fillers.Filler`; a template field names one (``{room.en}``
is filled from ``ROOMS``, see :mod:`.grammar`). Most tables list words, one entry per
filler with its English, its Italian and its gender, and its German and Dutch with theirs.
Times, dates, durations and shopping items are generated here, because how each language
reads them follows rules: a clock reading, a date, a count agreeing with its noun. A new
language adds its words to each entry and its readings to those generators.

The order and number of entries in every table is part of the corpus: sampling draws
fillers by position, so a seed gives the same English and Italian only while the tables
keep their entries in place. Add a language's words to existing entries, never entries.
"""
from __future__ import annotations

from dataclasses import replace

from . import dutch, german
from .dutch import dutch_count, dutch_number
from .english import a_or_an, english_counts, english_number, english_ordinal
from .fillers import Filler, action, noun, numbers, phrase
from .german import german_attributive, german_count, german_number, german_ordinal
from .italian import articled, italian_count, italian_number


# ---------------------------------------------------------------------------------------
# The home
# ---------------------------------------------------------------------------------------

PLEASE = (Filler({"en": "", "it": "", "de": "", "nl": ""}, None),
          Filler({"en": "please", "it": "per favore", "de": "bitte", "nl": "alsjeblieft"}, None))

ROOMS = (
    noun("kitchen", "cucina", gender="f", it_in="in cucina", de=("Küche", "f"), nl=("keuken", "de")),
    noun("living room", "soggiorno", it_in="in soggiorno", de=("Wohnzimmer", "n"), nl=("woonkamer", "de")),
    noun("bedroom", "camera da letto", gender="f", it_in="in camera da letto", de=("Schlafzimmer", "n"),
         nl=("slaapkamer", "de")),
    noun("master bedroom", "camera matrimoniale", gender="f", de=("Elternschlafzimmer", "n"),
         nl=("grote slaapkamer", "de")),
    noun("bathroom", "bagno", it_in="in bagno", de=("Badezimmer", "n"), nl=("badkamer", "de")),
    noun("dining room", "sala da pranzo", gender="f", it_in="in sala da pranzo", de=("Esszimmer", "n"),
         nl=("eetkamer", "de")),
    noun("office", "ufficio", it_in="in ufficio", de=("Büro", "n"), nl=("kantoor", "het")),
    noun("study", "studio", de=("Arbeitszimmer", "n"), nl=("studeerkamer", "de")),
    noun("hall", "ingresso", de=("Diele", "f"), nl=("hal", "de")),
    noun("hallway", "corridoio", de=("Flur", "m"), nl=("gang", "de")),
    noun("garage", "garage", it_in="in garage", de=("Garage", "f"), nl=("garage", "de")),
    noun("garden", "giardino", it_in="in giardino", de=("Garten", "m"), nl=("tuin", "de")),
    noun("basement", "seminterrato", de=("Keller", "m"), nl=("kelder", "de")),
    noun("attic", "soffitta", gender="f", it_in="in soffitta", de=("Dachboden", "m"),
         de_in="auf dem Dachboden", nl=("zolder", "de"), nl_in="op zolder"),
    noun("kids room", "cameretta", gender="f", de=("Kinderzimmer", "n"), nl=("kinderkamer", "de")),
    noun("guest room", "camera degli ospiti", gender="f", de=("Gästezimmer", "n"), nl=("logeerkamer", "de")),
    noun("nursery", "stanza dei bambini", gender="f", de=("Babyzimmer", "n"), nl=("babykamer", "de")),
    noun("laundry room", "lavanderia", gender="f", it_in="in lavanderia", de=("Waschküche", "f"),
         nl=("washok", "het")),
    noun("balcony", "balcone", en_in="on the balcony", it_in="sul balcone", de=("Balkon", "m"),
         de_in="auf dem Balkon", nl=("balkon", "het"), nl_in="op het balkon"),
    noun("porch", "veranda", gender="f", en_in="on the porch", it_in="in veranda", de=("Veranda", "f"),
         de_in="auf der Veranda", nl=("veranda", "de"), nl_in="op de veranda"),
    noun("patio", "patio", en_in="on the patio", de=("Terrasse", "f"), de_in="auf der Terrasse",
         nl=("terras", "het"), nl_in="op het terras"),
    noun("gym", "palestra", gender="f", it_in="in palestra", de=("Fitnessraum", "m"), nl=("fitnessruimte", "de")),
    noun("cellar", "cantina", gender="f", it_in="in cantina", de=("Weinkeller", "m"), nl=("wijnkelder", "de")),
)

LIGHTS = (
    noun("light", "luce", gender="f", de=("Licht", "n"), nl=("licht", "het")),
    noun("lights", "luci", gender="f", plural=True, de=("Lichter", "pl"), nl=("lichten", "pl")),
    noun("lamp", "lampada", gender="f", de=("Lampe", "f"), nl=("lamp", "de")),
    noun("desk lamp", "lampada da scrivania", gender="f", de=("Schreibtischlampe", "f"), nl=("bureaulamp", "de")),
    noun("floor lamp", "lampada da terra", gender="f", de=("Stehlampe", "f"), nl=("staande lamp", "de")),
    noun("bedside lamp", "lampada sul comodino", gender="f", de=("Nachttischlampe", "f"),
         nl=("bedlampje", "het")),
    noun("ceiling light", "plafoniera", gender="f", de=("Deckenleuchte", "f"), nl=("plafondlamp", "de")),
    noun("night light", "luce notturna", gender="f", de=("Nachtlicht", "n"), nl=("nachtlampje", "het")),
    noun("reading light", "luce da lettura", gender="f", de=("Leselampe", "f"), nl=("leeslamp", "de")),
    noun("christmas lights", "luci di natale", gender="f", plural=True, de=("Lichterkette", "f"),
         nl=("kerstverlichting", "de")),
    noun("spotlights", "faretti", plural=True, de=("Strahler", "pl"), nl=("spotjes", "pl")),
    noun("led strip", "striscia led", gender="f", de=("LED-Streifen", "m"), nl=("ledstrip", "de")),
)

APPLIANCES = (
    noun("fan", "ventilatore", de=("Ventilator", "m"), nl=("ventilator", "de")),
    noun("ceiling fan", "ventilatore a soffitto", de=("Deckenventilator", "m"), nl=("plafondventilator", "de")),
    noun("heater", "stufa", gender="f", de=("Heizgerät", "n"), nl=("kachel", "de")),
    noun("space heater", "stufetta", gender="f", de=("Heizlüfter", "m"), nl=("straalkachel", "de")),
    noun("heating", "riscaldamento", de=("Heizung", "f"), nl=("verwarming", "de")),
    noun("air conditioner", "condizionatore", de=("Klimagerät", "n"), nl=("airco", "de")),
    noun("air conditioning", "aria condizionata", gender="f", de=("Klimaanlage", "f"),
         nl=("airconditioning", "de")),
    noun("television", "televisore", de=("Fernseher", "m"), nl=("televisie", "de")),
    noun("radio", "radio", gender="f", de=("Radio", "n"), nl=("radio", "de")),
    noun("stereo", "stereo", de=("Stereoanlage", "f"), nl=("stereo", "de")),
    noun("speaker", "altoparlante", de=("Lautsprecher", "m"), nl=("speaker", "de")),
    noun("coffee machine", "macchina del caffè", gender="f", de=("Kaffeemaschine", "f"),
         nl=("koffiezetapparaat", "het")),
    noun("kettle", "bollitore", de=("Wasserkocher", "m"), nl=("waterkoker", "de")),
    noun("dishwasher", "lavastoviglie", gender="f", de=("Spülmaschine", "f"), nl=("vaatwasser", "de")),
    noun("washing machine", "lavatrice", gender="f", de=("Waschmaschine", "f"), nl=("wasmachine", "de")),
    noun("dryer", "asciugatrice", gender="f", de=("Trockner", "m"), nl=("droger", "de")),
    noun("oven", "forno", de=("Ofen", "m"), nl=("oven", "de")),
    noun("humidifier", "umidificatore", de=("Luftbefeuchter", "m"), nl=("luchtbevochtiger", "de")),
    noun("dehumidifier", "deumidificatore", de=("Luftentfeuchter", "m"), nl=("luchtontvochtiger", "de")),
    noun("air purifier", "purificatore d'aria", de=("Luftreiniger", "m"), nl=("luchtreiniger", "de")),
    noun("robot vacuum", "robot aspirapolvere", de=("Saugroboter", "m"), nl=("robotstofzuiger", "de")),
    noun("computer", "computer", de=("Computer", "m"), nl=("computer", "de")),
    noun("printer", "stampante", gender="f", de=("Drucker", "m"), nl=("printer", "de")),
    noun("sprinklers", "irrigatori", plural=True, de=("Rasensprenger", "pl"), nl=("sproeiers", "pl")),
    noun("water heater", "scaldabagno", de=("Boiler", "m"), nl=("boiler", "de")),
    noun("towel warmer", "scaldasalviette", de=("Handtuchwärmer", "m"), nl=("handdoekverwarmer", "de")),
    noun("electric blanket", "coperta elettrica", gender="f", de=("Heizdecke", "f"),
         nl=("elektrische deken", "de")),
    noun("fireplace", "camino", de=("Kamin", "m"), nl=("open haard", "de")),
    noun("projector", "proiettore", de=("Beamer", "m"), nl=("beamer", "de")),
    noun("game console", "console", gender="f", de=("Spielkonsole", "f"), nl=("spelcomputer", "de")),
    noun("hot tub", "idromassaggio", de=("Whirlpool", "m"), nl=("bubbelbad", "het")),
    noun("fountain", "fontana", gender="f", de=("Brunnen", "m"), nl=("fontein", "de")),
)

SWITCHABLES = LIGHTS + APPLIANCES
SPEAKERS = tuple(d for d in APPLIANCES if d.value in {"television", "radio", "stereo", "speaker"})

COVERS = (
    noun("blinds", "tapparelle", gender="f", plural=True, de=("Jalousien", "pl"), nl=("jaloezieën", "pl")),
    noun("curtains", "tende", gender="f", plural=True, de=("Vorhänge", "pl"), nl=("gordijnen", "pl")),
    noun("shutters", "persiane", gender="f", plural=True, de=("Fensterläden", "pl"), nl=("luiken", "pl")),
    noun("window", "finestra", gender="f", de=("Fenster", "n"), nl=("raam", "het")),
    noun("windows", "finestre", gender="f", plural=True, de=("Fenster", "pl"), nl=("ramen", "pl")),
    noun("door", "porta", gender="f", de=("Tür", "f"), nl=("deur", "de")),
    noun("front door", "porta d'ingresso", gender="f", de=("Haustür", "f"), nl=("voordeur", "de")),
    noun("back door", "porta sul retro", gender="f", de=("Hintertür", "f"), nl=("achterdeur", "de")),
    noun("garage door", "porta del garage", gender="f", de=("Garagentor", "n"), nl=("garagedeur", "de")),
    noun("gate", "cancello", de=("Tor", "n"), nl=("poort", "de")),
    noun("skylight", "lucernario", de=("Dachfenster", "n"), nl=("dakraam", "het")),
    noun("awning", "tenda da sole", gender="f", de=("Markise", "f"), nl=("zonnescherm", "het")),
)

# German and Dutch: imperative, separable particle, infinitive, adjective (see fillers.action)
TURN_ON = action("on", "on", "accendi", "accendere", "acces",
                 de=("schalte", "ein", "einschalten", "an"), nl=("zet", "aan", "aanzetten", "aan"))
TURN_OFF = action("off", "off", "spegni", "spegnere", "spent",
                  de=("schalte", "aus", "ausschalten", "aus"), nl=("zet", "uit", "uitzetten", "uit"))
OPEN = action("open", "open", "apri", "aprire", "apert",
              de=("öffne", "", "öffnen", "offen"), nl=("open", "", "openen", "open"))
CLOSE = action("close", "closed", "chiudi", "chiudere", "chius",
               de=("schließe", "", "schließen", "geschlossen"), nl=("sluit", "", "sluiten", "dicht"))
SHUT = action("shut", "shut", "chiudi", "chiudere", "chius",
              de=("mach", "zu", "zumachen", "zu"), nl=("doe", "dicht", "dichtdoen", "dicht"))
# A status question asks about a state, so there the same verbs do carry a value.
SWITCH_STATES = (replace(TURN_ON, value="on"), replace(TURN_OFF, value="off"))
COVER_STATES = (replace(OPEN, value="open"), replace(CLOSE, value="closed"))

TEMPERATURES = numbers(10, 30)  # degrees Celsius a thermostat is set to
PERCENTS = numbers(1, 100)
VOLUMES = numbers(0, 100)


def _media(en: str, it: str, value: str, it_inf: str, de: tuple[str, str], de_inf: str,
           nl: tuple[str, str], nl_inf: str) -> Filler:
    """A media command: Italian imperative and infinitive phrase; German and Dutch imperative
    as (verb, rest), so that a place or "please" can stand after the verb ("schalte im Bad den
    Ton stumm", "zet alsjeblieft het geluid uit"), and the infinitive phrase after "can you"."""
    forms = {"it_inf": it_inf, "de_verb": de[0], "de_rest": de[1], "de_inf": de_inf,
             "nl_verb": nl[0], "nl_rest": nl[1], "nl_inf": nl_inf}
    return phrase(en, it, value, de=" ".join(de), nl=" ".join(nl), **forms)


MEDIA_ACTIONS = (  # English; Italian, German, Dutch imperative and the infinitive that follows "can you"
    _media("pause the music", "metti in pausa la musica", "pause", "mettere in pausa la musica",
           ("pausiere", "die Musik"), "die Musik pausieren",
           ("pauzeer", "de muziek"), "de muziek pauzeren"),
    _media("pause this song", "metti in pausa questa canzone", "pause", "mettere in pausa questa canzone",
           ("pausiere", "dieses Lied"), "dieses Lied pausieren",
           ("pauzeer", "dit nummer"), "dit nummer pauzeren"),
    _media("resume the music", "riprendi la musica", "resume", "riprendere la musica",
           ("setze", "die Musik fort"), "die Musik fortsetzen",
           ("hervat", "de muziek"), "de muziek hervatten"),
    _media("start the music again", "fai ripartire la musica", "resume", "far ripartire la musica",
           ("starte", "die Musik neu"), "die Musik neu starten",
           ("start", "de muziek opnieuw"), "de muziek opnieuw starten"),
    _media("stop the music", "ferma la musica", "stop", "fermare la musica",
           ("stoppe", "die Musik"), "die Musik stoppen",
           ("stop", "de muziek"), "de muziek stoppen"),
    _media("skip this song", "salta questa canzone", "next", "saltare questa canzone",
           ("überspringe", "dieses Lied"), "dieses Lied überspringen",
           ("sla", "dit nummer over"), "dit nummer overslaan"),
    _media("play the next song", "metti la prossima canzone", "next", "mettere la prossima canzone",
           ("spiele", "das nächste Lied"), "das nächste Lied spielen",
           ("speel", "het volgende nummer"), "het volgende nummer spelen"),
    _media("play the previous song", "metti la canzone precedente", "previous", "mettere la canzone precedente",
           ("spiele", "das vorherige Lied"), "das vorherige Lied spielen",
           ("speel", "het vorige nummer"), "het vorige nummer spelen"),
    _media("go back to the last song", "torna alla canzone precedente", "previous",
           "tornare alla canzone precedente",
           ("geh", "zurück zum vorherigen Lied"), "zum vorherigen Lied zurückgehen",
           ("ga", "terug naar het vorige nummer"), "teruggaan naar het vorige nummer"),
    _media("repeat this song", "ripeti questa canzone", "repeat", "ripetere questa canzone",
           ("wiederhole", "dieses Lied"), "dieses Lied wiederholen",
           ("herhaal", "dit nummer"), "dit nummer herhalen"),
    _media("shuffle the playlist", "riproduci la playlist in ordine casuale", "shuffle",
           "riprodurre la playlist in ordine casuale",
           ("spiele", "die Playlist in zufälliger Reihenfolge"), "die Playlist in zufälliger Reihenfolge spielen",
           ("speel", "de afspeellijst in willekeurige volgorde"), "de afspeellijst in willekeurige volgorde afspelen"),
    _media("turn the volume up", "alza il volume", "volume_up", "alzare il volume",
           ("erhöhe", "die Lautstärke"), "die Lautstärke erhöhen",
           ("zet", "het volume hoger"), "het volume hoger zetten"),
    _media("make it louder", "alza il volume", "volume_up", "alzare il volume",
           ("mach", "lauter"), "lauter machen",
           ("zet", "het geluid harder"), "het geluid harder zetten"),
    _media("turn the volume down", "abbassa il volume", "volume_down", "abbassare il volume",
           ("verringere", "die Lautstärke"), "die Lautstärke verringern",
           ("zet", "het volume lager"), "het volume lager zetten"),
    _media("make it quieter", "abbassa il volume", "volume_down", "abbassare il volume",
           ("mach", "leiser"), "leiser machen",
           ("zet", "het geluid zachter"), "het geluid zachter zetten"),
    _media("mute the sound", "togli l'audio", "mute", "togliere l'audio",
           ("schalte", "den Ton stumm"), "den Ton stummschalten",
           ("zet", "het geluid uit"), "het geluid uitzetten"),
    _media("turn the sound back on", "riattiva l'audio", "unmute", "riattivare l'audio",
           ("schalte", "den Ton wieder ein"), "den Ton wieder einschalten",
           ("zet", "het geluid weer aan"), "het geluid weer aanzetten"),
)


def _genre(en: str, it: str, de: str, nl: str, *, gender: str = "m", plural: bool = False,
           de_plural: bool = False) -> Filler:
    """A kind of music, said without an article in German and Dutch ("spiele Jazz", "speel jazz");
    "some" is "etwas" before a mass noun and "ein paar" before a plural ("ein paar Wiegenlieder")."""
    forms = {"en": en, "it": it, "it_di": articled("di", it, gender, plural),
             "de": de, "de_some": f"{'ein paar' if de_plural else 'etwas'} {de}", "nl": nl}
    return Filler(forms, en)


GENRES = (
    _genre("jazz", "jazz", "Jazz", "jazz"),
    _genre("rock", "rock", "Rock", "rock"),
    _genre("blues", "blues", "Blues", "blues"),
    _genre("reggae", "reggae", "Reggae", "reggae"),
    _genre("hip hop", "hip hop", "Hip-Hop", "hiphop"),
    _genre("funk", "funk", "Funk", "funk"),
    _genre("metal", "metal", "Metal", "metal"),
    _genre("gospel", "gospel", "Gospel", "gospel"),
    _genre("opera", "opera", "Oper", "opera", gender="f"),
    _genre("pop music", "musica pop", "Popmusik", "popmuziek", gender="f"),
    _genre("classical music", "musica classica", "klassische Musik", "klassieke muziek", gender="f"),
    _genre("country music", "musica country", "Countrymusik", "countrymuziek", gender="f"),
    _genre("electronic music", "musica elettronica", "elektronische Musik", "elektronische muziek", gender="f"),
    _genre("relaxing music", "musica rilassante", "entspannende Musik", "ontspannende muziek", gender="f"),
    _genre("piano music", "musica per pianoforte", "Klaviermusik", "pianomuziek", gender="f"),
    _genre("christmas music", "musica natalizia", "Weihnachtsmusik", "kerstmuziek", gender="f"),
    _genre("italian music", "musica italiana", "italienische Musik", "italiaanse muziek", gender="f"),
    _genre("folk music", "musica folk", "Folkmusik", "folkmuziek", gender="f"),
    _genre("latin music", "musica latina", "lateinamerikanische Musik", "latinmuziek", gender="f"),
    _genre("disco music", "musica disco", "Discomusik", "discomuziek", gender="f"),
    _genre("ambient music", "musica ambient", "Ambientmusik", "ambientmuziek", gender="f"),
    _genre("eighties music", "musica anni ottanta", "Musik aus den Achtzigern", "muziek uit de jaren tachtig",
           gender="f"),
    _genre("nineties music", "musica anni novanta", "Musik aus den Neunzigern", "muziek uit de jaren negentig",
           gender="f"),
    _genre("lullabies", "ninne nanne", "Wiegenlieder", "slaapliedjes", gender="f", plural=True, de_plural=True),
    _genre("movie soundtracks", "colonne sonore", "Filmmusik", "filmmuziek", gender="f", plural=True),
)


# ---------------------------------------------------------------------------------------
# Time
# ---------------------------------------------------------------------------------------

_DAYPARTS = (  # English, spoken hours (12-hour clock) it may follow, hours added for 24 h
    ("", range(1, 13), None),  # no daypart: the value keeps the 12-hour reading
    ("in the morning", range(1, 12), 0),
    ("in the afternoon", range(1, 6), 12),
    ("in the evening", range(5, 12), 12),
    ("at night", range(9, 12), 12),
)


def _italian_daypart(hour24: int) -> str:
    # Italian splits the day by the clock, not by the English phrase: "one in the morning"
    # is "l'una di notte", "five in the evening" "le cinque del pomeriggio".
    if hour24 < 5:
        return "di notte"
    if hour24 < 12:
        return "di mattina"
    return "del pomeriggio" if hour24 < 18 else "di sera"


def _german_daypart(hour24: int) -> str:
    # By the clock too: "ein Uhr nachts", "sieben Uhr morgens", "elf Uhr vormittags",
    # "fünf Uhr nachmittags", "neun Uhr abends"
    if hour24 < 5:
        return "nachts"
    if hour24 < 12:
        return "morgens" if hour24 < 10 else "vormittags"
    return "nachmittags" if hour24 < 18 else "abends"


def _dutch_daypart(hour24: int) -> str:
    # Dutch names the four quarters of the day: "één uur 's nachts", "zeven uur 's ochtends"
    if hour24 < 6:
        return "'s nachts"
    if hour24 < 12:
        return "'s ochtends"
    return "'s middags" if hour24 < 18 else "'s avonds"


def _clock_readings(hour: int) -> list[tuple[str, str, str, str, int]]:
    """Ways to read a time by the spoken ``hour`` (1-12): (English, Italian without article,
    German, Dutch, minutes from hour:00). 'quarter to eight' is read by eight, so its offset
    is -15.

    Each English reading has one German and one Dutch reading: "seven o'clock" is "sieben
    Uhr" / "zeven uur", a bare "seven" a bare "sieben" / "zeven", "quarter past seven"
    "Viertel nach sieben" / "kwart over zeven", "quarter to eight" "Viertel vor acht" /
    "kwart voor acht", "seven twenty" "sieben Uhr zwanzig" / "zeven uur twintig", and "half
    past seven" is read as German and Dutch say it, by the next hour: "halb acht" / "half acht".
    """
    en_h = english_number(hour)
    it_h = "una" if hour == 1 else italian_number(hour)  # le ore: l'una is feminine
    de_h, de_uhr = german_number(hour), f"{german_attributive(hour)} Uhr"  # "eins" but "ein Uhr"
    nl_h = dutch_number(hour)
    next_hour = hour % 12 + 1
    readings = [
        (f"{en_h} o'clock", it_h, de_uhr, f"{nl_h} uur", 0),
        (en_h, it_h, de_h, nl_h, 0),
        (f"quarter past {en_h}", f"{it_h} e un quarto", f"Viertel nach {de_h}", f"kwart over {nl_h}", 15),
        (f"half past {en_h}", f"{it_h} e mezza", f"halb {german_number(next_hour)}",
         f"half {dutch_number(next_hour)}", 30),
        (f"quarter to {en_h}", f"{it_h} meno un quarto", f"Viertel vor {de_h}", f"kwart voor {nl_h}", -15),
    ]
    for minutes in range(5, 60, 5):
        en_m = "oh five" if minutes == 5 else english_number(minutes)
        readings.append((f"{en_h} {en_m}", f"{it_h} e {italian_number(minutes)}",
                         f"{de_uhr} {german_number(minutes)}", f"{nl_h} uur {dutch_number(minutes)}", minutes))
    return readings


def _times() -> tuple[Filler, ...]:
    fillers = [
        Filler({"en": "noon", "en_at": "at noon", "it": "mezzogiorno", "it_at": "a mezzogiorno",
                "de": "zwölf Uhr mittags", "de_at": "um zwölf Uhr mittags",
                "nl": "twaalf uur 's middags", "nl_at": "om twaalf uur 's middags"}, "12:00"),
        Filler({"en": "midnight", "en_at": "at midnight", "it": "mezzanotte", "it_at": "a mezzanotte",
                "de": "Mitternacht", "de_at": "um Mitternacht", "nl": "middernacht", "nl_at": "om middernacht"},
               "00:00"),
    ]
    for en_part, hours, offset in _DAYPARTS:
        for hour in hours:
            hour24 = hour if offset is None else hour + offset
            it_part = "" if offset is None else _italian_daypart(hour24)
            de_part = "" if offset is None else _german_daypart(hour24)
            nl_part = "" if offset is None else _dutch_daypart(hour24)
            for en, it, de, nl, minutes in _clock_readings(hour):
                total = hour24 * 60 + minutes
                # Without a daypart only the 12-hour clock is known: "quarter to one" is 12:45.
                value_hour = (total // 60 - 1) % 12 + 1 if offset is None else total // 60 % 24
                en = f"{en} {en_part}".strip()
                it = f"{it} {it_part}".strip()
                de = f"{de} {de_part}".strip()
                nl = f"{nl} {nl_part}".strip()
                plural = hour != 1  # "le due" but "l'una"
                forms = {"en": en, "en_at": f"at {en}",
                         "it": articled("", it, "f", plural), "it_at": articled("a", it, "f", plural),
                         "de": de, "de_at": f"um {de}", "nl": nl, "nl_at": f"om {nl}"}
                fillers.append(Filler(forms, f"{value_hour:02d}:{total % 60:02d}"))
    return tuple(fillers)


_MONTHS = (  # English, Italian, German, Dutch, days in a leap year
    ("january", "gennaio", "Januar", "januari", 31), ("february", "febbraio", "Februar", "februari", 29),
    ("march", "marzo", "März", "maart", 31), ("april", "aprile", "April", "april", 30),
    ("may", "maggio", "Mai", "mei", 31), ("june", "giugno", "Juni", "juni", 30),
    ("july", "luglio", "Juli", "juli", 31), ("august", "agosto", "August", "augustus", 31),
    ("september", "settembre", "September", "september", 30),
    ("october", "ottobre", "Oktober", "oktober", 31), ("november", "novembre", "November", "november", 30),
    ("december", "dicembre", "Dezember", "december", 31))
_WEEKDAYS = (("monday", "lunedì", "Montag", "maandag"), ("tuesday", "martedì", "Dienstag", "dinsdag"),
             ("wednesday", "mercoledì", "Mittwoch", "woensdag"), ("thursday", "giovedì", "Donnerstag", "donderdag"),
             ("friday", "venerdì", "Freitag", "vrijdag"), ("saturday", "sabato", "Samstag", "zaterdag"),
             ("sunday", "domenica", "Sonntag", "zondag"))


def _day(en: str, it: str, de: str, nl: str, value: str, en_on: str | None = None,
         de_on: str | None = None, nl_on: str | None = None) -> Filler:
    """A day said without a preposition in Italian ('domani', 'lunedì', 'il tre marzo');
    English puts 'on' before some of them ('on monday') and not others ('tomorrow'), and so
    do German ('am Montag', 'morgen') and Dutch ('op maandag', 'morgen'). The German without
    a preposition is the accusative that follows "für": 'für den dritten März', 'für Montag'."""
    return Filler({"en": en, "en_on": en_on or en, "it": it, "de": de, "de_on": de_on or de,
                   "nl": nl, "nl_on": nl_on or nl}, value)


def _calendar_dates() -> list[Filler]:
    """Every day of a leap year, read 'march third' and 'the third of march'; German reads
    ordinals ('am dritten März'), Dutch cardinals ('op drie maart'), as Italian ('il tre marzo')."""
    fillers = []
    for month, (en_month, it_month, de_month, nl_month, days) in enumerate(_MONTHS, start=1):
        for day in range(1, days + 1):
            it_day = "primo" if day == 1 else italian_number(day)  # Italian dates are cardinals but the first
            it = articled("", f"{it_day} {it_month}", "m")  # il tre marzo, l'otto marzo
            de_day = f"{german_ordinal(day)} {de_month}"
            nl = f"{dutch_number(day)} {nl_month}"
            ordinal = english_ordinal(day)
            for en in (f"{en_month} {ordinal}", f"the {ordinal} of {en_month}"):
                fillers.append(_day(en, it, f"den {de_day}", nl, f"{month:02d}-{day:02d}", en_on=f"on {en}",
                                    de_on=f"am {de_day}", nl_on=f"op {nl}"))
    return fillers


DAYS = (
    _day("today", "oggi", "heute", "vandaag", "today"),
    _day("tomorrow", "domani", "morgen", "morgen", "tomorrow"),
    _day("the day after tomorrow", "dopodomani", "übermorgen", "overmorgen", "day_after_tomorrow"),
    *(_day(en, it, de, nl, en, en_on=f"on {en}", de_on=f"am {de}", nl_on=f"op {nl}")
      for en, it, de, nl in _WEEKDAYS),
)
DATES = DAYS + (
    _day("tonight", "stasera", "heute Abend", "vanavond", "tonight"),
    _day("this weekend", "questo fine settimana", "dieses Wochenende", "dit weekend", "weekend"),
    _day("next week", "la settimana prossima", "nächste Woche", "volgende week", "next_week"),
    *_calendar_dates(),
)
TIMES = _times()

_DURATION_UNITS = (  # English; Italian singular, plural, gender; seconds; counts said; German, Dutch sg, pl
    ("second", "secondo", "secondi", "m", 1, range(5, 60), "Sekunde", "Sekunden", "seconde", "seconden"),
    ("minute", "minuto", "minuti", "m", 60, range(1, 60),  # past an hour people say hours
     "Minute", "Minuten", "minuut", "minuten"),
    ("hour", "ora", "ore", "f", 3600, range(1, 13), "Stunde", "Stunden", "uur", "uur"),  # "twee uur"
)


def _durations() -> tuple[Filler, ...]:
    """Durations, valued in seconds: 'a minute' / 'un minuto' / 'eine Minute' / 'een minuut',
    'two hours and ten minutes'. German has the accusative ("für eine Stunde") and the dative
    ("in einer Stunde", form "de_dat"); Dutch says 'één' where English says 'one'."""
    fillers = []
    for en_unit, it_singular, it_plural, gender, seconds, counts, de_sg, de_pl, nl_sg, nl_pl in _DURATION_UNITS:
        for n in counts:
            it = italian_count(n, it_singular, it_plural, gender)
            de = {"de": german_count(n, de_sg, de_pl, "f"), "de_dat": german_count(n, de_sg, de_pl, "f", "dat")}
            for en in english_counts(n, en_unit, en_unit + "s"):
                forms = {"en": en, "it": it, **de, "nl": dutch_count(n, nl_sg, nl_pl, en.startswith("one "))}
                # "a ten minute timer" needs the number spelled: "a a minute timer" is not English
                if not en.startswith(("a ", "an ")):
                    forms["en_a_adj"] = a_or_an(f"{english_number(n)} {en_unit}")
                fillers.append(Filler(forms, str(n * seconds)))
    for hours in (1, 2, 3):
        for minutes in range(5, 60, 5):
            en_hours = f"{english_number(hours)} hour{'s' if hours > 1 else ''}"
            en = f"{en_hours} and {english_number(minutes)} minutes"
            it = f"{italian_count(hours, 'ora', 'ore', 'f')} e {italian_number(minutes)} minuti"
            de, de_dat = (f"{german_count(hours, 'Stunde', 'Stunden', 'f', case)} und "
                          f"{german_number(minutes)} Minuten" for case in ("acc", "dat"))
            nl = f"{dutch_count(hours, 'uur', 'uur', stressed=True)} en {dutch_number(minutes)} minuten"
            fillers.append(Filler({"en": en, "it": it, "de": de, "de_dat": de_dat, "nl": nl},
                                  str(hours * 3600 + minutes * 60)))
    fillers += [phrase("half an hour", "mezz'ora", "1800", de="eine halbe Stunde", de_dat="einer halben Stunde",
                       nl="een half uur"),
                phrase("a quarter of an hour", "un quarto d'ora", "900", de="eine Viertelstunde",
                       de_dat="einer Viertelstunde", nl="een kwartier"),
                phrase("an hour and a half", "un'ora e mezza", "5400", de="eineinhalb Stunden",
                       de_dat="eineinhalb Stunden", nl="anderhalf uur"),
                phrase("a minute and a half", "un minuto e mezzo", "90", de="eineinhalb Minuten",
                       de_dat="eineinhalb Minuten", nl="anderhalve minuut")]
    return tuple(fillers)


DURATIONS = _durations()
UNIT_DURATIONS = tuple(d for d in DURATIONS if "en_a_adj" in d.forms)  # usable as "a ten minute timer"

TIMER_LABELS = (
    noun("pasta", "pasta", gender="f", de=("Nudeln", "pl"), nl=("pasta", "de")),
    noun("spaghetti", "spaghetti", plural=True, de=("Spaghetti", "pl"), nl=("spaghetti", "de")),
    noun("eggs", "uova", gender="f", plural=True, de=("Eier", "pl"), nl=("eieren", "pl")),
    noun("pizza", "pizza", gender="f", de=("Pizza", "f"), nl=("pizza", "de")),
    noun("laundry", "bucato", de=("Wäsche", "f"), nl=("was", "de")),
    noun("tea", "tè", de=("Tee", "m"), nl=("thee", "de")),
    noun("rice", "riso", de=("Reis", "m"), nl=("rijst", "de")),
    noun("cake", "torta", gender="f", de=("Kuchen", "m"), nl=("taart", "de")),
    noun("bread", "pane", de=("Brot", "n"), nl=("brood", "het")),
    noun("roast", "arrosto", de=("Braten", "m"), nl=("gebraad", "het")),
    noun("soup", "zuppa", gender="f", de=("Suppe", "f"), nl=("soep", "de")),
    noun("sauce", "sugo", de=("Soße", "f"), nl=("saus", "de")),
    noun("cookies", "biscotti", plural=True, de=("Kekse", "pl"), nl=("koekjes", "pl")),
    noun("workout", "allenamento", de=("Training", "n"), nl=("training", "de")),
    noun("nap", "pisolino", de=("Nickerchen", "n"), nl=("dutje", "het")),
    noun("homework", "compiti", plural=True, de=("Hausaufgaben", "pl"), nl=("huiswerk", "het")),
    noun("parking", "parcheggio", de=("Parken", "n"), nl=("parkeren", "het")),
    noun("meditation", "meditazione", gender="f", de=("Meditation", "f"), nl=("meditatie", "de")),
)


# ---------------------------------------------------------------------------------------
# People, places, plans, errands
# ---------------------------------------------------------------------------------------

_FIRST_NAMES = ("john", "maria", "paul", "anna", "david", "sarah", "michael", "laura", "james",
                "sophie", "luca", "giulia", "marco", "emma", "peter", "lucy", "tom", "kate",
                "alex", "chris", "daniel", "elena", "robert", "linda", "george", "alice",
                "matteo", "francesca", "andrea", "sam")


def _name(name: str) -> Filler:
    """A first name, the same in every language (German capitalises it: "ruf Maria an");
    without an article, its gender never shows, so it is left neuter."""
    return noun(name, name, article=False, de=(name.capitalize(), "n"), de_det="", nl=(name, "de"),
                nl_article=False)


def _relative(en: str, it: str, de: str, de_gender: str, nl: str, *, gender: str = "m",
              value: str) -> Filler:
    """"my sister": Italian "mia sorella" without article, German "meine Schwester" declined
    ("meinen Bruder", "meiner Schwester"), Dutch "mijn zus"."""
    return noun(en, it, gender=gender, article=False, value=value, de=(de, de_gender), de_det="mein",
                nl=(nl, "de"), nl_article=False)


CONTACTS = (
    *(_name(name) for name in _FIRST_NAMES),
    noun("mom", "mamma", gender="f", de=("Mama", "f"), de_det="", nl=("mama", "de"), nl_article=False),
    noun("dad", "papà", article=False, de=("Papa", "m"), de_det="", nl=("papa", "de"), nl_article=False),
    noun("grandma", "nonna", gender="f", de=("Oma", "f"), de_det="", nl=("oma", "de"), nl_article=False),
    noun("grandpa", "nonno", de=("Opa", "m"), de_det="", nl=("opa", "de"), nl_article=False),
    _relative("my sister", "mia sorella", "Schwester", "f", "mijn zus", gender="f", value="sister"),
    _relative("my brother", "mio fratello", "Bruder", "m", "mijn broer", value="brother"),
    _relative("my wife", "mia moglie", "Frau", "f", "mijn vrouw", gender="f", value="wife"),
    _relative("my husband", "mio marito", "Mann", "m", "mijn man", value="husband"),
    _relative("my son", "mio figlio", "Sohn", "m", "mijn zoon", value="son"),
    _relative("my daughter", "mia figlia", "Tochter", "f", "mijn dochter", gender="f", value="daughter"),
    _relative("my uncle", "mio zio", "Onkel", "m", "mijn oom", value="uncle"),
    _relative("my aunt", "mia zia", "Tante", "f", "mijn tante", gender="f", value="aunt"),
    _relative("my cousin", "mio cugino", "Cousin", "m", "mijn neef", value="cousin"),
    noun("my boss", "mio capo", value="boss", de=("Chef", "m"), de_det="mein",  # with an article: "il mio capo"
         nl=("mijn baas", "de"), nl_article=False),
    noun("the doctor", "medico", value="doctor", de=("Arzt", "m"), nl=("dokter", "de")),
    noun("the plumber", "idraulico", value="plumber", de=("Klempner", "m"), nl=("loodgieter", "de")),
    noun("the babysitter", "babysitter", gender="f", value="babysitter", de=("Babysitterin", "f"),
         nl=("oppas", "de")),
)


def _city(en: str, it: str, de: str, nl: str, *, article: bool = False, gender: str = "m") -> Filler:
    """Cities mostly take no article ("a roma"); a few do in Italian ("al cairo", "all'aia").
    German and Dutch say them bare after "in" ("in Rom", "in Den Haag", "in rome")."""
    return noun(en, it, gender=gender, article=article, en_in=f"in {en}", de=(de, "n"), de_det="",
                nl=(nl, "de"), nl_article=False)


CITIES = (
    *(_city(en, it, de, nl) for en, it, de, nl in (
        ("london", "londra", "London", "londen"), ("paris", "parigi", "Paris", "parijs"),
        ("rome", "roma", "Rom", "rome"), ("milan", "milano", "Mailand", "milaan"),
        ("naples", "napoli", "Neapel", "napels"), ("florence", "firenze", "Florenz", "florence"),
        ("venice", "venezia", "Venedig", "venetië"), ("turin", "torino", "Turin", "turijn"),
        ("bologna", "bologna", "Bologna", "bologna"), ("genoa", "genova", "Genua", "genua"),
        ("palermo", "palermo", "Palermo", "palermo"), ("verona", "verona", "Verona", "verona"),
        ("berlin", "berlino", "Berlin", "berlijn"), ("munich", "monaco di baviera", "München", "münchen"),
        ("vienna", "vienna", "Wien", "wenen"), ("madrid", "madrid", "Madrid", "madrid"),
        ("barcelona", "barcellona", "Barcelona", "barcelona"), ("lisbon", "lisbona", "Lissabon", "lissabon"),
        ("amsterdam", "amsterdam", "Amsterdam", "amsterdam"), ("brussels", "bruxelles", "Brüssel", "brussel"),
        ("athens", "atene", "Athen", "athene"), ("dublin", "dublino", "Dublin", "dublin"),
        ("edinburgh", "edimburgo", "Edinburgh", "edinburgh"), ("geneva", "ginevra", "Genf", "genève"),
        ("zurich", "zurigo", "Zürich", "zürich"), ("prague", "praga", "Prag", "praag"),
        ("warsaw", "varsavia", "Warschau", "warschau"), ("stockholm", "stoccolma", "Stockholm", "stockholm"),
        ("copenhagen", "copenaghen", "Kopenhagen", "kopenhagen"), ("moscow", "mosca", "Moskau", "moskou"),
        ("istanbul", "istanbul", "Istanbul", "istanbul"), ("new york", "new york", "New York", "new york"),
        ("boston", "boston", "Boston", "boston"), ("chicago", "chicago", "Chicago", "chicago"),
        ("los angeles", "los angeles", "Los Angeles", "los angeles"),
        ("san francisco", "san francisco", "San Francisco", "san francisco"),
        ("toronto", "toronto", "Toronto", "toronto"),
        ("mexico city", "città del messico", "Mexiko-Stadt", "mexico-stad"),
        ("sydney", "sydney", "Sydney", "sydney"), ("tokyo", "tokyo", "Tokio", "tokio"),
        ("beijing", "pechino", "Peking", "peking"), ("seoul", "seul", "Seoul", "seoul"),
        ("bangkok", "bangkok", "Bangkok", "bangkok"), ("cape town", "città del capo", "Kapstadt", "kaapstad"),
    )),
    _city("cairo", "cairo", "Kairo", "caïro", article=True),  # al cairo
    _city("the hague", "aia", "Den Haag", "den haag", article=True, gender="f"),  # all'aia
)


def _condition(en: str, it: str, de: str, nl: str, nl_aux: str, value: str | None = None) -> Filler:
    """Weather after "will it": German after "wird es" ("wird es regnen", "wird es kalt"), Dutch
    after its own verb ("gaat het regenen", "wordt het koud")."""
    return phrase(en, it, value, de=de, nl=nl, nl_aux=nl_aux)


CONDITIONS = (  # English after "will it", Italian future, German, Dutch and its verb, value
    _condition("rain", "pioverà", "regnen", "regenen", "gaat"),
    _condition("snow", "nevicherà", "schneien", "sneeuwen", "gaat"),
    _condition("hail", "grandinerà", "hageln", "hagelen", "gaat"),
    _condition("freeze", "gelerà", "frieren", "vriezen", "gaat"),
    _condition("be cold", "farà freddo", "kalt", "koud", "wordt", "cold"),
    _condition("be hot", "farà caldo", "heiß", "heet", "wordt", "hot"),
    _condition("be nice", "farà bel tempo", "schön", "mooi weer", "wordt", "nice"),
    _condition("be mild", "sarà mite", "mild", "zacht", "wordt", "mild"),
    _condition("be sunny", "ci sarà il sole", "sonnig", "zonnig", "wordt", "sunny"),
    _condition("be windy", "ci sarà vento", "windig", "winderig", "wordt", "windy"),
    _condition("be foggy", "ci sarà nebbia", "neblig", "mistig", "wordt", "fog"),
    _condition("be cloudy", "sarà nuvoloso", "bewölkt", "bewolkt", "wordt", "cloudy"),
    _condition("be humid", "sarà umido", "schwül", "vochtig", "wordt", "humid"),
    _condition("be stormy", "ci saranno temporali", "stürmisch", "stormachtig", "wordt", "storm"),
)

EVENTS = (
    noun("meeting", "riunione", gender="f", de=("Besprechung", "f"), nl=("vergadering", "de")),
    noun("team meeting", "riunione di squadra", gender="f", de=("Teambesprechung", "f"),
         nl=("teamvergadering", "de")),
    noun("appointment", "appuntamento", de=("Termin", "m"), nl=("afspraak", "de")),
    noun("dentist appointment", "appuntamento dal dentista", de=("Zahnarzttermin", "m"),
         nl=("tandartsafspraak", "de")),
    noun("doctor's appointment", "visita medica", gender="f", de=("Arzttermin", "m"), nl=("doktersafspraak", "de")),
    noun("vet appointment", "visita dal veterinario", gender="f", de=("Tierarzttermin", "m"),
         nl=("dierenartsafspraak", "de")),
    noun("eye exam", "visita oculistica", gender="f", de=("Augenuntersuchung", "f"), nl=("oogonderzoek", "het")),
    noun("haircut", "taglio di capelli", de=("Friseurtermin", "m"), nl=("knipbeurt", "de")),
    noun("job interview", "colloquio di lavoro", de=("Vorstellungsgespräch", "n"),
         nl=("sollicitatiegesprek", "het")),
    noun("parent teacher meeting", "colloquio con gli insegnanti", de=("Elterngespräch", "n"),
         nl=("ouderavond", "de")),
    noun("lunch", "pranzo", de=("Mittagessen", "n"), nl=("lunch", "de")),
    noun("dinner", "cena", gender="f", de=("Abendessen", "n"), nl=("diner", "het")),
    noun("video call", "videochiamata", gender="f", de=("Videoanruf", "m"), nl=("videogesprek", "het")),
    noun("phone call", "telefonata", gender="f", de=("Telefonat", "n"), nl=("telefoongesprek", "het")),
    noun("yoga class", "lezione di yoga", gender="f", de=("Yogakurs", "m"), nl=("yogales", "de")),
    noun("guitar lesson", "lezione di chitarra", gender="f", de=("Gitarrenstunde", "f"), nl=("gitaarles", "de")),
    noun("swimming lesson", "lezione di nuoto", gender="f", de=("Schwimmstunde", "f"), nl=("zwemles", "de")),
    noun("football practice", "allenamento di calcio", de=("Fußballtraining", "n"), nl=("voetbaltraining", "de")),
    noun("birthday party", "festa di compleanno", gender="f", de=("Geburtstagsfeier", "f"),
         nl=("verjaardagsfeest", "het")),
    noun("piano recital", "saggio di pianoforte", de=("Klaviervorspiel", "n"), nl=("pianovoordracht", "de")),
    noun("business trip", "viaggio di lavoro", de=("Geschäftsreise", "f"), nl=("zakenreis", "de")),
    noun("flight", "volo", de=("Flug", "m"), nl=("vlucht", "de")),
)

TASKS = tuple(phrase(en, it, de=de, nl=nl) for en, it, de, nl in (
    # English and Italian infinitive phrases; German zu-infinitive, Dutch te-infinitive
    # (they follow "erinnere mich daran" / "herinner me eraan om")
    ("call mom", "chiamare la mamma", "Mama anzurufen", "mama te bellen"),
    ("buy milk", "comprare il latte", "Milch zu kaufen", "melk te kopen"),
    ("take out the trash", "portare fuori la spazzatura", "den Müll rauszubringen", "het afval buiten te zetten"),
    ("water the plants", "annaffiare le piante", "die Pflanzen zu gießen", "de planten water te geven"),
    ("pick up the kids from school", "prendere i bambini a scuola", "die Kinder von der Schule abzuholen",
     "de kinderen van school op te halen"),
    ("pay the electricity bill", "pagare la bolletta della luce", "die Stromrechnung zu bezahlen",
     "de energierekening te betalen"),
    ("take my medicine", "prendere le medicine", "meine Medikamente zu nehmen", "mijn medicijnen in te nemen"),
    ("feed the cat", "dare da mangiare al gatto", "die Katze zu füttern", "de kat eten te geven"),
    ("walk the dog", "portare fuori il cane", "mit dem Hund rauszugehen", "de hond uit te laten"),
    ("book a table for dinner", "prenotare un tavolo per cena", "einen Tisch zum Abendessen zu reservieren",
     "een tafel voor het avondeten te reserveren"),
    ("charge my phone", "caricare il telefono", "mein Handy aufzuladen", "mijn telefoon op te laden"),
    ("check the oven", "controllare il forno", "nach dem Ofen zu sehen", "de oven te controleren"),
    ("turn off the oven", "spegnere il forno", "den Ofen auszuschalten", "de oven uit te zetten"),
    ("go to the gym", "andare in palestra", "ins Fitnessstudio zu gehen", "naar de sportschool te gaan"),
    ("call the dentist", "chiamare il dentista", "den Zahnarzt anzurufen", "de tandarts te bellen"),
    ("call the plumber", "chiamare l'idraulico", "den Klempner anzurufen", "de loodgieter te bellen"),
    ("buy a present for my sister", "comprare un regalo per mia sorella", "ein Geschenk für meine Schwester zu kaufen",
     "een cadeau voor mijn zus te kopen"),
    ("buy flowers for my mother", "comprare dei fiori per mia madre", "Blumen für meine Mutter zu kaufen",
     "bloemen voor mijn moeder te kopen"),
    ("buy stamps", "comprare i francobolli", "Briefmarken zu kaufen", "postzegels te kopen"),
    ("renew my passport", "rinnovare il passaporto", "meinen Reisepass zu verlängern", "mijn paspoort te verlengen"),
    ("do the laundry", "fare il bucato", "die Wäsche zu waschen", "de was te doen"),
    ("clean the bathroom", "pulire il bagno", "das Bad zu putzen", "de badkamer schoon te maken"),
    ("lock the back door", "chiudere a chiave la porta sul retro", "die Hintertür abzuschließen",
     "de achterdeur op slot te doen"),
    ("send the report to my boss", "mandare il rapporto al mio capo", "den Bericht an meinen Chef zu schicken",
     "het rapport naar mijn baas te sturen"),
    ("return the library books", "restituire i libri alla biblioteca",
     "die Bücher in die Bibliothek zurückzubringen", "de boeken naar de bibliotheek terug te brengen"),
    ("move the car", "spostare la macchina", "das Auto umzuparken", "de auto te verplaatsen"),
    ("defrost the chicken", "scongelare il pollo", "das Hähnchen aufzutauen", "de kip te ontdooien"),
    ("reply to anna's email", "rispondere all'email di anna", "auf Annas E-Mail zu antworten",
     "op de e-mail van anna te antwoorden"),
    ("pack my suitcase", "fare la valigia", "meinen Koffer zu packen", "mijn koffer te pakken"),
    ("drink some water", "bere un po' d'acqua", "etwas Wasser zu trinken", "wat water te drinken"),
    ("check the mail", "controllare la posta", "nach der Post zu sehen", "de post na te kijken"),
))

MESSAGES = tuple(phrase(en, it, de=de, nl=nl) for en, it, de, nl in (
    # statements, so "tell mom that ..." works; German and Dutch in the order of a clause after
    # "dass" / "dat", verb last ("sag Mama dass ich unterwegs bin")
    ("i'm running late", "sono in ritardo", "ich mich verspäte", "ik te laat ben"),
    ("i'm on my way", "sto arrivando", "ich unterwegs bin", "ik onderweg ben"),
    ("i'll be home soon", "arrivo presto a casa", "ich bald zu Hause bin", "ik snel thuis ben"),
    ("dinner is ready", "la cena è pronta", "das Abendessen fertig ist", "het eten klaar is"),
    ("i'll call you later", "ti chiamo più tardi", "ich dich später anrufe", "ik je later bel"),
    ("i'm at the supermarket", "sono al supermercato", "ich im Supermarkt bin", "ik in de supermarkt ben"),
    ("the meeting is cancelled", "la riunione è annullata", "die Besprechung abgesagt ist",
     "de vergadering afgelast is"),
    ("i left the keys at home", "ho lasciato le chiavi a casa", "ich die Schlüssel zu Hause gelassen habe",
     "ik de sleutels thuis heb laten liggen"),
    ("i'll be there in ten minutes", "sarò lì tra dieci minuti", "ich in zehn Minuten da bin",
     "ik er over tien minuten ben"),
    ("i miss you", "mi manchi", "ich dich vermisse", "ik je mis"),
    ("i love you", "ti voglio bene", "ich dich liebe", "ik van je hou"),
    ("i'm stuck in traffic", "sono bloccato nel traffico", "ich im Stau stehe", "ik in de file sta"),
    ("the kids are asleep", "i bambini dormono", "die Kinder schlafen", "de kinderen slapen"),
    ("i forgot my wallet", "ho dimenticato il portafoglio", "ich meinen Geldbeutel vergessen habe",
     "ik mijn portemonnee vergeten ben"),
    ("we need to talk", "dobbiamo parlare", "wir reden müssen", "we moeten praten"),
    ("the package has arrived", "il pacco è arrivato", "das Paket angekommen ist", "het pakket aangekomen is"),
    ("i'm leaving the office now", "sto uscendo adesso dall'ufficio", "ich jetzt das Büro verlasse",
     "ik nu van kantoor vertrek"),
    ("i'll pick you up at the station", "ti vengo a prendere alla stazione", "ich dich am Bahnhof abhole",
     "ik je bij het station ophaal"),
    ("the train is late", "il treno è in ritardo", "der Zug Verspätung hat", "de trein vertraging heeft"),
    ("i'm going to bed", "vado a letto", "ich ins Bett gehe", "ik naar bed ga"),
    ("everything is fine", "va tutto bene", "alles in Ordnung ist", "alles goed is"),
    ("i got the job", "ho ottenuto il lavoro", "ich den Job bekommen habe", "ik de baan heb gekregen"),
))

_MASS_ITEMS = (  # English; Italian, gender, plural; German and its gender; Dutch and its article
    ("milk", "latte", "m", False, "Milch", "f", "melk", "de"),
    ("bread", "pane", "m", False, "Brot", "n", "brood", "het"),
    ("coffee", "caffè", "m", False, "Kaffee", "m", "koffie", "de"),
    ("sugar", "zucchero", "m", False, "Zucker", "m", "suiker", "de"),
    ("rice", "riso", "m", False, "Reis", "m", "rijst", "de"),
    ("pasta", "pasta", "f", False, "Nudeln", "pl", "pasta", "de"),
    ("butter", "burro", "m", False, "Butter", "f", "boter", "de"),
    ("cheese", "formaggio", "m", False, "Käse", "m", "kaas", "de"),
    ("olive oil", "olio d'oliva", "m", False, "Olivenöl", "n", "olijfolie", "de"),
    ("flour", "farina", "f", False, "Mehl", "n", "bloem", "de"),
    ("salt", "sale", "m", False, "Salz", "n", "zout", "het"),
    ("toilet paper", "carta igienica", "f", False, "Toilettenpapier", "n", "toiletpapier", "het"),
    ("dish soap", "detersivo per i piatti", "m", False, "Spülmittel", "n", "afwasmiddel", "het"),
    ("laundry detergent", "detersivo per il bucato", "m", False, "Waschmittel", "n", "wasmiddel", "het"),
    ("orange juice", "succo d'arancia", "m", False, "Orangensaft", "m", "sinaasappelsap", "het"),
    ("chicken", "pollo", "m", False, "Hähnchen", "n", "kip", "de"),
    ("ham", "prosciutto", "m", False, "Schinken", "m", "ham", "de"),
    ("yogurt", "yogurt", "m", False, "Joghurt", "m", "yoghurt", "de"),
    ("cereal", "cereali", "m", True, "Müsli", "n", "ontbijtgranen", "pl"),
    ("honey", "miele", "m", False, "Honig", "m", "honing", "de"),
    ("tea", "tè", "m", False, "Tee", "m", "thee", "de"),
    ("water", "acqua", "f", False, "Wasser", "n", "water", "het"),
    ("spinach", "spinaci", "m", True, "Spinat", "m", "spinazie", "de"),
    ("ice cream", "gelato", "m", False, "Eis", "n", "ijs", "het"),
    ("cream", "panna", "f", False, "Sahne", "f", "room", "de"),
    ("mozzarella", "mozzarella", "f", False, "Mozzarella", "m", "mozzarella", "de"),
    ("parmesan", "parmigiano", "m", False, "Parmesan", "m", "parmezaan", "de"),
    ("tuna", "tonno", "m", False, "Thunfisch", "m", "tonijn", "de"),
    ("beer", "birra", "f", False, "Bier", "n", "bier", "het"),
    ("wine", "vino", "m", False, "Wein", "m", "wijn", "de"),
    ("mayonnaise", "maionese", "f", False, "Mayonnaise", "f", "mayonaise", "de"),
    ("toothpaste", "dentifricio", "m", False, "Zahnpasta", "f", "tandpasta", "de"),
    ("shampoo", "shampoo", "m", False, "Shampoo", "n", "shampoo", "de"),
    ("paper towels", "carta da cucina", "f", False, "Küchenpapier", "n", "keukenpapier", "het"),
)

_COUNTABLE_ITEMS = (  # English singular, plural; Italian singular, plural, gender, plural's gender;
    # German singular, plural, gender; Dutch singular, plural
    ("apple", "apples", "mela", "mele", "f", "f", "Apfel", "Äpfel", "m", "appel", "appels"),
    ("banana", "bananas", "banana", "banane", "f", "f", "Banane", "Bananen", "f", "banaan", "bananen"),
    ("orange", "oranges", "arancia", "arance", "f", "f", "Orange", "Orangen", "f", "sinaasappel", "sinaasappels"),
    ("egg", "eggs", "uovo", "uova", "m", "f", "Ei", "Eier", "n", "ei", "eieren"),
    ("lemon", "lemons", "limone", "limoni", "m", "m", "Zitrone", "Zitronen", "f", "citroen", "citroenen"),
    ("tomato", "tomatoes", "pomodoro", "pomodori", "m", "m", "Tomate", "Tomaten", "f", "tomaat", "tomaten"),
    ("potato", "potatoes", "patata", "patate", "f", "f", "Kartoffel", "Kartoffeln", "f", "aardappel",
     "aardappels"),
    ("onion", "onions", "cipolla", "cipolle", "f", "f", "Zwiebel", "Zwiebeln", "f", "ui", "uien"),
    ("carrot", "carrots", "carota", "carote", "f", "f", "Karotte", "Karotten", "f", "wortel", "wortels"),
    ("avocado", "avocados", "avocado", "avocado", "m", "m", "Avocado", "Avocados", "f", "avocado", "avocado's"),
    ("cucumber", "cucumbers", "cetriolo", "cetrioli", "m", "m", "Gurke", "Gurken", "f", "komkommer",
     "komkommers"),
    ("pear", "pears", "pera", "pere", "f", "f", "Birne", "Birnen", "f", "peer", "peren"),
    ("peach", "peaches", "pesca", "pesche", "f", "f", "Pfirsich", "Pfirsiche", "m", "perzik", "perziken"),
    ("steak", "steaks", "bistecca", "bistecche", "f", "f", "Steak", "Steaks", "n", "biefstuk", "biefstukken"),
    ("croissant", "croissants", "cornetto", "cornetti", "m", "m", "Croissant", "Croissants", "n", "croissant",
     "croissants"),
    ("toothbrush", "toothbrushes", "spazzolino", "spazzolini", "m", "m", "Zahnbürste", "Zahnbürsten", "f",
     "tandenborstel", "tandenborstels"),
    ("bottle of water", "bottles of water", "bottiglia d'acqua", "bottiglie d'acqua", "f", "f",
     "Flasche Wasser", "Flaschen Wasser", "f", "fles water", "flessen water"),
    ("can of tomatoes", "cans of tomatoes", "barattolo di pelati", "barattoli di pelati", "m", "m",
     "Dose Tomaten", "Dosen Tomaten", "f", "blik tomaten", "blikken tomaten"),
    ("loaf of bread", "loaves of bread", "pagnotta", "pagnotte", "f", "f", "Laib Brot", "Laibe Brot", "m",
     "brood", "broden"),
    ("pack of batteries", "packs of batteries", "confezione di pile", "confezioni di pile", "f", "f",
     "Packung Batterien", "Packungen Batterien", "f", "pak batterijen", "pakken batterijen"),
)


def _uncounted(en: str, it: str, de: str, de_gender: str, nl: str, nl_gender: str, value: str) -> Filler:
    """An item without a number: Italian with its article ("il latte", "le mele"), German and
    Dutch bare ("Milch", "Äpfel"; "melk"), with what "we're out of" asks: "keine Milch",
    "die Milch ist"; "de melk is"."""
    forms = {"en": en, "it": it,
             "de": de, "de_kein": german.determined("kein", de, de_gender, "acc"),
             "de_nom": german.determined("der", de, de_gender, "nom"), "de_be": "sind" if de_gender == "pl" else "ist",
             "nl": nl, "nl_def": dutch.definite(nl, nl_gender), "nl_be": "zijn" if nl_gender == "pl" else "is"}
    return Filler(forms, value)


def _shopping_items() -> tuple[tuple[Filler, ...], tuple[Filler, ...]]:
    """(uncounted, counted) items. Uncounted take the article in Italian ('il latte', 'le mele');
    counted ones 1-12 agree with their number ('un uovo', 'tre uova'; 'ein Ei', 'einen Apfel')
    and set ``quantity``."""
    uncounted = [_uncounted(en, articled("", it, gender, plural), de, de_gender, nl, nl_gender, en)
                 for en, it, gender, plural, de, de_gender, nl, nl_gender in _MASS_ITEMS]
    counted = []
    for (en_sg, en_pl, it_sg, it_pl, gender, plural_gender,
         de_sg, de_pl, de_gender, nl_sg, nl_pl) in _COUNTABLE_ITEMS:
        uncounted.append(_uncounted(en_pl, articled("", it_pl, plural_gender, plural=True), de_pl, "pl",
                                    nl_pl, "pl", en_sg))
        for n in range(1, 13):
            it = italian_count(n, it_sg, it_pl, gender)
            de = german_count(n, de_sg, de_pl, de_gender)  # accusative: the object of "setze", "füge"
            for en in english_counts(n, en_sg, en_pl):
                nl = dutch_count(n, nl_sg, nl_pl, stressed=en.startswith("one "))
                counted.append(Filler({"en": en, "it": it, "de": de, "nl": nl}, en_sg, {"quantity": str(n)}))
    return tuple(uncounted), tuple(counted)


UNCOUNTED_ITEMS, COUNTED_ITEMS = _shopping_items()
LISTS = (
    noun("shopping list", "lista della spesa", gender="f", value="shopping", de=("Einkaufsliste", "f"),
         nl=("boodschappenlijst", "de")),
    noun("grocery list", "lista della spesa", gender="f", value="shopping", de=("Einkaufsliste", "f"),
         nl=("boodschappenlijst", "de")),
    noun("to do list", "lista delle cose da fare", gender="f", value="todo", de=("Aufgabenliste", "f"),
         nl=("takenlijst", "de")),
)

OPERANDS = numbers(0, 100)
DIVISORS = numbers(1, 100)  # no "divided by zero"
OPERATORS = (
    phrase("plus", "più", "+", de="plus", nl="plus"),
    phrase("minus", "meno", "-", de="minus", nl="min"),
    phrase("times", "per", "*", de="mal", nl="keer"),
    phrase("multiplied by", "moltiplicato per", "*", de="multipliziert mit", nl="vermenigvuldigd met"),
    phrase("divided by", "diviso", "/", de="geteilt durch", nl="gedeeld door"),
)
