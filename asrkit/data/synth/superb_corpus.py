"""Built-in analogs of three SUPERB corpora (Yang et al., 2021), each in the real corpus's layout, so that the
readers of the real corpora (:mod:`asrkit.data.superb_corpora`) read them unchanged. KS, Speech Commands v0.01::

    <root>/speech_commands_v0.01/<word>/<speakerhash>_nohash_<n>.wav     1 s clips, <word> lower-case
    <root>/speech_commands_v0.01/_background_noise_/<noise>.wav          30-60 s of numpy noise each (:data:`NOISES`)
    <root>/speech_commands_v0.01/{validation,testing}_list.txt           <word>/<file>.wav of the dev / test speakers
    <root>/speech_commands_test_set_v0.01/<label>/*.wav                  10 keywords, _unknown_, _silence_

IC, Fluent Speech Commands (``path`` relative to ``fluent_speech_commands_dataset/``)::

    <root>/fluent_speech_commands_dataset/wavs/speakers/<spk>/<uttid>.wav
    <root>/fluent_speech_commands_dataset/data/{train,valid,test}_data.csv
                                         ,path,speakerId,transcription,action,object,location (a 0-based index first)

SD, Libri2Mix (``wav<rate / 1000>k``; paths in the csv absolute, as LibriMix writes them; length in samples)::

    <root>/Libri2Mix/wav16k/max/{train-100,dev,test}/{mix_clean,s1,s2}/<utt1>_<utt2>.wav
    <root>/Libri2Mix/wav16k/max/metadata/mixture_<split>_mix_clean.csv   mixture_ID,mixture_path,source_1_path,
                                                                         source_2_path,length
    <root>/Libri2Mix/metadata_synth/<split>.jsonl   a mixture a line: its speech segments [speaker, start, end)
                                                    in samples, each source's sentences, word onsets and voice

and ``<root>/synth_superb_config.yaml``, the resolved config and the tasks written. Every wav is mono 16-bit PCM
at ``sample_rate`` (16 kHz, as the three corpora).

**Speakers.** One pool for the three tasks from :func:`.corpus.make_speakers`: every speaker a distinct espeak-ng
voice (language + variant), split into train / dev / test speakers, so dev and test speakers are never heard in
training, as in Speech Commands' lists (split by speaker hash), FSC's valid / test and LibriMix's dev / test.

**KS.** A clip is one word said in isolation (the speaker's rate and pitch jittered per clip), trimmed to its
sound, scaled to a random peak, placed at a random offset in exactly 1 s, over a quiet noise floor. Words: the
ten :data:`~asrkit.data.superb.SYNTH_KEYWORDS` and the twenty :data:`UNKNOWN_WORDS`. The separate test set has
s3prl's 12 classes: the keywords, ``_unknown_`` (unknown words) and ``_silence_`` (1 s of one of the background
noises at a random level, ``<noise>_<k>.wav``), spoken by the test speakers.

**IC.** Grammar utterances of the home-control intents (:func:`sample_ic_utterance`), labelled with FSC's three
slots by :data:`IC_ACTIONS`, :data:`IC_MEDIA`, :data:`IC_OBJECTS` and :data:`IC_LOCATIONS`: 7 actions, 10 objects,
4 locations, 44 triples (:func:`ic_label_triples`; FSC: 6, 14, 4 and 31). The transcription is the grammar's
English with a capital first letter (FSC's are cased).

**SD.** Two speakers per mixture, each saying one or two grammar sentences (0.2-0.6 s apart). Unlike real
Libri2Mix, where both sources start at 0, speaker 1 starts after a short lead and speaker 2 at a random fraction
(0.15-1.15) of speaker 1's length, so a mixture has single-speaker stretches, overlap and, in ~13 % of them, a
pause between the speakers; a draw whose estimated length is outside ``sd_min_seconds``..``sd_max_seconds`` is
drawn again. Each sentence is trimmed to its sound (samples above -60 dBFS: espeak's first word event falls at
its start, and it has no event for the end) and the source is exactly zero elsewhere, so the segments are exact.
``s1`` / ``s2`` are the scaled sources in mixture time, speaker 2 at ``±sd_level_db`` relative to speaker 1, and
``mix_clean`` is their sum in integer PCM (mix == s1 + s2 exactly).

Default sizes (:class:`SuperbSynthConfig`), with 40 / 6 / 6 speakers: KS 2000 training clips (130 per keyword,
35 per unknown word), 300 dev and 300 test clips in the lists, 300 in the test set (25 per class) and six noise
files (91 + 10 MB); IC 1500 / 250 / 250 utterances (0.79 / 0.14 / 0.14 h, 123 MB), 44 / 41 / 37 label triples;
SD 600 / 100 / 100 mixtures of 3.6-8.7 s, mean 6.0 s (1.0 / 0.16 / 0.17 h, 450 MB). On 2 cores shared with other
jobs (load ~5, 2 workers) each task alone took KS 29 s, IC 21 s, SD 32 s (each including ~4 s of start-up);
the three together 97 s (34 s user, 54 s system CPU time), 7306 wavs, 670 MB.

Determinism as in :mod:`.mustc_corpus`: texts, voices, ids, offsets and levels are planned in the parent from
``random.Random`` seeded by the config's seed; a worker renders one file with its noise from a seed planned for it,
each utterance in a child forked from a pristine espeak-ng engine, so the same config gives byte-identical files
whatever the number of workers. Workers import no torch.
"""
from __future__ import annotations

