"""flite and festival beside espeak-ng: more synthetic speakers, with the same :class:`~.espeak.Synthesis`.

- **flite** (CMU Flite 2.x, Debian ``flite``/``libflite1``) runs in process through ctypes, like espeak-ng: one
  engine per process (:func:`flite`), each voice library loaded and registered once. Voices: ``awb``, ``rms``,
  ``slt`` (clustergen), ``kal16`` (diphone, 16 kHz) and ``kal`` (diphone, 8 kHz).
- **festival** (Debian ``festival`` and the ``festvox-*`` voices) starts a Scheme world and loads its voices
  (about 0.15 s, several diphone utterances' worth), so each process keeps one ``festival --pipe`` child (:func:`festival`) and sends it one Scheme call
  per utterance. ``--pipe`` over stdin/stdout rather than ``--server``: no port to pick or collide on when many
  workers run side by side, no access list, and the child dies with its parent's pipe. Festival writes through
  stdio, which a pipe would buffer, so it runs under ``stdbuf -o0``. Every read has a deadline; past it the
  child is killed and :class:`SynthError` names the voice and text; a dead child is restarted on the next call.

Both engines are deterministic: the same text, voice and seed give the same samples. flite's clustergen voices
draw their excitation noise from libc ``rand()``, which is seeded from ``seed`` as espeak-ng's is; festival's
voices have no noise source and ignore the seed.
The audio stays at the voice's native rate (flite 16 kHz, 8 kHz for ``kal``; festival's diphone voices 16 kHz,
its HTS ``cmu_us_slt_arctic_hts`` 32 kHz): the corpus resamples. Phone and word times are the engine's own
segment times (the ``Segment`` relation's end times; a phone starts where the previous one ended), not a forced
alignment. Phones are the CMU/radio phone set both engines' US voices use, mapped to espeak-ng mnemonics by
:data:`~asrkit.data.phones.CMU_TO_ESPEAK`, so :func:`~asrkit.data.phones.fold_espeak` and the viseme table read
them as they read espeak-ng's. Words are one entry per text token (a token the engine expands, "23" -> "twenty
three", starts where its first word starts); tokens that are only punctuation have no entry.

espeak-ng itself is not driven from here: the corpus forks a child per espeak-ng utterance
(:mod:`.espeak`); :func:`synthesize` raises ``ValueError`` for ``engine="espeak"``.

No torch import here: workers fork and must stay light.
"""
from __future__ import annotations

import atexit
import ctypes
import os
import re
import select
import shutil
import subprocess
import tempfile
import threading
import time
import wave
from collections.abc import Iterable

import numpy as np

from ..phones import CMU_TO_ESPEAK, PhoneError
from .espeak import Synthesis, Voice

ENGINES = ("espeak", "flite", "festival")
DEBIAN_PACKAGES = {
    "flite": ("flite", "libflite1"),
    "festival": ("festival", "festvox-kallpc16k", "festvox-kdlpc16k", "festvox-us-slt-hts"),
}
FLITE_VOICES = ("awb", "rms", "slt", "kal16", "kal")
# festival voice -> (its Debian package, the directory it installs)
FESTIVAL_VOICES = {
    "kal_diphone": ("festvox-kallpc16k", "/usr/share/festival/voices/english/kal_diphone"),
    "ked_diphone": ("festvox-kdlpc16k", "/usr/share/festival/voices/english/ked_diphone"),
    "cmu_us_slt_arctic_hts": ("festvox-us-slt-hts", "/usr/share/festival/voices/us/cmu_us_slt_arctic_hts"),
}
DEFAULT_RATE = 175  # espeak-ng's words per minute; rate r stretches durations by 175 / r
TIMEOUT_S = 30.0  # the most one festival call may take before its child is killed


class SynthError(RuntimeError):
    """A synthesis engine failed or timed out; the message names the voice and the text."""


def _install_hint(engine: str, packages: Iterable[str]) -> str:
    return f"{engine} is not usable here: apt-get install {' '.join(packages)} (or `make engines`)"


def _flite_lib_name(variant: str) -> str:
    return f"libflite_cmu_us_{variant}.so.1"


def _loadable(lib: str) -> bool:
    try:
        ctypes.CDLL(lib)
    except OSError:
        return False
    return True


