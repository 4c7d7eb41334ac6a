"""Slot tables: the words the synth grammar fills its templates with, in English and Italian.

A table is a tuple of :class:`~.fillers.Filler`; a template field names one (``{room.en}``
is filled from ``ROOMS``, see :mod:`.grammar`). Most tables list words, one entry per
filler with its English, its Italian and its gender. Times, dates, durations and shopping
items are generated here, because how each language reads them follows rules: a clock
reading, a date, a count agreeing with its noun. A new language adds its words to each
entry and its readings to those generators.
"""
from __future__ import annotations

from dataclasses import replace

from .english import a_or_an, english_counts, english_number, english_ordinal
from .fillers import Filler, action, noun, numbers, phrase
from .italian import articled, italian_count, italian_number


# ---------------------------------------------------------------------------------------
# The home
# ---------------------------------------------------------------------------------------

PLEASE = (Filler({"en": "", "it": ""}, None), Filler({"en": "please", "it": "per favore"}, None))

ROOMS = (
    noun("kitchen", "cucina", gender="f", it_in="in cucina"),
    noun("living room", "soggiorno", it_in="in soggiorno"),
    noun("bedroom", "camera da letto", gender="f", it_in="in camera da letto"),
    noun("master bedroom", "camera matrimoniale", gender="f"),
    noun("bathroom", "bagno", it_in="in bagno"),
    noun("dining room", "sala da pranzo", gender="f", it_in="in sala da pranzo"),
    noun("office", "ufficio", it_in="in ufficio"),
    noun("study", "studio"),
    noun("hall", "ingresso"),
    noun("hallway", "corridoio"),
    noun("garage", "garage", it_in="in garage"),
    noun("garden", "giardino", it_in="in giardino"),
    noun("basement", "seminterrato"),
    noun("attic", "soffitta", gender="f", it_in="in soffitta"),
    noun("kids room", "cameretta", gender="f"),
    noun("guest room", "camera degli ospiti", gender="f"),
    noun("nursery", "stanza dei bambini", gender="f"),
    noun("laundry room", "lavanderia", gender="f", it_in="in lavanderia"),
    noun("balcony", "balcone", en_in="on the balcony", it_in="sul balcone"),
    noun("porch", "veranda", gender="f", en_in="on the porch", it_in="in veranda"),
    noun("patio", "patio", en_in="on the patio"),
    noun("gym", "palestra", gender="f", it_in="in palestra"),
    noun("cellar", "cantina", gender="f", it_in="in cantina"),
)

LIGHTS = (
    noun("light", "luce", gender="f"),
    noun("lights", "luci", gender="f", plural=True),
    noun("lamp", "lampada", gender="f"),
    noun("desk lamp", "lampada da scrivania", gender="f"),
    noun("floor lamp", "lampada da terra", gender="f"),
    noun("bedside lamp", "lampada sul comodino", gender="f"),
    noun("ceiling light", "plafoniera", gender="f"),
    noun("night light", "luce notturna", gender="f"),
    noun("reading light", "luce da lettura", gender="f"),
    noun("christmas lights", "luci di natale", gender="f", plural=True),
    noun("spotlights", "faretti", plural=True),
    noun("led strip", "striscia led", gender="f"),
)

