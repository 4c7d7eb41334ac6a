"""LRS3, VoxCeleb2 and Kinetics-600 (the multi-stage paper's §3.1 pre-training sets) -> AV manifests.

Official layouts read (nothing is downloaded)::

    LRS3:        {pretrain,trainval,test}/<speaker>/<NNNNN>.mp4 + <NNNNN>.txt  ("Text:  WORDS" first; pretrain
                 .txt files also hold word times after a "WORD START END ASDSCORE" header)
    VoxCeleb2:   {dev,test}/mp4/id<NNNNN>/<youtube id>/<NNNNN>.mp4              (speaker = id<NNNNN>)
    Kinetics:    <split>/<class>/<youtube id>_<start:06d>_<end:06d>.mp4 + annotations/<split>.csv
                 (label,youtube_id,time_start,time_end,split)

Every clip is probed and its audio decoded in a process pool (``num_workers``); a clip that cannot be
used -- no video stream, no audio stream, a silent audio track (common in Kinetics, cav-mae#5),
undecodable -- is left out and counted under its validation reason code (:data:`asrkit.data.validate.REASONS`).
The ``audio`` column is the mp4 itself (read through :func:`asrkit.data.video.read_audio`) unless
``extract_audio`` is set: then the decoded 16 kHz mono audio is written as FLAC under
``<out_dir>/audio/`` (AV-HuBERT extracts wav with ffmpeg) and soundfile reads it during training, faster.
"""
from __future__ import annotations

import csv
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .audio import SAMPLE_RATE
from .manifest import AV_COLUMNS, COLUMNS, ManifestError, write_manifest
from .video import VideoError, is_silent, probe, read_audio

ProgressCallback = Callable[[str, int, int], None]  # (what, done since the last call, total): cli.ui.progress_bars

# AV-HuBERT (lrs3_prepare.py) splits LRS3 pretrain utterances longer than this; None keeps them whole
LRS3_MAX_SECONDS = 15.0
SILENCE_DB = -60.0  # a track whose peak stays below this is silent (cav-mae#5: Kinetics clips without sound)


@dataclass(frozen=True)
class ClipProbe:
    """What a worker found out about one clip."""
    path: str
    reason: str | None = None  # a validate.REASONS code when the clip is unusable
    detail: str = ""
    fps: float = 0.0
    width: int = 0
    height: int = 0
    num_frames: int = 0
    num_samples: int = 0  # decoded audio at the manifest's sample_rate
    audio: str = ""  # extracted FLAC, when asked for


@dataclass
class AVPrepared:
    """One written manifest and what was left out of it."""
    manifest: Path
    rows: int
    skipped: Counter = field(default_factory=Counter)  # reason code -> clips
    examples: dict[str, list[str]] = field(default_factory=dict)  # reason code -> a few paths

    def skip(self, reason: str, what: str) -> None:
        self.skipped[reason] += 1
        if len(self.examples.setdefault(reason, [])) < 5:
            self.examples[reason].append(what)


def probe_clip(path: str, sample_rate: int = SAMPLE_RATE, audio_out: str | None = None,
               silence_db: float = SILENCE_DB) -> ClipProbe:
    """Probe ``path`` and decode its audio (length, silence); with ``audio_out``, write that audio as FLAC.
    Runs in a worker process; errors come back as reason codes, never raised."""
    try:
        info = probe(path)
        if not info.has_video:
            return ClipProbe(path, "missing_video_stream", "no video stream")
        if not info.has_audio:
            return ClipProbe(path, "missing_audio_stream", "no audio stream")
        wav = read_audio(path, sample_rate)
    except VideoError as e:
        return ClipProbe(path, e.reason, str(e))
    if is_silent(wav, silence_db):
        peak = float(np.max(np.abs(wav))) if len(wav) else 0.0
        return ClipProbe(path, "silent_audio", f"audio peak {peak:.2g} is below {silence_db} dBFS")
    if audio_out:
        import soundfile as sf

        os.makedirs(os.path.dirname(audio_out), exist_ok=True)
        tmp = audio_out + ".tmp.flac"
        sf.write(tmp, wav, sample_rate, subtype="PCM_16")
        os.replace(tmp, audio_out)
    return ClipProbe(path, None, "", info.fps, info.width, info.height, info.num_frames, len(wav), audio_out or "")