def _usable(voice: Voice) -> str | None:
    """None if ``voice`` can be synthesised here, else a one-line message naming what to install."""
    if voice.engine == "espeak":
        return None
    if voice.engine == "flite":
        if voice.variant not in FLITE_VOICES:
            return f"flite has no voice {voice.variant!r} here (known: {', '.join(FLITE_VOICES)})"
        if not (_loadable("libflite.so.1") and _loadable(_flite_lib_name(voice.variant))):
            return _install_hint("flite", DEBIAN_PACKAGES["flite"])
        return None
    if voice.engine == "festival":
        if voice.variant not in FESTIVAL_VOICES:
            return f"festival has no voice {voice.variant!r} here (known: {', '.join(FESTIVAL_VOICES)})"
        package, directory = FESTIVAL_VOICES[voice.variant]
        if shutil.which("festival") is None or shutil.which("stdbuf") is None:
            return _install_hint("festival", DEBIAN_PACKAGES["festival"])
        if not os.path.isdir(directory):
            return _install_hint(f"festival voice {voice.variant}", (package,))
        return None
    raise ValueError(f"unknown synthesis engine {voice.engine!r} (one of {', '.join(ENGINES)})")


def _default_voices(engine: str) -> list[Voice]:
    variants = {"flite": ("awb", "rms", "slt", "kal16"), "festival": tuple(FESTIVAL_VOICES)}.get(engine, ("m3",))
    return [Voice("en-us", v, DEFAULT_RATE, 50, engine=engine) for v in variants]


def missing_engines(engines: Iterable[str]) -> dict[str, str]:
    """engine -> one-line install message, for each engine (and its usual voices) not usable here.
    espeak-ng is always usable (it comes with the Python package ``espeakng-loader``)."""
    out = {}
    for engine in engines:
        if engine not in ENGINES:
            raise ValueError(f"unknown synthesis engine {engine!r} (one of {', '.join(ENGINES)})")
        problems = [m for m in map(_usable, _default_voices(engine)) if m]
        if problems:
            out[engine] = problems[0]
    return out


def missing_voices(voices: Iterable[Voice]) -> dict[str, str]:
    """voice name -> one-line install message, for each voice not usable here."""
    return {v.name: m for v in voices if (m := _usable(v))}


def _stretch(voice: Voice) -> float:
    if voice.rate <= 0:
        raise ValueError(f"voice {voice.name}: rate must be positive, not {voice.rate}")
    return DEFAULT_RATE / voice.rate


def _to_espeak(phone: str, voice: Voice) -> str:
    try:
        return CMU_TO_ESPEAK[phone]
    except KeyError:
        raise PhoneError(f"{voice.name} emitted phone {phone!r}, which has no entry in "
                         "asrkit.data.phones.CMU_TO_ESPEAK") from None


def _phonemes(segments: list[tuple[str, float]], voice: Voice) -> list[tuple[int, str]]:
    """(name, end seconds) per segment -> (start ms, espeak mnemonic); a phone starts where the last ended."""
    out, start = [], 0.0
    for name, end in segments:
        out.append((int(round(start * 1000)), _to_espeak(name, voice)))
        start = max(start, end)
    return out


def _words(text: str, tokens: list[tuple[str, float]]) -> list[tuple[int, int, int]]:
    """(token name, start seconds) in order -> (ms, character offset, length) into ``text``. A token is looked
    up in the text from where the last one ended (case-insensitively; the engines strip punctuation); one not
    found there takes the next whitespace-separated piece of text."""
    lower, cursor, out = text.lower(), 0, []
    for name, start in tokens:
        at = lower.find(name.lower(), cursor) if name else -1
        if at >= 0:
            length = len(name)
        else:
            m = re.compile(r"\S+").search(text, cursor)
            if m is None:
                break
            at, length = m.start(), len(m.group())
        out.append((int(round(start * 1000)), at, length))
        cursor = at + length
    return out


# --------------------------------------------------------------------------------------
# flite
# --------------------------------------------------------------------------------------
class _Wave(ctypes.Structure):
    """``cst_wave`` (cst_wave.h)."""

    _fields_ = [("type", ctypes.c_char_p), ("sample_rate", ctypes.c_int), ("num_samples", ctypes.c_int),
                ("num_channels", ctypes.c_int), ("samples", ctypes.POINTER(ctypes.c_short))]


