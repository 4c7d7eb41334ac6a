"""Manifests: one TSV per split, one utterance per row.

Columns (in this order, more may follow, e.g. ``offset``, ``translation``, ``intent``)::

    id  audio  num_samples  sample_rate  duration  speaker  text

Audio-visual manifests add (:data:`AV_COLUMNS`)::

    video  num_frames  fps  width  height        (optional: label, language, offset)

``video`` is an mp4 (relative like ``audio``; empty for an audio-only row); ``audio`` may be the
same mp4, read through :func:`asrkit.data.video.read_audio`, in which case ``sample_rate`` and
``num_samples`` are those that reader yields (it resamples), not the AAC track's own. For a row
that is a segment of its file (LRS3 pretrain split at 15 s), ``offset`` is in samples and the
video segment starts at frame ``round(offset / sample_rate * fps)``.

``audio`` is written relative to the manifest's directory so a corpus and its manifests
can move together; :func:`read_manifest` returns absolute paths. ``offset`` (samples) is
present for Kaldi ``segments``. Importers/exporters: Kaldi data dirs in, fairseq
``.tsv/.ltr/.wrd`` out.
"""
from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd
import soundfile as sf

from ..utf8 import read_utf8

COLUMNS = ["id", "audio", "num_samples", "sample_rate", "duration", "speaker", "text"]
AV_COLUMNS = ["video", "num_frames", "fps", "width", "height"]
_STR_COLUMNS = {"id": str, "audio": str, "speaker": str, "text": str, "video": str, "label": str, "language": str,
                "translation": str, "intent": str, "action": str, "object": str, "location": str, "phones": str,
                "phones48": str, "words": str}
_PATH_COLUMNS = ("audio", "video")


class ManifestError(ValueError):
    """A manifest that cannot be used; the message names the file (and line) and the fix."""


