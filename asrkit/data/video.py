"""Reading video clips (mp4 and whatever FFmpeg opens) through PyAV: the one reader of the AV data.

:func:`probe` reads stream headers; :func:`read_frames` decodes RGB frames ``(T, H, W, 3)`` uint8;
:func:`read_audio` decodes the audio track to mono float32 at a given rate with PyAV's ``AudioResampler``.

Frame cache: decoded frames are kept in a per-process LRU cache bounded in bytes, keyed by path, mtime and
size (a rewritten file is a new key). A clip whose decoded frames fit in a quarter of the budget is decoded
whole on its first read, so the random windows later epochs draw from it never decode again; a longer clip
is decoded window by window from the keyframe before the window. Each DataLoader worker has its own cache
(persistent workers keep theirs across epochs). :func:`set_cache_bytes` sizes it, :func:`cache_info` counts.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .audio import audio_file_problem

# decoded bytes kept per process (MAE-ST-size clips: 16 frames x 224^2 x 3 = 2.4 MB a window)
DEFAULT_CACHE_BYTES = 256 << 20
# extensions read through PyAV rather than soundfile when they appear in a manifest's audio column
CONTAINER_EXTENSIONS = frozenset({".mp4", ".m4a", ".mkv", ".webm", ".avi", ".mov", ".mpg", ".mpeg", ".aac"})


class VideoError(ValueError):
    """A file that cannot be used as a video or its audio track; the message names the file and what to do."""

    def __init__(self, message: str = "", reason: str = "undecodable_video"):
        if "\nOriginal Traceback" in message and "VideoError: " in message:  # from a DataLoader worker
            message = message.rsplit("VideoError: ", 1)[1].strip()
        super().__init__(message)
        self.reason = reason  # a validate.REASONS code


@dataclass(frozen=True)
class MediaInfo:
    has_video: bool
    has_audio: bool
    fps: float  # 0.0 without video
    width: int
    height: int
    num_frames: int  # video frames (from the container, else duration x fps)
    sample_rate: int  # the audio track's own rate; 0 without audio
    num_samples: int  # audio samples at sample_rate (from the stream duration); 0 without audio
    duration: float  # seconds: the video's, else the audio's


def is_container(path: str | Path) -> bool:
    """Whether ``path`` is read through PyAV (an mp4 and the like) rather than soundfile."""
    return Path(str(path)).suffix.lower() in CONTAINER_EXTENSIONS


def _open(path: str | Path):
    import av

    problem = audio_file_problem(path)
    if problem is not None:
        raise VideoError(f"{path}: {problem}; fix the path or drop the clip", "missing_video")
    try:
        return av.open(str(path))
    except (av.FFmpegError, OSError, ValueError) as e:
        raise VideoError(f"{path}: cannot be opened as a video container ({e}); re-encode it (ffmpeg -i IN "
                         f"-c:v libx264 -c:a aac OUT.mp4) or drop the clip", "undecodable_video") from None


def _seconds(stream, value) -> float:
    return float(value * stream.time_base) if value is not None and stream.time_base is not None else 0.0


def probe(path: str | Path) -> MediaInfo:
    """Stream headers of ``path`` (nothing decoded); a :class:`VideoError` when it cannot be opened."""
    with _open(path) as c:
        vs = c.streams.video[0] if c.streams.video else None
        as_ = c.streams.audio[0] if c.streams.audio else None
        container_s = c.duration / 1e6 if c.duration else 0.0
        fps = width = height = num_frames = 0
        v_dur = 0.0
        if vs is not None:
            rate = vs.average_rate or vs.guessed_rate or vs.base_rate
            fps = float(rate) if rate else 0.0
            width, height = vs.codec_context.width, vs.codec_context.height
            v_dur = _seconds(vs, vs.duration) or container_s
            num_frames = int(vs.frames) or int(round(v_dur * fps))
            if vs.frames and fps:
                v_dur = vs.frames / fps
        sr = ns = 0
        a_dur = 0.0
        if as_ is not None:
            sr = int(as_.codec_context.sample_rate or as_.rate or 0)
            a_dur = _seconds(as_, as_.duration) or container_s
            ns = int(round(a_dur * sr))
    return MediaInfo(vs is not None, as_ is not None, fps, int(width), int(height), num_frames, sr, ns,
                     round(v_dur if vs is not None else a_dur, 4))


# ---------------------------------------------------------------------------------------
# Frame cache
# ---------------------------------------------------------------------------------------
@dataclass
class CacheInfo:
    hits: int = 0  # read_frames calls answered from the cache
    misses: int = 0
    decodes: int = 0  # decode passes over a file (a whole clip or one window)
    bytes: int = 0
    max_bytes: int = DEFAULT_CACHE_BYTES


class _FrameCache:
    """``key -> {frame index: frame}`` (whole clips also ``"all"``: the decoded count), LRU by key, in bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.entries: OrderedDict[tuple, dict] = OrderedDict()
        self.info = CacheInfo(max_bytes=max_bytes)
        self.lock = threading.Lock()

    def get(self, key: tuple) -> dict | None:
        with self.lock:
            entry = self.entries.get(key)
            if entry is not None:
                self.entries.move_to_end(key)
            return entry

    def put(self, key: tuple, frames: dict) -> None:
        size = sum(f.nbytes for k, f in frames.items() if isinstance(k, int))
        with self.lock:
            old = self.entries.pop(key, None)
            if old is not None:
                self.info.bytes -= old["_bytes"]
            if size > self.info.max_bytes:
                return
            frames["_bytes"] = size
            self.entries[key] = frames
            self.info.bytes += size
            while self.info.bytes > self.info.max_bytes and self.entries:
                _, evicted = self.entries.popitem(last=False)
                self.info.bytes -= evicted["_bytes"]