import csv
import io
import json
import multiprocessing as mp
import os
import random
import uuid
import zlib
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from ...config import check_ranges
from ..audio import SAMPLE_RATE
from .corpus import LANGUAGES, VARIANTS, Speaker, _pool_errors, _single_threaded_blas, _worker_init, make_speakers
from .espeak import Voice
from .grammar import TEMPLATES, Utterance, sample_utterance

TASKS = ("ks", "ic", "sd")
KS_DIR, KS_TEST_DIR = "speech_commands_v0.01", "speech_commands_test_set_v0.01"
FSC_DIR = "fluent_speech_commands_dataset"
LIBRIMIX_SPLITS = {"train": "train-100", "dev": "dev", "test": "test"}
FSC_SPLITS = {"train": "train", "dev": "valid", "test": "test"}
# Speech Commands' unknown words are other single words (bed, bird, cat, ...); these are the grammar's
UNKNOWN_WORDS = ("bed", "cat", "dog", "two", "three", "seven", "nine", "kitchen", "light", "music", "alarm",
                 "coffee", "garden", "heater", "lamp", "radio", "timer", "weather", "rain", "door")
NOISES = ("white_noise", "pink_noise", "brown_noise", "hum", "running_tap", "babble")

# IC: the grammar's intent (and slot) -> FSC's (action, object, location). FSC has 6 actions (activate, deactivate,
# increase, decrease, change language, bring), 14 objects and 4 locations (none, kitchen, bedroom, washroom), 31
# triples; as there, only lights and heat have a location. Intents with no natural FSC reading (device_status, the
# calendar, messages, ...) are left out, and so are media actions like next / shuffle.
# intent -> (action, object); object None: the device slot, through IC_OBJECTS
IC_ACTIONS: dict[str, tuple[str, str | None]] = {
    "device_on": ("activate", None),
    "device_off": ("deactivate", None),
    "open_cover": ("open", None),
    "close_cover": ("close", None),
    "set_temperature": ("set", "heat"),
    "set_brightness": ("set", None),
    "set_volume": ("set", "volume"),
    "play_music": ("activate", "music"),
}
# media_control's action slot -> (action, object)
IC_MEDIA: dict[str, tuple[str, str]] = {
    "resume": ("activate", "music"), "pause": ("deactivate", "music"), "stop": ("deactivate", "music"),
    "volume_up": ("increase", "volume"), "volume_down": ("decrease", "volume"),
    "mute": ("deactivate", "volume"), "unmute": ("activate", "volume"),
}
# the device slot -> object; a device not here (robot vacuum, printer, ...) is never drawn for IC
IC_OBJECTS: dict[str, str] = {
    **dict.fromkeys(("light", "lights", "ceiling light", "night light", "reading light", "spotlights", "led strip"),
                    "lights"),
    **dict.fromkeys(("lamp", "desk lamp", "floor lamp", "bedside lamp"), "lamp"),
    **dict.fromkeys(("heater", "space heater", "heating"), "heat"),
    **dict.fromkeys(("fan", "ceiling fan"), "fan"),
    "television": "tv",
    **dict.fromkeys(("radio", "stereo"), "music"),
    **dict.fromkeys(("blinds", "curtains", "shutters"), "blinds"),
    **dict.fromkeys(("window", "windows"), "window"),
    **dict.fromkeys(("door", "front door", "back door"), "door"),
}
# the room slot -> location (FSC calls the bathroom the washroom); no room is "none"
IC_LOCATIONS: dict[str, str] = {"kitchen": "kitchen", "bedroom": "bedroom", "bathroom": "washroom"}
IC_LOCATED_OBJECTS = ("lights", "heat")  # objects that take a location, as in FSC
IC_INTENTS = (*IC_ACTIONS, "media_control")
_IC_TEMPLATES = {intent: tuple(t for t in TEMPLATES if t.intent == intent) for intent in IC_INTENTS}


