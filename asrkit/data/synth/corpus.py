"""The built-in corpus: spoken commands synthesised offline by three engines, in several recording conditions.

Layout mirrors LibriSpeech + Libri-light, so :func:`asrkit.data.librispeech.prepare_librispeech`
reads it exactly as it reads the real corpora::

    <root>/pretrain/<spk>/<chap>/<spk>-<chap>-<utt>.flac     unlabeled pre-training pool
    <root>/pretrain/<spk>/<chap>/<spk>-<chap>.trans.txt       (kept, as LibriSpeech does)
    <root>/dev/...  <root>/test/...                           held-out speakers
    <root>/test_unseen_engine/...  <root>/test_unseen_engine_tel/...   an engine family and recorded speaker no
                                      other split uses, clean and through a telephone channel (same utterances)
    <root>/librispeech_finetuning/1h/<fold>/clean/<spk>/...   Libri-light 1h = 6 folds; 10m = fold 0
    <root>/metadata/<split>.jsonl     English, its Italian, German and Dutch translations, intent,
                                      slots, voice (its engine), phoneme/word times, recording condition
    <root>/SPEAKERS.TXT               as LibriSpeech: ID | SEX | SUBSET | MINUTES | NAME
    <root>/synth_config.yaml          the resolved generation config

Engines (:mod:`.engines`): espeak-ng (formant synthesis, dozens of voices), flite's voices built from CMU ARCTIC
and diphone recordings (awb, rms, kal16) and festival's diphone voices (kal, ked). A speaker is one voice of one
engine at its own rate and pitch; ``other_engines_share`` of each subset's speakers are flite and festival voices.
Those engines have few voices, so their dev and test speakers share a recorded voice with training speakers (at
another rate and pitch); only the espeak-ng speakers of dev and test are unheard voices. The truly unseen
condition is ``test_unseen_engine``: CMU ARCTIC's ``slt`` speaker, spoken by flite's ``cmu_us_slt`` and by
festival's HTS voice ``us_slt_hts``. Both come from the same recorded speaker and share flite's and festival's
front end, so they are held out together: no training, dev or pre-training utterance uses either.

Recording conditions (:mod:`asrkit.data.augment`): every pool, fine-tuning, dev and test utterance is, with the
probabilities of the config, reverberated in a simulated room (one of ``ROOMS`` image-method rooms drawn once
per corpus), mixed with babble of training speakers or synthetic noise at an SNR in ``[snr_db_low,
snr_db_high]``, coloured by a microphone EQ, changed in level, or passed through a telephone channel (8 kHz,
300-3400 Hz, G.711 mu-law). What was applied is recorded as ``condition`` in the metadata. The held-out-engine
set is clean; its ``_tel`` copy is the same audio through the telephone channel.

Determinism: espeak-ng carries state from one utterance to the next, so every utterance
is synthesised in a process forked from a freshly initialised engine (``_synthesize``),
with its noise generators seeded from the utterance id; flite and festival are deterministic; conditions are drawn
from the utterance id too; text, voices and ids come from ``random.Random`` seeded per split. The same config gives
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

from ...config import check_ranges, field_error
from ..audio import SAMPLE_RATE
from .engines import ENGINES
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
# The other engines' voices a speaker may take, (voice, sex): flite's kal (8 kHz) and awb_time are the
# same recordings as kal16 and awb, so they are left out; slt is held out (UNSEEN_VOICES)
ENGINE_VOICES = {
    "flite": (("awb", "M"), ("rms", "M"), ("kal16", "M")),
    "festival": (("kal_diphone", "M"), ("ked_diphone", "M")),
}
# test_unseen_engine: CMU ARCTIC slt in flite (clustergen) and festival (HTS); two speakers each (rates)
UNSEEN_VOICES = (("flite", "slt", "F"), ("festival", "cmu_us_slt_arctic_hts", "F"))
UNSEEN_SPLIT = "test_unseen_engine"
TELEPHONE_SUFFIX = "_tel"
ROOMS = 32  # simulated rooms per corpus (drawn once from the seed; each utterance picks one)


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
    # Engines of the training, dev and test speakers (comma-separated: espeak, flite, festival), and the share
    # of each subset's speakers that flite and festival voices take when espeak is among them
    engines: str = "espeak,flite,festival"
    other_engines_share: float = 0.4
    unseen_minutes: float = 10.0  # test_unseen_engine (and its telephone copy); 0 = none
    # Recording conditions of every other split (asrkit.data.augment): probabilities and ranges. With rir 0.3,
    # noise 0.4 at 5-25 dB and telephone 0.1 (62 % of the utterances reverberant, noisy or narrowband) the
    # demo's 600 fine-tuning updates left its model underfitted (dev loss 91 at 400 updates, train loss alike,
    # where the espeak-only clean corpus reached 59): these defaults degrade 35 %
    rir: float = 0.15  # reverberation in a simulated room
    noise: float = 0.2  # babble or synthetic noise at an SNR in [snr_db_low, snr_db_high]
    snr_db_low: float = 10.0
    snr_db_high: float = 30.0
    eq: float = 0.3  # a random microphone EQ
    gain_db: float = 6.0  # level change drawn from [-gain_db, gain_db]
    telephone: float = 0.05  # 8 kHz band-limit and mu-law codec

    def __post_init__(self) -> None:
        check_ranges(self, seed=">= 0", pretrain_hours="> 0", finetune_folds=">= 1", fold_minutes="> 0",
                     dev_minutes="> 0", test_minutes="> 0", train_speakers=">= 1", dev_speakers=">= 1",
                     test_speakers=">= 1", sample_rate=">= 1000", num_workers=">= 1", other_engines_share="[0, 1]",
                     unseen_minutes=">= 0", rir="[0, 1]", noise="[0, 1]", snr_db_low="any", snr_db_high="any",
                     eq="[0, 1]", gain_db=">= 0", telephone="[0, 1]")
        names = self.engine_list
        unknown = [e for e in names if e not in ENGINES]
        if unknown or not names or len(set(names)) != len(names):
            raise field_error(self, "engines", f"{self.engines!r}: give distinct engines among {', '.join(ENGINES)}")
        if self.snr_db_low > self.snr_db_high:
            raise field_error(self, "snr_db_low", f"{self.snr_db_low} is above snr_db_high ({self.snr_db_high})")

    @property
    def engine_list(self) -> tuple[str, ...]:
        return tuple(e.strip() for e in self.engines.split(",") if e.strip())

    def augment_config(self):
        """The recording conditions as an :class:`asrkit.data.augment.AugmentConfig`."""
        from ..augment import AugmentConfig

        return AugmentConfig(rir=self.rir, noise=self.noise, snr_db=(self.snr_db_low, self.snr_db_high),
                             eq=self.eq, gain_db=(-self.gain_db, self.gain_db), telephone=self.telephone)


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
    return _other_engines(speakers, cfg)


def _other_engines(speakers: list[Speaker], cfg) -> list[Speaker]:
    """Give ``other_engines_share`` of each subset's speakers (all of them without espeak) a flite or festival
    voice, the engines and their voices in turn, each at its own rate and pitch. Ids, chapters and the espeak
    speakers drawn above stay as they are, so ``--engines espeak`` gives the espeak-only corpus."""
    engines = getattr(cfg, "engine_list", ("espeak",))  # the other synthetic corpora are espeak's
    others = [e for e in engines if e != "espeak"]
    if not others:
        return speakers
    rng = random.Random(f"engine-speakers-{cfg.seed}")
    speakers = list(speakers)
    for subset in ("train", "dev", "test"):
        idx = [i for i, s in enumerate(speakers) if s.subset == subset]
        k = len(idx) if "espeak" not in engines else round(len(idx) * cfg.other_engines_share)
        for j, i in enumerate(sorted(rng.sample(idx, k))):
            engine = others[j % len(others)]
            variant, sex = ENGINE_VOICES[engine][(j // len(others)) % len(ENGINE_VOICES[engine])]
            voice = Voice("en-us", variant, rate=rng.randint(150, 200), pitch=rng.randint(35, 65), engine=engine)
            speakers[i] = Speaker(speakers[i].id, sex, subset, voice, speakers[i].chapters)
    return speakers


def unseen_speakers(cfg: SynthConfig) -> list[Speaker]:
    """test_unseen_engine's speakers: two rates of each held-out voice, ids outside every other split's range."""
    rng = random.Random(f"unseen-speakers-{cfg.seed}")
    out = []
    for (engine, variant, sex), spk in zip([v for v in UNSEEN_VOICES for _ in range(2)],
                                           rng.sample(range(10000, 99999), 2 * len(UNSEEN_VOICES))):
        voice = Voice("en-us", variant, rate=rng.randint(150, 200), pitch=rng.randint(40, 60), engine=engine)
        chapters = tuple(str(c) for c in rng.sample(range(1000, 99999), 3))
        out.append(Speaker(str(spk), sex, UNSEEN_SPLIT, voice, chapters))
    return out


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


def _speak(text: str, voice: Voice, seed: int):
    """A :class:`~.espeak.Synthesis` from the voice's engine: espeak-ng in a forked child, flite in process,
    festival in this worker's own festival process (:mod:`.engines`)."""
    if voice.engine == "espeak":
        return _synthesize(text, voice, seed)
    from .engines import synthesize

    try:
        return synthesize(text, voice, seed)
    except RuntimeError as e:
        raise SynthError(str(e)) from None


