"""Manifest validation: find every row that would break or silently spoil training.

The TSV is parsed line by line from bytes (not pandas), so one bad line -- invalid UTF-8,
a stray CR, a BOM, a wrong field count -- is reported with its file line number (header
is line 1) and the rest of the file is still checked. Each problem carries a reason code
from :data:`REASONS`. Audio is decoded fully with soundfile, because a header alone does
not show truncation: a WAV whose ``data`` chunk declares more bytes than the file holds,
or a FLAC that decodes fewer samples than its STREAMINFO promises.

:func:`fix_manifest` writes the rows that passed next to a ``rejected.tsv`` listing the rest.
"""
from __future__ import annotations

import functools
import os
import struct
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from asrkit.data.audio import SAMPLE_RATE, audio_file_problem
from asrkit.data.manifest import AV_COLUMNS, COLUMNS, ManifestError, is_av_manifest, write_manifest

LIBRISPEECH_CHARSET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ' "

REASONS: dict[str, str] = {
    "bad_header": "header lacks a required column or repeats one; it must name "
                  + " ".join(COLUMNS) + " (more columns may follow)",
    "no_rows": "the manifest lists no utterances (a header only); regenerate it, or leave it out",
    "malformed_row": "wrong number of tab-separated fields, an empty id or a non-numeric "
                     "num_samples/sample_rate/duration/offset; rewrite the row",
    "non_utf8": "line is not valid UTF-8; re-encode the file (iconv -f latin1 -t utf-8)",
    "carriage_return": "CR in the line (a CRLF file?); convert with dos2unix "
                       "(fix_manifest rewrites such rows without the CR)",
    "bom": "UTF-8 byte order mark at file start or inside a field; remove it "
           "(fix_manifest rewrites such rows without it)",
    "duplicate_id": "id already used on an earlier line; ids must be unique "
                    "(the first occurrence is kept)",
    "missing_audio": "audio file does not exist or is not a regular file (a directory, a FIFO); "
                     "fix the path or drop the row",
    "empty_audio": "audio file is 0 bytes or holds no samples; re-extract it or drop the row",
    "nonfinite_audio": "audio has NaN or infinite samples (a float file written from a broken signal); "
                       "regenerate it or drop the row",
    "truncated_audio": "audio file ends before the length its header declares "
                       "(or decoding fails part-way); re-extract it or drop the row",
    "undecodable_audio": "soundfile cannot open the audio file at all; re-encode it or drop the row",
    "sample_rate": "sample rate (manifest or file) differs from the expected one (--sample-rate); resample the "
                   "corpus (sox IN -r RATE OUT, or ffmpeg -i IN -ar RATE OUT) and regenerate the manifest",
    "channels": "audio has more than one channel; downmix to mono",
    "duration_mismatch": "manifest num_samples or duration disagree with the decoded audio; "
                         "regenerate the manifest",
    "empty_text": "transcript is empty; drop the row, or validate as unlabeled data",
    "bad_chars": "transcript has characters outside the allowed set; normalize the text",
    # audio-visual manifests (a video column; see validate_av below)
    "missing_video": "video file does not exist or is not a regular file; fix the path or drop the row",
    "undecodable_video": "the video cannot be opened or stops decoding part-way; re-encode it "
                         "(ffmpeg -i IN -c:v libx264 -c:a aac OUT.mp4) or drop the row",
    "missing_video_stream": "the video file has no video stream; drop the row, or empty its video column "
                            "to use it audio-only",
    "missing_audio_stream": "the file in the audio column has no audio stream (common in Kinetics); drop the row",
    "silent_audio": "the audio track is silent (peak below -60 dBFS; Kinetics clips without sound, cav-mae#5); "
                    "drop the row",
    "av_duration_mismatch": "audio and video durations differ by more than one frame; re-extract the clip or "
                            "drop the row",
    "frame_size": "video width/height differ from the expected ones (--frame-size); resize the corpus "
                  "(ffmpeg -vf scale=W:H) and regenerate the manifest",
    "fps": "video frame rate (manifest or file) differs from the expected one (--fps); re-encode the corpus "
           "(ffmpeg -r FPS) and regenerate the manifest",
}