class _VoiceStruct(ctypes.Structure):
    """The head of ``cst_voice`` (cst_voice.h): name, features, ffunctions."""

    _fields_ = [("name", ctypes.c_char_p), ("features", ctypes.c_void_p), ("ffunctions", ctypes.c_void_p)]


class Flite:
    """One flite engine. Use :func:`flite` rather than constructing it twice."""

    def __init__(self):
        p = ctypes.c_void_p
        lib = self._lib = ctypes.CDLL("libflite.so.1")
        for name, res, args in (
            ("flite_init", ctypes.c_int, []),
            ("flite_synth_text", p, [ctypes.c_char_p, p]),
            ("utt_wave", ctypes.POINTER(_Wave), [p]),
            ("utt_relation", p, [p, ctypes.c_char_p]),
            ("relation_head", p, [p]),
            ("item_next", p, [p]),
            ("item_daughter", p, [p]),
            ("item_feat_string", ctypes.c_char_p, [p, ctypes.c_char_p]),
            ("item_feat_float", ctypes.c_float, [p, ctypes.c_char_p]),
            ("ffeature_string", ctypes.c_char_p, [p, ctypes.c_char_p]),
            ("ffeature_float", ctypes.c_float, [p, ctypes.c_char_p]),
            ("feat_set_float", None, [p, ctypes.c_char_p, ctypes.c_float]),
            ("delete_utterance", None, [p]),
        ):
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args
        lib.flite_init()
        self._voices: dict[str, int] = {}  # variant -> cst_voice *
        self._libc = ctypes.CDLL(None)
        self._keep: list[ctypes.CDLL] = []  # the voice libraries stay loaded
        self._lock = threading.Lock()  # flite's voices hold per-call features: one call at a time

    def _voice(self, variant: str):
        if variant not in self._voices:
            if variant not in FLITE_VOICES:
                raise ValueError(f"flite has no voice {variant!r} (known: {', '.join(FLITE_VOICES)})")
            vlib = ctypes.CDLL(_flite_lib_name(variant))
            register = getattr(vlib, f"register_cmu_us_{variant}")
            register.restype, register.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
            ptr = register(None)
            if not ptr:
                raise SynthError(f"flite could not register voice {variant!r}")
            self._keep.append(vlib)
            self._voices[variant] = ptr
        return self._voices[variant]

    def synthesize(self, text: str, voice: Voice, seed: int = 0) -> Synthesis:
        """Speak ``text`` with ``voice`` (``voice.variant`` is the flite voice); ``seed`` fixes the clustergen
        voices' excitation noise (libc ``rand()``)."""
        lib = self._lib
        with self._lock:
            ptr = self._voice(voice.variant)
            features = _VoiceStruct.from_address(ptr).features
            # voice features persist between calls, so both are set every time
            lib.feat_set_float(features, b"duration_stretch", _stretch(voice))
            # pitch 50 keeps the voice's F0, 0 and 100 scale it by 2**-0.5 and 2**0.5. f0_shift, not
            # int_f0_target_mean: the clustergen voices (awb, rms, slt) predict F0 without reading the target
            # mean, while the others, diphone ones included, multiply their F0 by f0_shift. rms ignores both
            # (its F0 comes out the same at any setting).
            lib.feat_set_float(features, b"f0_shift", 2 ** ((voice.pitch - 50) / 100))
            self._libc.srand(ctypes.c_uint(seed & 0xFFFFFFFF))
            utt = lib.flite_synth_text(text.encode("utf-8"), ptr)
            if not utt:
                raise SynthError(f"flite ({voice.name}) failed on {text!r}")
            try:
                w = lib.utt_wave(utt).contents
                samples = np.ctypeslib.as_array(w.samples, (w.num_samples * w.num_channels,)).astype(np.int16)
                rate = w.sample_rate
                segments = []
                item = lib.relation_head(lib.utt_relation(utt, b"Segment"))
                while item:
                    segments.append((lib.item_feat_string(item, b"name").decode(), lib.item_feat_float(item, b"end")))
                    item = lib.item_next(item)
                tokens = []
                token = lib.relation_head(lib.utt_relation(utt, b"Token"))
                while token:
                    word = lib.item_daughter(token)
                    while word:  # the first word of the token that has segments (not punctuation)
                        if lib.ffeature_string(word, b"R:SylStructure.daughter1.daughter1.name") != b"0":
                            start = lib.ffeature_float(word, b"R:SylStructure.daughter1.daughter1.R:Segment.p.end")
                            tokens.append((lib.item_feat_string(token, b"name").decode("utf-8", "replace"), start))
                            break
                        word = lib.item_next(word)
                    token = lib.item_next(token)
            finally:
                lib.delete_utterance(utt)
        return Synthesis(samples, rate, _phonemes(segments, voice), _words(text, tokens))