# Per worker: the corpus's simulated rooms and its babble (speech of training speakers), made once from the seed
_CONDITIONS: dict = {}


def _corpus_worker_init(seed: int, sample_rate: int, rooms: bool, babble: list[tuple[str, Voice]]) -> None:
    """Initialise espeak-ng, then build the rooms (when ``rooms``) and the babble every worker shares (identical
    in each: they depend on the seed only, so the files do not depend on the number of workers)."""
    from ..augment import image_method_rir, random_room
    from .resample import resample

    _worker_init()
    rng = np.random.default_rng(zlib.crc32(f"rooms-{seed}".encode()))
    made = []
    for _ in range(ROOMS if rooms else 0):
        room = random_room(rng)
        made.append((image_method_rir(sample_rate=sample_rate, rng=rng, **room), room))
    speech = []
    for k, (text, voice) in enumerate(babble):
        syn = _speak(text, voice, zlib.crc32(f"babble-{seed}-{k}".encode()))
        speech.append(resample(syn.samples.astype(np.float32) / 32768.0, syn.sample_rate, sample_rate))
    _CONDITIONS.update(rooms=made, babble=speech)


def _babble_plan(speakers: list[Speaker], cfg: SynthConfig, n: int = 16) -> list[tuple[str, Voice]]:
    """``n`` sentences of training speakers for the babble noise, drawn from their own stream."""
    rng = random.Random(f"babble-{cfg.seed}")
    train = [s for s in speakers if s.subset == "train"]
    return [(sample_utterance(rng).english, train[rng.randrange(len(train))].voice) for _ in range(n)]