# Problems that fix_manifest repairs by rewriting the row instead of rejecting it.
REPAIRABLE = frozenset({"carriage_return", "bom"})

_BOM = "\ufeff"
_DURATION_TOLERANCE_S = 1e-3  # manifests round duration to 0.1 ms; 1 ms leaves margin
_BLOCK_FRAMES = 1 << 16  # decode in blocks so a long recording never sits in memory whole
_DECODE_ERRORS = (sf.SoundFileError, RuntimeError, OSError, ValueError)  # what corrupt input raises


@dataclass(frozen=True)
class Problem:
    line: int  # 1-based file line; the header is line 1
    utt_id: str  # "" when the line has no usable id (header, undecodable row)
    reason: str  # a key of REASONS
    detail: str


@dataclass
class ValidationReport:
    manifest: Path
    columns: list[str]  # header fields, in file order
    num_rows: int  # non-blank lines after the header, malformed ones included
    problems: list[Problem]
    rows: dict[int, dict[str, str]] = field(default_factory=dict)  # line -> fields, well-formed rows

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def bad_lines(self) -> set[int]:
        return {p.line for p in self.problems}

    def counts(self) -> Counter[str]:
        """Problems per reason code, for summary tables."""
        return Counter(p.reason for p in self.problems)


def count_rows(path: str | Path) -> int:
    """Rows :func:`validate_manifest` will see (its ``num_rows``): the progress bar's total."""
    return sum(1 for ln, raw in _lines(Path(path).read_bytes()) if ln > 1 and raw.replace(b"\r", b""))