APPLIANCES = (
    noun("fan", "ventilatore"),
    noun("ceiling fan", "ventilatore a soffitto"),
    noun("heater", "stufa", gender="f"),
    noun("space heater", "stufetta", gender="f"),
    noun("heating", "riscaldamento"),
    noun("air conditioner", "condizionatore"),
    noun("air conditioning", "aria condizionata", gender="f"),
    noun("television", "televisore"),
    noun("radio", "radio", gender="f"),
    noun("stereo", "stereo"),
    noun("speaker", "altoparlante"),
    noun("coffee machine", "macchina del caffè", gender="f"),
    noun("kettle", "bollitore"),
    noun("dishwasher", "lavastoviglie", gender="f"),
    noun("washing machine", "lavatrice", gender="f"),
    noun("dryer", "asciugatrice", gender="f"),
    noun("oven", "forno"),
    noun("humidifier", "umidificatore"),
    noun("dehumidifier", "deumidificatore"),
    noun("air purifier", "purificatore d'aria"),
    noun("robot vacuum", "robot aspirapolvere"),
    noun("computer", "computer"),
    noun("printer", "stampante", gender="f"),
    noun("sprinklers", "irrigatori", plural=True),
    noun("water heater", "scaldabagno"),
    noun("towel warmer", "scaldasalviette"),
    noun("electric blanket", "coperta elettrica", gender="f"),
    noun("fireplace", "camino"),
    noun("projector", "proiettore"),
    noun("game console", "console", gender="f"),
    noun("hot tub", "idromassaggio"),
    noun("fountain", "fontana", gender="f"),
)

SWITCHABLES = LIGHTS + APPLIANCES
SPEAKERS = tuple(d for d in APPLIANCES if d.value in {"television", "radio", "stereo", "speaker"})

COVERS = (
    noun("blinds", "tapparelle", gender="f", plural=True),
    noun("curtains", "tende", gender="f", plural=True),
    noun("shutters", "persiane", gender="f", plural=True),
    noun("window", "finestra", gender="f"),
    noun("windows", "finestre", gender="f", plural=True),
    noun("door", "porta", gender="f"),
    noun("front door", "porta d'ingresso", gender="f"),
    noun("back door", "porta sul retro", gender="f"),
    noun("garage door", "porta del garage", gender="f"),
    noun("gate", "cancello"),
    noun("skylight", "lucernario"),
    noun("awning", "tenda da sole", gender="f"),
)

TURN_ON = action("on", "on", "accendi", "accendere", "acces")
TURN_OFF = action("off", "off", "spegni", "spegnere", "spent")
OPEN = action("open", "open", "apri", "aprire", "apert")
CLOSE = action("close", "closed", "chiudi", "chiudere", "chius")
SHUT = action("shut", "shut", "chiudi", "chiudere", "chius")
# A status question asks about a state, so there the same verbs do carry a value.
SWITCH_STATES = (replace(TURN_ON, value="on"), replace(TURN_OFF, value="off"))
COVER_STATES = (replace(OPEN, value="open"), replace(CLOSE, value="closed"))

TEMPERATURES = numbers(10, 30)  # degrees Celsius a thermostat is set to
PERCENTS = numbers(1, 100)
VOLUMES = numbers(0, 100)

MEDIA_ACTIONS = (  # English, Italian imperative, value; the infinitive follows "puoi"
    phrase("pause the music", "metti in pausa la musica", "pause", it_inf="mettere in pausa la musica"),
    phrase("pause this song", "metti in pausa questa canzone", "pause",
           it_inf="mettere in pausa questa canzone"),
    phrase("resume the music", "riprendi la musica", "resume", it_inf="riprendere la musica"),
    phrase("start the music again", "fai ripartire la musica", "resume", it_inf="far ripartire la musica"),
    phrase("stop the music", "ferma la musica", "stop", it_inf="fermare la musica"),
    phrase("skip this song", "salta questa canzone", "next", it_inf="saltare questa canzone"),
    phrase("play the next song", "metti la prossima canzone", "next", it_inf="mettere la prossima canzone"),
    phrase("play the previous song", "metti la canzone precedente", "previous",
           it_inf="mettere la canzone precedente"),
    phrase("go back to the last song", "torna alla canzone precedente", "previous",
           it_inf="tornare alla canzone precedente"),
    phrase("repeat this song", "ripeti questa canzone", "repeat", it_inf="ripetere questa canzone"),
    phrase("shuffle the playlist", "riproduci la playlist in ordine casuale", "shuffle",
           it_inf="riprodurre la playlist in ordine casuale"),
    phrase("turn the volume up", "alza il volume", "volume_up", it_inf="alzare il volume"),
    phrase("make it louder", "alza il volume", "volume_up", it_inf="alzare il volume"),
    phrase("turn the volume down", "abbassa il volume", "volume_down", it_inf="abbassare il volume"),
    phrase("make it quieter", "abbassa il volume", "volume_down", it_inf="abbassare il volume"),
    phrase("mute the sound", "togli l'audio", "mute", it_inf="togliere l'audio"),
    phrase("turn the sound back on", "riattiva l'audio", "unmute", it_inf="riattivare l'audio"),
)