def _condition(wav: np.ndarray, sample_rate: int, utt_id: str, aug) -> tuple[np.ndarray, dict]:
    """The recording condition of one utterance, drawn from its id (``aug``: an AugmentConfig)."""
    from ..augment import apply_augment

    rng = np.random.default_rng(zlib.crc32(f"condition-{utt_id}".encode()))
    babble = _CONDITIONS.get("babble") or []

    def babble_source(rng, k):
        return [babble[int(i)] for i in rng.choice(len(babble), size=min(k, len(babble)), replace=False)]

    return apply_augment(wav, sample_rate, aug, rng, babble_source=babble_source if babble else None,
                         rirs=_CONDITIONS.get("rooms"))


def _flac(wav: np.ndarray, sample_rate: int) -> tuple[bytes, int]:
    import soundfile as sf

    pcm = np.clip(np.round(wav * 32768.0), -32768, 32767).astype(np.int16)
    buf = io.BytesIO()
    sf.write(buf, pcm, sample_rate, format="FLAC", subtype="PCM_16")
    return buf.getvalue(), len(pcm)


def _render(args: tuple[PlannedUtterance, int, object, bool]) -> dict:
    """One utterance -> its FLAC bytes, length, phoneme and word times and recording condition; with ``telephone``
    also the FLAC of the same audio through the telephone channel."""
    from ..augment import telephone
    from .resample import resample

    utt, sample_rate, aug, tel_copy = args
    syn = _speak(utt.english, utt.speaker.voice, zlib.crc32(utt.id.encode()))
    wav = resample(syn.samples.astype(np.float32) / 32768.0, syn.sample_rate, sample_rate)
    condition: dict = {}
    if aug is not None and aug.enabled:
        wav, condition = _condition(wav, sample_rate, utt.id, aug)
    flac, n = _flac(wav, sample_rate)
    out = {"flac": flac, "num_samples": n, "phonemes": syn.phonemes, "words": syn.words, "condition": condition}
    if tel_copy:
        rng = np.random.default_rng(zlib.crc32(f"telephone-{utt.id}".encode()))
        tel, record = telephone(wav, sample_rate, rng)
        out["telephone"] = (_flac(tel, sample_rate)[0], {"telephone": record})  # the clean audio, |peak| <= 1
    return out


