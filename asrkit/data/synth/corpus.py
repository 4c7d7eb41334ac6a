"""The built-in corpus: spoken commands synthesised offline with espeak-ng.

Layout mirrors LibriSpeech + Libri-light, so :func:`asrkit.data.librispeech.prepare_librispeech`
reads it exactly as it reads the real corpora::

    <root>/pretrain/<spk>/<chap>/<spk>-<chap>-<utt>.flac     unlabeled pre-training pool
    <root>/pretrain/<spk>/<chap>/<spk>-<chap>.trans.txt       (kept, as LibriSpeech does)
    <root>/dev/...  <root>/test/...                           held-out speakers
    <root>/librispeech_finetuning/1h/<fold>/clean/<spk>/...   Libri-light 1h = 6 folds; 10m = fold 0
    <root>/metadata/<split>.jsonl     English, its Italian, German and Dutch translations, intent,
                                      slots, voice, phoneme/word times
    <root>/SPEAKERS.TXT               as LibriSpeech: ID | SEX | SUBSET | MINUTES | NAME
    <root>/synth_config.yaml          the resolved generation config

Determinism: espeak-ng carries state from one utterance to the next, so every utterance
is synthesised in a process forked from a freshly initialised engine (``_synthesize``),
with its noise generators seeded from the utterance id; text, voices and ids come from
``random.Random`` seeded per split. The same config gives
byte-identical files whatever the number of workers.
"""
from __future__ import annotations

import contextlib
import io
import json
import multiprocessing as mp
import os
import pickle
import random
import zlib
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from ...config import check_ranges
from ..audio import SAMPLE_RATE
from .espeak import Voice
from .grammar import sample_utterance

LANGUAGES = ("en-us", "en", "en-gb-x-rp", "en-gb-scotland", "en-029", "en-us-nyc",
             "en-gb-x-gbclan", "en-gb-x-gbcwmd")
# espeak-ng-data/voices/!v variants that sound like a person (robots, whisper, croak left out)
VARIANTS = {
    "M": ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "adam", "david", "john", "max", "edward",
          "ed", "andy", "michael", "benjamin", "caleb", "ian", "norbert", "quincy", "robert", "rob",
          "travis", "victor", "zac", "boris", "gustave", "Lee", "Mario", "Denis", "Hugo", "grandpa",
          "klatt", "klatt2", "klatt3", "klatt4", "klatt6"),
    "F": ("f1", "f2", "f3", "f4", "f5", "Alicia", "Andrea", "annie", "anika", "aunty", "belinda",
          "grandma", "linda", "steph"),
}
FINETUNE_DIR = "librispeech_finetuning"


@dataclass(frozen=True)
class SynthConfig:
    """Sizes of the synthetic corpus. Defaults: ~3.8 h in under 2 minutes on 2 cores."""

    seed: int = 0
    pretrain_hours: float = 3.0  # unlabeled pool (the LibriSpeech-960 / Libri-light role)
    finetune_folds: int = 6  # Libri-light: 1h = 6 folds of 10 minutes, fold 0 is the 10m set
    fold_minutes: float = 10.0
    dev_minutes: float = 15.0
    test_minutes: float = 15.0
    train_speakers: int = 40  # pool and fine-tuning speakers
    dev_speakers: int = 5  # dev and test speakers are disjoint from training speakers
    test_speakers: int = 5
    sample_rate: int = SAMPLE_RATE
    num_workers: int = 2

    def __post_init__(self) -> None:
        check_ranges(self, seed=">= 0", pretrain_hours="> 0", finetune_folds=">= 1", fold_minutes="> 0",
                     dev_minutes="> 0", test_minutes="> 0", train_speakers=">= 1", dev_speakers=">= 1",
                     test_speakers=">= 1", sample_rate=">= 1000", num_workers=">= 1")


class SynthError(RuntimeError):
    """Synthesis could not finish (a worker process died); the message says what to do."""


@dataclass(frozen=True)
class Speaker:
    id: str
    sex: str
    subset: str
    voice: Voice
    chapters: tuple[str, ...]


@dataclass(frozen=True)
class PlannedUtterance:
    id: str
    split: str  # pretrain | 1h | dev | test
    fold: int | None
    speaker: Speaker
    english: str
    transcript: str
    italian: str
    german: str
    dutch: str
    intent: str
    slots: dict


