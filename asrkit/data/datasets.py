"""Waveform datasets for pre-training (wav2vec 2.0 §2, §4.2) and fine-tuning.

Mirrors fairseq's ``RawAudioDataset``/``FileAudioDataset``: utterances shorter than
``min_sample_size`` are dropped, longer than ``max_sample_size`` are cropped, and a batch
is either zero-padded to its longest utterance (fine-tuning, fairseq ``pad=True``) or, for
pre-training, cropped to its shortest (fairseq ``pad=False``), so no padding enters the
contrastive task. Random crops are drawn from ``(seed, epoch, index)``, so a resumed or
re-run epoch sees the same audio.

Speed perturbation is Kaldi's and ESPnet's 3-way copy of the training set
(``utils/data/perturb_data_dir_speed_3way.sh``; icefall ``cuts.perturb_speed``):
:func:`speed_perturb` adds one row per factor, ``sp0.9-<id>``, with a ``speed`` column, and
the dataset resamples that copy as sox's ``speed`` effect does, so tempo and every frequency
(pitch, formants) scale together. Sizes and CTC frame counts are those of the perturbed
audio, so token budgets and label checks hold for every copy.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import soundfile as sf
import torch
from torch.utils.data import Dataset

from asrkit.config import ConfigError, check_ranges, field_error
from asrkit.data.augment import AugmentConfig, apply_augment
from asrkit.data.audio import (SAMPLE_RATE, AudioError, audio_file_problem, normalize_waveform, read_audio,
                               resampling_advice)
from asrkit.data.manifest import manifest_line, read_manifest

CROPS = ("random", "start")
_ITEM_CROP, _BATCH_CROP, _AUGMENT = 0, 1, 2  # separate random streams: the two crops, augmentation


SPEED_RANGE = "[0.5, 2]"  # speed perturbation factors (Kaldi/ESPnet use 0.9, 1.0, 1.1)


def check_speed_factors(cfg) -> None:
    """A data config's ``speed_perturb`` factors are distinct (their range is checked as ``SPEED_RANGE``)."""
    if len(set(cfg.speed_perturb)) != len(cfg.speed_perturb):
        raise field_error(cfg, "speed_perturb", f"{list(cfg.speed_perturb)}: the factors must be distinct")


def speed_perturb(df: pd.DataFrame, factors) -> pd.DataFrame:
    """One copy of every row per speed factor (Kaldi/ESPnet 3-way: ``[0.9, 1.0, 1.1]``).

    Factor 1.0 keeps the original id; others prefix it ``sp<factor>-`` and prefix the
    speaker the same way, as Kaldi does, since a perturbed voice is another voice. The
    ``speed`` column tells :class:`AudioDataset` how to resample each copy.
    """
    factors = [float(f) for f in factors]
    if not factors:
        return df
    bad = [f for f in factors if not 0.5 <= f <= 2.0]
    if bad or len(set(factors)) != len(factors):
        raise ValueError(f"speed perturbation factors must be distinct and in [0.5, 2], got {factors}")
    copies = []
    for f in factors:
        c = df.copy()
        if f != 1.0:
            c["id"] = f"sp{f:g}-" + c["id"]
            if "speaker" in c.columns:
                c["speaker"] = f"sp{f:g}-" + c["speaker"].astype(str)
        c["speed"] = f * (c["speed"].to_numpy(float) if "speed" in c.columns else 1.0)
        copies.append(c)
    return pd.concat(copies, ignore_index=True)


def training_manifest(path: str | Path, speeds) -> pd.DataFrame:
    """A training manifest with its speed-perturbed copies (config key ``data.speed_perturb``)."""
    df = read_manifest(path)
    try:
        return speed_perturb(df, speeds)
    except ValueError as e:
        raise ConfigError(f"data.speed_perturb: {e}") from None