# --------------------------------------------------------------------------------------
def audio_path(root: Path, utt: PlannedUtterance, split: str | None = None) -> Path:
    spk, chap = utt.id.split("-")[:2]
    base = root / (split or utt.split) if utt.split != "1h" else root / FINETUNE_DIR / "1h" / str(utt.fold) / "clean"
    return base / spk / chap / f"{utt.id}.flac"


def check_engines(cfg: SynthConfig) -> None:
    """A :class:`SynthError` naming the Debian packages to install for each engine the config needs and this
    machine lacks, and how to go on without it."""
    from .engines import missing_engines

    missing = missing_engines(cfg.engine_list)
    unseen = missing_engines(sorted({e for e, _, _ in UNSEEN_VOICES})) if cfg.unseen_minutes > 0 else {}
    if not missing and not unseen:
        return
    have = [e for e in cfg.engine_list if e not in missing]
    parts = list({**missing, **unseen}.values())
    ways = []
    if missing:
        ways.append(f"--engines {','.join(have)} to synthesise without {', '.join(missing)}" if have else
                    "--engines espeak")
    if unseen:
        ways.append(f"--unseen-minutes 0 to go without {UNSEEN_SPLIT} (it needs flite and festival)")
    raise SynthError("; ".join(parts) + " (`make engines` installs them); or pass " + " and ".join(ways))


