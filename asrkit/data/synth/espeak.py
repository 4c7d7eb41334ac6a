"""In-process espeak-ng speech synthesis through ctypes (library and voices from ``espeakng-loader``).

espeak-ng keeps global state, so there is one engine per process; :func:`engine` makes it
on first use. Synthesis is synchronous: the callback collects 16-bit PCM at the engine's
rate (22050 Hz) and the word and phoneme events with their times, which the audio-visual
stage later uses to render lips.
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass

import numpy as np

# espeak_AUDIO_OUTPUT, options and event types from speak_lib.h
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_PHONEME_EVENTS = 0x0001
_INITIALIZE_DONT_EXIT = 0x8000
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_EVENT_LIST_TERMINATED, _EVENT_WORD, _EVENT_PHONEME = 0, 1, 7
_PARAM_RATE, _PARAM_PITCH, _PARAM_RANGE = 1, 3, 4


class _Event(ctypes.Structure):
    """``espeak_EVENT``: the ``id`` union is read as its 8-byte ``string`` member."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # 1-based character position
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # milliseconds from the start of the text
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


_Callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass(frozen=True)
class Voice:
    """A synthetic speaker: engine voice, speaking rate and pitch.

    For espeak-ng, ``language`` + ``variant`` name the voice; for flite, ``variant`` is the flite voice
    (``awb``, ``rms``, ``slt``, ``kal16``) and for festival the festival voice (``kal_diphone``, ...), with
    ``language`` "en-us" (:mod:`.engines`).
    """

    language: str  # e.g. "en-us", "en-gb-scotland"
    variant: str  # e.g. "m3", "f2", "klatt4" (espeak-ng-data/voices/!v)
    rate: int  # words per minute (espeak default 175)
    pitch: int  # 0-100 (espeak default 50)
    pitch_range: int = 50  # 0-100, intonation range
    engine: str = "espeak"  # "espeak", "flite" or "festival" (.engines.ENGINES); last, so old metadata loads

    @property
    def name(self) -> str:
        if self.engine == "espeak":
            return f"{self.language}+{self.variant}"
        return f"{self.engine}:{self.variant}"


@dataclass
class Synthesis:
    samples: np.ndarray  # (T,) int16 at ``sample_rate``
    sample_rate: int
    phonemes: list[tuple[int, str]]  # (ms, espeak phoneme mnemonic)
    words: list[tuple[int, int, int]]  # (ms, character offset, length) into the text


class Espeak:
    """One espeak-ng engine. Use :func:`engine` rather than constructing it twice."""

    def __init__(self):
        import espeakng_loader

        self._lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self._libc = ctypes.CDLL(None)
        self._lib.espeak_Synth.argtypes = [
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]
        self._lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        data = espeakng_loader.get_data_path().encode()
        self.sample_rate = self._lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, data, _INITIALIZE_PHONEME_EVENTS | _INITIALIZE_DONT_EXIT
        )
        if self.sample_rate <= 0:
            raise RuntimeError(f"espeak-ng failed to initialise with data at {data.decode()}")
        self._chunks: list[bytes] = []
        self._events: list[tuple[int, int, int, int, bytes]] = []
        self._callback = _Callback(self._on_audio)  # keep a reference: C holds the pointer
        self._lib.espeak_SetSynthCallback(self._callback)
        self._voice: Voice | None = None

    def _on_audio(self, wav, num_samples, events) -> int:
        if num_samples > 0:
            self._chunks.append(ctypes.string_at(wav, num_samples * 2))
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            e = events[i]
            if e.type in (_EVENT_WORD, _EVENT_PHONEME):
                self._events.append((e.type, e.audio_position, e.text_position, e.length, bytes(e.id)))
            i += 1
        return 0  # continue synthesis

    def set_voice(self, voice: Voice) -> None:
        if voice == self._voice:
            return
        if self._lib.espeak_SetVoiceByName(voice.name.encode()) != 0:
            raise ValueError(f"espeak-ng has no voice {voice.name!r}")
        for param, value in ((_PARAM_RATE, voice.rate), (_PARAM_PITCH, voice.pitch), (_PARAM_RANGE, voice.pitch_range)):
            self._lib.espeak_SetParameter(param, value, 0)
        self._voice = voice

    def synthesize(self, text: str, voice: Voice, seed: int = 0) -> Synthesis:
        """Speak ``text``. ``seed`` fixes the noise sources (breathiness, aspiration): espeak-ng
        draws from its own generator and from libc ``rand()``, so both are seeded."""
        self.set_voice(voice)
        self._lib.espeak_ng_SetRandSeed(ctypes.c_long(seed))
        self._libc.srand(ctypes.c_uint(seed & 0xFFFFFFFF))
        self._chunks.clear()
        self._events.clear()
        data = text.encode("utf-8")
        err = self._lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if err != 0:
            raise RuntimeError(f"espeak-ng synthesis failed (error {err}) for {text!r}")
        self._lib.espeak_Synchronize()
        samples = np.frombuffer(b"".join(self._chunks), dtype=np.int16).copy()
        phonemes = [(ms, ident.split(b"\0")[0].decode("ascii", "replace"))
                    for kind, ms, _, _, ident in self._events if kind == _EVENT_PHONEME]
        words = [(ms, pos - 1, length) for kind, ms, pos, length, _ in self._events if kind == _EVENT_WORD]
        return Synthesis(samples, self.sample_rate, phonemes, words)


_ENGINE: Espeak | None = None


def engine() -> Espeak:
    """The process's espeak-ng engine (created on first use)."""
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = Espeak()
    return _ENGINE