_FLITE: Flite | None = None


def flite() -> Flite:
    """The process's flite engine (created on first use)."""
    global _FLITE
    if _FLITE is None:
        _FLITE = Flite()
    return _FLITE


# --------------------------------------------------------------------------------------
# festival
# --------------------------------------------------------------------------------------
# One call: select the voice if it changed, stretch durations, synthesise, save the wave and print
# "S name end" per segment and "T name start" per token (the start of its first word with syllables).
# The HTS voice ignores Duration_Stretch (hts_engine predicts its own durations): its speed is hts_engine's
# "-r" option, set per call. Festival's hts_engine takes no F0 shift ("-fm" is not read) and the diphone
# voices' intonation targets live in their voice definitions, so pitch is ignored for festival.
_FESTIVAL_PRELUDE = r"""
(define (asrkit_first_start tok)
  (let ((w (item.daughter1 tok)) (start nil))
    (while (and w (not start))
      (if (item.relation.daughter1 w 'SylStructure)
          (set! start (item.feat w "R:SylStructure.daughter1.daughter1.R:Segment.segment_start")))
      (set! w (item.next w)))
    start))
(define (asrkit_say stretch text wavfile)
  (Parameter.set 'Duration_Stretch stretch)
  (let ((utt (SynthText text)) (tok nil))
    (utt.save.wave utt wavfile 'riff)
    (mapcar (lambda (s) (format t "S %s %f\n" (item.name s) (item.feat s "end")))
            (utt.relation.items utt 'Segment))
    (set! tok (utt.relation.first utt 'Token))
    (while tok
      (let ((start (asrkit_first_start tok)))
        (if start (format t "T %f %s\n" start (item.name tok))))
      (set! tok (item.next tok)))
    t))
"""


def _scheme_string(text: str) -> str:
    return '"' + " ".join(text.split()).replace("\\", "\\\\").replace('"', '\\"') + '"'


