"""One phone set for every phone task: the 39 classes of Lee & Hon (1989), the TIMIT folding every TIMIT
result reports (wav2vec 2.0 §5.3 / Table 3), here without its silence class, and the foldings into it.

- TIMIT's 61 phones -> 48 -> 39 (:func:`fold_timit`, :func:`fold_timit_48`): Lee & Hon's table in two steps, as
  Kaldi's ``egs/timit/s5/conf/phones.60-48-39.map`` writes it (the 48 phones are what TIMIT systems train on
  and the 39 what they score); the glottal stop ``q`` is dropped in the first step, the closures, pauses and
  epenthetic silence (the 39-set's ``sil``) in the second, as CTC needs no silence token;
- the CMU Pronouncing Dictionary's ARPAbet (39 phonemes with stress digits, what LibriSpeech phone recognition
  reads through a lexicon, s3prl ``libriphone``) -> 39 (:func:`fold_arpabet`): stress removed, ``AO`` -> ``aa``
  and ``ZH`` -> ``sh`` (Lee & Hon fold TIMIT's ``ao`` and ``zh`` the same way);
- espeak-ng's English phoneme mnemonics (the built-in corpus stores them with their times) -> 39
  (:func:`fold_espeak`): stress marks removed, each mnemonic mapped to the ARPAbet phone(s) a dictionary gives
  for the same sound (``A@`` in "car" is ``aa r``, CMUdict's ``AA R``); pauses and modifiers are dropped.
"""
from __future__ import annotations

from collections.abc import Iterable

# Lee & Hon (1989) Table 1, as every TIMIT paper since; their "sil" is left out (see the module doc)
PHONES = ("iy", "ih", "eh", "ae", "ah", "uw", "uh", "aa", "ey", "ay", "oy", "aw", "ow", "er", "l", "r", "y", "w",
          "m", "n", "ng", "ch", "jh", "dh", "b", "d", "dx", "g", "p", "t", "k", "z", "v", "f", "th", "s", "sh", "hh")

# TIMIT 61 -> 48 (Lee & Hon; Kaldi's phones.60-48-39.map, column 2): what is not listed maps to itself; None: q
TIMIT_TO_48 = {
    "ax-h": "ax", "axr": "er", "bcl": "vcl", "dcl": "vcl", "gcl": "vcl", "pcl": "cl", "tcl": "cl", "kcl": "cl",
    "em": "m", "eng": "ng", "nx": "n", "hv": "hh", "ux": "uw", "h#": "sil", "pau": "sil", "q": None,
}
PHONES_48 = (*PHONES, "ao", "ax", "ix", "el", "en", "zh", "cl", "vcl", "epi", "sil")
# 48 -> 39 (column 3): what is not listed maps to itself; None: the silence classes (the 39-set's sil)
FOLD_48_TO_39 = {"ao": "aa", "ax": "ah", "ix": "ih", "el": "l", "en": "n", "zh": "sh",
                 "cl": None, "vcl": None, "epi": None, "sil": None}
# TIMIT's 61 phones: the 48 less the classes TIMIT_TO_48 merges into (cl, vcl, sil), and those it folds
TIMIT_PHONES = (*(p for p in PHONES_48 if p not in ("cl", "vcl", "sil")), *TIMIT_TO_48)


def _fold_61_to_39(p: str) -> str | None:
    q = TIMIT_TO_48.get(p, p)
    return None if q is None else FOLD_48_TO_39.get(q, q)


# TIMIT 61 -> 39 in one step (the two tables composed): what is not listed maps to itself; None: dropped
TIMIT_FOLD = {p: _fold_61_to_39(p) for p in TIMIT_PHONES if _fold_61_to_39(p) != p}

# CMUdict's 39 phonemes (stress digits removed)
ARPABET = frozenset("AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W "
                    "Y Z ZH".split())