GENRES = (
    noun("jazz", "jazz"),
    noun("rock", "rock"),
    noun("blues", "blues"),
    noun("reggae", "reggae"),
    noun("hip hop", "hip hop"),
    noun("funk", "funk"),
    noun("metal", "metal"),
    noun("gospel", "gospel"),
    noun("opera", "opera", gender="f"),
    noun("pop music", "musica pop", gender="f"),
    noun("classical music", "musica classica", gender="f"),
    noun("country music", "musica country", gender="f"),
    noun("electronic music", "musica elettronica", gender="f"),
    noun("relaxing music", "musica rilassante", gender="f"),
    noun("piano music", "musica per pianoforte", gender="f"),
    noun("christmas music", "musica natalizia", gender="f"),
    noun("italian music", "musica italiana", gender="f"),
    noun("folk music", "musica folk", gender="f"),
    noun("latin music", "musica latina", gender="f"),
    noun("disco music", "musica disco", gender="f"),
    noun("ambient music", "musica ambient", gender="f"),
    noun("eighties music", "musica anni ottanta", gender="f"),
    noun("nineties music", "musica anni novanta", gender="f"),
    noun("lullabies", "ninne nanne", gender="f", plural=True),
    noun("movie soundtracks", "colonne sonore", gender="f", plural=True),
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


def _clock_readings(hour: int) -> list[tuple[str, str, int]]:
    """Ways to read a time by the spoken ``hour`` (1-12): (English, Italian without article,
    minutes from hour:00). 'quarter to eight' is read by eight, so its offset is -15."""
    en_h = english_number(hour)
    it_h = "una" if hour == 1 else italian_number(hour)  # le ore: l'una is feminine
    readings = [
        (f"{en_h} o'clock", it_h, 0),
        (en_h, it_h, 0),
        (f"quarter past {en_h}", f"{it_h} e un quarto", 15),
        (f"half past {en_h}", f"{it_h} e mezza", 30),
        (f"quarter to {en_h}", f"{it_h} meno un quarto", -15),
    ]
    for minutes in range(5, 60, 5):
        en_m = "oh five" if minutes == 5 else english_number(minutes)
        readings.append((f"{en_h} {en_m}", f"{it_h} e {italian_number(minutes)}", minutes))
    return readings


def _times() -> tuple[Filler, ...]:
    fillers = [
        Filler({"en": "noon", "en_at": "at noon", "it": "mezzogiorno", "it_at": "a mezzogiorno"}, "12:00"),
        Filler({"en": "midnight", "en_at": "at midnight", "it": "mezzanotte", "it_at": "a mezzanotte"},
               "00:00"),
    ]
    for en_part, hours, offset in _DAYPARTS:
        for hour in hours:
            hour24 = hour if offset is None else hour + offset
            it_part = "" if offset is None else _italian_daypart(hour24)
            for en, it, minutes in _clock_readings(hour):
                total = hour24 * 60 + minutes
                # Without a daypart only the 12-hour clock is known: "quarter to one" is 12:45.
                value_hour = (total // 60 - 1) % 12 + 1 if offset is None else total // 60 % 24
                en = f"{en} {en_part}".strip()
                it = f"{it} {it_part}".strip()
                plural = hour != 1  # "le due" but "l'una"
                forms = {"en": en, "en_at": f"at {en}",
                         "it": articled("", it, "f", plural), "it_at": articled("a", it, "f", plural)}
                fillers.append(Filler(forms, f"{value_hour:02d}:{total % 60:02d}"))
    return tuple(fillers)


_MONTHS = (("january", "gennaio", 31), ("february", "febbraio", 29), ("march", "marzo", 31),
           ("april", "aprile", 30), ("may", "maggio", 31), ("june", "giugno", 30),
           ("july", "luglio", 31), ("august", "agosto", 31), ("september", "settembre", 30),
           ("october", "ottobre", 31), ("november", "novembre", 30), ("december", "dicembre", 31))
_WEEKDAYS = (("monday", "lunedì"), ("tuesday", "martedì"), ("wednesday", "mercoledì"),
             ("thursday", "giovedì"), ("friday", "venerdì"), ("saturday", "sabato"),
             ("sunday", "domenica"))


def _day(en: str, it: str, value: str, en_on: str | None = None) -> Filler:
    """A day said without a preposition in Italian ('domani', 'lunedì', 'il tre marzo');
    English puts 'on' before some of them ('on monday') and not others ('tomorrow')."""
    return Filler({"en": en, "en_on": en_on or en, "it": it}, value)


def _calendar_dates() -> list[Filler]:
    """Every day of a leap year, read 'march third' and 'the third of march'."""
    fillers = []
    for month, (en_month, it_month, days) in enumerate(_MONTHS, start=1):
        for day in range(1, days + 1):
            it_day = "primo" if day == 1 else italian_number(day)  # Italian dates are cardinals but the first
            it = articled("", f"{it_day} {it_month}", "m")  # il tre marzo, l'otto marzo
            ordinal = english_ordinal(day)
            for en in (f"{en_month} {ordinal}", f"the {ordinal} of {en_month}"):
                fillers.append(_day(en, it, f"{month:02d}-{day:02d}", en_on=f"on {en}"))
    return fillers


DAYS = (
    _day("today", "oggi", "today"),
    _day("tomorrow", "domani", "tomorrow"),
    _day("the day after tomorrow", "dopodomani", "day_after_tomorrow"),
    *(_day(en, it, en, en_on=f"on {en}") for en, it in _WEEKDAYS),
)
DATES = DAYS + (
    _day("tonight", "stasera", "tonight"),
    _day("this weekend", "questo fine settimana", "weekend"),
    _day("next week", "la settimana prossima", "next_week"),
    *_calendar_dates(),
)
TIMES = _times()

_DURATION_UNITS = (  # English, Italian singular, plural, gender, seconds, counts said
    ("second", "secondo", "secondi", "m", 1, range(5, 60)),
    ("minute", "minuto", "minuti", "m", 60, range(1, 60)),  # past an hour people say hours
    ("hour", "ora", "ore", "f", 3600, range(1, 13)),
)


def _durations() -> tuple[Filler, ...]:
    """Durations, valued in seconds: 'a minute' / 'un minuto', 'two hours and ten minutes'."""
    fillers = []
    for en_unit, it_singular, it_plural, gender, seconds, counts in _DURATION_UNITS:
        for n in counts:
            it = italian_count(n, it_singular, it_plural, gender)
            for en in english_counts(n, en_unit, en_unit + "s"):
                forms = {"en": en, "it": it}
                # "a ten minute timer" needs the number spelled: "a a minute timer" is not English
                if not en.startswith(("a ", "an ")):
                    forms["en_a_adj"] = a_or_an(f"{english_number(n)} {en_unit}")
                fillers.append(Filler(forms, str(n * seconds)))
    for hours in (1, 2, 3):
        for minutes in range(5, 60, 5):
            en_hours = f"{english_number(hours)} hour{'s' if hours > 1 else ''}"
            en = f"{en_hours} and {english_number(minutes)} minutes"
            it = f"{italian_count(hours, 'ora', 'ore', 'f')} e {italian_number(minutes)} minuti"
            fillers.append(Filler({"en": en, "it": it}, str(hours * 3600 + minutes * 60)))
    fillers += [phrase("half an hour", "mezz'ora", "1800"),
                phrase("a quarter of an hour", "un quarto d'ora", "900"),
                phrase("an hour and a half", "un'ora e mezza", "5400"),
                phrase("a minute and a half", "un minuto e mezzo", "90")]
    return tuple(fillers)


DURATIONS = _durations()
UNIT_DURATIONS = tuple(d for d in DURATIONS if "en_a_adj" in d.forms)  # usable as "a ten minute timer"

TIMER_LABELS = (
    noun("pasta", "pasta", gender="f"),
    noun("spaghetti", "spaghetti", plural=True),
    noun("eggs", "uova", gender="f", plural=True),
    noun("pizza", "pizza", gender="f"),
    noun("laundry", "bucato"),
    noun("tea", "tè"),
    noun("rice", "riso"),
    noun("cake", "torta", gender="f"),
    noun("bread", "pane"),
    noun("roast", "arrosto"),
    noun("soup", "zuppa", gender="f"),
    noun("sauce", "sugo"),
    noun("cookies", "biscotti", plural=True),
    noun("workout", "allenamento"),
    noun("nap", "pisolino"),
    noun("homework", "compiti", plural=True),
    noun("parking", "parcheggio"),
    noun("meditation", "meditazione", gender="f"),
)


# ---------------------------------------------------------------------------------------
# People, places, plans, errands
# ---------------------------------------------------------------------------------------

_FIRST_NAMES = ("john", "maria", "paul", "anna", "david", "sarah", "michael", "laura", "james",
                "sophie", "luca", "giulia", "marco", "emma", "peter", "lucy", "tom", "kate",
                "alex", "chris", "daniel", "elena", "robert", "linda", "george", "alice",
                "matteo", "francesca", "andrea", "sam")

CONTACTS = (
    *(noun(name, name, article=False) for name in _FIRST_NAMES),
    noun("mom", "mamma", gender="f"),
    noun("dad", "papà", article=False),
    noun("grandma", "nonna", gender="f"),
    noun("grandpa", "nonno"),
    noun("my sister", "mia sorella", gender="f", article=False, value="sister"),
    noun("my brother", "mio fratello", article=False, value="brother"),
    noun("my wife", "mia moglie", gender="f", article=False, value="wife"),
    noun("my husband", "mio marito", article=False, value="husband"),
    noun("my son", "mio figlio", article=False, value="son"),
    noun("my daughter", "mia figlia", gender="f", article=False, value="daughter"),
    noun("my uncle", "mio zio", article=False, value="uncle"),
    noun("my aunt", "mia zia", gender="f", article=False, value="aunt"),
    noun("my cousin", "mio cugino", article=False, value="cousin"),
    noun("my boss", "mio capo", value="boss"),  # with an article: "il mio capo"
    noun("the doctor", "medico", value="doctor"),
    noun("the plumber", "idraulico", value="plumber"),
    noun("the babysitter", "babysitter", gender="f", value="babysitter"),
)


def _city(en: str, it: str, *, article: bool = False, gender: str = "m") -> Filler:
    """Cities mostly take no article ("a roma"); a few do ("al cairo", "all'aia")."""
    return noun(en, it, gender=gender, article=article, en_in=f"in {en}")


CITIES = (
    *(_city(en, it) for en, it in (
        ("london", "londra"), ("paris", "parigi"), ("rome", "roma"), ("milan", "milano"),
        ("naples", "napoli"), ("florence", "firenze"), ("venice", "venezia"), ("turin", "torino"),
        ("bologna", "bologna"), ("genoa", "genova"), ("palermo", "palermo"), ("verona", "verona"),
        ("berlin", "berlino"), ("munich", "monaco di baviera"), ("vienna", "vienna"),
        ("madrid", "madrid"), ("barcelona", "barcellona"), ("lisbon", "lisbona"),
        ("amsterdam", "amsterdam"), ("brussels", "bruxelles"), ("athens", "atene"),
        ("dublin", "dublino"), ("edinburgh", "edimburgo"), ("geneva", "ginevra"),
        ("zurich", "zurigo"), ("prague", "praga"), ("warsaw", "varsavia"),
        ("stockholm", "stoccolma"), ("copenhagen", "copenaghen"), ("moscow", "mosca"),
        ("istanbul", "istanbul"), ("new york", "new york"), ("boston", "boston"),
        ("chicago", "chicago"), ("los angeles", "los angeles"), ("san francisco", "san francisco"),
        ("toronto", "toronto"), ("mexico city", "città del messico"), ("sydney", "sydney"),
        ("tokyo", "tokyo"), ("beijing", "pechino"), ("seoul", "seul"), ("bangkok", "bangkok"),
        ("cape town", "città del capo"),
    )),
    _city("cairo", "cairo", article=True),  # al cairo
    _city("the hague", "aia", article=True, gender="f"),  # all'aia
)

CONDITIONS = (  # English after "will it", Italian future, value
    phrase("rain", "pioverà"),
    phrase("snow", "nevicherà"),
    phrase("hail", "grandinerà"),
    phrase("freeze", "gelerà"),
    phrase("be cold", "farà freddo", "cold"),
    phrase("be hot", "farà caldo", "hot"),
    phrase("be nice", "farà bel tempo", "nice"),
    phrase("be mild", "sarà mite", "mild"),
    phrase("be sunny", "ci sarà il sole", "sunny"),
    phrase("be windy", "ci sarà vento", "windy"),
    phrase("be foggy", "ci sarà nebbia", "fog"),
    phrase("be cloudy", "sarà nuvoloso", "cloudy"),
    phrase("be humid", "sarà umido", "humid"),
    phrase("be stormy", "ci saranno temporali", "storm"),
)

EVENTS = (
    noun("meeting", "riunione", gender="f"),
    noun("team meeting", "riunione di squadra", gender="f"),
    noun("appointment", "appuntamento"),
    noun("dentist appointment", "appuntamento dal dentista"),
    noun("doctor's appointment", "visita medica", gender="f"),
    noun("vet appointment", "visita dal veterinario", gender="f"),
    noun("eye exam", "visita oculistica", gender="f"),
    noun("haircut", "taglio di capelli"),
    noun("job interview", "colloquio di lavoro"),
    noun("parent teacher meeting", "colloquio con gli insegnanti"),
    noun("lunch", "pranzo"),
    noun("dinner", "cena", gender="f"),
    noun("video call", "videochiamata", gender="f"),
    noun("phone call", "telefonata", gender="f"),
    noun("yoga class", "lezione di yoga", gender="f"),
    noun("guitar lesson", "lezione di chitarra", gender="f"),
    noun("swimming lesson", "lezione di nuoto", gender="f"),
    noun("football practice", "allenamento di calcio"),
    noun("birthday party", "festa di compleanno", gender="f"),
    noun("piano recital", "saggio di pianoforte"),
    noun("business trip", "viaggio di lavoro"),
    noun("flight", "volo"),
)

TASKS = tuple(phrase(en, it) for en, it in (  # English and Italian infinitive phrases
    ("call mom", "chiamare la mamma"),
    ("buy milk", "comprare il latte"),
    ("take out the trash", "portare fuori la spazzatura"),
    ("water the plants", "annaffiare le piante"),
    ("pick up the kids from school", "prendere i bambini a scuola"),
    ("pay the electricity bill", "pagare la bolletta della luce"),
    ("take my medicine", "prendere le medicine"),
    ("feed the cat", "dare da mangiare al gatto"),
    ("walk the dog", "portare fuori il cane"),
    ("book a table for dinner", "prenotare un tavolo per cena"),
    ("charge my phone", "caricare il telefono"),
    ("check the oven", "controllare il forno"),
    ("turn off the oven", "spegnere il forno"),
    ("go to the gym", "andare in palestra"),
    ("call the dentist", "chiamare il dentista"),
    ("call the plumber", "chiamare l'idraulico"),
    ("buy a present for my sister", "comprare un regalo per mia sorella"),
    ("buy flowers for my mother", "comprare dei fiori per mia madre"),
    ("buy stamps", "comprare i francobolli"),
    ("renew my passport", "rinnovare il passaporto"),
    ("do the laundry", "fare il bucato"),
    ("clean the bathroom", "pulire il bagno"),
    ("lock the back door", "chiudere a chiave la porta sul retro"),
    ("send the report to my boss", "mandare il rapporto al mio capo"),
    ("return the library books", "restituire i libri alla biblioteca"),
    ("move the car", "spostare la macchina"),
    ("defrost the chicken", "scongelare il pollo"),
    ("reply to anna's email", "rispondere all'email di anna"),
    ("pack my suitcase", "fare la valigia"),
    ("drink some water", "bere un po' d'acqua"),
    ("check the mail", "controllare la posta"),
))

MESSAGES = tuple(phrase(en, it) for en, it in (  # statements, so "tell mom that ..." works
    ("i'm running late", "sono in ritardo"),
    ("i'm on my way", "sto arrivando"),
    ("i'll be home soon", "arrivo presto a casa"),
    ("dinner is ready", "la cena è pronta"),
    ("i'll call you later", "ti chiamo più tardi"),
    ("i'm at the supermarket", "sono al supermercato"),
    ("the meeting is cancelled", "la riunione è annullata"),
    ("i left the keys at home", "ho lasciato le chiavi a casa"),
    ("i'll be there in ten minutes", "sarò lì tra dieci minuti"),
    ("i miss you", "mi manchi"),
    ("i love you", "ti voglio bene"),
    ("i'm stuck in traffic", "sono bloccato nel traffico"),
    ("the kids are asleep", "i bambini dormono"),
    ("i forgot my wallet", "ho dimenticato il portafoglio"),
    ("we need to talk", "dobbiamo parlare"),
    ("the package has arrived", "il pacco è arrivato"),
    ("i'm leaving the office now", "sto uscendo adesso dall'ufficio"),
    ("i'll pick you up at the station", "ti vengo a prendere alla stazione"),
    ("the train is late", "il treno è in ritardo"),
    ("i'm going to bed", "vado a letto"),
    ("everything is fine", "va tutto bene"),
    ("i got the job", "ho ottenuto il lavoro"),
))

_MASS_ITEMS = (  # English, Italian, gender, plural
    ("milk", "latte", "m", False), ("bread", "pane", "m", False), ("coffee", "caffè", "m", False),
    ("sugar", "zucchero", "m", False), ("rice", "riso", "m", False), ("pasta", "pasta", "f", False),
    ("butter", "burro", "m", False), ("cheese", "formaggio", "m", False),
    ("olive oil", "olio d'oliva", "m", False), ("flour", "farina", "f", False),
    ("salt", "sale", "m", False), ("toilet paper", "carta igienica", "f", False),
    ("dish soap", "detersivo per i piatti", "m", False),
    ("laundry detergent", "detersivo per il bucato", "m", False),
    ("orange juice", "succo d'arancia", "m", False), ("chicken", "pollo", "m", False),
    ("ham", "prosciutto", "m", False), ("yogurt", "yogurt", "m", False),
    ("cereal", "cereali", "m", True), ("honey", "miele", "m", False), ("tea", "tè", "m", False),
    ("water", "acqua", "f", False), ("spinach", "spinaci", "m", True),
    ("ice cream", "gelato", "m", False), ("cream", "panna", "f", False),
    ("mozzarella", "mozzarella", "f", False), ("parmesan", "parmigiano", "m", False),
    ("tuna", "tonno", "m", False), ("beer", "birra", "f", False), ("wine", "vino", "m", False),
    ("mayonnaise", "maionese", "f", False), ("toothpaste", "dentifricio", "m", False),
    ("shampoo", "shampoo", "m", False), ("paper towels", "carta da cucina", "f", False),
)

_COUNTABLE_ITEMS = (  # English singular, plural; Italian singular, plural; gender, plural's gender
    ("apple", "apples", "mela", "mele", "f", "f"),
    ("banana", "bananas", "banana", "banane", "f", "f"),
    ("orange", "oranges", "arancia", "arance", "f", "f"),
    ("egg", "eggs", "uovo", "uova", "m", "f"),
    ("lemon", "lemons", "limone", "limoni", "m", "m"),
    ("tomato", "tomatoes", "pomodoro", "pomodori", "m", "m"),
    ("potato", "potatoes", "patata", "patate", "f", "f"),
    ("onion", "onions", "cipolla", "cipolle", "f", "f"),
    ("carrot", "carrots", "carota", "carote", "f", "f"),
    ("avocado", "avocados", "avocado", "avocado", "m", "m"),
    ("cucumber", "cucumbers", "cetriolo", "cetrioli", "m", "m"),
    ("pear", "pears", "pera", "pere", "f", "f"),
    ("peach", "peaches", "pesca", "pesche", "f", "f"),
    ("steak", "steaks", "bistecca", "bistecche", "f", "f"),
    ("croissant", "croissants", "cornetto", "cornetti", "m", "m"),
    ("toothbrush", "toothbrushes", "spazzolino", "spazzolini", "m", "m"),
    ("bottle of water", "bottles of water", "bottiglia d'acqua", "bottiglie d'acqua", "f", "f"),
    ("can of tomatoes", "cans of tomatoes", "barattolo di pelati", "barattoli di pelati", "m", "m"),
    ("loaf of bread", "loaves of bread", "pagnotta", "pagnotte", "f", "f"),
    ("pack of batteries", "packs of batteries", "confezione di pile", "confezioni di pile", "f", "f"),
)


def _shopping_items() -> tuple[tuple[Filler, ...], tuple[Filler, ...]]:
    """(uncounted, counted) items. Uncounted take the article ('il latte', 'le mele');
    counted ones 1-12 agree with their number ('un uovo', 'tre uova') and set ``quantity``."""
    uncounted = [phrase(en, articled("", it, gender, plural)) for en, it, gender, plural in _MASS_ITEMS]
    counted = []
    for en_sg, en_pl, it_sg, it_pl, gender, plural_gender in _COUNTABLE_ITEMS:
        uncounted.append(phrase(en_pl, articled("", it_pl, plural_gender, plural=True), en_sg))
        for n in range(1, 13):
            it = italian_count(n, it_sg, it_pl, gender)
            counted += [Filler({"en": en, "it": it}, en_sg, {"quantity": str(n)})
                        for en in english_counts(n, en_sg, en_pl)]
    return tuple(uncounted), tuple(counted)


UNCOUNTED_ITEMS, COUNTED_ITEMS = _shopping_items()
LISTS = (
    noun("shopping list", "lista della spesa", gender="f", value="shopping"),
    noun("grocery list", "lista della spesa", gender="f", value="shopping"),
    noun("to do list", "lista delle cose da fare", gender="f", value="todo"),
)

OPERANDS = numbers(0, 100)
DIVISORS = numbers(1, 100)  # no "divided by zero"
OPERATORS = (
    phrase("plus", "più", "+"),
    phrase("minus", "meno", "-"),
    phrase("times", "per", "*"),
    phrase("multiplied by", "moltiplicato per", "*"),
    phrase("divided by", "diviso", "/"),
)
