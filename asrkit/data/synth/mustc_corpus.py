"""A synthetic speech-translation corpus in MuST-C's layout (issue 20, "Data"): what
:func:`asrkit.data.mustc.prepare_mustc` reads, for mid-training on en-de, en-it and en-nl (notes §2)::

    <root>/en-<xx>/data/{train,dev,tst-COMMON}/wav/ted_<N>.wav     one talk: 16 kHz mono 16-bit PCM
    <root>/en-<xx>/data/<split>/txt/<split>.yaml                   - {duration: D, offset: O, speaker_id: spk.<N>,
                                                                     wav: ted_<N>.wav}   (seconds, 6 decimals)
    <root>/en-<xx>/data/<split>/txt/<split>.en                     the English, line k = segment k
    <root>/en-<xx>/data/<split>/txt/<split>.<xx>                   its translation, line k = segment k
    <root>/metadata/<split>.jsonl        one segment a line: id, talk, offset and num_samples (samples), voice,
                                         synthesis seed, english, translations {xx: ...}, intent, slots
    <root>/synth_mustc_config.yaml       the resolved generation config

A talk is one speaker (an espeak-ng voice, :mod:`.corpus`'s English accents and variants) saying
``min_utterances``..``max_utterances`` of the grammar's sentences, each synthesised on its own, with a pause
of ``min_pause``..``max_pause`` seconds of silence before each and after the last; a segment is exactly one
utterance, so its offset and duration are the utterance's bounds in the talk (MuST-C's come from a
sentence aligner). The English side is the grammar's spoken form, lowercase and without punctuation, as the
built-in corpus gives it (real MuST-C's ``.en`` is cased and punctuated); the target side is the grammar's
translation of the same utterance (:data:`TRANSLATION_KEYS`). All pairs share the English talks, as MuST-C's
pairs share most of theirs: each wav is written once and hard-linked (copied where links fail) into the other
pairs' ``wav/``. Splits have disjoint talks, and every dev and tst-COMMON talk has a voice (language +
variant) no other talk has, so tst-COMMON's speakers are unseen in training; training talks reuse voices
(with another rate and pitch) only beyond the :data:`.corpus.LANGUAGES` x :data:`.corpus.VARIANTS`
combinations (416).

Default sizes (:class:`MustcSynthConfig`): 96 training talks, 6 dev and 8 tst-COMMON talks of 15-25 utterances:
1910 / 117 / 152 segments, 1.13 / 0.07 / 0.09 h of segments (pauses add ~30 % to the wavs, 190 MB per pair's
directory, shared through hard links). On 2 cores shared with other jobs (2 workers) the defaults took 23 s for
one pair; more pairs add only their text files (``synth_mustc_config.yaml`` records the sizes used).

Determinism as in :mod:`.corpus`: talks, voices, sentences and pauses are planned in the parent from
``random.Random`` seeded by the config's seed; a worker renders a talk, each utterance in a child forked from
a pristine espeak-ng engine with its noise seeded from the utterance's id, so the same config gives
byte-identical files whatever the number of workers. Workers import no torch.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import shutil
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ...config import check_ranges
from ..audio import SAMPLE_RATE
from .corpus import LANGUAGES, VARIANTS, _pool_errors, _single_threaded_blas, _synthesize, _worker_init, _write_atomic
from .espeak import Voice
from .grammar import TRANSLATION_KEYS, Utterance, sample_utterance

PAIRS = ("en-de", "en-it", "en-nl")  # the multi-stage paper's mid-training pairs
SPLITS = ("train", "dev", "tst-COMMON")


@dataclass(frozen=True)
class MustcSynthConfig:
    """Sizes of the synthetic MuST-C (defaults: 1.1 h of training segments in under a minute on 2 cores)."""

    seed: int = 0
    train_talks: int = 96  # ~1.1 h of segments: the chained recipe's mid-training budget uses less
    dev_talks: int = 6
    test_talks: int = 8  # tst-COMMON: ~150 segments to score BLEU on
    min_utterances: int = 15  # per talk (a segment is one utterance)
    max_utterances: int = 25
    min_pause: float = 0.3  # seconds of silence before each segment and after the last
    max_pause: float = 1.0
    sample_rate: int = SAMPLE_RATE  # MuST-C's wavs are 16 kHz
    num_workers: int = 2

    def __post_init__(self) -> None:
        check_ranges(self, seed=">= 0", train_talks=">= 1", dev_talks=">= 1", test_talks=">= 1",
                     min_utterances=">= 1", max_utterances=">= 1", min_pause=">= 0", max_pause=">= 0",
                     sample_rate=">= 1000", num_workers=">= 1")
        if self.max_utterances < self.min_utterances:
            raise ValueError(f"max_utterances ({self.max_utterances}) must be >= min_utterances "
                             f"({self.min_utterances})")
        if self.max_pause < self.min_pause:
            raise ValueError(f"max_pause ({self.max_pause}) must be >= min_pause ({self.min_pause})")
        distinct = len(LANGUAGES) * sum(len(v) for v in VARIANTS.values())
        if self.dev_talks + self.test_talks >= distinct:
            raise ValueError(f"dev_talks + test_talks must leave voices for training: at most {distinct - 1}")


@dataclass(frozen=True)
class Talk:
    """One planned talk: its voice, utterances, pauses (samples, one before each utterance and one after the
    last) and synthesis seeds."""
    name: str  # ted_<N>
    split: str
    speaker: str  # spk.<N>
    voice: Voice
    utterances: tuple[Utterance, ...]
    pauses: tuple[int, ...]
    seeds: tuple[int, ...]


def translation(u: Utterance, lang: str) -> str:
    """The grammar's translation of ``u`` into MuST-C language ``lang`` (de, it, nl)."""
    key = TRANSLATION_KEYS.get(lang)
    if key is None:
        raise ValueError(f"en-{lang}: the synthetic corpus translates into "
                         f"{', '.join(sorted(TRANSLATION_KEYS))} only")
    value = getattr(u, key, None)
    if value is None:
        raise ValueError(f"en-{lang}: the grammar has no {key.capitalize()} translation yet (Utterance.{key}); "
                         f"choose from {', '.join('en-' + k for k in available_languages())}")
    return value