def make_speakers(cfg: SynthConfig) -> list[Speaker]:
    """Distinct (language, variant) per speaker, so held-out speakers are unseen voices."""
    rng = random.Random(f"speakers-{cfg.seed}")
    combos = [(lang, var, sex) for sex, vs in VARIANTS.items() for var in vs for lang in LANGUAGES]
    rng.shuffle(combos)
    n = cfg.train_speakers + cfg.dev_speakers + cfg.test_speakers
    if n > len(combos):
        raise ValueError(f"at most {len(combos)} distinct synthetic speakers, asked for {n}")
    ids = rng.sample(range(100, 10000), n)
    subsets = ["train"] * cfg.train_speakers + ["dev"] * cfg.dev_speakers + ["test"] * cfg.test_speakers
    speakers = []
    for (lang, var, sex), spk, subset in zip(combos, ids, subsets):
        voice = Voice(lang, var, rate=rng.randint(145, 195), pitch=rng.randint(25, 75),
                      pitch_range=rng.randint(30, 80))
        chapters = tuple(str(c) for c in rng.sample(range(1000, 99999), 3))
        speakers.append(Speaker(str(spk), sex, subset, voice, chapters))
    return speakers


def plan(split: str, speakers: list[Speaker], cfg: SynthConfig, fold: int | None = None) -> Iterator[PlannedUtterance]:
    """Endless, deterministic stream of utterances for one split (or fine-tuning fold).

    Chapters: the pool uses each speaker's first chapter, fine-tuning folds the second and
    third, so utterance ids never collide across splits.
    """
    rng = random.Random(f"{split}-{fold}-{cfg.seed}")
    counters: dict[tuple[str, str], int] = {}
    while True:
        spk = speakers[rng.randrange(len(speakers))]
        chap = spk.chapters[0] if split != "1h" else spk.chapters[1 + (fold or 0) % 2]
        n = counters.get((spk.id, chap), 0)
        counters[(spk.id, chap)] = n + 1
        utt_no = n if split != "1h" else n * cfg.finetune_folds + (fold or 0)
        u = sample_utterance(rng)
        yield PlannedUtterance(f"{spk.id}-{chap}-{utt_no:04d}", split, fold, spk, u.english,
                               u.transcript, u.italian, u.german, u.dutch, u.intent, dict(u.slots))


# --------------------------------------------------------------------------------------
# Workers: no torch here, so that the per-utterance fork is cheap.
# --------------------------------------------------------------------------------------
def _synthesize(text: str, voice: Voice, seed: int):
    """Synthesise in a child forked from this worker's pristine engine (see module doc)."""
    from .espeak import engine

    eng = engine()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: synthesise, send, exit without running any Python cleanup
        status = 0
        try:
            os.close(r)
            with os.fdopen(w, "wb") as f:
                pickle.dump(eng.synthesize(text, voice, seed), f)
        except BaseException:
            status = 1
        os._exit(status)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not data:
        raise SynthError(f"espeak-ng synthesis crashed for {voice.name} on {text!r}")
    return pickle.loads(data)


def _worker_init() -> None:
    from .espeak import engine

    engine()  # initialise once, never synthesise in this process


def _render(args: tuple[PlannedUtterance, int]) -> tuple[bytes, int, list, list]:
    """One utterance -> (FLAC bytes, num_samples, phoneme times, word times)."""
    import soundfile as sf

    from .resample import resample

    utt, sample_rate = args
    syn = _synthesize(utt.english, utt.speaker.voice, zlib.crc32(utt.id.encode()))
    wav = resample(syn.samples.astype(np.float32) / 32768.0, syn.sample_rate, sample_rate)
    pcm = np.clip(np.round(wav * 32768.0), -32768, 32767).astype(np.int16)
    buf = io.BytesIO()
    sf.write(buf, pcm, sample_rate, format="FLAC", subtype="PCM_16")
    return buf.getvalue(), len(pcm), syn.phonemes, syn.words


# --------------------------------------------------------------------------------------
def audio_path(root: Path, utt: PlannedUtterance) -> Path:
    spk, chap = utt.id.split("-")[:2]
    base = root / utt.split if utt.split != "1h" else root / FINETUNE_DIR / "1h" / str(utt.fold) / "clean"
    return base / spk / chap / f"{utt.id}.flac"