# espeak-ng's English phoneme mnemonics (espeak-ng-data/phsource/ph_english*, stress marks stripped) -> phones
ESPEAK_FOLD: dict[str, tuple[str, ...]] = {
    # consonants
    "p": ("p",), "b": ("b",), "t": ("t",), "t2": ("t",), "t[": ("t",), "d": ("d",), "k": ("k",), "g": ("g",),
    "t#": ("dx",),  # the American flap ("butter"), TIMIT's dx
    "f": ("f",), "v": ("v",), "T": ("th",), "D": ("dh",), "s": ("s",), "z": ("z",), "S": ("sh",), "Z": ("sh",),
    "tS": ("ch",), "dZ": ("jh",), "h": ("hh",), "m": ("m",), "n": ("n",), "n-": ("n",), "N": ("ng",),
    "l": ("l",), "@L": ("l",), "r": ("r",), "r-": ("r",), "j": ("y",), "w": ("w",), "w#": ("w",),
    # vowels
    "i": ("iy",), "i:": ("iy",), "I": ("ih",), "I2": ("ih",), "I#": ("ih",), "e": ("eh",), "E": ("eh",),
    "a": ("ae",), "a#": ("ae",), "aa": ("ae",),  # en-us "aa": the vowel of "dance", CMUdict AE
    "A:": ("aa",), "A~": ("aa",), "0": ("aa",), "O": ("aa",), "O:": ("aa",), "O2": ("aa",),
    "V": ("ah",), "@": ("ah",), "@2": ("ah",), "@5": ("ah",), "U": ("uh",), "u:": ("uw",),
    "3": ("er",), "3:": ("er",), "VR": ("er",), "IR": ("er",),
    "aI": ("ay",), "aI2": ("ay",), "aU": ("aw",), "eI": ("ey",), "oU": ("ow",), "OI": ("oy",),
    # r-coloured vowels: the vowel and its r, as CMUdict spells them
    "A@": ("aa", "r"), "O@": ("aa", "r"), "o@": ("aa", "r"), "e@": ("eh", "r"), "i@": ("ih", "r"),
    "i@3": ("ih", "r"), "U@": ("uh", "r"), "aI@": ("ay", "er"), "aI3": ("ay", "er"),
}
# the CMU/radio phone set of flite's and festival's US voices (lowercase ARPAbet plus ax and pau) -> the
# espeak-ng mnemonic that folds as CMUdict's phone does: fold_espeak([CMU_TO_ESPEAK[p]]) == fold_arpabet([P])
CMU_TO_ESPEAK: dict[str, str] = {
    "aa": "A:", "ae": "a", "ah": "V", "ao": "O:", "aw": "aU", "ax": "@", "ay": "aI", "eh": "E", "er": "3:",
    "ey": "eI", "ih": "I", "iy": "i:", "ow": "oU", "oy": "OI", "uh": "U", "uw": "u:",
    "b": "b", "ch": "tS", "d": "d", "dh": "D", "f": "f", "g": "g", "hh": "h", "jh": "dZ", "k": "k", "l": "l",
    "m": "m", "n": "n", "ng": "N", "p": "p", "r": "r", "s": "s", "sh": "S", "t": "t", "th": "T", "v": "v",
    "w": "w", "y": "j", "z": "z", "zh": "Z",
    "pau": "_",  # the only silence the four flite and three festival voices emit
}
# pauses, the syllable and word boundaries, the glottal stop and espeak's modifier marks: no phone
ESPEAK_DROP = frozenset({"_", "_:", "_!", "_|", "_^_", "||", "|", ";", "?", "#", ":"})
_STRESS = "',%="


class PhoneError(ValueError):
    """A phone no folding knows; the message names it."""


def fold_timit_48(phones: Iterable[str]) -> list[str]:
    """TIMIT's 61-phone transcription (``.PHN`` labels) -> the 48 phones of Lee & Hon; ``q`` dropped."""
    out = []
    for p in phones:
        p = p.lower()
        q = TIMIT_TO_48.get(p, p)
        if q is None:
            continue
        if q not in PHONES_48:
            raise PhoneError(f"{p!r} is not a TIMIT phone")
        out.append(q)
    return out


def fold_48(phones: Iterable[str]) -> list[str]:
    """The 48 phones -> the 39; the silence classes dropped."""
    out = []
    for p in phones:
        if p not in PHONES_48:
            raise PhoneError(f"{p!r} is not one of the 48 TIMIT training phones")
        q = FOLD_48_TO_39.get(p, p)
        if q is not None:
            out.append(q)
    return out


def fold_timit(phones: Iterable[str]) -> list[str]:
    """TIMIT's 61-phone transcription (``.PHN`` labels) -> the 39 phones (61 -> 48 -> 39); silences and ``q``
    dropped."""
    return fold_48(fold_timit_48(phones))


def fold_arpabet(phones: Iterable[str]) -> list[str]:
    """CMUdict ARPAbet (``AH0``, ``ZH``, ...) -> the 39 phones."""
    out = []
    for p in phones:
        q = p.rstrip("012")
        if q not in ARPABET:
            raise PhoneError(f"{p!r} is not an ARPAbet phoneme")
        out.append({"AO": "aa", "ZH": "sh"}.get(q, q.lower()))
    return out


def fold_espeak(mnemonics: Iterable[str]) -> list[str]:
    """espeak-ng English phoneme mnemonics (from its phoneme events) -> the 39 phones."""
    out = []
    for m in mnemonics:
        m = m.lstrip(_STRESS)
        if not m or m in ESPEAK_DROP:
            continue
        if m not in ESPEAK_FOLD:
            raise PhoneError(f"espeak-ng phoneme {m!r} has no entry in asrkit.data.phones.ESPEAK_FOLD")
        out.extend(ESPEAK_FOLD[m])
    return out