def validate_manifest(
    path: str | Path,
    *,
    sample_rate: int = SAMPLE_RATE,
    charset: str | None = LIBRISPEECH_CHARSET,
    text_required: bool = True,
    check_audio: bool = True,
    num_workers: int = 2,
    progress: Callable[[int], None] | None = None,
    fps: float | None = None,
    frame_size: tuple[int, int] | None = None,
) -> ValidationReport:
    """Check every line of a manifest; see :data:`REASONS` for what is reported.

    ``charset=None`` skips the character check; ``text_required=False`` is for unlabeled
    data. ``num_workers`` processes decode audio (1: in this process). ``progress`` is
    called with the number of rows just finished; the total is :func:`count_rows`.
    A file found truncated or undecodable gets no duration_mismatch on top.

    An audio-visual manifest (a ``video`` column) is also checked by :func:`validate_av`: ``fps`` and
    ``frame_size`` ``(width, height)``, when given, are the expected ones. An ``audio`` that is a container
    (an mp4) is decoded through :mod:`asrkit.data.video` at ``sample_rate``.
    """
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: manifest not found")
    advance = progress or (lambda n: None)
    problems: list[Problem] = []
    lines = list(_lines(path.read_bytes()))
    if not lines:
        problems.append(Problem(1, "", "bad_header", "empty file"))
        return ValidationReport(path, [], 0, problems)

    header, header_problems = _decode(lines[0][1], 1)
    columns = [c.replace(_BOM, "") for c in header.split("\t")]
    problems += [Problem(1, "", r, d) for r, d in header_problems]
    if any(_BOM in c for c in header.split("\t")):
        where = "file start" if header.startswith(_BOM) else "the header"
        problems.append(Problem(1, "", "bom", f"UTF-8 BOM at {where}"))
    av = is_av_manifest(columns)
    missing = [c for c in COLUMNS + (AV_COLUMNS if av else []) if c not in columns]
    repeated = sorted(c for c, n in Counter(columns).items() if n > 1)
    if missing or repeated:
        detail = "; ".join(filter(None, [
            missing and f"missing column(s) {', '.join(missing)}",
            repeated and f"repeated column(s) {', '.join(repeated)}",
        ]))
        problems.append(Problem(1, "", "bad_header", f"{detail}; got {columns!r}"))

    rows: dict[int, dict[str, str]] = {}
    num_rows = 0
    first_line: dict[str, int] = {}
    for lineno, raw in lines[1:]:
        text, line_problems = _decode(raw, lineno)
        fields = text.split("\t")
        utt_id = fields[0].replace(_BOM, "")
        problems += [Problem(lineno, utt_id, r, d) for r, d in line_problems]
        if not text:
            continue  # empty line: no row, as for pandas (a CR on it is still reported above)
        num_rows += 1
        boms = [columns[i] if i < len(columns) else f"field {i + 1}"
                for i, f in enumerate(fields) if _BOM in f]
        if boms:
            problems.append(Problem(lineno, utt_id, "bom", f"UTF-8 BOM in {', '.join(boms)}"))
        fields = [f.replace(_BOM, "") for f in fields]
        if missing or repeated:
            continue  # no usable header to read fields by
        if len(fields) != len(columns):
            problems.append(Problem(
                lineno, utt_id, "malformed_row", f"{len(fields)} fields, header has {len(columns)}",
            ))
            continue
        if not utt_id:
            problems.append(Problem(lineno, "", "malformed_row", "empty id"))
            continue
        if utt_id in first_line:
            problems.append(Problem(
                lineno, utt_id, "duplicate_id", f"first used on line {first_line[utt_id]}",
            ))
        else:
            first_line[utt_id] = lineno
        rows[lineno] = dict(zip(columns, fields))
        non_utf8 = any(r == "non_utf8" for r, _ in line_problems)
        problems += [Problem(lineno, utt_id, r, d)
                     for r, d in _check_text(rows[lineno]["text"], charset, text_required, non_utf8)]

    # Rows with unreadable numbers get no length checks; they are reported here.
    numbers: dict[int, _Numbers] = {}
    for lineno, row in rows.items():
        parsed = _parse_numbers(row)
        if isinstance(parsed, str):
            problems.append(Problem(lineno, row["id"], "malformed_row", parsed))
        else:
            numbers[lineno] = parsed
    advance(num_rows - len(numbers))

    if num_rows == 0 and not (missing or repeated):
        problems.append(Problem(1, "", "no_rows", "header only, no utterance rows"))

    root = path.parent.resolve()
    audio_of = {ln: _resolve(rows[ln]["audio"], root) for ln in numbers}
    results: dict[str, _AudioResult] = {}
    if check_audio:
        lines_of: dict[str, list[int]] = {}
        for ln, audio in audio_of.items():
            lines_of.setdefault(audio, []).append(ln)
        check = functools.partial(_check_any_audio, sample_rate=sample_rate)
        for audio, result in zip(lines_of, _map(check, list(lines_of), num_workers)):
            results[audio] = result
            advance(len(lines_of[audio]))
    else:
        advance(len(numbers))

    for ln, nums in numbers.items():
        audio = results.get(audio_of[ln])
        problems += [Problem(ln, rows[ln]["id"], r, d)
                     for r, d in _check_lengths(nums, audio, sample_rate)]
    if av:
        problems += validate_av(rows, numbers, results, audio_of, root, fps=fps, frame_size=frame_size,
                                check_files=check_audio, num_workers=num_workers)
    problems.sort(key=lambda p: p.line)  # stable: within a line, detection order
    return ValidationReport(path, columns, num_rows, problems, rows)