def output_sizes(df: pd.DataFrame, sample_rate: int) -> np.ndarray:
    """Samples per row at ``sample_rate`` after any resampling and speed perturbation (``read_audio``
    resamples from ``round(file rate x speed)``): torchaudio's length, ``ceil(n * new / old)``."""
    rates = df["sample_rate"].to_numpy(np.int64)
    if "speed" in df.columns:
        rates = np.rint(rates * df["speed"].to_numpy(np.float64)).astype(np.int64)
    return -(-df["num_samples"].to_numpy(np.int64) * sample_rate // rates)


def check_length_filters(ds: AudioDataset, split: str, max_tokens: int | None = None,
                         log: Callable[[str], None] | None = None) -> None:
    """Log how many utterances each length filter of the data config (``data.min_sample_size``,
    ``data.max_sample_size``) left out of ``ds``, the ``split`` set, with a few of their ids; a
    :class:`ConfigError` naming the filters when nothing is left, or when an utterance is longer than
    ``max_tokens`` (``trainer.max_tokens``: a batch must hold the longest utterance)."""
    name = ds.source or "manifest"
    if ds.num_rows == 0:
        raise ConfigError(f"{name}: the {split} manifest lists no utterances; give a manifest with some "
                          "(asrkit manifest summary shows what each holds)")
    values = {"min_sample_size": ds.min_sample_size, "max_sample_size": ds.max_sample_size}
    removed = {key: ids for key, ids in ds.filtered.items() if ids}
    seconds = lambda n: f"{n / ds.sample_rate:.2f} s"  # noqa: E731
    shortest, longest = ds._length_range
    if len(ds) == 0:
        parts = ", ".join(f"data.{key}={values[key]} ({seconds(values[key])}) removes {len(ids)}"
                          for key, ids in removed.items())
        raise ConfigError(
            f"{name}: no {split} utterance is left after the length filters: {parts} of {ds.num_rows}; its "
            f"utterances have {shortest} to {longest} samples ({seconds(shortest)} to {seconds(longest)}): "
            + " or ".join(("lower data.min_sample_size" if key == "min_sample_size" else "raise data.max_sample_size")
                          for key in removed))
    if log is not None:
        for key, ids in removed.items():
            kind = "shorter" if key == "min_sample_size" else "longer"
            more = ", ..." if len(ids) > 5 else ""
            log(f"{name}: data.{key}={values[key]} ({seconds(values[key])}) left out {len(ids)} of {ds.num_rows} "
                f"{split} utterances ({kind}): {', '.join(ids[:5])}{more}")
    if max_tokens is not None and int(ds.sizes.max()) > max_tokens:
        i = int(np.argmax(ds.sizes))
        raise ConfigError(
            f"{name}: {split} utterance {str(ds.ids[i])!r} has {int(ds.sizes[i])} samples, more than "
            f"trainer.max_tokens={max_tokens} (the samples of one batch): raise trainer.max_tokens"
            + (" or lower data.max_sample_size" if ds.max_sample_size is not None else ""))


@dataclass(frozen=True)
class LabelledDataConfig:
    """The data config of training on labelled audio, shared by fine-tuning's and mid-training's
    (``asrkit.train.finetune``, ``asrkit.train.midtrain``): each subclass declares the defaults of its manifests,
    its own fields (its tokenizers) and any other default, and says in ``min_above_max`` what a
    ``min_sample_size`` above ``max_sample_size`` would leave out. Read by :func:`labelled_datasets`."""

    train_manifest: str
    valid_manifest: str  # "" = no validation set
    # sample_rate and normalize are written into the encoder config (and so into every checkpoint);
    # sample_rate must be the pre-trained encoder's
    sample_rate: int = SAMPLE_RATE
    normalize: bool = False  # waveform normalisation: must match pre-training (fairseq task.normalize)
    max_sample_size: int = 560_000  # longer utterances are skipped (35 s; fairseq max_sample_size)
    min_sample_size: int = 0
    skip_bad: bool = False  # unreadable audio is logged and dropped instead of stopping the run
    # Training set only: a copy of every utterance at each speed (Kaldi/ESPnet 3-way speed
    # perturbation: [0.9, 1.0, 1.1]); () = off. Tempo, pitch and formants scale together.
    speed_perturb: tuple[float, ...] = ()
    # Training set only: random rooms, noise, mic EQ, level and telephone channel (asrkit.data.augment)
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    min_above_max: ClassVar[str] = "every utterance would be left out"

    def __post_init__(self) -> None:
        check_ranges(self, sample_rate=">= 1", max_sample_size=">= 1", min_sample_size=">= 0",
                     speed_perturb=SPEED_RANGE)
        if self.min_sample_size > self.max_sample_size:
            raise field_error(self, "min_sample_size", f"{self.min_sample_size} is above max_sample_size "
                              f"({self.max_sample_size}): {self.min_above_max}")
        check_speed_factors(self)


def labelled_datasets(cfg: LabelledDataConfig, check: Callable[[pd.DataFrame, str], tuple[np.ndarray, list]],
                      build: Callable[[pd.DataFrame, str, bool], AudioDataset], purpose: str, *, unusable: str = "",
                      max_tokens: int | None = None, log: Callable[[str], None] | None = None
                      ) -> tuple[AudioDataset, AudioDataset | None]:
    """The training and validation sets (None without ``cfg.valid_manifest``) of the utterances a task can learn.

    Each manifest is read (the training one with its speed-perturbed copies: ``data.speed_perturb``) and refused
    when empty; ``check(df, path)`` gives the rows to keep and ``(id, why)`` for each left out, which are logged
    (``unusable`` follows "utterances" in the line, e.g. " CTC cannot use"); a set with nothing to keep is a
    :class:`ConfigError` (no utterance usable for ``purpose``). ``build(rows, path, train)`` makes the dataset,
    whose length filters :func:`check_length_filters` then reports; a training set gets ``cfg.augment``."""

    def dataset(path: str, train: bool) -> AudioDataset:
        split = "training" if train else "validation"
        df = training_manifest(path, cfg.speed_perturb) if train else read_manifest(path)
        if len(df) == 0:
            raise ConfigError(f"{path}: the {split} manifest lists no utterances; give a manifest with some")
        keep, problems = check(df, path)
        if problems and log is not None:
            log(f"[yellow]{path}: skipping {len(problems)} of {len(df)} {split} utterances{unusable}:")
            for utt, why in problems[:20]:
                log(f"  {utt}: {why}")
        if not keep.any():
            raise ConfigError(f"{path}: no {split} utterance usable for {purpose} ({problems[0][1]})")
        ds = build(df[keep].reset_index(drop=True), path, train)
        check_length_filters(ds, split, max_tokens, log)
        return ds

    return dataset(cfg.train_manifest, True), dataset(cfg.valid_manifest, False) if cfg.valid_manifest else None


class AudioDataset(Dataset):
    """Utterances of a manifest as float waveforms ``(T,)``, batched by :meth:`collate`.

    Args:
        manifest: a manifest DataFrame (audio paths absolute) or the path of its TSV.
        sample_rate: rate the model expects (fairseq ``task.sample_rate``).
        resample: resample files at another rate; off, such a file is an error.
        normalize: zero mean, unit variance per utterance (wav2vec 2.0 §2; fairseq
            ``task.normalize``). Applied to the audio as cropped.
        max_sample_size: longer utterances are cropped to this many samples (fairseq
            ``task.max_sample_size``); with ``labels`` they are skipped instead, since a
            crop would cut the transcript.
        min_sample_size: shorter utterances are skipped (fairseq ``task.min_sample_size``).
        crop: ``"random"`` (training) or ``"start"`` (deterministic, for evaluation).
        seed: with the epoch and index, picks random crops.
        labels: turns an utterance's ``text`` into token ids (a tokenizer's ``encode``).
        pad_to_batch_max: pad batches to their longest utterance; False crops them to the
            shortest instead (pre-training, fairseq ``pad=False``).
        pad_id: fills ``target`` past each ``target_lengths``.
        source: the manifest file, named in errors (with the line of the utterance); by default
            ``manifest`` when it is a path.
        augment: recording conditions simulated on each item as loaded, before ``normalize``
            (:func:`asrkit.data.augment.apply_augment`), drawn from ``(seed, epoch, index)``; babble is
            made of 3-6 other utterances of this dataset. For training sets only.

    Attributes:
        sizes: ``(U,)`` samples per kept utterance after cropping, for the batch sampler.
        ids: ``(U,)`` utterance ids of kept utterances.
        skipped: id -> reason for each manifest row left out.
        filtered: ``{"min_sample_size": ids, "max_sample_size": ids}``, the rows each length filter
            left out (:func:`check_length_filters` reports them).
        num_rows: rows of the manifest, before the filters.
    """

    def __init__(
        self,
        manifest: pd.DataFrame | str | Path,
        *,
        sample_rate: int = SAMPLE_RATE,
        resample: bool = False,
        normalize: bool = False,
        max_sample_size: int | None = None,
        min_sample_size: int = 0,
        crop: str = "random",
        seed: int = 0,
        labels: Callable[[str], list[int]] | None = None,
        pad_to_batch_max: bool = True,
        pad_id: int = 0,
        skip_bad: bool = False,
        source: str | Path | None = None,
        augment: AugmentConfig | None = None,
    ) -> None:
        if crop not in CROPS:
            raise ValueError(f"crop must be one of {', '.join(CROPS)}, got {crop!r}")
        if seed < 0:
            raise ValueError(f"seed must be non-negative, got {seed}")
        if max_sample_size is not None and max_sample_size < 1:
            raise ValueError(f"max_sample_size must be positive, got {max_sample_size}")
        if labels is not None and not pad_to_batch_max:
            raise ValueError(
                "pad_to_batch_max=False crops each batch to its shortest utterance, which would "
                "cut transcripts; use it for pre-training only (no labels)"
            )
        df = manifest if isinstance(manifest, pd.DataFrame) else read_manifest(manifest)
        self.source = str(source) if source is not None else "" if isinstance(manifest, pd.DataFrame) else str(manifest)
        rates = df["sample_rate"].to_numpy(np.int64)
        if not resample and (rates != sample_rate).any():
            bad = int(np.flatnonzero(rates != sample_rate)[0])
            where = f"{self.source}: " if self.source else ""
            raise AudioError(
                f"{where}utterance {df['id'].iloc[bad]!r} ({df['audio'].iloc[bad]}) is at {rates[bad]} Hz, "
                f"expected {sample_rate} Hz ({int((rates != sample_rate).sum())} such); "
                + resampling_advice(int(rates[bad]), sample_rate)
            )
        file_sizes = df["num_samples"].to_numpy(np.int64)
        full = output_sizes(df, sample_rate)
        keep = full >= min_sample_size
        skipped = {i: f"{n} samples < min_sample_size={min_sample_size}"
                   for i, n in zip(df["id"][~keep], full[~keep])}
        self.filtered: dict[str, list[str]] = {"min_sample_size": list(df["id"][~keep])}
        if labels is not None and max_sample_size is not None:
            long = keep & (full > max_sample_size)
            skipped |= {i: f"{n} samples > max_sample_size={max_sample_size}, has labels"
                        for i, n in zip(df["id"][long], full[long])}
            self.filtered["max_sample_size"] = list(df["id"][long])
            keep &= ~long
        self.skipped: dict[str, str] = skipped
        self.num_rows = len(df)
        self.min_sample_size = min_sample_size
        self._length_range = (int(full.min()), int(full.max())) if len(full) else (0, 0)

        # numpy arrays, not lists of str: DataLoader workers then share them without copying
        self.ids = np.asarray(df["id"].to_numpy()[keep], dtype=str)
        self._audio = np.asarray(df["audio"].to_numpy()[keep], dtype=str)
        offsets = df["offset"].to_numpy(np.int64) if "offset" in df.columns else np.zeros(len(df), np.int64)
        self._offsets = offsets[keep]
        self._file_sizes = file_sizes[keep]
        self._rates = rates[keep]
        self._speeds = df["speed"].to_numpy(np.float64)[keep] if "speed" in df.columns else np.ones(int(keep.sum()))
        self._full_sizes = full[keep]
        self._texts = np.asarray(df["text"].to_numpy()[keep], dtype=str) if labels is not None else None
        self.sizes = (
            self._full_sizes if max_sample_size is None else np.minimum(self._full_sizes, max_sample_size)
        )

        self.sample_rate = sample_rate
        self.resample = resample
        self.normalize = normalize
        self.max_sample_size = max_sample_size
        self.crop = crop
        self.seed = seed
        self.labels = labels
        self.pad_to_batch_max = pad_to_batch_max
        self.pad_id = pad_id
        self.skip_bad = skip_bad  # unreadable audio: drop the utterance from its batch instead of raising
        self.augment = augment if augment is not None and augment.enabled else None
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Draw this epoch's random crops. Call it before iterating a DataLoader: workers get
        a copy of the dataset when the iterator is made (and keep it with persistent_workers)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.ids)

    def _crop_start(self, excess: int, index: int, stream: int) -> int:
        if excess <= 0 or self.crop == "start":
            return 0
        rng = np.random.default_rng((self.seed, self.epoch, index, stream))
        return int(rng.integers(0, excess + 1))

    def _stale(self, index: int, got: int, expected: int) -> AudioError:
        return AudioError(
            f"{self._audio[index]}: read {got} samples, the manifest implies {expected}; the audio changed "
            "since the manifest was made, regenerate it"
        )

    def _where(self, index: int) -> str:
        """``manifest:line: utterance 'id'``, as far as known."""
        utt = str(self.ids[index])
        if not self.source:
            return f"utterance {utt!r}"
        line = manifest_line(self.source, re.sub(r"^(sp[0-9.]+-)+", "", utt))
        return f"{self.source}{f':{line}' if line else ''}: utterance {utt!r}"

    def _mismatch(self, index: int) -> str | None:
        """Why the file does not match its manifest line (another rate, fewer samples), or None."""
        path = str(self._audio[index])
        if audio_file_problem(path) is not None:
            return None
        try:
            info = sf.info(path)
        except (sf.LibsndfileError, RuntimeError, OSError):
            return None
        rate, end = int(self._rates[index]), int(self._offsets[index] + self._file_sizes[index])
        if info.samplerate == rate and info.frames >= end:
            return None
        return (f"{path} is {info.samplerate} Hz and {info.frames} samples long, but its manifest line says "
                f"{rate} Hz and {end} samples: the file is not the one the manifest was made from; regenerate "
                f"the manifest from the audio as it is now, or put the original file back")

    def _load(self, index: int) -> torch.Tensor:
        """The utterance's audio at ``sample_rate``, cropped to ``sizes[index]``; an error names the manifest
        line and the utterance."""
        try:
            return self._read(index)
        except AudioError as e:
            raise AudioError(f"{self._where(index)}: {self._mismatch(index) or e}") from None

    def _read(self, index: int) -> torch.Tensor:
        path, offset = str(self._audio[index]), int(self._offsets[index])
        full, size = int(self._full_sizes[index]), int(self.sizes[index])
        start = self._crop_start(full - size, index, _ITEM_CROP)
        speed = float(self._speeds[index])
        if self._rates[index] == self.sample_rate and speed == 1.0:  # read only the crop
            wav = read_audio(path, sample_rate=self.sample_rate, offset=offset + start, num_frames=size)
            if len(wav) != size:
                raise self._stale(index, len(wav), size)
            return wav
        wav = read_audio(
            path, sample_rate=self.sample_rate, offset=offset, num_frames=int(self._file_sizes[index]),
            resample=self.resample, speed=speed,
        )
        # torchaudio rounds the output length in float32: allow that, nothing more
        if abs(len(wav) - full) > 1 + full // 1_000_000:
            raise self._stale(index, len(wav), full)
        wav = torch.nn.functional.pad(wav[:full], (0, max(0, full - len(wav))))
        return wav[start : start + size]

    def __getitem__(self, index: int) -> dict:
        try:
            wav = self._load(index)
        except AudioError as e:
            if not self.skip_bad:
                raise
            return {"index": index, "id": str(self.ids[index]), "error": str(e)}
        if self.augment is not None:
            wav = self._augment(wav, index)
        if self.normalize:
            wav = normalize_waveform(wav)
        item = {"index": index, "id": str(self.ids[index]), "source": wav}
        if self.labels is not None:
            item["target"] = torch.as_tensor(self.labels(str(self._texts[index])), dtype=torch.long)
        return item

    def _augment(self, wav: torch.Tensor, index: int) -> torch.Tensor:
        """``wav`` under this epoch's random recording conditions for ``index``: the same for a re-run epoch."""
        rng = np.random.default_rng((self.seed, self.epoch, index, _AUGMENT))

        def talkers(rng: np.random.Generator, k: int) -> list[np.ndarray]:
            others = rng.choice(len(self) - 1, size=min(k, len(self) - 1), replace=False) if len(self) > 1 else []
            out = []
            for j in others:
                try:
                    out.append(self._load(int(j) + (j >= index)).numpy())
                except AudioError:
                    if not self.skip_bad:
                        raise
            return out

        y, _ = apply_augment(wav.numpy(), self.sample_rate, self.augment, rng, talkers)
        return torch.from_numpy(y)

    def collate(self, items: list[dict]) -> dict:
        """Batch items into ``source`` ``(N, T)``, ``padding_mask`` ``(N, T)`` (True at
        padding), ``lengths`` ``(N,)``, ``ids``; with labels also ``target`` ``(N, L)``
        filled with ``pad_id`` past ``target_lengths`` ``(N,)``."""
        skipped = [(it["id"], it["error"]) for it in items if "error" in it]
        items = [it for it in items if "error" not in it]
        n = len(items)
        lengths = torch.tensor([len(it["source"]) for it in items], dtype=torch.long)
        if self.pad_to_batch_max:
            t = int(lengths.max()) if n else 0
            source = torch.zeros(n, t)
            for i, it in enumerate(items):
                source[i, : len(it["source"])] = it["source"]
        else:
            t = int(lengths.min()) if n else 0
            source = torch.empty(n, t)
            for i, it in enumerate(items):
                start = self._crop_start(len(it["source"]) - t, it["index"], _BATCH_CROP)
                source[i] = it["source"][start : start + t]
            lengths = torch.full((n,), t, dtype=torch.long)
        batch = {
            "ids": [it["id"] for it in items],
            "source": source,
            "padding_mask": torch.arange(t)[None, :] >= lengths[:, None],
            "lengths": lengths,
            "skipped": skipped,  # (id, reason) of unreadable utterances dropped under skip_bad
        }
        if self.labels is not None:
            target_lengths = torch.tensor([len(it["target"]) for it in items], dtype=torch.long)
            target = torch.full((n, int(target_lengths.max()) if n else 0), self.pad_id, dtype=torch.long)
            for i, it in enumerate(items):
                target[i, : len(it["target"])] = it["target"]
            batch["target"] = target
            batch["target_lengths"] = target_lengths
        return batch