@dataclass(frozen=True)
class SuperbSynthConfig:
    """Sizes of the synthetic KS, IC and SD corpora (defaults: KS in ~30 s, all three in ~100 s on 2 cores)."""

    seed: int = 0
    train_speakers: int = 40  # one speaker pool for the three tasks: a distinct espeak-ng voice each
    dev_speakers: int = 6  # >= 2: a mixture has two speakers
    test_speakers: int = 6
    ks_train_per_keyword: int = 130  # Speech Commands v0.01: ~1.7k-1.9k per word; 130 x 10 + 35 x 20 = 2000
    ks_train_per_unknown: int = 35  # each of the 20 unknown words: together about a third of the training clips
    ks_eval_per_keyword: int = 20  # validation_list and testing_list each: 20 x 10 + 5 x 20 = 300
    ks_eval_per_unknown: int = 5
    ks_test_set_per_class: int = 25  # speech_commands_test_set: 12 balanced classes (the real one ~250 each)
    ic_train: int = 1500  # utterances (FSC: 23k / 3k / 3.8k)
    ic_valid: int = 250
    ic_test: int = 250
    sd_train: int = 600  # mixtures (Libri2Mix train-100: 13.9k)
    sd_dev: int = 100
    sd_test: int = 100
    sd_level_db: float = 5.0  # speaker 2 at a uniform level in [-x, x] dB relative to speaker 1
    sd_min_seconds: float = 4.0  # mixture lengths (estimated when planned: a few tenths of a second off)
    sd_max_seconds: float = 8.0
    sample_rate: int = SAMPLE_RATE  # the three corpora are 16 kHz
    num_workers: int = 2

    def __post_init__(self) -> None:
        check_ranges(self, seed=">= 0", train_speakers=">= 2", dev_speakers=">= 2", test_speakers=">= 2",
                     ks_train_per_keyword=">= 1", ks_train_per_unknown=">= 0", ks_eval_per_keyword=">= 1",
                     ks_eval_per_unknown=">= 0", ks_test_set_per_class=">= 1", ic_train=">= 1", ic_valid=">= 1",
                     ic_test=">= 1", sd_train=">= 1", sd_dev=">= 1", sd_test=">= 1", sd_level_db="[0, 30]",
                     sd_min_seconds="> 1", sd_max_seconds="> 1",
                     sample_rate=">= 8000", num_workers=">= 1")
        if self.sd_max_seconds < self.sd_min_seconds + 1:
            raise ValueError(f"sd_max_seconds ({self.sd_max_seconds}) must be >= sd_min_seconds + 1 "
                             f"({self.sd_min_seconds + 1})")
        if self.sample_rate % 1000:
            raise ValueError(f"sample_rate ({self.sample_rate}) must be a multiple of 1000 (LibriMix's wav<N>k)")
        distinct = len(LANGUAGES) * sum(len(v) for v in VARIANTS.values())
        if self.train_speakers + self.dev_speakers + self.test_speakers > distinct:
            raise ValueError(f"train_speakers + dev_speakers + test_speakers must be at most {distinct} "
                             "(distinct espeak-ng voices)")


# --------------------------------------------------------------------------------------
# Planning (parent): everything random is drawn here
# --------------------------------------------------------------------------------------
def split_speakers(cfg: SuperbSynthConfig) -> dict[str, list[Speaker]]:
    """``{train, dev, test}``: disjoint speakers, a distinct voice (language + variant) each."""
    speakers = make_speakers(cfg)
    return {s: [p for p in speakers if p.subset == s] for s in ("train", "dev", "test")}


def _seed(cfg: SuperbSynthConfig, name: str) -> int:
    return zlib.crc32(f"{cfg.seed}/{name}".encode())


def _jitter(voice: Voice, rng: random.Random) -> Voice:
    """The speaker on another take: a little faster or slower, a little higher or lower."""
    return replace(voice, rate=max(80, voice.rate + rng.randint(-20, 20)),
                   pitch=min(99, max(1, voice.pitch + rng.randint(-8, 8))))


def speaker_hash(cfg: SuperbSynthConfig, spk: Speaker) -> str:
    """Speech Commands' 8 hex digits per speaker."""
    return f"{_seed(cfg, 'ks-speaker/' + spk.id):08x}"


def fsc_speaker(cfg: SuperbSynthConfig, spk: Speaker) -> str:
    """An FSC-like speaker id: 16 letters and digits."""
    rng = random.Random(f"fsc-speaker-{cfg.seed}-{spk.id}")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(rng.choice(alphabet) for _ in range(16))


@dataclass(frozen=True)
class KsClip:
    path: str  # relative to root
    label: str  # directory: a word, _unknown_ or _silence_
    word: str | None  # None: a _silence_ clip
    voice: Voice | None
    seed: int
    speaker: str | None