_CACHE = _FrameCache(DEFAULT_CACHE_BYTES)


def set_cache_bytes(max_bytes: int) -> None:
    """Resize (and empty) this process's frame cache; 0 turns it off."""
    global _CACHE
    _CACHE = _FrameCache(max(0, int(max_bytes)))


def cache_info() -> CacheInfo:
    """This process's cache counters (a copy)."""
    return CacheInfo(**vars(_CACHE.info))


def _key(path: str | Path) -> tuple:
    st = os.stat(path)
    return (os.path.abspath(path), st.st_mtime_ns, st.st_size)


# ---------------------------------------------------------------------------------------
# Frames
# ---------------------------------------------------------------------------------------
def read_frames(path: str | Path, start: int = 0, num: int | None = None, stride: int = 1) -> np.ndarray:
    """Frames ``start, start + stride, ...`` (``num`` of them, or to the end) as RGB uint8 ``(T, H, W, 3)``.

    Frame ``i`` is the one shown at ``i / fps`` after the first. Fewer than ``num`` come back when the clip
    ends first (callers pad; :class:`asrkit.data.av.AVDataset` repeats the last frame).
    """
    if start < 0 or stride < 1 or (num is not None and num < 0):
        raise ValueError(f"start {start}, num {num}, stride {stride}: need start >= 0, num >= 0, stride >= 1")
    info = probe(path)  # also the one-line errors for a missing, unopenable or video-less file
    if not info.has_video:
        raise VideoError(f"{path}: has no video stream; give a clip with video, or use the row audio-only "
                         "(empty video column)", "missing_video_stream")
    total = info.num_frames
    stop = total if num is None else min(total, start + num * stride)
    wanted = list(range(start, stop, stride))
    if not wanted:
        return np.zeros((0, info.height, info.width, 3), np.uint8)
    key = _key(path)
    cache = _CACHE
    entry = cache.get(key)
    if entry is not None and (entry.get("_complete") or all(i in entry for i in wanted)):
        cache.info.hits += 1
        return _stack(entry, wanted, info)
    cache.info.misses += 1
    whole = total * info.height * info.width * 3 <= cache.info.max_bytes // 4
    lo, hi = (0, total) if whole else (wanted[0], wanted[-1] + 1)
    decoded = _decode_range(path, lo, hi, info.fps)
    cache.info.decodes += 1
    if whole:
        # the container's count can be off by a frame or two; the decoded frames are the truth
        frames = {**decoded, "_complete": True}
    else:
        frames = {k: v for k, v in (entry or {}).items() if isinstance(k, int)}
        keep = set(wanted)
        frames.update((i, f) for i, f in decoded.items() if i in keep)
    cache.put(key, frames)
    return _stack(frames, wanted, info)


def _stack(frames: dict, wanted: list[int], info: MediaInfo) -> np.ndarray:
    got = [frames[i] for i in wanted if i in frames]
    return np.stack(got) if got else np.zeros((0, info.height, info.width, 3), np.uint8)


_REFORMATTER = None