def available_languages() -> list[str]:
    """The MuST-C target languages the grammar translates into now."""
    u = sample_utterance(random.Random(0))
    return sorted(lang for lang, key in TRANSLATION_KEYS.items() if getattr(u, key, None) is not None)


def plan_talks(cfg: MustcSynthConfig) -> list[Talk]:
    """Every talk of every split, deterministic in ``cfg`` (see the module doc for voices)."""
    rng = random.Random(f"mustc-{cfg.seed}")
    combos = [(lang, var) for sex in sorted(VARIANTS) for var in VARIANTS[sex] for lang in LANGUAGES]
    rng.shuffle(combos)
    counts = {"tst-COMMON": cfg.test_talks, "dev": cfg.dev_talks, "train": cfg.train_talks}
    total = sum(counts.values())
    ids = rng.sample(range(1, 10 * total + 3000), total)
    held = cfg.dev_talks + cfg.test_talks
    talks, used = [], 0
    for split in ("tst-COMMON", "dev", "train"):  # held-out talks take their voices first, one each
        for _ in range(counts[split]):
            lang, variant = combos[used if used < held else held + (used - held) % (len(combos) - held)]
            voice = Voice(lang, variant, rate=rng.randint(145, 195), pitch=rng.randint(25, 75),
                          pitch_range=rng.randint(30, 80))
            n = rng.randint(cfg.min_utterances, cfg.max_utterances)
            utts = tuple(sample_utterance(rng) for _ in range(n))
            pauses = tuple(round(rng.uniform(cfg.min_pause, cfg.max_pause) * cfg.sample_rate) for _ in range(n + 1))
            name = f"ted_{ids[used]}"
            seeds = tuple(zlib.crc32(f"{cfg.seed}/{name}/{k}".encode()) for k in range(n))
            talks.append(Talk(name, split, f"spk.{ids[used]}", voice, utts, pauses, seeds))
            used += 1
    return talks