def fix_manifest(report: ValidationReport, out_dir: str | Path) -> tuple[Path, Path, int, int]:
    """Write ``out_dir/<manifest name>`` with the rows that passed and ``out_dir/rejected.tsv``.

    Rows whose only problems are in :data:`REPAIRABLE` (CR, BOM) are kept, rewritten clean.
    ``rejected.tsv`` has one line per problem of a rejected row (``line id reason detail``).
    Returns ``(kept_path, rejected_path, kept, total)``; raises ValueError, writing nothing,
    when the header is bad or no row survives.
    """
    if any(p.reason == "bad_header" for p in report.problems):
        raise ValueError(f"{report.manifest}: header is bad; fix it by hand, then validate again")
    rejected_lines = {p.line for p in report.problems if p.reason not in REPAIRABLE and p.line != 1}
    kept = [row for ln, row in report.rows.items() if ln not in rejected_lines]
    if not kept:
        raise ValueError(
            f"{report.manifest}: no row passed validation ({report.num_rows} rows, "
            f"{len(report.problems)} problems); nothing written"
        )
    out_dir = Path(out_dir)
    kept_path = out_dir / report.manifest.name
    if kept_path.resolve() == report.manifest.resolve():
        raise ValueError(f"{kept_path}: would overwrite the manifest being fixed; choose another out_dir")
    root = report.manifest.parent.resolve()
    df = pd.DataFrame(kept, columns=report.columns)
    df["audio"] = [_resolve(a, root) for a in df["audio"]]
    if "video" in df.columns:
        df["video"] = [_resolve(v, root) if v else v for v in df["video"]]
    write_manifest(df, kept_path)
    rejected_path = out_dir / "rejected.tsv"
    with open(rejected_path, "w", encoding="utf-8", newline="\n") as f:
        f.write("line\tid\treason\tdetail\n")
        for p in report.problems:
            if p.line in rejected_lines:
                f.write("\t".join([str(p.line), _tsv_safe(p.utt_id), p.reason, _tsv_safe(p.detail)]) + "\n")
    return kept_path, rejected_path, len(kept), report.num_rows


# ---------------------------------------------------------------------------------------
# Lines and text
# ---------------------------------------------------------------------------------------
def _lines(data: bytes) -> Iterable[tuple[int, bytes]]:
    """``(line number, bytes)`` split on LF only, so a CR stays visible in its line."""
    parts = data.split(b"\n")
    if parts[-1] == b"":
        parts.pop()  # the final newline ends the last line; it does not start another
    return enumerate(parts, 1)


def _decode(raw: bytes, lineno: int) -> tuple[str, list[tuple[str, str]]]:
    """Line bytes -> text without CRs, plus (reason, detail) for non-UTF-8 bytes and CRs."""
    found = []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        found.append(("non_utf8", f"invalid UTF-8 {raw[e.start:e.end]!r} at byte {e.start} of the line"))
        text = raw.decode("utf-8", errors="replace")
    if "\r" in text:
        n = text.count("\r")
        found.append(("carriage_return", "line ends in CR (CRLF file)" if n == 1 and text.endswith("\r")
                      else f"{n} CR character(s) in the line"))
        text = text.replace("\r", "")
    return text, found


def _check_text(text: str, charset: str | None, text_required: bool, non_utf8: bool) -> list[tuple[str, str]]:
    if not text.strip():
        return [("empty_text", "transcript is empty")] if text_required else []
    if charset is None:
        return []
    allowed = set(charset)
    if non_utf8:
        allowed.add("\ufffd")  # stands for the undecodable bytes, already reported as non_utf8
    bad = sorted(set(text) - allowed)
    if not bad:
        return []
    shown = ", ".join(repr(c) for c in bad[:20]) + (", ..." if len(bad) > 20 else "")
    return [("bad_chars", f"characters not allowed: {shown}")]


def _tsv_safe(s: str) -> str:
    return s.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _resolve(audio: str, root: Path) -> str:
    return audio if os.path.isabs(audio) else str(root / audio)


# ---------------------------------------------------------------------------------------
# Lengths and audio
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Numbers:
    num_samples: int
    sample_rate: int
    duration: float
    offset: int
    segment: bool = False  # the row has an offset column: a segment of its file (even one starting at 0)


def _parse_numbers(row: dict[str, str]) -> _Numbers | str:
    """The numeric columns, or why they cannot be read."""
    try:
        num_samples, rate = int(row["num_samples"]), int(row["sample_rate"])
        duration = float(row["duration"])
        offset = int(row.get("offset") or 0)
    except ValueError as e:
        return f"non-numeric length column ({e})"
    if num_samples < 0 or rate <= 0 or offset < 0:
        return f"num_samples {num_samples}, sample_rate {rate}, offset {offset} out of range"
    return _Numbers(num_samples, rate, duration, offset, bool(row.get("offset")))


@dataclass(frozen=True)
class _AudioResult:
    problem: tuple[str, str] | None = None  # missing/empty/truncated/undecodable: no length checks
    frames: int = 0  # decoded
    sample_rate: int = 0
    channels: int = 0


