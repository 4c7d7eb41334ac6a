"""Audio-visual clips for MAE / CLR pre-training (multi-stage paper §3.4; video recipe of MAE-ST).

An item is one clip window: ``max_frames`` fbank frames' worth of audio (``(max_frames - 1) * hop + win``
samples: 25 ms windows every 10 ms, Kaldi ``snip_edges``) and ``num_frames`` video frames every
``frame_stride`` frames, **both starting at the same instant**: the start is a video frame, and the audio
starts at that frame's time. In training the start is drawn from ``(seed, epoch, index)`` (as
:class:`asrkit.data.datasets.AudioDataset`'s crops, so a resumed epoch sees the same clips); in validation
it is the start of the utterance. A clip shorter than the window gives shorter audio (``collate`` pads it,
``padding_mask`` True at padding) and its video is padded by repeating its last frame, so every batch
has ``T = num_frames`` frames.

Spatial augmentation follows MAE-ST (``main_pretrain.py``): a random resized crop of area
``crop_scale`` (``jitter_scales_relative`` [0.5, 1.0]) and aspect ``crop_ratio`` ([3/4, 4/3]), one per clip
(torchvision's ``RandomResizedCrop`` sampling, 10 tries then a centre crop), resized to ``crop_size``
square, and a horizontal flip with probability 0.5; validation takes the centre square, resized.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from .audio import SAMPLE_RATE, AudioError
from .audio import read_audio as read_audio_file
from .manifest import ManifestError, manifest_line, read_manifest
from .video import VideoError, is_container, read_audio, read_frames

log = logging.getLogger(__name__)

_START, _CROP = 0, 1  # separate random streams for the clip start and the spatial crop


def clip_samples(max_frames: int, sample_rate: int = SAMPLE_RATE) -> int:
    """Samples that give exactly ``max_frames`` Kaldi fbank frames (25 ms window, 10 ms shift, snip_edges)."""
    return (max_frames - 1) * (sample_rate // 100) + sample_rate * 25 // 1000


def random_resized_crop_box(height: int, width: int, scale: tuple[float, float], ratio: tuple[float, float],
                            rng: np.random.Generator) -> tuple[int, int, int, int]:
    """``(top, left, h, w)`` as torchvision's ``RandomResizedCrop.get_params`` draws it (area fraction in
    ``scale``, log-uniform aspect in ``ratio``, 10 tries, then the centre crop clamped to ``ratio``)."""
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target = area * rng.uniform(scale[0], scale[1])
        aspect = math.exp(rng.uniform(*log_ratio))
        w = int(round(math.sqrt(target * aspect)))
        h = int(round(math.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            return int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1)), h, w
    in_ratio = width / height
    if in_ratio < min(ratio):
        w, h = width, int(round(width / min(ratio)))
    elif in_ratio > max(ratio):
        h, w = height, int(round(height * max(ratio)))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def _resize(frames: np.ndarray, size: int) -> np.ndarray:
    """``(T, h, w, 3)`` uint8 -> ``(T, size, size, 3)`` uint8, bilinear (antialiased when shrinking)."""
    if frames.shape[1] == size and frames.shape[2] == size:
        return frames
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()
    shrink = frames.shape[1] > size or frames.shape[2] > size
    x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=shrink)
    return x.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


class AVDataset(Dataset):
    """Clips of an AV manifest as ``{"id", "source": (S,) float32, "video": (T, H, W, 3) uint8}``.

    Args:
        manifest: an AV manifest DataFrame (paths absolute) or its TSV path.
        sample_rate: audio rate (the model config's ``sample_rate``).
        max_frames: fbank frames per clip (paper: 1000); the audio window is :func:`clip_samples` long.
        num_frames: video frames per clip (MAE-ST: 16); frame_stride: take every n-th frame (MAE-ST: 4).
        crop_size: output frame size, square (MAE-ST: 224).
        crop_scale, crop_ratio: random resized crop's area fraction and aspect (MAE-ST: [0.5, 1], [3/4, 4/3]).
        flip: random horizontal flip (p = 0.5) in training.
        train: random start, crop and flip; False: start 0, centre crop, no flip.
        seed: with the epoch and index, picks the random start and crop.
        skip_bad: an unreadable clip is logged once and dropped from its batch instead of raising.
        use_video: False reads audio only (the audio-only MAE): rows need no video, items have no ``video``.
        shift_seconds: audio window offset against the video (the sync test: ±0.5 s); audio outside the
            file is zeros.
        source: the manifest file named in errors; by default ``manifest`` when it is a path.

    Attributes:
        sizes: ``(U,)`` audio samples per clip (capped at the window), for ``BucketBatchSampler``.
        ids, speakers: ``(U,)`` per kept row; skipped: id -> why a row was left out at construction.
        padded_video: ids whose video was shorter than the window and padded with its last frame (this process).
    """

    def __init__(
        self,
        manifest: pd.DataFrame | str | Path,
        *,
        sample_rate: int = SAMPLE_RATE,
        max_frames: int = 1000,
        num_frames: int = 16,
        frame_stride: int = 4,
        crop_size: int = 224,
        crop_scale: tuple[float, float] = (0.5, 1.0),
        crop_ratio: tuple[float, float] = (3 / 4, 4 / 3),
        flip: bool = True,
        train: bool = True,
        seed: int = 0,
        skip_bad: bool = False,
        use_video: bool = True,
        shift_seconds: float = 0.0,
        negative_shift_seconds: float = 0.0,
        source: str | Path | None = None,
    ) -> None:
        for name, value in (("max_frames", max_frames), ("num_frames", num_frames), ("frame_stride", frame_stride),
                            ("crop_size", crop_size), ("sample_rate", sample_rate)):
            if value < 1:
                raise ValueError(f"{name} must be positive, got {value}")
        if seed < 0:
            raise ValueError(f"seed must be non-negative, got {seed}")
        if not (0 < crop_scale[0] <= crop_scale[1] <= 1) or not (0 < crop_ratio[0] <= crop_ratio[1]):
            raise ValueError(f"crop_scale {crop_scale} must be within (0, 1] and crop_ratio {crop_ratio} positive, "
                             "each (low, high)")
        df = manifest if isinstance(manifest, pd.DataFrame) else read_manifest(manifest)
        self.source = str(source) if source is not None else "" if isinstance(manifest, pd.DataFrame) else str(manifest)
        if use_video and "video" not in df.columns:
            raise ManifestError(f"{self.source or 'manifest'}: no video column: give an AV manifest "
                                "(local/prepare_lrs3.py, prepare_voxceleb2.py, prepare_kinetics.py write them), or "
                                "read it audio-only (use_video false: audio-only MAE)")
        keep = np.ones(len(df), bool)
        self.skipped: dict[str, str] = {}
        if use_video:
            no_video = (df["video"] == "").to_numpy()
            self.skipped = {i: "audio-only row (empty video column)" for i in df["id"][no_video]}
            keep &= ~no_video
        rates = df["sample_rate"].to_numpy(np.int64)
        if (rates[keep] != sample_rate).any():
            bad = int(np.flatnonzero(keep & (rates != sample_rate))[0])
            raise AudioError(f"{self.source or 'manifest'}: utterance {df['id'].iloc[bad]!r} is at {rates[bad]} Hz, "
                             f"expected {sample_rate} Hz; regenerate the manifest at {sample_rate} Hz "
                             "(prepare_* --sample-rate) or set the model's sample_rate")
        self.clip_samples = clip_samples(max_frames, sample_rate)
        if negative_shift_seconds > 0:  # room for the window and both shifted ones (whole frames) inside the clip
            fps = df["fps"].to_numpy(np.float64) if use_video else np.full(len(df), 25.0)
            shift_frames = np.maximum(1, np.round(negative_shift_seconds * fps))
            margin = np.round(shift_frames / fps * sample_rate).astype(np.int64)
            short = keep & (df["num_samples"].to_numpy(np.int64) < self.clip_samples + 2 * margin)
            self.skipped.update({i: "too short for the time-shifted negatives" for i in df["id"][short]})
            keep &= ~short
        df = df[keep]
        self.ids = np.asarray(df["id"].to_numpy(), dtype=str)
        self.speakers = np.asarray(df["speaker"].to_numpy(), dtype=str)
        self._audio = np.asarray(df["audio"].to_numpy(), dtype=str)
        self._num_samples = df["num_samples"].to_numpy(np.int64)
        self._offsets = df["offset"].to_numpy(np.int64) if "offset" in df.columns else np.zeros(len(df), np.int64)
        if use_video:
            self._video = np.asarray(df["video"].to_numpy(), dtype=str)
            self._fps = df["fps"].to_numpy(np.float64)
            self._num_video = df["num_frames"].to_numpy(np.int64)
        self.sizes = np.minimum(self._num_samples, self.clip_samples)
        self.sample_rate, self.max_frames = sample_rate, max_frames
        self.num_frames, self.frame_stride, self.crop_size = num_frames, frame_stride, crop_size
        self.crop_scale, self.crop_ratio = tuple(crop_scale), tuple(crop_ratio)
        self.flip, self.train, self.seed = flip, train, seed
        self.skip_bad, self.use_video, self.shift_seconds = skip_bad, use_video, shift_seconds
        self.negative_shift_seconds = negative_shift_seconds
        self.epoch = 0
        self.padded_video: set[str] = set()
        self._logged: set[str] = set()

    def set_epoch(self, epoch: int) -> None:
        """Draw this epoch's random starts and crops (call before making the DataLoader iterator)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.ids)

    def _rng(self, index: int, stream: int) -> np.random.Generator:
        return np.random.default_rng((self.seed, self.epoch, index, stream))

    def _where(self, index: int) -> str:
        utt = str(self.ids[index])
        if not self.source:
            return f"utterance {utt!r}"
        line = manifest_line(self.source, utt)
        return f"{self.source}{f':{line}' if line else ''}: utterance {utt!r}"

    def clip_start(self, index: int) -> tuple[int, int]:
        """``(audio sample, video frame)`` where the clip starts within the row (the same instant: the audio
        starts at the video frame's time); ``(0, 0)`` in validation."""
        n = int(self._num_samples[index])
        excess = max(0, n - self.clip_samples)
        margin = self._negative_shift(index)[1] if self.negative_shift_seconds > 0 else 0
        if not self.train or excess == 0:
            if margin:  # the window between the two shifted ones
                return margin, int(round(margin / self.sample_rate * float(self._fps[index])))
            return 0, 0
        rng = self._rng(index, _START)
        if not self.use_video:
            return int(rng.integers(margin, excess - margin + 1)), 0
        fps = float(self._fps[index])
        lo = int(math.ceil(margin / self.sample_rate * fps))
        hi = int(math.floor((excess - margin) / self.sample_rate * fps))
        frame = int(rng.integers(lo, max(lo, hi) + 1))
        return min(excess, int(round(frame / fps * self.sample_rate))), frame

    def _negative_shift(self, index: int) -> tuple[int, int]:
        """``(frames, samples)``: ``negative_shift_seconds`` in whole video frames of clip ``index``."""
        fps = float(self._fps[index]) if self.use_video else 25.0
        frames = max(1, int(round(self.negative_shift_seconds * fps)))
        return frames, int(round(frames / fps * self.sample_rate))

    def _read_audio(self, index: int, start: int, num: int) -> torch.Tensor:
        """``num`` samples from ``start`` (row-relative, may be negative or run past the end: zeros there)."""
        path, offset, n = str(self._audio[index]), int(self._offsets[index]), int(self._num_samples[index])
        lo, hi = max(0, start), min(n, start + num)
        out = torch.zeros(num)
        if hi <= lo:
            return out
        if is_container(path):
            wav = torch.from_numpy(read_audio(path, self.sample_rate, offset=offset + lo, num_samples=hi - lo))
        else:
            wav = read_audio_file(path, sample_rate=self.sample_rate, offset=offset + lo, num_frames=hi - lo)
        out[lo - start:lo - start + len(wav)] = wav
        return out

    def _read_video(self, index: int, frame: int) -> np.ndarray:
        fps = float(self._fps[index])
        first = int(round(self._offsets[index] / self.sample_rate * fps)) + frame
        last = int(round(self._offsets[index] / self.sample_rate * fps)) + int(self._num_video[index])
        count = max(0, min(self.num_frames, -(-(last - first) // self.frame_stride)))
        frames = read_frames(str(self._video[index]), first, count, self.frame_stride) if count else None
        if frames is None or len(frames) == 0:
            raise VideoError(f"{self._video[index]}: no frame from {first} on (num_frames "
                             f"{int(self._num_video[index])}); regenerate the manifest", "undecodable_video")
        if len(frames) < self.num_frames:  # a short clip: repeat its last frame up to the window
            self.padded_video.add(str(self.ids[index]))
            frames = np.concatenate([frames, np.repeat(frames[-1:], self.num_frames - len(frames), 0)])
        return self._augment(frames, index)

    def _augment(self, frames: np.ndarray, index: int) -> np.ndarray:
        _, height, width, _ = frames.shape
        if self.train:
            rng = self._rng(index, _CROP)
            top, left, h, w = random_resized_crop_box(height, width, self.crop_scale, self.crop_ratio, rng)
            flip = self.flip and rng.random() < 0.5
        else:
            side = min(height, width)
            top, left, h, w, flip = (height - side) // 2, (width - side) // 2, side, side, False
        out = _resize(frames[:, top:top + h, left:left + w], self.crop_size)
        return np.ascontiguousarray(out[:, :, ::-1]) if flip else out

    def get(self, index: int, shift_seconds: float | None = None) -> dict:
        """Item ``index`` with the audio window moved by ``shift_seconds`` against the video (default: the
        dataset's ``shift_seconds``), for the sync test."""
        shift = self.shift_seconds if shift_seconds is None else shift_seconds
        start, frame = self.clip_start(index)
        size = int(self.sizes[index])
        item = {"index": index, "id": str(self.ids[index])}
        try:
            item["source"] = self._read_audio(index, start + int(round(shift * self.sample_rate)), size)
            if self.negative_shift_seconds > 0:  # the same utterance's audio, earlier and later (unedited)
                offset = self._negative_shift(index)[1]
                item["shifted"] = torch.stack([self._read_audio(index, start + k * offset, size) for k in (-1, 1)])
            if self.use_video:
                item["video"] = torch.from_numpy(self._read_video(index, frame))
        except (VideoError, AudioError) as e:
            reason = getattr(e, "reason", "undecodable_audio")
            message = f"{self._where(index)}: {reason}: {e}"
            if not self.skip_bad:
                raise (VideoError(message, reason) if isinstance(e, VideoError) else AudioError(message)) from None
            if item["id"] not in self._logged:
                self._logged.add(item["id"])
                log.warning("skipping %s", message)
            return {"index": index, "id": item["id"], "error": message}
        return item

    def __getitem__(self, index: int) -> dict:
        return self.get(index)

    def collate(self, items: list[dict]) -> dict:
        """``source`` ``(N, S)`` float32 zero-padded, ``padding_mask`` ``(N, S)`` True at padding, ``lengths``
        ``(N,)``, ``video`` ``(N, T, H, W, 3)`` uint8 (with video), ``id`` (and ``ids``) the utterance ids,
        ``skipped`` the ``(id, error)`` of items dropped under ``skip_bad``."""
        skipped = [(it["id"], it["error"]) for it in items if "error" in it]
        items = [it for it in items if "error" not in it]
        lengths = torch.tensor([len(it["source"]) for it in items], dtype=torch.long)
        t = int(lengths.max()) if items else 0
        source = torch.zeros(len(items), t)
        for i, it in enumerate(items):
            source[i, : len(it["source"])] = it["source"]
        ids = [it["id"] for it in items]
        batch = {"id": ids, "ids": ids, "source": source, "padding_mask": torch.arange(t)[None, :] >= lengths[:, None],
                 "lengths": lengths, "skipped": skipped}
        if self.use_video:
            batch["video"] = (torch.stack([it["video"] for it in items]) if items else
                              torch.zeros(0, self.num_frames, self.crop_size, self.crop_size, 3, dtype=torch.uint8))
        if self.negative_shift_seconds > 0:  # (2 N, S): every clip's earlier window, then every clip's later one
            shifted = torch.zeros(2, len(items), t)
            for i, it in enumerate(items):
                shifted[:, i, : it["shifted"].size(1)] = it["shifted"]
            batch["shifted_source"] = shifted.view(2 * len(items), t)
            batch["shifted_padding_mask"] = batch["padding_mask"].repeat(2, 1)
        return batch