def plan_ks(cfg: SuperbSynthConfig, speakers: dict[str, list[Speaker]]) -> dict[str, list[KsClip]]:
    """``{train, dev, test, test_set}`` clips (test_set: the separate speech_commands_test_set)."""
    from ..superb import SILENCE, SYNTH_KEYWORDS, UNKNOWN  # imports torch (its datasets): here, not at import

    plans: dict[str, list[KsClip]] = {}
    counts: Counter = Counter()
    per_word = {"train": (cfg.ks_train_per_keyword, cfg.ks_train_per_unknown),
                "dev": (cfg.ks_eval_per_keyword, cfg.ks_eval_per_unknown),
                "test": (cfg.ks_eval_per_keyword, cfg.ks_eval_per_unknown)}
    for split, (per_keyword, per_unknown) in per_word.items():
        rng = random.Random(f"ks-{split}-{cfg.seed}")
        clips = []
        for word in SYNTH_KEYWORDS + UNKNOWN_WORDS:
            for _ in range(per_keyword if word in SYNTH_KEYWORDS else per_unknown):
                spk = rng.choice(speakers[split])
                h = speaker_hash(cfg, spk)
                n = counts[(word, h)]
                counts[(word, h)] += 1
                path = f"{KS_DIR}/{word}/{h}_nohash_{n}.wav"
                clips.append(KsClip(path, word, word, _jitter(spk.voice, rng), _seed(cfg, path), spk.id))
        plans[split] = clips
    rng = random.Random(f"ks-test-set-{cfg.seed}")
    clips, counts = [], Counter()
    for label in SYNTH_KEYWORDS + (UNKNOWN, SILENCE):
        for k in range(cfg.ks_test_set_per_class):
            if label == SILENCE:
                path = f"{KS_TEST_DIR}/{SILENCE}/{rng.choice(NOISES)}_{k}.wav"
                clips.append(KsClip(path, label, None, None, _seed(cfg, path), None))
                continue
            spk = rng.choice(speakers["test"])
            word = rng.choice(UNKNOWN_WORDS) if label == UNKNOWN else label
            h = speaker_hash(cfg, spk)
            n = counts[(label, h)]
            counts[(label, h)] += 1
            path = f"{KS_TEST_DIR}/{label}/{h}_nohash_{n}.wav"
            clips.append(KsClip(path, label, word, _jitter(spk.voice, rng), _seed(cfg, path), spk.id))
    plans["test_set"] = clips
    return plans


def ic_labels(u: Utterance) -> tuple[str, str, str] | None:
    """FSC's (action, object, location) of a grammar utterance, or None where the tables give it none."""
    if u.intent == "media_control":
        action, obj = IC_MEDIA.get(u.slots.get("action"), (None, None))
    elif u.intent in IC_ACTIONS:
        action, obj = IC_ACTIONS[u.intent]
        obj = obj or IC_OBJECTS.get(u.slots.get("device"))
    else:
        return None
    if action is None or obj is None:
        return None
    room = u.slots.get("room")
    if room is None:
        return action, obj, "none"
    if obj not in IC_LOCATED_OBJECTS or room not in IC_LOCATIONS:
        return None
    return action, obj, IC_LOCATIONS[room]


def ic_label_triples() -> set[tuple[str, str, str]]:
    """Every (action, object, location) :func:`ic_labels` can give, read off the grammar's templates."""
    triples = set()
    for t in TEMPLATES:
        tables = {name: {f.value for f in fillers} for name, fillers in t.tables}
        if t.intent == "media_control":
            pairs = {IC_MEDIA[v] for v in tables["action"] if v in IC_MEDIA}
        elif t.intent in IC_ACTIONS:
            action, obj = IC_ACTIONS[t.intent]
            devices = tables.get("device", ())
            pairs = {(action, obj)} if obj else {(action, IC_OBJECTS[v]) for v in devices if v in IC_OBJECTS}
        else:
            continue
        for action, obj in pairs:
            if "room" not in tables:
                triples.add((action, obj, "none"))
            elif obj in IC_LOCATED_OBJECTS:
                triples |= {(action, obj, IC_LOCATIONS[v]) for v in tables["room"] if v in IC_LOCATIONS}
    return triples