def probe_clips(paths: list[str], *, sample_rate: int = SAMPLE_RATE, audio_outs: list[str | None] | None = None,
                num_workers: int = 2, progress: ProgressCallback | None = None, what: str = "probe",
                silence_db: float = SILENCE_DB) -> list[ClipProbe]:
    """:func:`probe_clip` over ``paths`` in ``num_workers`` processes (1: here), in order; ``progress(what,
    n, total)`` after each clip."""
    audio_outs = audio_outs or [None] * len(paths)
    report = progress or (lambda *a: None)
    if num_workers <= 1 or len(paths) <= 1:
        out = []
        for p, a in zip(paths, audio_outs):
            out.append(probe_clip(p, sample_rate, a, silence_db))
            report(what, 1, len(paths))
        return out
    results: list[ClipProbe | None] = [None] * len(paths)
    with ProcessPoolExecutor(min(num_workers, len(paths))) as pool:
        futures = {pool.submit(probe_clip, p, sample_rate, a, silence_db): i
                   for i, (p, a) in enumerate(zip(paths, audio_outs))}
        for fut in as_completed(futures):
            results[futures[fut]] = fut.result()
            report(what, 1, len(paths))
    return results  # type: ignore[return-value]


@dataclass(frozen=True)
class _Clip:
    """A clip to probe and the manifest row(s) it becomes."""
    utt_id: str
    path: Path
    speaker: str
    text: str = ""
    extra: tuple = ()  # ((column, value), ...)
    segments: tuple = ()  # ((suffix, start s, end s, text), ...): rows cut from the file (LRS3 pretrain > 15 s)


def _write_split(clips: list[_Clip], out_path: Path, prepared: AVPrepared, *, sample_rate: int,
                 extract_audio: bool, num_workers: int, progress: ProgressCallback | None, what: str,
                 silence_db: float = SILENCE_DB) -> AVPrepared:
    out_dir = out_path.parent
    audio_outs = [str(out_dir / "audio" / f"{c.utt_id}.flac") if extract_audio else None for c in clips]
    probes = probe_clips([str(c.path) for c in clips], sample_rate=sample_rate, audio_outs=audio_outs,
                         num_workers=num_workers, progress=progress, what=what, silence_db=silence_db)
    rows = []
    for clip, pr in zip(clips, probes):
        if pr.reason is not None:
            prepared.skip(pr.reason, f"{clip.path}: {pr.detail}")
            continue
        base = {
            "id": clip.utt_id, "audio": str(Path(pr.audio or clip.path).resolve()), "num_samples": pr.num_samples,
            "sample_rate": sample_rate, "duration": round(pr.num_samples / sample_rate, 4),
            "speaker": clip.speaker, "text": clip.text, "video": str(clip.path.resolve()),
            "num_frames": pr.num_frames, "fps": round(pr.fps, 4), "width": pr.width, "height": pr.height,
            **dict(clip.extra),
        }
        if not clip.segments:
            rows.append(base)
            continue
        for suffix, start, end, text in clip.segments:
            offset = int(round(start * sample_rate))
            num = min(int(round(end * sample_rate)), pr.num_samples) - offset
            first = int(round(start * pr.fps))
            frames = min(int(round(end * pr.fps)), pr.num_frames) - first
            if num <= 0 or frames <= 0:
                continue
            rows.append({**base, "id": f"{clip.utt_id}{suffix}", "num_samples": num,
                         "duration": round(num / sample_rate, 4), "text": text, "num_frames": frames,
                         "offset": offset})
    columns = COLUMNS + AV_COLUMNS + sorted({k for r in rows for k in r} - set(COLUMNS + AV_COLUMNS))
    df = pd.DataFrame(rows, columns=columns)
    if "offset" in df.columns:
        df["offset"] = df["offset"].fillna(0).astype("int64")
    prepared.manifest = write_manifest(df, out_path)
    prepared.rows = len(df)
    return prepared