def generate_corpus(root: str | Path, cfg: SynthConfig = SynthConfig(), progress=None) -> dict[str, dict]:
    """Synthesise the corpus under ``root``; returns ``{split: {hours, utterances, speakers}}``.

    ``progress(split, seconds_done, seconds_target)`` is called as audio is produced.
    """
    check_engines(cfg)
    root = Path(root)
    speakers = make_speakers(cfg)
    unseen = unseen_speakers(cfg) if cfg.unseen_minutes > 0 else []
    train = [s for s in speakers if s.subset == "train"]
    aug = cfg.augment_config()
    jobs = [("pretrain", None, train, cfg.pretrain_hours * 3600)]
    jobs += [("1h", f, train, cfg.fold_minutes * 60) for f in range(cfg.finetune_folds)]
    jobs += [(name, None, [s for s in speakers if s.subset == name], minutes * 60)
             for name, minutes in (("dev", cfg.dev_minutes), ("test", cfg.test_minutes))]
    if unseen:
        jobs.append((UNSEEN_SPLIT, None, unseen, cfg.unseen_minutes * 60))
    (root / "metadata").mkdir(parents=True, exist_ok=True)
    meta_files: dict[str, list[str]] = {}
    trans: dict[Path, list[str]] = {}
    minutes: dict[str, float] = {}
    summary: dict[str, dict] = {}
    # concurrent.futures, not multiprocessing.Pool: a worker that dies (the OOM killer, a crash in espeak-ng)
    # breaks the pool and raises here, where Pool would wait forever for the result it never sends
    pool = ProcessPoolExecutor(cfg.num_workers, mp_context=mp.get_context("spawn"), initializer=_corpus_worker_init,
                               initargs=(cfg.seed, cfg.sample_rate, cfg.rir > 0,
                                         _babble_plan(speakers, cfg) if cfg.noise > 0 else []))
    with _single_threaded_blas(), _pool_errors(cfg), pool:
        for split, fold, spks, target in jobs:
            done, count, spk_seen = 0.0, 0, set()
            stream = plan(split, spks, cfg, fold)
            held_out = split == UNSEEN_SPLIT  # clean, plus a telephone copy
            while done < target:
                block = [next(stream) for _ in range(64)]
                results = pool.map(_render, [(u, cfg.sample_rate, None if held_out else aug, held_out) for u in block],
                                   chunksize=4)
                for utt, r in zip(block, results):
                    if done >= target:
                        break  # the rest of the block is discarded: sizes are exact and deterministic
                    n = r["num_samples"]
                    record = {
                        "id": utt.id, "fold": fold, "speaker": utt.speaker.id, "voice": asdict(utt.speaker.voice),
                        "engine": utt.speaker.voice.engine,
                        "english": utt.english, "text": utt.transcript, "italian": utt.italian,
                        "german": utt.german, "dutch": utt.dutch, "intent": utt.intent, "slots": utt.slots,
                        "num_samples": n, "phonemes": r["phonemes"], "words": r["words"],
                        "condition": r["condition"],
                    }
                    versions = [(split, r["flac"], record)]
                    if held_out:
                        tel_flac, tel_condition = r["telephone"]
                        versions.append((split + TELEPHONE_SUFFIX, tel_flac, {**record, "condition": tel_condition}))
                    for name, flac, rec in versions:
                        path = audio_path(root, utt, name)
                        path.parent.mkdir(parents=True, exist_ok=True)
                        _write_atomic(path, flac)
                        trans.setdefault(path.parent / f"{utt.id.rsplit('-', 1)[0]}.trans.txt", []).append(
                            f"{utt.id} {utt.transcript}")
                        meta_files.setdefault(name, []).append(json.dumps(rec, sort_keys=True, ensure_ascii=False))
                    sec = n / cfg.sample_rate
                    done += sec
                    count += 1
                    spk_seen.add(utt.speaker.id)
                    minutes[utt.speaker.id] = minutes.get(utt.speaker.id, 0.0) + sec / 60
                    if progress:
                        progress(split if fold is None else f"1h/{fold}", min(done, target), target)
            key = split if fold is None else f"1h/{fold}"
            summary[key] = {"hours": done / 3600, "utterances": count, "speakers": len(spk_seen)}
            if held_out:
                summary[split + TELEPHONE_SUFFIX] = dict(summary[key])
    for path, lines in trans.items():
        _write_atomic(path, ("\n".join(sorted(lines)) + "\n").encode())
    for split, lines in meta_files.items():
        _write_atomic(root / "metadata" / f"{split}.jsonl", ("\n".join(lines) + "\n").encode())
    _write_speakers(root, speakers + unseen, minutes)
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
    lines = [";ID  |SEX| SUBSET     |MINUTES| NAME (voice: espeak-ng's or engine:voice, rate wpm, pitch, range)"]
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