def sample_ic_utterance(rng: random.Random) -> tuple[Utterance, tuple[str, str, str]]:
    """A grammar utterance with FSC labels: one of the tables' intents uniformly, one of its templates uniformly,
    each slot uniformly among the fillers the tables map (drawn again where the result has no labels). Plain
    :func:`.grammar.sample_utterance` with the unmappable ones drawn again would make most utterances set_volume
    and play_music (their templates rarely name a room or device), few of them lights or heat."""
    while True:
        template = rng.choice(_IC_TEMPLATES[rng.choice(IC_INTENTS)])
        choice = {}
        for name, fillers in template.tables:
            mapped = {"device": IC_OBJECTS, "room": IC_LOCATIONS}.get(name)
            if name == "action" and template.intent == "media_control":
                mapped = IC_MEDIA
            choice[name] = rng.choice([f for f in fillers if f.value in mapped] if mapped else fillers)
        u = template.realise(choice)
        labels = ic_labels(u)
        if labels is not None:
            return u, labels


@dataclass(frozen=True)
class IcUtterance:
    path: str  # relative to fluent_speech_commands_dataset/
    speaker: str  # FSC speaker id
    text: str
    labels: tuple[str, str, str]
    voice: Voice
    seed: int


def plan_ic(cfg: SuperbSynthConfig, speakers: dict[str, list[Speaker]]) -> dict[str, list[IcUtterance]]:
    plans = {}
    for split, n in (("train", cfg.ic_train), ("dev", cfg.ic_valid), ("test", cfg.ic_test)):
        rng = random.Random(f"ic-{split}-{cfg.seed}")
        utts = []
        while len(utts) < n:
            u, labels = sample_ic_utterance(rng)
            spk = rng.choice(speakers[split])
            uttid = str(uuid.UUID(int=rng.getrandbits(128), version=1))
            fsc = fsc_speaker(cfg, spk)
            path = f"wavs/speakers/{fsc}/{uttid}.wav"
            utts.append(IcUtterance(path, fsc, u.english[0].upper() + u.english[1:], labels,
                                    _jitter(spk.voice, rng), _seed(cfg, path)))
        plans[split] = utts
    return plans


@dataclass(frozen=True)
class SdSource:
    utterance: str  # <spk>-<chap>-<n> as LibriSpeech
    speaker: str
    voice: Voice
    sentences: tuple[str, ...]
    intents: tuple[str, ...]
    seeds: tuple[int, ...]
    pauses: tuple[int, ...]  # samples of silence before each sentence after the first


@dataclass(frozen=True)
class SdMixture:
    id: str  # <utt1>_<utt2>
    sources: tuple[SdSource, SdSource]
    lead: int  # samples before speaker 1
    tail: int  # samples after the last speech
    start2: float  # speaker 2 starts at this fraction of speaker 1's length (> 1: after a pause)
    level_db: float  # speaker 2 relative to speaker 1
    peak: float  # of the mixture, in full scale


def spoken_seconds(text: str, voice: Voice) -> float:
    """About how long espeak-ng says ``text`` (fitted on 1.4k sentences: 0.19 s standard error)."""
    return 0.18 + 8.27 * len(text) / voice.rate


def plan_sd(cfg: SuperbSynthConfig, speakers: dict[str, list[Speaker]]) -> dict[str, list[SdMixture]]:
    """Mixtures whose estimated length (:func:`spoken_seconds`) is within ``sd_min_seconds``..``sd_max_seconds``;
    a draw outside is drawn again (the real lengths stray by a few tenths of a second)."""
    sr = cfg.sample_rate
    plans = {}
    counts: Counter = Counter()
    for split, n in (("train", cfg.sd_train), ("dev", cfg.sd_dev), ("test", cfg.sd_test)):
        rng = random.Random(f"sd-{split}-{cfg.seed}")
        mixtures = []
        while len(mixtures) < n:
            drawn = []
            for spk in rng.sample(speakers[split], 2):
                voice = _jitter(spk.voice, rng)
                utts = [sample_utterance(rng) for _ in range(rng.choice((1, 2)))]
                pauses = tuple(rng.uniform(0.2, 0.6) for _ in utts[1:])
                drawn.append((spk, voice, utts, pauses, sum(pauses) + sum(spoken_seconds(u.english, voice)
                                                                          for u in utts)))
            lead, tail, start2 = rng.uniform(0.1, 0.4), rng.uniform(0.1, 0.4), rng.uniform(0.15, 1.15)
            level_db, peak = rng.uniform(-cfg.sd_level_db, cfg.sd_level_db), rng.uniform(0.5, 0.9)
            (_, _, _, _, len1), (_, _, _, _, len2) = drawn
            if not cfg.sd_min_seconds <= lead + max(len1, start2 * len1 + len2) + tail <= cfg.sd_max_seconds:
                continue
            sources = []
            for spk, voice, utts, pauses, _ in drawn:
                uid = f"{spk.id}-{spk.chapters[0]}-{counts[spk.id]:04d}"
                counts[spk.id] += 1
                sources.append(SdSource(uid, spk.id, voice, tuple(u.english for u in utts),
                                        tuple(u.intent for u in utts),
                                        tuple(_seed(cfg, f"sd/{uid}/{j}") for j in range(len(utts))),
                                        tuple(round(p * sr) for p in pauses)))
            mix_id = "_".join(s.utterance for s in sources)
            mixtures.append(SdMixture(mix_id, tuple(sources), round(lead * sr), round(tail * sr), start2, level_db,
                                      peak))
        plans[split] = mixtures
    return plans