def read_manifest(path: str | Path) -> pd.DataFrame:
    """Load a manifest TSV; audio paths come back absolute."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: manifest not found" if not path.exists() else
                            f"{path}: not a regular file; a manifest is a TSV file")
    try:
        df = pd.read_csv(
            path, sep="\t", quoting=csv.QUOTE_NONE, dtype=_STR_COLUMNS, keep_default_na=False,
            encoding="utf-8",
        )
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise ManifestError(f"{path}: cannot parse ({e}); run `asrkit manifest validate {path}`") from e
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ManifestError(f"{path}: missing column(s) {', '.join(missing)}; expected {' '.join(COLUMNS)}")
    for col in ("num_samples", "sample_rate"):
        if len(df) == 0:  # a header only: the callers say what an empty manifest means to them
            df[col] = df[col].astype("int64")
        elif not pd.api.types.is_integer_dtype(df[col]):
            bad = pd.to_numeric(df[col], errors="coerce").isna()
            line = int(bad.idxmax()) + 2 if bad.any() else "?"
            raise ManifestError(f"{path}:{line}: column {col} must be an integer")
    if "video" in df.columns:
        missing = [c for c in AV_COLUMNS if c not in df.columns]
        if missing:
            raise ManifestError(f"{path}: an AV manifest (it has a video column) lacks column(s) "
                                f"{', '.join(missing)}; expected {' '.join(COLUMNS + AV_COLUMNS)}")
    root = path.parent.resolve()
    for col in _PATH_COLUMNS:
        if col in df.columns:
            df[col] = [str(root / a) if a and not os.path.isabs(a) else a for a in df[col]]
    return df


def is_av_manifest(columns) -> bool:
    """Whether a manifest with these columns is audio-visual (it has a ``video`` column)."""
    return "video" in columns


def manifest_line(path: str | Path, utt_id: str) -> int | None:
    """The line of utterance ``utt_id`` in manifest file ``path`` (the header is line 1), or None;
    for error messages, which read the file again only when they are written."""
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            if lineno > 1 and line.split("\t", 1)[0] == utt_id:
                return lineno
    return None


def write_manifest(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` as a manifest at ``path`` (atomically), audio paths relative to it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ManifestError(f"{path}: cannot write, missing column(s) {', '.join(missing)}")
    out = df[COLUMNS + [c for c in df.columns if c not in COLUMNS]].copy()
    root = path.parent.resolve()
    for col in _PATH_COLUMNS:
        if col in out.columns:
            out[col] = [os.path.relpath(a, root) if a and os.path.isabs(a) else a for a in out[col]]
    tmp = path.with_name(path.name + ".tmp")
    out.to_csv(tmp, sep="\t", index=False, quoting=csv.QUOTE_NONE, encoding="utf-8", lineterminator="\n")
    os.replace(tmp, path)
    return path


def manifest_row(utt_id: str, audio: str | Path, speaker: str, text: str, **extra) -> dict:
    """One manifest row for an audio file, with lengths read from its header."""
    info = _audio_info(audio)
    return {
        "id": utt_id,
        "audio": str(Path(audio).resolve()),
        "num_samples": int(info.frames),
        "sample_rate": int(info.samplerate),
        "duration": round(info.frames / info.samplerate, 4),
        "speaker": speaker,
        "text": text,
        **extra,
    }


def _audio_info(path: str | Path):
    """soundfile's header info of an audio file; a :class:`ManifestError` naming it when it is missing, not a
    regular file (opening a FIFO could block forever) or not audio."""
    from .audio import audio_file_problem

    problem = audio_file_problem(path)
    if problem is not None:
        raise ManifestError(f"{path}: {problem}")
    try:
        return sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as e:
        raise ManifestError(f"{path}: cannot read its audio header ({e}); re-encode it or leave it out") from e


def summarize(df: pd.DataFrame) -> dict:
    """Hours, utterances and speakers of a manifest, for summary tables."""
    return {
        "hours": float(df["duration"].sum()) / 3600.0,
        "utterances": len(df),
        "speakers": int(df["speaker"].nunique()),
    }


def summarize_manifests(manifests: Mapping[str, str | Path]) -> dict[str, dict]:
    """:func:`summarize` of each manifest file: ``{name: path}`` -> ``{name: summary}``."""
    return {name: summarize(read_manifest(path)) for name, path in manifests.items()}


def combine_manifests(manifests: Iterable[str | Path]) -> pd.DataFrame:
    """The rows of ``manifests`` one after the other (e.g. LibriSpeech's three training splits
    into train-960); an utterance id in more than one of them is an error."""
    df = pd.concat([read_manifest(m) for m in manifests], ignore_index=True)
    dup = df["id"][df["id"].duplicated()]
    if len(dup):
        raise ManifestError(f"utterance ids occur in more than one input manifest: {', '.join(dup.head(5))}")
    return df


def manifest_texts(manifests: Iterable[str | Path]) -> frozenset[str]:
    """Every transcript of ``manifests`` (e.g. dev and test, to hold out of LM training text)."""
    return frozenset(t for m in manifests for t in read_manifest(m)["text"])


# ---------------------------------------------------------------------------------------
# Kaldi data directories (wav.scp, text, utt2spk, segments)
# ---------------------------------------------------------------------------------------
def _read_kaldi_table(path: Path, *, min_fields: int = 2, required: bool = True) -> dict[str, str]:
    """``key value...`` per line; value is the rest of the line."""
    if not path.is_file():
        if required:
            raise ManifestError(f"{path}: missing; a Kaldi data dir needs wav.scp and text")
        return {}
    table: dict[str, str] = {}
    for lineno, line in enumerate(read_utf8(path, ManifestError).splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) < min_fields:
            raise ManifestError(f"{path}:{lineno}: expected '<key> <value>', got {line!r}")
        key = parts[0]
        if key in table:
            raise ManifestError(f"{path}:{lineno}: duplicate key {key!r}")
        table[key] = parts[1].strip() if len(parts) > 1 else ""
    return table


def import_kaldi(data_dir: str | Path) -> pd.DataFrame:
    """Kaldi data dir -> manifest rows. ``segments`` become ``offset``/``num_samples``.

    Piped wav.scp entries (``... |``) are rejected: decode them to files first
    (e.g. ``wav-copy scp:wav.scp ark,scp:...``) so every utterance is a plain file.
    """
    d = Path(data_dir)
    wav_scp = _read_kaldi_table(d / "wav.scp")
    text = _read_kaldi_table(d / "text", min_fields=1)
    utt2spk = _read_kaldi_table(d / "utt2spk", required=False)
    segments = _read_kaldi_table(d / "segments", required=False)
    for rec, wav in wav_scp.items():
        if wav.endswith("|"):
            raise ManifestError(
                f"{d / 'wav.scp'}: recording {rec!r} is a pipe ({wav!r}); "
                "write it to an audio file and point wav.scp at the file"
            )
    rows = []
    infos: dict[str, sf._SoundFileInfo] = {}

    def info(rec: str):
        if rec not in wav_scp:
            raise ManifestError(f"{d / 'segments'}: recording {rec!r} is not in wav.scp")
        path = wav_scp[rec] if os.path.isabs(wav_scp[rec]) else str((d / wav_scp[rec]).resolve())
        if rec not in infos:
            try:
                infos[rec] = _audio_info(path)
            except ManifestError as e:
                raise ManifestError(f"{d / 'wav.scp'}: recording {rec!r}: {e}") from None
        return path, infos[rec]

    utts = segments.keys() if segments else wav_scp.keys()
    for utt in utts:
        if utt not in text:
            raise ManifestError(f"{d / 'text'}: no transcript for utterance {utt!r}")
        if segments:
            fields = segments[utt].split()
            if len(fields) != 3:
                raise ManifestError(f"{d / 'segments'}: {utt!r}: expected '<utt> <rec> <start> <end>'")
            rec, start, end = fields[0], float(fields[1]), float(fields[2])
            path, inf = info(rec)
            offset = int(round(start * inf.samplerate))
            num = (int(round(end * inf.samplerate)) if end >= 0 else inf.frames) - offset
        else:
            path, inf = info(utt)
            offset, num = 0, inf.frames
        rows.append({
            "id": utt, "audio": path, "num_samples": num, "sample_rate": inf.samplerate,
            "duration": round(num / inf.samplerate, 4), "speaker": utt2spk.get(utt, utt),
            "text": text[utt], "offset": offset,
        })
    df = pd.DataFrame(rows)
    if not segments:
        df = df.drop(columns=["offset"])
    return df


def export_fairseq(df: pd.DataFrame, out_dir: str | Path, split: str) -> list[Path]:
    """Write fairseq's ``{split}.tsv`` (root line, then ``path<TAB>frames``), ``.ltr`` and ``.wrd``.

    ``.ltr`` spells each word with ``|`` after it, as fairseq's ``libri_labels.py``.
    Segmented manifests (``offset`` column) cannot be expressed in fairseq's format.
    """
    if "offset" in df.columns and (df["offset"] != 0).any():
        raise ManifestError("fairseq .tsv has no segment offsets; cut the segments to files first")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    root = os.path.commonpath([os.path.dirname(a) for a in df["audio"]]) if len(df) else "."
    tsv, ltr, wrd = (out / f"{split}.{ext}" for ext in ("tsv", "ltr", "wrd"))
    with open(tsv, "w", encoding="utf-8") as ft, open(ltr, "w", encoding="utf-8") as fl, \
            open(wrd, "w", encoding="utf-8") as fw:
        ft.write(root + "\n")
        for audio, n, text in zip(df["audio"], df["num_samples"], df["text"]):
            ft.write(f"{os.path.relpath(audio, root)}\t{n}\n")
            words = text.split()
            fw.write(" ".join(words) + "\n")
            fl.write(" ".join(" ".join(w) + " |" for w in words) + "\n")
    return [tsv, ltr, wrd]