# ---------------------------------------------------------------------------------------
# LRS3
# ---------------------------------------------------------------------------------------
LRS3_SPLITS = ("pretrain", "trainval", "test")
_WORD_HEADER = re.compile(r"^WORD\s+START\s+END(\s+ASDSCORE)?\s*$")


def read_lrs3_txt(path: str | Path) -> tuple[str, list[tuple[str, float, float]]]:
    """An LRS3 ``.txt``: the transcript (``Text:  WORDS``) and the word times (pretrain files; else [])."""
    text, words, in_words = None, [], False
    lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    for lineno, line in enumerate(lines, 1):
        if text is None and line.startswith("Text:"):
            text = line[len("Text:"):].strip()
        elif _WORD_HEADER.match(line.strip()):
            in_words = True
        elif in_words and line.strip():
            parts = line.split()
            try:
                words.append((parts[0], float(parts[1]), float(parts[2])))
            except (IndexError, ValueError):
                raise ManifestError(f"{path}:{lineno}: expected 'WORD START END [ASDSCORE]', got {line!r}") from None
    if text is None:
        raise ManifestError(f"{path}: no 'Text:' line; is this an LRS3 transcript?")
    return text, words


def split_words(words: list[tuple[str, float, float]], duration: float, max_seconds: float
                ) -> list[tuple[float, float, str]]:
    """Cut a clip with word times into ``(start, end, text)`` segments of at most ``max_seconds``, covering it
    from 0 to ``duration`` with cuts in the pause between two words (AV-HuBERT splits LRS3 pretrain at
    15 s); a single word longer than ``max_seconds`` gets a segment of its own. A clip whose words end
    before ``max_seconds`` is not split even if trailing silence makes it longer."""
    if duration <= max_seconds or not words:
        return [(0.0, duration, " ".join(w for w, _, _ in words))]
    segments, start, current = [], 0.0, []
    for i, (w, ws, we) in enumerate(words):
        if current and we - start > max_seconds:
            cut = (current[-1][2] + ws) / 2
            segments.append((start, cut, " ".join(x for x, _, _ in current)))
            start, current = cut, []
        current.append((w, ws, we))
    # the last segment runs on past its last word to the clip's end, at most max_seconds from its start
    end = max(current[-1][2], min(duration, start + max_seconds))
    segments.append((start, end, " ".join(x for x, _, _ in current)))
    return segments


def prepare_lrs3(corpus_dir: str | Path, out_dir: str | Path, splits: Iterable[str] | None = None, *,
                 max_seconds: float | None = None, extract_audio: bool = False, sample_rate: int = SAMPLE_RATE,
                 num_workers: int = 2, progress: ProgressCallback | None = None) -> dict[str, AVPrepared]:
    """``<out_dir>/<split>.tsv`` for each LRS3 split found (``pretrain``, ``trainval``, ``test``).

    ids are ``<split>/<speaker>/<clip>`` (AV-HuBERT's); ``max_seconds`` (e.g. :data:`LRS3_MAX_SECONDS`) cuts
    longer clips that have word times into rows ``<id>_<k>`` with ``offset`` (samples) and their own
    num_samples / num_frames / text.
    """
    corpus_dir, out_dir = Path(corpus_dir), Path(out_dir)
    if not corpus_dir.is_dir():
        raise ManifestError(f"{corpus_dir}: LRS3 directory not found; it holds pretrain/, trainval/, test/")
    if splits is None:
        splits = [s for s in LRS3_SPLITS if (corpus_dir / s).is_dir()]
    if not splits:
        raise ManifestError(f"{corpus_dir}: none of {', '.join(LRS3_SPLITS)} found; is this LRS3?")
    written = {}
    for split in splits:
        split_dir = corpus_dir / split
        if not split_dir.is_dir():
            raise ManifestError(f"{split_dir}: not a directory; LRS3 has {', '.join(LRS3_SPLITS)}")
        prepared = AVPrepared(out_dir / f"{split}.tsv", 0)
        clips = []
        for mp4 in sorted(split_dir.glob("*/*.mp4")):
            txt = mp4.with_suffix(".txt")
            if not txt.is_file():
                prepared.skip("missing_text", str(txt))
                continue
            text, words = read_lrs3_txt(txt)
            utt = f"{split}/{mp4.parent.name}/{mp4.stem}"
            segments = ()
            if max_seconds is not None and words and words[-1][2] > max_seconds:
                # the clip's length is known only after probing: the last segment is clamped to it then
                segs = split_words(words, float("inf"), max_seconds)
                segments = tuple((f"_{k:02d}", s, e, t) for k, (s, e, t) in enumerate(segs))
            clips.append(_Clip(utt, mp4, mp4.parent.name, text, segments=segments))
        written[split] = _write_split(clips, prepared.manifest, prepared, sample_rate=sample_rate,
                                      extract_audio=extract_audio, num_workers=num_workers, progress=progress,
                                      what=f"lrs3 {split}")
    return written