def _check_lengths(nums: _Numbers, audio: _AudioResult | None, expected_rate: int) -> list[tuple[str, str]]:
    """Manifest numbers against each other, the expected rate and (if decoded) the audio."""
    found = []
    if audio is not None and audio.problem is not None:
        found.append(audio.problem)
    decoded = audio is not None and audio.problem is None
    if decoded and audio.channels > 1:
        found.append(("channels", f"{audio.channels} channels, expected mono"))
    rates = []
    if nums.sample_rate != expected_rate:
        rates.append(f"manifest says {nums.sample_rate} Hz")
    if decoded and audio.sample_rate != expected_rate:
        rates.append(f"file is {audio.sample_rate} Hz")
    if rates:
        found.append(("sample_rate", f"{', '.join(rates)}; expected {expected_rate} Hz"))
    length = []
    if abs(nums.duration - nums.num_samples / nums.sample_rate) > _DURATION_TOLERANCE_S:
        length.append(f"duration {nums.duration} s but num_samples/sample_rate is "
                      f"{nums.num_samples / nums.sample_rate:.4f} s")
    if decoded and nums.segment and nums.offset + nums.num_samples > audio.frames:
        length.append(f"segment ends at sample {nums.offset + nums.num_samples}, "
                      f"file decodes to {audio.frames}")
    elif decoded and not nums.segment and nums.num_samples != audio.frames:
        length.append(f"num_samples {nums.num_samples} but file decodes to {audio.frames}")
    if length:
        found.append(("duration_mismatch", "; ".join(length)))
    return found