# --------------------------------------------------------------------------------------
# Workers: no torch here (see .corpus)
# --------------------------------------------------------------------------------------
def render_utterance(text: str, voice: Voice, seed: int, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """One utterance as int16 samples at ``sample_rate``; rendered in a process with one BLAS thread, as the
    generator's workers are, exactly the samples it has in its talk's wav (with more threads the resampler's
    matrix product rounds differently: about one sample in 10^4 is one LSB off)."""
    from .resample import resample

    syn = _synthesize(text, voice, seed)
    wav = resample(syn.samples.astype(np.float32) / 32768.0, syn.sample_rate, sample_rate)
    return np.clip(np.round(wav * 32768.0), -32768, 32767).astype(np.int16)


def _render_talk(args: tuple[Path, Talk, int]) -> list[int]:
    """Write one talk's wav at ``path``; returns each utterance's length in samples."""
    import soundfile as sf

    path, talk, sample_rate = args
    parts, lengths = [np.zeros(talk.pauses[0], np.int16)], []
    for u, seed, pause in zip(talk.utterances, talk.seeds, talk.pauses[1:]):
        pcm = render_utterance(u.english, talk.voice, seed, sample_rate)
        parts += [pcm, np.zeros(pause, np.int16)]
        lengths.append(len(pcm))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    sf.write(str(tmp), np.concatenate(parts), sample_rate, format="WAV", subtype="PCM_16")
    os.replace(tmp, path)
    return lengths


# --------------------------------------------------------------------------------------
def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)
    except OSError:  # another file system, or one without hard links
        shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def generate_mustc_corpus(root: str | Path, cfg: MustcSynthConfig = MustcSynthConfig(), pairs=PAIRS,
                          progress=None) -> dict[str, dict]:
    """Write the talks under ``root`` for ``pairs`` (``en-de``, ``en-it``, ``en-nl``); returns ``{split: {talks,
    segments, hours, speakers}}`` (hours of segments, pauses not counted). ``progress(split, talks_done, total)``.
    A pair the grammar cannot translate into yet is a ValueError before anything is written."""
    root = Path(root)
    pairs = list(dict.fromkeys(pairs))
    if not pairs:
        raise ValueError("no language pair chosen; choose from " + ", ".join(PAIRS))
    langs = []
    for pair in pairs:
        src, _, lang = pair.partition("-")
        if src != "en" or not lang:
            raise ValueError(f"pair {pair!r}: expected en-<xx>, one of {', '.join(PAIRS)}")
        langs.append(lang)
    talks = plan_talks(cfg)
    for lang in langs:
        translation(talks[0].utterances[0], lang)  # a pair the grammar lacks fails here, before any audio
    known = available_languages()
    first = pairs[0]
    summary: dict[str, dict] = {}
    pool = ProcessPoolExecutor(cfg.num_workers, mp_context=mp.get_context("spawn"), initializer=_worker_init)
    with _single_threaded_blas(), _pool_errors(cfg), pool:
        for split in SPLITS:
            chosen = [t for t in talks if t.split == split]
            jobs = [(root / first / "data" / split / "wav" / f"{t.name}.wav", t, cfg.sample_rate) for t in chosen]
            yaml_lines, english, targets, meta = [], [], {lang: [] for lang in langs}, []
            samples = 0
            for k, (talk, lengths) in enumerate(zip(chosen, pool.map(_render_talk, jobs))):
                for pair in pairs[1:]:
                    _link_or_copy(jobs[k][0], root / pair / "data" / split / "wav" / f"{talk.name}.wav")
                offset = talk.pauses[0]
                for j, (u, n) in enumerate(zip(talk.utterances, lengths)):
                    yaml_lines.append(f"- {{duration: {n / cfg.sample_rate:.6f}, offset: "
                                      f"{offset / cfg.sample_rate:.6f}, speaker_id: {talk.speaker}, "
                                      f"wav: {talk.name}.wav}}")
                    english.append(u.english)
                    for lang in langs:
                        targets[lang].append(translation(u, lang))
                    meta.append(json.dumps({
                        "id": f"{talk.name}_{j}", "talk": talk.name, "speaker": talk.speaker,
                        "voice": asdict(talk.voice), "seed": talk.seeds[j], "offset": offset, "num_samples": n,
                        "sample_rate": cfg.sample_rate, "english": u.english,
                        "translations": {lang: translation(u, lang) for lang in known},
                        "intent": u.intent, "slots": u.slots,
                    }, sort_keys=True, ensure_ascii=False))
                    samples += n
                    offset += n + talk.pauses[j + 1]
                if progress:
                    progress(split, k + 1, len(chosen))
            for pair, lang in zip(pairs, langs):
                txt = root / pair / "data" / split / "txt"
                txt.mkdir(parents=True, exist_ok=True)
                for name, lines in (("yaml", yaml_lines), ("en", english), (lang, targets[lang])):
                    _write_atomic(txt / f"{split}.{name}", ("\n".join(lines) + "\n").encode())
            (root / "metadata").mkdir(parents=True, exist_ok=True)
            _write_atomic(root / "metadata" / f"{split}.jsonl", ("\n".join(meta) + "\n").encode())
            summary[split] = {"talks": len(chosen), "segments": len(meta), "hours": samples / cfg.sample_rate / 3600,
                              "speakers": len({t.speaker for t in chosen})}
    import yaml

    _write_atomic(root / "synth_mustc_config.yaml",
                  yaml.safe_dump({**asdict(cfg), "pairs": pairs}, sort_keys=False).encode())
    return summary