# ---------------------------------------------------------------------------------------
# VoxCeleb2
# ---------------------------------------------------------------------------------------
VOXCELEB2_SPLITS = ("dev", "test")


def read_id_list(path: str | Path) -> set[str]:
    """Clip ids, one a line (AV-HuBERT's ``vox-en.id``: ``idNNNNN/<ytid>/<NNNNN>``; ``.gz`` read too)."""
    import gzip

    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return {line.strip().removesuffix(".mp4").removeprefix("dev/").removeprefix("test/")
                for line in f if line.strip()}


def prepare_voxceleb2(corpus_dir: str | Path, out_dir: str | Path, splits: Iterable[str] | None = None, *,
                      id_list: str | Path | None = None, extract_audio: bool = False,
                      sample_rate: int = SAMPLE_RATE, num_workers: int = 2,
                      progress: ProgressCallback | None = None) -> dict[str, AVPrepared]:
    """``<out_dir>/<split>.tsv`` for ``dev`` and ``test`` (``<split>/mp4/id<N>/<ytid>/<clip>.mp4``).

    ids are ``id<N>/<ytid>/<clip>``, speaker ``id<N>``, text empty (VoxCeleb2 has no transcripts).
    ``id_list`` keeps only the clips it names (AV-HuBERT's English-only ``vox-en.id``); the others are
    counted under ``not_in_id_list``.
    """
    corpus_dir, out_dir = Path(corpus_dir), Path(out_dir)
    if not corpus_dir.is_dir():
        raise ManifestError(f"{corpus_dir}: VoxCeleb2 directory not found; it holds dev/mp4/ and test/mp4/")
    if splits is None:
        splits = [s for s in VOXCELEB2_SPLITS if (corpus_dir / s / "mp4").is_dir()]
        if not splits:
            raise ManifestError(f"{corpus_dir}: neither dev/mp4/ nor test/mp4/ found; is this VoxCeleb2?")
    keep = read_id_list(id_list) if id_list is not None else None
    written = {}
    for split in splits:
        mp4_dir = corpus_dir / split / "mp4"
        if not mp4_dir.is_dir():
            raise ManifestError(f"{mp4_dir}: not a directory; VoxCeleb2 has <split>/mp4/id<N>/<ytid>/<clip>.mp4")
        prepared = AVPrepared(out_dir / f"{split}.tsv", 0)
        clips = []
        for mp4 in sorted(mp4_dir.glob("id*/*/*.mp4")):
            speaker = mp4.parent.parent.name
            utt = f"{speaker}/{mp4.parent.name}/{mp4.stem}"
            if keep is not None and utt not in keep:
                prepared.skip("not_in_id_list", utt)
                continue
            clips.append(_Clip(utt, mp4, speaker, ""))
        written[split] = _write_split(clips, prepared.manifest, prepared, sample_rate=sample_rate,
                                      extract_audio=extract_audio, num_workers=num_workers, progress=progress,
                                      what=f"voxceleb2 {split}")
    return written