class Festival:
    """One ``festival --pipe`` child. Use :func:`festival` rather than constructing it twice."""

    def __init__(self, timeout_s: float = TIMEOUT_S):
        self.timeout_s = timeout_s
        self._proc: subprocess.Popen | None = None
        self._voice: str | None = None
        self._calls = 0
        fd, self._wav = tempfile.mkstemp(prefix="asrkit-festival-", suffix=".wav")
        os.close(fd)
        self._pid = os.getpid()  # a forked child must not share its parent's festival or wave file
        self._lock = threading.Lock()
        atexit.register(self.close)

    def close(self) -> None:
        """End the child and remove the wave file (only in the process that made them: a forked worker
        inherits this object but not ownership of its parent's child)."""
        if os.getpid() != self._pid:
            return
        self._stop()
        if os.path.exists(self._wav):
            os.unlink(self._wav)

    def _start(self) -> None:
        try:
            self._proc = subprocess.Popen(["stdbuf", "-o0", "-e0", "festival", "--pipe"], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        except FileNotFoundError:
            raise SynthError(_install_hint("festival", DEBIAN_PACKAGES["festival"])) from None
        self._voice = None
        self._send(_FESTIVAL_PRELUDE, "starting festival", "")

    def _send(self, scheme: str, what: str, text: str) -> list[str]:
        """Send ``scheme``, then read its output up to this call's end marker (or fail past the deadline)."""
        self._calls += 1
        marker = f"ASRKIT_END_{self._calls}"
        proc = self._proc
        try:
            proc.stdin.write(f'{scheme}\n(format t "\\n{marker}\\n")\n'.encode("utf-8"))
            proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            self._stop()
            raise SynthError(f"festival died ({what}, text {text!r}): {e}") from None
        fd, buf, deadline = proc.stdout.fileno(), b"", time.monotonic() + self.timeout_s
        end = f"\n{marker}\n".encode()
        while end not in buf:
            left = deadline - time.monotonic()
            ready = select.select([fd], [], [], max(left, 0))[0] if left > 0 else []
            if not ready:
                self._stop()
                raise SynthError(f"festival timed out after {self.timeout_s:g} s ({what}, text {text!r})")
            chunk = os.read(fd, 65536)
            if not chunk:
                self._stop()
                raise SynthError(f"festival exited ({what}, text {text!r}): {buf.decode(errors='replace')[-500:]}")
            buf += chunk
        lines = buf[: buf.index(end)].decode("utf-8", "replace").splitlines()
        errors = [ln for ln in lines if "SIOD ERROR" in ln or ln.startswith("Error")]
        if errors:
            raise SynthError(f"festival failed ({what}, text {text!r}): {errors[0]}")
        return lines

    def _stop(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None
        self._voice = None

    def synthesize(self, text: str, voice: Voice) -> Synthesis:
        """Speak ``text`` with ``voice`` (``voice.variant`` is the festival voice name)."""
        if voice.variant not in FESTIVAL_VOICES:
            raise ValueError(f"festival has no voice {voice.variant!r} (known: {', '.join(FESTIVAL_VOICES)})")
        if not text.strip():  # the diphone voices crash festival on empty text
            raise ValueError(f"festival ({voice.name}) was given nothing to say")
        with self._lock:
            if self._pid != os.getpid():  # forked: start our own child and wave file, let go of the parent's
                if self._proc is not None:
                    self._proc.stdin.close()
                    self._proc.stdout.close()
                self._proc, self._voice, self._pid = None, None, os.getpid()
                fd, self._wav = tempfile.mkstemp(prefix="asrkit-festival-", suffix=".wav")
                os.close(fd)
            if self._proc is None or self._proc.poll() is not None:
                self._start()
            what = f"voice {voice.name}"
            if self._voice != voice.variant:
                self._send(f"(voice_{voice.variant})", what, text)
                self._voice = voice.variant
            if voice.variant.endswith("_hts"):
                self._send(f'(set! hts_engine_params (append {voice.variant}::hts_engine_params '
                           f'(list (list "-r" {1 / _stretch(voice):.6f}))))', what, text)
            lines = self._send(f"(asrkit_say {_stretch(voice):.6f} {_scheme_string(text)} "
                               f"{_scheme_string(self._wav)})", what, text)
            with wave.open(self._wav, "rb") as w:
                rate, frames = w.getframerate(), w.readframes(w.getnframes())
        samples = np.frombuffer(frames, dtype="<i2").astype(np.int16)
        segments, tokens = [], []
        for ln in lines:
            kind, _, rest = ln.partition(" ")
            if kind == "S":
                name, end = rest.rsplit(" ", 1)
                segments.append((name, float(end)))
            elif kind == "T":
                start, name = rest.split(" ", 1)
                tokens.append((name, float(start)))
        return Synthesis(samples, rate, _phonemes(segments, voice), _words(text, tokens))


_FESTIVAL: Festival | None = None


def festival() -> Festival:
    """The process's festival child (started on first use)."""
    global _FESTIVAL
    if _FESTIVAL is None:
        _FESTIVAL = Festival()
    return _FESTIVAL


def synthesize(text: str, voice: Voice, seed: int = 0) -> Synthesis:
    """Speak ``text`` with a flite or festival ``voice``. ``seed`` fixes flite's clustergen noise (festival has
    none). espeak-ng voices raise ``ValueError``: the corpus drives espeak-ng
    itself (:func:`.espeak.engine`, in a forked child per utterance)."""
    if voice.engine == "flite":
        return flite().synthesize(text, voice, seed)
    if voice.engine == "festival":
        return festival().synthesize(text, voice)
    if voice.engine == "espeak":
        raise ValueError("espeak-ng voices are synthesised by asrkit.data.synth.espeak.engine(), not here")
    raise ValueError(f"unknown synthesis engine {voice.engine!r} (one of {', '.join(ENGINES)})")
