"""LibriSpeech and Libri-light (limited supervision) -> manifests.

Official layouts::

    LibriSpeech/<split>/<spk>/<chap>/<spk>-<chap>-<utt>.flac + <spk>-<chap>.trans.txt
    librispeech_finetuning/1h/<fold 0-5>/{clean,other}/<spk>/<chap>/...
    librispeech_finetuning/9h/{clean,other}/<spk>/<chap>/...

Libri-light's fine-tuning sets are nested: ``10m`` = fold 0 of ``1h``, ``10h`` = ``1h`` + ``9h``.
The built-in synthetic corpus uses the same layout, plus ``metadata/<split>.jsonl`` side
files whose translation (Italian by default, or German or Dutch) and intent become extra
manifest columns, and whose phoneme timings (espeak-ng's mnemonics) give its phone transcription
(:func:`prepare_synth_phone_manifests`).
"""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import pandas as pd

from ..utf8 import read_utf8
from .manifest import COLUMNS, ManifestError, manifest_row, read_manifest, write_manifest
from .phones import PhoneError, fold_espeak
from .synth.grammar import TRANSLATION_KEYS

FINETUNE_DIR = "librispeech_finetuning"


def _chapter_dirs(split_dir: Path) -> list[Path]:
    """``<spk>/<chap>`` directories (numeric names, as LibriSpeech), in a stable order."""
    return sorted(
        (c for s in split_dir.iterdir() if s.is_dir() and s.name.isdigit()
         for c in s.iterdir() if c.is_dir() and c.name.isdigit()),
        key=lambda p: (int(p.parent.name), int(p.name)),
    )


def _read_transcripts(chapter: Path) -> dict[str, str]:
    trans = chapter / f"{chapter.parent.name}-{chapter.name}.trans.txt"
    if not trans.is_file():
        return {}  # unlabeled audio (Libri-light style): text stays empty
    out: dict[str, str] = {}
    for lineno, line in enumerate(read_utf8(trans, ManifestError).splitlines(), 1):
        if not line.strip():
            continue
        utt, _, text = line.partition(" ")
        if utt in out:
            raise ManifestError(f"{trans}:{lineno}: utterance {utt} listed twice")
        out[utt] = text.strip()
    return out


def scan_split(split_dir: str | Path, ext: str = ".flac", num_threads: int = 8) -> pd.DataFrame:
    """Every utterance under one LibriSpeech-layout directory (recursing into Libri-light folds)."""
    split_dir = Path(split_dir)
    if not split_dir.is_dir():
        raise ManifestError(f"{split_dir}: not a directory; download and extract the corpus first")
    chapters = _chapter_dirs(split_dir)
    if not chapters:  # a Libri-light fold container such as 1h/ or 1h/0/
        subdirs = sorted(p for p in split_dir.iterdir() if p.is_dir())
        frames = [scan_split(d, ext, num_threads) for d in subdirs]
        frames = [f for f in frames if len(f)]
        if not frames:
            raise ManifestError(f"{split_dir}: no <speaker>/<chapter>/ directories with {ext} files")
        return pd.concat(frames, ignore_index=True)
    jobs: list[tuple[str, Path, str, str]] = []
    for chap in chapters:
        texts = _read_transcripts(chap)
        audio = {p.name[: -len(ext)]: p for p in chap.glob(f"*{ext}")}
        for utt in texts:
            if utt not in audio:
                trans = chap / f"{chap.parent.name}-{chap.name}.trans.txt"
                raise ManifestError(f"{trans}: utterance {utt} has no audio file {chap / (utt + ext)}")
        for utt in sorted(audio):
            jobs.append((utt, audio[utt], chap.parent.name, texts.get(utt, "")))
    with ThreadPoolExecutor(num_threads) as pool:  # header reads are I/O bound
        rows = list(pool.map(lambda j: manifest_row(j[0], j[1], j[2], j[3]), jobs))
    return pd.DataFrame(rows, columns=COLUMNS)