# ---------------------------------------------------------------------------------------
# Kinetics
# ---------------------------------------------------------------------------------------
_KINETICS_DIRS = {"validate": ("validate", "val"), "val": ("val", "validate")}


def kinetics_clip_name(youtube_id: str, start: int | float, end: int | float) -> str:
    """``<ytid>_<start:06d>_<end:06d>``, the file stem of a Kinetics clip (the download scripts' naming)."""
    return f"{youtube_id}_{int(float(start)):06d}_{int(float(end)):06d}"


def prepare_kinetics(corpus_dir: str | Path, out_dir: str | Path, splits: Iterable[str] | None = None, *,
                     extract_audio: bool = False, sample_rate: int = SAMPLE_RATE, num_workers: int = 2,
                     silence_db: float = SILENCE_DB, progress: ProgressCallback | None = None
                     ) -> dict[str, AVPrepared]:
    """``<out_dir>/<split>.tsv`` for each ``annotations/<split>.csv`` (``label,youtube_id,time_start,time_end,
    split``) whose clips are under ``<split>/`` (any class folder; ``val/`` serves ``validate``).

    ids are the clip names, speaker the YouTube id (clips of one video share it), ``label`` the class, text
    empty. Clips listed but not on disk are counted under ``missing_video``; silent or sound-less clips
    under ``silent_audio`` / ``missing_audio_stream``.
    """
    corpus_dir, out_dir = Path(corpus_dir), Path(out_dir)
    ann = corpus_dir / "annotations"
    if not ann.is_dir():
        raise ManifestError(f"{ann}: not found; Kinetics has annotations/<split>.csv next to the <split>/ folders")
    if splits is None:
        splits = sorted(p.stem for p in ann.glob("*.csv"))
        if not splits:
            raise ManifestError(f"{ann}: no <split>.csv annotation files")
    written = {}
    for split in splits:
        csv_path = ann / f"{split}.csv"
        if not csv_path.is_file():
            raise ManifestError(f"{csv_path}: annotation file not found")
        split_dir = next((corpus_dir / d for d in _KINETICS_DIRS.get(split, (split,)) if (corpus_dir / d).is_dir()),
                         None)
        if split_dir is None:
            raise ManifestError(f"{corpus_dir / split}: clip folder for {csv_path.name} not found")
        on_disk = {p.stem: p for p in split_dir.glob("*/*.mp4")}
        prepared = AVPrepared(out_dir / f"{split}.tsv", 0)
        clips = []
        with open(csv_path, encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            need = {"youtube_id", "time_start", "time_end"}
            if not need <= set(reader.fieldnames or ()):
                raise ManifestError(f"{csv_path}: header must have label,youtube_id,time_start,time_end,split; "
                                    f"got {','.join(reader.fieldnames or ())}")
            seen = set()
            for lineno, row in enumerate(reader, 2):
                try:
                    name = kinetics_clip_name(row["youtube_id"], row["time_start"], row["time_end"])
                except ValueError:
                    raise ManifestError(f"{csv_path}:{lineno}: time_start/time_end must be numbers") from None
                if name in seen:
                    continue
                seen.add(name)
                if name not in on_disk:
                    prepared.skip("missing_video", f"{split_dir}/{row.get('label', '?')}/{name}.mp4")
                    continue
                clips.append(_Clip(name, on_disk[name], row["youtube_id"], "",
                                   extra=(("label", row.get("label", "")),)))
        written[split] = _write_split(clips, prepared.manifest, prepared, sample_rate=sample_rate,
                                      extract_audio=extract_audio, num_workers=num_workers, progress=progress,
                                      what=f"kinetics {split}", silence_db=silence_db)
    return written


def skip_lines(written: dict[str, AVPrepared]) -> list[str]:
    """One line per split and reason of the clips prep left out, with an example, for the scripts' summaries."""
    lines = []
    for split, p in written.items():
        for reason, n in sorted(p.skipped.items()):
            lines.append(f"{split}: left out {n} clip(s), {reason} (e.g. {p.examples[reason][0]})")
    return lines