# --------------------------------------------------------------------------------------
# Workers: no torch here (see .corpus)
# --------------------------------------------------------------------------------------
_SOUND = 10 ** (-60 / 20)  # a sample above -60 dBFS is sound; espeak-ng's silences are zeros


def _write_wav(path: Path, x: np.ndarray, sample_rate: int) -> None:
    """``x`` int16 (or float in [-1, 1]) as 16-bit PCM at ``path``, atomically."""
    import soundfile as sf

    if x.dtype != np.int16:
        x = np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    sf.write(buf, x, sample_rate, format="WAV", subtype="PCM_16")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, path)


def _spectral(n: int, rng: np.random.Generator, sr: int, shape) -> np.ndarray:
    """White noise whose amplitude spectrum is multiplied by ``shape(f)`` (Hz), peak-normalised."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / sr)
    x = np.fft.irfft(spec * shape(np.maximum(f, 20.0)), n)
    return x / max(1e-9, float(np.abs(x).max()))


def _envelope(n: int, rng: np.random.Generator, sr: int, rate: float, floor: float) -> np.ndarray:
    """A smooth random gain in [floor, 1] that changes about ``rate`` times a second."""
    knots = rng.uniform(floor, 1.0, int(n / sr * rate) + 2)
    return np.interp(np.arange(n) / sr * rate, np.arange(len(knots)), knots)


def noise(kind: str, n: int, rng: np.random.Generator, sr: int) -> np.ndarray:
    """``n`` samples of background noise ``kind`` (:data:`NOISES`), float peak-normalised."""
    if kind == "white_noise":
        x = rng.standard_normal(n)
    elif kind == "pink_noise":
        x = _spectral(n, rng, sr, lambda f: f ** -0.5)
    elif kind == "brown_noise":
        x = _spectral(n, rng, sr, lambda f: 1 / f)
    elif kind == "hum":  # mains hum: 50 or 60 Hz and harmonics, slowly wavering, over a little hiss
        t = np.arange(n) / sr
        f0 = rng.choice((50.0, 60.0)) * (1 + 0.002 * np.sin(2 * np.pi * rng.uniform(0.05, 0.2) * t))
        phase = 2 * np.pi * np.cumsum(f0) / sr
        x = sum(rng.uniform(0.1, 1.0) / k * np.sin(k * phase + rng.uniform(0, 2 * np.pi)) for k in range(1, 9))
        x = x + 0.02 * rng.standard_normal(n)
    elif kind == "running_tap":  # water: a band of noise at 1-4 kHz, its level flickering and drifting
        centre = rng.uniform(1500, 3000)
        x = _spectral(n, rng, sr, lambda f: np.exp(-0.5 * (np.log(f / centre) / 0.5) ** 2))
        x = x * _envelope(n, rng, sr, 30.0, 0.5) * _envelope(n, rng, sr, 0.3, 0.4)
    elif kind == "babble":  # a few distant talkers: speech-shaped noise gated at syllable rate
        x = np.zeros(n)
        for _ in range(int(rng.integers(4, 8))):
            talker = _spectral(n, rng, sr, lambda f: np.exp(-0.5 * (np.log(f / rng.uniform(300, 700)) / 0.8) ** 2))
            x += talker * _envelope(n, rng, sr, rng.uniform(3, 6), 0.0) ** 2 * _envelope(n, rng, sr, 0.2, 0.0)
    else:
        raise ValueError(f"no noise {kind!r}; choose from {', '.join(NOISES)}")
    return x / max(1e-9, float(np.abs(x).max()))


def _speech(text: str, voice: Voice, seed: int, sr: int) -> tuple[np.ndarray, int, list]:
    """An utterance trimmed to its sound: (float samples, samples trimmed at the start, espeak's word events as
    ``[onset, word]``, the onset in samples of the trimmed audio, clamped to 0)."""
    from .resample import resample
    from .corpus import _synthesize

    syn = _synthesize(text, voice, seed)
    x = resample(syn.samples.astype(np.float32) / 32768.0, syn.sample_rate, sr)
    x = np.clip(np.round(x * 32768.0), -32768, 32767) / 32768.0  # as rendered to PCM: the same on every machine
    sound = np.flatnonzero(np.abs(x) > _SOUND)
    a, b = (int(sound[0]), int(sound[-1]) + 1) if len(sound) else (0, len(x))
    words = [[max(0, round(ms * sr / 1000) - a), text[pos:pos + n]] for ms, pos, n in syn.words]
    return x[a:b], a, words


def _render_ks(args: tuple[Path, KsClip, int]) -> None:
    root, clip, sr = args
    rng = np.random.default_rng([0x4B53, clip.seed])
    if clip.word is None:  # _silence_: one second of a background noise at a random level
        x = noise(Path(clip.path).stem.rsplit("_", 1)[0], sr, rng, sr) * 10 ** (rng.uniform(-40, -10) / 20)
    else:
        word = _speech(clip.word, clip.voice, clip.seed, sr)[0][:sr]  # a word rarely lasts a second
        word = word * (rng.uniform(0.2, 0.9) / max(1e-9, float(np.abs(word).max())))
        x = np.zeros(sr)
        start = int(rng.integers(0, sr - len(word) + 1))
        x[start:start + len(word)] = word
        x += rng.standard_normal(sr) * 10 ** (rng.uniform(-70, -55) / 20)  # a quiet noise floor
    _write_wav(root / clip.path, x, sr)


def _render_noise(args: tuple[Path, str, int, int, int]) -> int:
    path, kind, seconds, seed, sr = args
    rng = np.random.default_rng([0x4E5A, seed])
    x = noise(kind, seconds * sr, rng, sr) * rng.uniform(0.3, 0.7)
    _write_wav(path, x, sr)
    return len(x)


def _render_ic(args: tuple[Path, IcUtterance, int]) -> int:
    from .mustc_corpus import render_utterance

    path, u, sr = args
    pcm = render_utterance(u.text.lower(), u.voice, u.seed, sr)
    _write_wav(path, pcm, sr)
    return len(pcm)


def _render_source(src: SdSource, sr: int) -> tuple[np.ndarray, list[dict]]:
    """A source from offset 0: its sentences trimmed to their sound with the planned pauses between."""
    parts, sentences, pos = [], [], 0
    for j, (text, seed) in enumerate(zip(src.sentences, src.seeds)):
        if j:
            parts.append(np.zeros(src.pauses[j - 1]))
            pos += src.pauses[j - 1]
        x, _, words = _speech(text, src.voice, seed, sr)
        parts.append(x)
        sentences.append({"text": text, "intent": src.intents[j], "start": pos, "end": pos + len(x),
                          "words": [[pos + o, w] for o, w in words]})
        pos += len(x)
    return np.concatenate(parts), sentences


def _render_mixture(args: tuple[Path, str, SdMixture, int]) -> dict:
    """Write ``mix_clean``, ``s1`` and ``s2`` of one mixture; returns its metadata record."""
    base, split, m, sr = args
    (x1, sent1), (x2, sent2) = (_render_source(s, sr) for s in m.sources)
    start1 = m.lead
    start2 = start1 + round(m.start2 * len(x1))
    length = max(start1 + len(x1), start2 + len(x2)) + m.tail
    s = np.zeros((2, length))
    gain2 = 10 ** (m.level_db / 20) * max(1e-9, float(np.abs(x1).max())) / max(1e-9, float(np.abs(x2).max()))
    s[0, start1:start1 + len(x1)] = x1
    s[1, start2:start2 + len(x2)] = x2 * gain2
    s *= m.peak / max(1e-9, float(np.abs(s.sum(0)).max()))
    pcm = np.round(s * 32767).astype(np.int32)  # |s1 + s2| <= peak < 1 before rounding: their sum fits int16
    mix = pcm.sum(0)
    for name, x in (("mix_clean", mix), ("s1", pcm[0]), ("s2", pcm[1])):
        _write_wav(base / split / name / f"{m.id}.wav", x.astype(np.int16), sr)
    record = {"mixture_ID": m.id, "length": length, "sources": [], "segments": []}
    for src, start, sentences in ((m.sources[0], start1, sent1), (m.sources[1], start2, sent2)):
        shifted = [{**t, "start": t["start"] + start, "end": t["end"] + start,
                    "words": [[o + start, w] for o, w in t["words"]]} for t in sentences]
        record["sources"].append({"utterance": src.utterance, "speaker": src.speaker, "voice": asdict(src.voice),
                                  "offset": start, "sentences": shifted})
        record["segments"] += [[src.speaker, t["start"], t["end"]] for t in shifted]
    record["segments"].sort(key=lambda seg: (seg[1], seg[2]))
    record["level_db"] = round(m.level_db, 3)
    return record


# --------------------------------------------------------------------------------------
def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _csv(header: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _run(pool, fn, jobs: list, name: str, progress) -> list:
    results = []
    for r in pool.map(fn, jobs, chunksize=max(1, min(16, len(jobs) // 8))):
        results.append(r)
        if progress:
            progress(name, len(results), len(jobs))
    return results


def generate_superb_corpus(root: str | Path, cfg: SuperbSynthConfig = SuperbSynthConfig(), tasks=TASKS,
                           progress=None) -> dict[str, dict]:
    """Write the chosen tasks' corpora under ``root``; returns ``{"<task>/<split>": {files, hours, speakers,
    labels}}`` (files: clips, utterances or mixtures; labels: distinct classes, intents (triples) or speakers).
    ``progress(name, done, total)``. An unknown task is a ValueError before anything is written."""
    root = Path(root)
    tasks = list(dict.fromkeys(tasks))
    unknown = [t for t in tasks if t not in TASKS]
    if unknown or not tasks:
        raise ValueError(f"unknown task(s) {', '.join(unknown) or '(none chosen)'}: choose from {', '.join(TASKS)}")
    speakers = split_speakers(cfg)
    sr = cfg.sample_rate
    summary: dict[str, dict] = {}
    pool = ProcessPoolExecutor(cfg.num_workers, mp_context=mp.get_context("spawn"), initializer=_worker_init)
    with _single_threaded_blas(), _pool_errors(cfg), pool:
        if "ks" in tasks:
            rng = random.Random(f"ks-noise-{cfg.seed}")
            jobs = [(root / KS_DIR / "_background_noise_" / f"{kind}.wav", kind, rng.randint(30, 60),
                     _seed(cfg, f"noise/{kind}"), sr) for kind in NOISES]
            lengths = _run(pool, _render_noise, jobs, "ks noise (files)", progress)
            summary["ks/_background_noise_"] = {"files": len(jobs), "hours": sum(lengths) / sr / 3600,
                                                "speakers": 0, "labels": len(jobs)}
            for split, clips in plan_ks(cfg, speakers).items():
                _run(pool, _render_ks, [(root, c, sr) for c in clips], f"ks {split} (clips)", progress)
                summary[f"ks/{split}"] = {"files": len(clips), "hours": len(clips) / 3600,
                                          "speakers": len({c.speaker for c in clips if c.speaker}),
                                          "labels": len({c.label for c in clips})}
                if split in ("dev", "test"):
                    lines = sorted(c.path.split("/", 1)[1] for c in clips)
                    _write_text(root / KS_DIR / f"{'validation' if split == 'dev' else 'testing'}_list.txt",
                                "\n".join(lines) + "\n")
        if "ic" in tasks:
            base = root / FSC_DIR
            for split, utts in plan_ic(cfg, speakers).items():
                lengths = _run(pool, _render_ic, [(base / u.path, u, sr) for u in utts], f"ic {split} (utterances)",
                               progress)
                rows = [[k, u.path, u.speaker, u.text, *u.labels] for k, u in enumerate(utts)]
                _write_text(base / "data" / f"{FSC_SPLITS[split]}_data.csv",
                            _csv(["", "path", "speakerId", "transcription", "action", "object", "location"], rows))
                summary[f"ic/{FSC_SPLITS[split]}"] = {"files": len(utts), "hours": sum(lengths) / sr / 3600,
                                                      "speakers": len({u.speaker for u in utts}),
                                                      "labels": len({u.labels for u in utts})}
        if "sd" in tasks:
            base = (root / "Libri2Mix" / f"wav{sr // 1000}k" / "max").resolve()
            for split, mixtures in plan_sd(cfg, speakers).items():
                name = LIBRIMIX_SPLITS[split]
                records = _run(pool, _render_mixture, [(base, name, m, sr) for m in mixtures],
                               f"sd {name} (mixtures)", progress)
                rows = [[r["mixture_ID"], *(str(base / name / d / f"{r['mixture_ID']}.wav")
                                            for d in ("mix_clean", "s1", "s2")), r["length"]] for r in records]
                _write_text(base / "metadata" / f"mixture_{name}_mix_clean.csv",
                            _csv(["mixture_ID", "mixture_path", "source_1_path", "source_2_path", "length"], rows))
                _write_text(root / "Libri2Mix" / "metadata_synth" / f"{name}.jsonl",
                            "".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
                spks = {s.speaker for m in mixtures for s in m.sources}
                summary[f"sd/{name}"] = {"files": len(records), "hours": sum(r["length"] for r in records) / sr / 3600,
                                         "speakers": len(spks), "labels": len(spks)}
    import yaml

    _write_text(root / "synth_superb_config.yaml", yaml.safe_dump({**asdict(cfg), "tasks": tasks}, sort_keys=False))
    return summary