def generate_corpus(root: str | Path, cfg: SynthConfig = SynthConfig(), progress=None) -> dict[str, dict]:
    """Synthesise the corpus under ``root``; returns ``{split: {hours, utterances, speakers}}``.

    ``progress(split, seconds_done, seconds_target)`` is called as audio is produced.
    """
    root = Path(root)
    speakers = make_speakers(cfg)
    train = [s for s in speakers if s.subset == "train"]
    jobs = [("pretrain", None, train, cfg.pretrain_hours * 3600)]
    jobs += [("1h", f, train, cfg.fold_minutes * 60) for f in range(cfg.finetune_folds)]
    jobs += [(name, None, [s for s in speakers if s.subset == name], minutes * 60)
             for name, minutes in (("dev", cfg.dev_minutes), ("test", cfg.test_minutes))]
    (root / "metadata").mkdir(parents=True, exist_ok=True)
    meta_files: dict[str, list[str]] = {}
    trans: dict[Path, list[str]] = {}
    minutes: dict[str, float] = {}
    summary: dict[str, dict] = {}
    # concurrent.futures, not multiprocessing.Pool: a worker that dies (the OOM killer, a crash in espeak-ng)
    # breaks the pool and raises here, where Pool would wait forever for the result it never sends
    pool = ProcessPoolExecutor(cfg.num_workers, mp_context=mp.get_context("spawn"), initializer=_worker_init)
    with _single_threaded_blas(), _pool_errors(cfg), pool:
        for split, fold, spks, target in jobs:
            done, count, spk_seen = 0.0, 0, set()
            stream = plan(split, spks, cfg, fold)
            while done < target:
                block = [next(stream) for _ in range(64)]
                for utt, (flac, n, phonemes, words) in zip(
                    block, pool.map(_render, [(u, cfg.sample_rate) for u in block], chunksize=4)
                ):
                    if done >= target:
                        break  # the rest of the block is discarded: sizes are exact and deterministic
                    path = audio_path(root, utt)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    _write_atomic(path, flac)
                    trans.setdefault(path.parent / f"{utt.id.rsplit('-', 1)[0]}.trans.txt", []).append(
                        f"{utt.id} {utt.transcript}")
                    sec = n / cfg.sample_rate
                    done += sec
                    count += 1
                    spk_seen.add(utt.speaker.id)
                    minutes[utt.speaker.id] = minutes.get(utt.speaker.id, 0.0) + sec / 60
                    meta_files.setdefault(split, []).append(json.dumps({
                        "id": utt.id, "fold": fold, "speaker": utt.speaker.id, "voice": asdict(utt.speaker.voice),
                        "english": utt.english, "text": utt.transcript, "italian": utt.italian,
                        "german": utt.german, "dutch": utt.dutch, "intent": utt.intent, "slots": utt.slots,
                        "num_samples": n,
                        "phonemes": phonemes, "words": words,
                    }, sort_keys=True, ensure_ascii=False))
                    if progress:
                        progress(split if fold is None else f"1h/{fold}", min(done, target), target)
            key = split if fold is None else f"1h/{fold}"
            summary[key] = {"hours": done / 3600, "utterances": count, "speakers": len(spk_seen)}
    for path, lines in trans.items():
        _write_atomic(path, ("\n".join(sorted(lines)) + "\n").encode())
    for split, lines in meta_files.items():
        _write_atomic(root / "metadata" / f"{split}.jsonl", ("\n".join(lines) + "\n").encode())
    _write_speakers(root, speakers, minutes)
    _write_config(root, cfg)
    return summary


@contextlib.contextmanager
def _pool_errors(cfg: SynthConfig):
    """A worker process that died is a :class:`SynthError` saying what to do."""
    try:
        yield
    except BrokenProcessPool as e:
        raise SynthError(
            f"a synthesis worker process died ({e}); it was probably killed for lack of memory (see dmesg): "
            f"run again with fewer workers (--num-workers, now {cfg.num_workers}); finished files are rewritten "
            "identically") from None


@contextlib.contextmanager
def _single_threaded_blas():
    """Workers inherit this environment: one BLAS thread each, or they oversubscribe the cores."""
    saved = {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    os.environ.update({k: "1" for k in saved})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _write_speakers(root: Path, speakers: list[Speaker], minutes: dict[str, float]) -> None:
    lines = [";ID  |SEX| SUBSET     |MINUTES| NAME (espeak-ng voice, rate wpm, pitch, range)"]
    for s in sorted(speakers, key=lambda s: int(s.id)):
        v = s.voice
        lines.append(f"{s.id:<5}| {s.sex} | {s.subset:<10} | {minutes.get(s.id, 0.0):5.2f} | "
                     f"{v.name} rate={v.rate} pitch={v.pitch} range={v.pitch_range}")
    _write_atomic(root / "SPEAKERS.TXT", ("\n".join(lines) + "\n").encode())


def _write_config(root: Path, cfg: SynthConfig) -> None:
    import yaml

    _write_atomic(root / "synth_config.yaml", yaml.safe_dump(asdict(cfg), sort_keys=False).encode())


def write_lm_text(path: str | Path, num_sentences: int = 200_000, seed: int = 1234,
                  exclude: frozenset[str] = frozenset()) -> int:
    """LM training text from the same grammar (LibriSpeech-LM style: one upper-case sentence
    per line), drawn with its own seed; sentences in ``exclude`` (dev/test transcripts) are
    left out so the LM never saw an evaluation sentence. Returns the number of lines."""
    rng = random.Random(f"lm-{seed}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    while len(lines) < num_sentences:
        text = sample_utterance(rng).transcript
        if text not in exclude:
            lines.append(text)
    _write_atomic(path, ("\n".join(lines) + "\n").encode())
    return len(lines)