def _attach_metadata(df: pd.DataFrame, meta_file: Path, translation: str = "it") -> pd.DataFrame:
    """Add ``translation`` (into the language coded ``translation``) and ``intent`` columns
    from a synth-corpus side file."""
    if not meta_file.is_file():
        return df
    key = TRANSLATION_KEYS[translation]
    meta = {}
    with open(meta_file, encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            m = json.loads(line)
            if key not in m:
                raise ManifestError(
                    f"{meta_file}:{line_no}: utterance {m.get('id')} has no {key!r} translation (a synth corpus "
                    f"written before the grammar spoke {key.capitalize()}): regenerate it with `asrkit prepare synth`"
                    f" or ask for another translation ({', '.join(k for k, v in TRANSLATION_KEYS.items() if v in m)})")
            meta[m["id"]] = m
    df = df.copy()
    df["translation"] = [meta.get(u, {}).get(key, "") for u in df["id"]]
    df["intent"] = [meta.get(u, {}).get("intent", "") for u in df["id"]]
    return df


def prepare_librispeech(
    corpus_dir: str | Path,
    out_dir: str | Path,
    splits: list[str] | None = None,
    finetuning_dir: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
    translation: str = "it",
) -> dict[str, Path]:
    """Write ``<out_dir>/<split>.tsv`` for each split; returns ``{split: manifest path}``.

    ``splits`` defaults to every LibriSpeech-layout directory in ``corpus_dir``.
    ``finetuning_dir`` (default ``corpus_dir/librispeech_finetuning`` when present) adds
    ``10m``, ``1h`` and, when ``9h`` exists, ``10h``. For the synth corpus, ``translation``
    picks the language of the ``translation`` column: "it", "de" or "nl" (MuST-C's codes).
    """
    if translation not in TRANSLATION_KEYS:
        raise ManifestError(f"translation {translation!r}: the synth corpus is translated into "
                            f"{', '.join(TRANSLATION_KEYS)}")
    corpus_dir, out_dir = Path(corpus_dir), Path(out_dir)
    if not corpus_dir.is_dir():
        raise ManifestError(f"{corpus_dir}: corpus directory not found")
    if splits is None:
        splits = sorted(p.name for p in corpus_dir.iterdir()
                        if p.is_dir() and p.name != FINETUNE_DIR and _chapter_dirs(p))
    if finetuning_dir is None and (corpus_dir / FINETUNE_DIR).is_dir():
        finetuning_dir = corpus_dir / FINETUNE_DIR
    written: dict[str, Path] = {}

    def emit(name: str, df: pd.DataFrame, meta: str) -> None:
        if progress:
            progress(name)
        df = _attach_metadata(df, corpus_dir / "metadata" / f"{meta}.jsonl", translation)
        written[name] = write_manifest(df, out_dir / f"{name}.tsv")

    for split in splits:
        emit(split, scan_split(corpus_dir / split), split)
    if finetuning_dir is not None:
        ft = Path(finetuning_dir)
        one_h = scan_split(ft / "1h")
        fold0 = scan_split(ft / "1h" / "0")
        emit("10m", fold0, "1h")
        emit("1h", one_h, "1h")
        if (ft / "9h").is_dir():
            emit("10h", pd.concat([one_h, scan_split(ft / "9h")], ignore_index=True), "1h")
    if not written:
        raise ManifestError(f"{corpus_dir}: no LibriSpeech-layout splits found")
    return written


# manifest name -> the metadata file of its utterances (Libri-light's sets are cut from the 1h split)
SYNTH_METADATA = {"10m": "1h", "1h": "1h", "10h": "1h"}


def synth_phones(meta_file: str | Path) -> dict[str, str]:
    """``{utterance id: phones}`` of a built-in corpus's ``metadata/<split>.jsonl``: the phoneme events
    espeak-ng reported while speaking it (what it said, not a lexicon's guess; flite's and festival's phones are
    stored in espeak's set) folded to the 39-class set by :func:`~asrkit.data.phones.fold_espeak`,
    space-separated."""
    meta_file = Path(meta_file)
    if not meta_file.is_file():
        raise ManifestError(f"{meta_file}: not found; give the directory `asrkit prepare synth` wrote")
    phones = {}
    for lineno, line in enumerate(read_utf8(meta_file, ManifestError).splitlines(), 1):
        if line.strip():
            utt = json.loads(line)
            if "phonemes" not in utt:
                raise ManifestError(f"{meta_file}:{lineno}: utterance {utt.get('id')} has no phoneme timings "
                                    "(a corpus written before they were stored): regenerate it")
            try:
                phones[utt["id"]] = " ".join(fold_espeak(p for _, p in utt["phonemes"]))
            except PhoneError as e:
                raise ManifestError(f"{meta_file}: utterance {utt['id']}: {e}") from None
    return phones


def prepare_synth_phone_manifests(corpus_dir: str | Path, manifest_dir: str | Path, out_dir: str | Path,
                                  splits: list[str] | None = None) -> dict[str, dict]:
    """The built-in corpus's phone transcription: each word manifest ``<manifest_dir>/<split>.tsv`` (what
    ``asrkit prepare librispeech`` wrote for it) again as ``<out_dir>/<split>.tsv`` whose ``text`` is the
    utterance's phones (:func:`synth_phones`), the words kept in a ``words`` column. ``splits``: by default
    every manifest with a metadata file (``pretrain`` left out: it is not transcribed). Utterances without
    phones are left out and counted (``dropped``)."""
    corpus_dir, manifest_dir, out_dir = Path(corpus_dir), Path(manifest_dir), Path(out_dir)
    if splits is None:
        splits = sorted(p.stem for p in manifest_dir.glob("*.tsv") if p.stem != "pretrain"
                        and (corpus_dir / "metadata" / f"{SYNTH_METADATA.get(p.stem, p.stem)}.jsonl").is_file())
        if not splits:
            raise ManifestError(f"{manifest_dir}: no manifests of the built-in corpus in {corpus_dir} "
                                "(run `asrkit prepare librispeech` on it first)")
    counts: dict[str, dict] = {}
    for split in splits:
        phones = synth_phones(corpus_dir / "metadata" / f"{SYNTH_METADATA.get(split, split)}.jsonl")
        df = read_manifest(manifest_dir / f"{split}.tsv")
        missing = [u for u in df["id"] if u not in phones]
        if missing:
            raise ManifestError(f"{manifest_dir / f'{split}.tsv'}: utterance {missing[0]} (and {len(missing) - 1} "
                                f"more) not in {corpus_dir / 'metadata'}: manifests of another corpus?")
        df = df.assign(words=df["text"], text=[phones[u] for u in df["id"]])
        kept = df[df["text"] != ""].reset_index(drop=True)
        write_manifest(kept, out_dir / f"{split}.tsv")
        counts[split] = {"utterances": len(kept), "hours": round(float(kept["duration"].sum()) / 3600.0, 3),
                         "speakers": int(kept["speaker"].nunique()), "dropped": len(df) - len(kept)}
    return counts