def _map(fn: Callable, items: list, num_workers: int) -> Iterator:
    """``map(fn, items)`` in order, over ``num_workers`` processes when that is more than one."""
    if num_workers <= 1 or len(items) <= 1:
        yield from map(fn, items)
        return
    with ProcessPoolExecutor(min(num_workers, len(items))) as pool:
        yield from pool.map(fn, items, chunksize=max(1, min(64, len(items) // (num_workers * 8))))


def _check_audio(path: str) -> _AudioResult:
    """Decode ``path`` fully; runs in a worker process."""
    problem = audio_file_problem(path)  # a FIFO or device is never opened: that could block forever
    if problem is not None:
        return _AudioResult(("missing_audio", f"{path} {problem}"))
    size = os.stat(path).st_size
    if size == 0:
        return _AudioResult(("empty_audio", f"{path} is 0 bytes"))
    wav_short = _wav_truncation(path, size)
    flac_total = _flac_total_samples(path)
    try:
        f = sf.SoundFile(path)
    except _DECODE_ERRORS as e:
        if wav_short or flac_total:
            why = f"{wav_short or 'header is intact'}, but it cannot be opened ({e})"
            return _AudioResult(("truncated_audio", f"{path}: {why}"))
        return _AudioResult(("undecodable_audio", f"{path}: {e}"))
    with f:
        declared, frames, error, nonfinite, first_bad = f.frames, 0, None, 0, -1
        try:
            while n := len(block := f.read(_BLOCK_FRAMES, dtype="float32")):
                bad = ~np.isfinite(block).all(axis=1) if block.ndim > 1 else ~np.isfinite(block)
                if bad.any():
                    first_bad = frames + int(np.argmax(bad)) if first_bad < 0 else first_bad
                    nonfinite += int(bad.sum())
                frames += n
        except _DECODE_ERRORS as e:  # a decode error part-way: the rest of the file is missing or corrupt
            error = e
        result = _AudioResult(None, frames, f.samplerate, f.channels)
    if nonfinite and error is None:
        return _AudioResult(("nonfinite_audio", f"{path}: {nonfinite} NaN or infinite sample(s), the first at "
                                                f"sample {first_bad}"), frames, result.sample_rate, result.channels)
    if frames == 0 and declared == 0 and error is None and not wav_short:
        return _AudioResult(("empty_audio", f"{path} holds no samples (a header only)"), 0, result.sample_rate,
                            result.channels)
    if error is not None:
        why = f"decoding fails after {frames} samples ({error})"
    elif wav_short:
        why = wav_short
    elif flac_total and frames < flac_total:
        why = f"STREAMINFO declares {flac_total} samples, {frames} decode"
    elif frames < declared:
        why = f"header declares {declared} samples, {frames} decode"
    else:
        return result
    return _AudioResult(("truncated_audio", f"{path}: {why}"), frames, result.sample_rate, result.channels)


def _wav_truncation(path: str, size: int) -> str | None:
    """Why a RIFF/WAVE file is shorter than its chunk sizes declare, or None."""
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            chunk_id, n = struct.unpack("<4sI", f.read(8))
            if chunk_id == b"data":
                if n in (0, 0xFFFFFFFF):
                    return None  # size left unset by a streaming writer, or RF64: nothing to compare
                present = size - pos - 8
                return f"'data' chunk declares {n} bytes, {present} present" if present < n else None
            if pos + 8 + n > size:
                return f"{chunk_id!r} chunk declares {n} bytes, {size - pos - 8} present"
            pos += 8 + n + (n & 1)
    return None


def _flac_total_samples(path: str) -> int | None:
    """Total samples from a FLAC's STREAMINFO (skipping an ID3v2 tag), or None if unknown."""
    with open(path, "rb") as f:
        head = f.read(10)
        start = 0
        if len(head) == 10 and head[:3] == b"ID3":
            start = 10 + (((head[6] & 0x7F) << 21) | ((head[7] & 0x7F) << 14)
                          | ((head[8] & 0x7F) << 7) | (head[9] & 0x7F))
            start += 10 if head[5] & 0x10 else 0  # footer present
        f.seek(start)
        block = f.read(4 + 4 + 34)  # "fLaC", block header, STREAMINFO
    if len(block) < 42 or block[:4] != b"fLaC" or block[4] & 0x7F != 0:
        return None
    # STREAMINFO bytes 10..17: sample rate (20 bits), channels (3), bits (5), total samples (36)
    total = int.from_bytes(block[8 + 10:8 + 18], "big") & ((1 << 36) - 1)
    return total or None


# ---------------------------------------------------------------------------------------
# Audio-visual manifests
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _VideoResult:
    problem: tuple[str, str] | None = None  # missing/undecodable/no stream: no further video checks
    frames: int = 0  # decoded
    fps: float = 0.0
    width: int = 0
    height: int = 0


def _check_any_audio(path: str, sample_rate: int) -> _AudioResult:
    """:func:`_check_audio` for audio files; a container (mp4) is decoded through the video reader at
    ``sample_rate`` (the rate its manifest rows state), and a silent track is a problem."""
    from asrkit.data.video import VideoError, is_container, is_silent, read_audio

    if not is_container(path):
        return _check_audio(path)
    problem = audio_file_problem(path)
    if problem is not None:
        return _AudioResult(("missing_audio", f"{path} {problem}"))
    try:
        wav = read_audio(path, sample_rate)
    except VideoError as e:
        reason = e.reason if e.reason in REASONS and e.reason != "undecodable_video" else "undecodable_audio"
        return _AudioResult((reason, str(e)))
    if not np.isfinite(wav).all():
        return _AudioResult(("nonfinite_audio", f"{path}: NaN or infinite samples"), len(wav), sample_rate, 1)
    if is_silent(wav):
        return _AudioResult(("silent_audio", f"{path}: peak {float(np.max(np.abs(wav))) if len(wav) else 0:.2g}"),
                            len(wav), sample_rate, 1)
    return _AudioResult(None, len(wav), sample_rate, 1)


def _check_video(path: str) -> _VideoResult:
    """Probe ``path`` and decode every frame; runs in a worker process."""
    from asrkit.data.video import VideoError, count_frames, probe

    problem = audio_file_problem(path)
    if problem is not None:
        return _VideoResult(("missing_video", f"{path} {problem}"))
    try:
        info = probe(path)
        if not info.has_video:
            return _VideoResult(("missing_video_stream", f"{path} has no video stream"))
        frames = count_frames(path)
    except VideoError as e:
        return _VideoResult((e.reason if e.reason in REASONS else "undecodable_video", str(e)))
    if frames == 0:
        return _VideoResult(("undecodable_video", f"{path}: no frame decodes"))
    return _VideoResult(None, frames, info.fps, info.width, info.height)


def _parse_av(row: dict[str, str]) -> tuple[int, float, int, int] | str:
    try:
        nums = int(row["num_frames"]), float(row["fps"]), int(row["width"]), int(row["height"])
    except ValueError as e:
        return f"non-numeric num_frames/fps/width/height ({e})"
    if nums[0] < 0 or nums[1] <= 0 or nums[2] <= 0 or nums[3] <= 0:
        return f"num_frames {nums[0]}, fps {nums[1]}, width {nums[2]}, height {nums[3]} out of range"
    return nums


def validate_av(rows: dict[int, dict[str, str]], numbers: dict[int, _Numbers], audio: dict[str, _AudioResult],
                audio_of: dict[int, str], root: Path, *, fps: float | None = None,
                frame_size: tuple[int, int] | None = None, check_files: bool = True,
                num_workers: int = 2) -> list[Problem]:
    """The AV reason codes for the rows of an AV manifest (``line -> fields``) whose audio numbers parsed:
    the video column's file (decoded fully), its fps and frame size against the expected ones, its frame count
    against ``num_frames``, and audio against video duration (more than one frame apart: av_duration_mismatch).
    A row with an empty video column is audio-only and gets no video checks."""
    problems: list[Problem] = []
    parsed: dict[int, tuple] = {}
    for ln in numbers:
        if not rows[ln]["video"]:
            continue
        av = _parse_av(rows[ln])
        if isinstance(av, str):
            problems.append(Problem(ln, rows[ln]["id"], "malformed_row", av))
        else:
            parsed[ln] = av
    video_of = {ln: _resolve(rows[ln]["video"], root) for ln in parsed}
    results: dict[str, _VideoResult] = {}
    if check_files:
        unique = list(dict.fromkeys(video_of.values()))
        results = dict(zip(unique, _map(_check_video, unique, num_workers)))
    for ln, (num_frames, row_fps, width, height) in parsed.items():
        utt, nums = rows[ln]["id"], numbers[ln]
        video = results.get(video_of[ln])
        found = []
        if video is not None and video.problem is not None:
            found.append(video.problem)
        decoded = video is not None and video.problem is None
        if fps is not None:
            bad = [f"manifest says {row_fps:g}"] if abs(row_fps - fps) > 1e-3 else []
            bad += [f"file is {video.fps:g}"] if decoded and abs(video.fps - fps) > 1e-3 else []
            if bad:
                found.append(("fps", f"{', '.join(bad)} fps; expected {fps:g}"))
        if frame_size is not None:
            sizes = {(width, height)} | ({(video.width, video.height)} if decoded else set())
            bad_sizes = sorted(s for s in sizes if s != tuple(frame_size))
            if bad_sizes:
                found.append(("frame_size", f"{', '.join(f'{w}x{h}' for w, h in bad_sizes)}; expected "
                                            f"{frame_size[0]}x{frame_size[1]}"))
        if decoded and not nums.segment and num_frames != video.frames:
            found.append(("duration_mismatch", f"num_frames {num_frames} but the video decodes to {video.frames}"))
        # whole-file rows: the decoded lengths; segments (an offset column): the manifest's
        a = audio.get(audio_of[ln])
        if (a is not None and a.problem is not None) or (video is not None and video.problem is not None):
            problems += [Problem(ln, utt, r, d) for r, d in found]
            continue  # an unreadable stream: its length says nothing more
        a_s = (a.frames / a.sample_rate if not nums.segment and a is not None and a.problem is None and a.sample_rate
               else nums.num_samples / nums.sample_rate)
        v_s = video.frames / row_fps if decoded and not nums.segment else num_frames / row_fps
        if abs(a_s - v_s) > 1.0 / row_fps + 1e-6:
            found.append(("av_duration_mismatch", f"audio {a_s:.3f} s, video {v_s:.3f} s: "
                                                  f"{abs(a_s - v_s) * row_fps:.1f} frames apart"))
        problems += [Problem(ln, utt, r, d) for r, d in found]
    return problems