def _to_rgb(frame) -> np.ndarray:
    """A decoded frame as ``(H, W, 3)`` uint8 RGB. One ``VideoReformatter`` per process keeps its swscale context
    between frames of the same size; ``frame.to_ndarray(format="rgb24")`` builds one per frame, which took most of
    the decoding time of 96 px clips (3-7x slower, the same pixels)."""
    global _REFORMATTER
    if _REFORMATTER is None:
        from av.video.reformatter import VideoReformatter

        _REFORMATTER = VideoReformatter()
    return _REFORMATTER.reformat(frame, format="rgb24").to_ndarray()


def _decode_range(path: str | Path, lo: int, hi: int, fps: float) -> dict[int, np.ndarray]:
    """Frames ``lo <= i < hi`` by index, seeking to the keyframe at or before ``lo``."""
    import av

    out: dict[int, np.ndarray] = {}
    with _open(path) as c:
        vs = c.streams.video[0]
        vs.thread_type = "AUTO"
        t0 = vs.start_time or 0
        tb = vs.time_base
        try:
            if lo > 0:
                c.seek(t0 + int(lo / fps / tb), stream=vs, backward=True, any_frame=False)
            counter = None
            for frame in c.decode(vs):
                if frame.pts is not None:
                    i = int(round(float((frame.pts - t0) * tb) * fps))
                else:  # no timestamps (raw streams): count from the start, which only works without a seek
                    counter = 0 if counter is None else counter + 1
                    i = counter
                if i >= hi:
                    break
                if i >= lo:
                    out[i] = _to_rgb(frame)
        except (av.FFmpegError, ValueError) as e:
            raise VideoError(f"{path}: video decoding fails after {len(out)} frames ({e}); re-encode it or drop "
                             "the clip", "undecodable_video") from None
    return out


# ---------------------------------------------------------------------------------------
# Audio
# ---------------------------------------------------------------------------------------
def read_audio(path: str | Path, sample_rate: int = 16000, *, offset: int = 0,
               num_samples: int | None = None) -> np.ndarray:
    """The audio track of ``path`` as mono float32 ``(S,)`` at ``sample_rate`` (PyAV's resampler downmixes
    and resamples); ``offset``/``num_samples`` (at ``sample_rate``) select a segment. Sample 0 is the
    audio stream's first sample; the encoder's padding past the stream's declared duration is cut."""
    import av

    if offset < 0:
        raise ValueError(f"offset must be non-negative, got {offset}")
    key = ("audio", sample_rate) + _key(path) if audio_file_problem(path) is None else None
    entry = _CACHE.get(key) if key is not None else None
    if entry is not None:
        wav = entry[0]
        return wav[offset:None if num_samples is None else offset + num_samples].copy()
    with _open(path) as c:
        if not c.streams.audio:
            raise VideoError(f"{path}: has no audio stream; drop the clip, or extract audio from another "
                             "source", "missing_audio_stream")
        as_ = c.streams.audio[0]
        declared = int(round(_seconds(as_, as_.duration) * sample_rate)) if as_.duration else None
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        chunks: list[np.ndarray] = []
        try:
            for frame in c.decode(as_):
                frame.pts = None  # the resampler then numbers its output itself: no gaps from odd timestamps
                chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
            chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
        except (av.FFmpegError, ValueError) as e:
            raise VideoError(f"{path}: audio decoding fails ({e}); re-encode it or drop the clip",
                             "undecodable_audio") from None
    wav = np.concatenate(chunks).astype(np.float32, copy=False) if chunks else np.zeros(0, np.float32)
    if declared is not None and 0 < declared < len(wav):
        wav = wav[:declared]
    if key is not None:
        _CACHE.put(key, {0: wav})
    return wav[offset:None if num_samples is None else offset + num_samples].copy()


def is_silent(wav: np.ndarray, threshold_db: float = -60.0) -> bool:
    """Whether ``wav``'s peak is below ``threshold_db`` dBFS (an all-zero or near-silent track, the silent
    Kinetics clips of cav-mae#5)."""
    return len(wav) == 0 or float(np.max(np.abs(wav))) < 10 ** (threshold_db / 20)


def count_frames(path: str | Path) -> int:
    """Decode every video frame of ``path`` (nothing kept) and count them: what validation trusts, since
    a header alone does not show a clip that stops decoding part-way."""
    import av

    n = 0
    with _open(path) as c:
        if not c.streams.video:
            raise VideoError(f"{path}: has no video stream", "missing_video_stream")
        vs = c.streams.video[0]
        try:
            for _ in c.decode(vs):
                n += 1
        except (av.FFmpegError, ValueError) as e:
            raise VideoError(f"{path}: video decoding fails after {n} frames ({e}); re-encode it or drop the clip",
                             "undecodable_video") from None
    return n
