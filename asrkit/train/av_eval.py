"""What an audio-visual pre-training checkpoint learned, measured on held-out clips (``asrkit eval-av``).

- **MAE**: the reconstruction loss of the masked audio and video tokens, next to the loss of predicting each
  masked token by the mean of its clip's visible tokens (``objectives.mae.mean_baseline_loss``): a model that
  learned nothing about the signal does no better than that reference. Masks are drawn from ``seed``.
- **CLR retrieval**: audio->video and video->audio top-1 accuracy of the clip embeddings in batches of
  ``batch_size`` clips (32; chance 1/32), drawn in a seeded random order; and within **same-speaker batches**
  (every candidate shows the same face, so appearance cannot give the answer away: only the lips can).
- **Sync test**: a window of ``sync_window_seconds`` of video starting ``shift`` into the clip (``shift_seconds``
  rounded to whole frames, 0.48 s at 25 fps), and three audio windows of the same length starting at the video's
  instant, ``shift`` earlier and ``shift`` later: all three are unedited excerpts of the utterance, so only their
  timing against the lips differs (a shift past the clip's ends, or a circular one, would leave an edge in the
  audio that the audio alone could give away). Clips shorter than the window plus two shifts are left out (their
  count is reported). Accuracy = the fraction of clips whose true alignment beats both shifts; chance 1/3.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..checkpoint import load_model
from ..config import ConfigError
from ..data.av import AVDataset
from ..models.av import AudioVisualModel
from ..objectives.av_contrastive import batched_retrieval_top1, paired_similarity, sync_accuracy
from ..objectives.mae import mae_objective, random_token_mask
from ..precision import autocast, resolve_precision


@dataclass(frozen=True)
class AVEvalOptions:
    batch_size: int = 32  # clips per retrieval batch (the protocol; chance 1 / batch_size)
    shift_seconds: float = 0.5  # audio shift of the sync test (rounded to whole video frames)
    sync_window_seconds: float = 1.28  # the sync test's window: short enough that most clips hold it and 2 shifts
    audio_mask_ratio: float = 0.6  # MAE masks (paper §3.4: 60 %)
    video_mask_ratio: float = 0.6
    seed: int = 0  # masks and the order of the retrieval batches
    frame_stride: int | None = None  # video frame stride; None: the checkpoint's pre-training data config's
    precision: str = "fp32"
    device: str = "cpu"


def _batches(n: int, size: int):
    for start in range(0, n, size):
        yield list(range(start, min(n, start + size)))


@torch.no_grad()
def evaluate_av(checkpoint: str | Path, manifest: str | Path, options: AVEvalOptions = AVEvalOptions(),
                progress=None) -> dict[str, float]:
    """The measures of the module docstring for ``checkpoint`` on ``manifest`` (validation clips: the start of each
    utterance, centre crops). Keys: ``clips``, ``mae_audio``, ``mae_audio_baseline``, ``mae_video``,
    ``mae_video_baseline``, ``a2v_top1``, ``v2a_top1``, ``chance``, ``same_speaker_a2v_top1``,
    ``same_speaker_v2a_top1``, ``same_speaker_chance``, ``sync_accuracy`` (the ones the model can give)."""
    model, ckpt = load_model(checkpoint, kinds=("pretrain",), device=options.device)
    if not isinstance(model, AudioVisualModel):
        raise ConfigError(f"{checkpoint}: not an audio-visual pre-training checkpoint (asrkit pretrain with "
                          "objective mae, clr or mae_clr)")
    cfg = ckpt.model_config
    stride = options.frame_stride or int((ckpt.task.get("data") or {}).get("frame_stride", 4))
    ds = AVDataset(manifest, sample_rate=cfg.sample_rate, max_frames=cfg.max_frames, num_frames=cfg.num_frames,
                   frame_stride=stride, crop_size=cfg.image_size, train=False, flip=False,
                   use_video=cfg.use_video, seed=options.seed)
    if len(ds) == 0:
        raise ConfigError(f"{manifest}: lists no usable clips")
    device = torch.device(options.device)
    amp = autocast(resolve_precision(options.precision, device), device)
    gen = torch.Generator(device=device).manual_seed(options.seed)
    # what a checkpoint was not trained for is not measured: the CLR projections or the decoder are untrained
    objective = str(ckpt.task.get("objective", "mae_clr"))
    has_clr = cfg.use_video and model.video_encoder is not None and "clr" in objective
    # the decoder of a checkpoint trained without MAE is untrained; frame tokens have no pixel targets
    has_mae = "mae" in objective and not (cfg.use_video and cfg.video_tokens == "frame")
    sums: dict[str, float] = {}
    weights: dict[str, float] = {}
    audio_emb, video_emb = [], []
    for idx in _batches(len(ds), options.batch_size):
        batch = ds.collate([ds[i] for i in idx])
        source, padding = batch["source"].to(device), batch["padding_mask"].to(device)
        video = batch["video"].to(device) if cfg.use_video else None
        n = source.size(0)
        with amp:
            if has_mae:
                tokens = model.num_audio_tokens(model.audio_frame_lengths(batch["lengths"].to(device)))
                audio_mask = random_token_mask(tokens, int(tokens.max()), options.audio_mask_ratio, gen)
                video_mask = None
                if video is not None:
                    lv = model.num_video_tokens
                    video_mask = random_token_mask(torch.full((n,), lv, device=device), lv,
                                                   options.video_mask_ratio, gen)
                _, stats = mae_objective(model(source, padding, video, objective="mae", audio_mask=audio_mask,
                                               video_mask=video_mask).mae)
                for key in ("mae_audio", "mae_audio_baseline", "mae_video", "mae_video_baseline"):
                    if key in stats:
                        sums[key] = sums.get(key, 0.0) + float(stats[key]) * n
                        weights[key] = weights.get(key, 0.0) + n
            if has_clr:
                a, v, _ = model.clr(source, padding, video)
                audio_emb.append(a.float().cpu())
                video_emb.append(v.float().cpu())
        if progress is not None:
            progress("clips", n, len(ds))
    out: dict[str, float] = {"clips": float(len(ds))}
    out.update({k: sums[k] / weights[k] for k in sums})
    if has_clr:
        a, v = torch.cat(audio_emb), torch.cat(video_emb)
        order = torch.from_numpy(np.random.default_rng(options.seed).permutation(len(a)))
        r = batched_retrieval_top1(a[order], v[order], batch_size=options.batch_size)
        out.update(a2v_top1=r["a2v_top1"], v2a_top1=r["v2a_top1"], chance=r["chance"])
        _, speaker_index = np.unique(ds.speakers, return_inverse=True)
        same = batched_retrieval_top1(a, v, batch_size=options.batch_size, groups=torch.from_numpy(speaker_index))
        if same["num"] > 0:  # Kinetics has no speakers: a clip per "speaker" leaves no batch to retrieve in
            out.update(same_speaker_a2v_top1=same["a2v_top1"], same_speaker_v2a_top1=same["v2a_top1"],
                       same_speaker_chance=same["chance"])
        with amp:
            true, shifted = _sync_scores(model, ds, options, device)
        out["sync_clips"] = float(len(true))
        if len(true):
            out["sync_accuracy"] = sync_accuracy(true, shifted)
    return out


def _sync_scores(model: AudioVisualModel, ds: AVDataset, options: AVEvalOptions, device: torch.device
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """The sync test (module docstring): ``(M,)`` true-alignment similarities and ``(M, 2)`` shifted ones for the M
    clips long enough. The windows are ``AVDataset``'s time-shifted negatives in validation: the video and its
    audio start ``shift`` into the clip, the negatives ``shift`` earlier and later, clips without room left out."""
    stride = ds.frame_stride
    frames = max(2, int(round(options.sync_window_seconds * 25 / stride)))  # video frames at the stride (25 fps)
    if model.cfg.video_tokens == "tubelet":
        frames += frames % model.cfg.video_patch_time
    window = AVDataset(ds.source, sample_rate=ds.sample_rate, max_frames=int(round(frames * stride / 25 * 100)),
                       num_frames=frames, frame_stride=stride, crop_size=ds.crop_size, train=False, flip=False,
                       negative_shift_seconds=options.shift_seconds)
    true, shifted = [], []
    for idx in _batches(len(window), options.batch_size):
        batch = window.collate([window[i] for i in idx])
        n = len(idx)
        v = model.video_embedding(batch["video"].to(device)).float()
        audio = model.audio_embedding(torch.cat([batch["source"], batch["shifted_source"]]).to(device), None)
        sims = paired_similarity(audio.float(), v.repeat(3, 1)).cpu().view(3, n)  # true, earlier, later
        true.append(sims[0])
        shifted.append(sims[1:].T)
    if not true:
        return torch.zeros(0), torch.zeros(0, 2)
    return torch.cat(true), torch.cat(shifted)


def measures_table(result: dict[str, float], batch_size: int = 32) -> list[tuple[str, float, str]]:
    """``(measure, value, reference)`` rows of an ``evaluate_av`` result, each with what it is compared to."""
    rows = []
    for modality in ("audio", "video"):
        if f"mae_{modality}" in result:
            rows.append((f"MAE {modality} loss (masked tokens)", result[f"mae_{modality}"],
                         f"mean of visible tokens: {result[f'mae_{modality}_baseline']:.4g}"))
    if "a2v_top1" in result:
        chance = f"chance {result['chance']:.3f} (batches of {batch_size})"
        rows += [("audio->video top-1", result["a2v_top1"], chance), ("video->audio top-1", result["v2a_top1"], chance)]
        if "same_speaker_a2v_top1" in result:
            chance = f"chance {result['same_speaker_chance']:.3f} (same-speaker batches)"
            rows += [("audio->video top-1, same speaker", result["same_speaker_a2v_top1"], chance),
                     ("video->audio top-1, same speaker", result["same_speaker_v2a_top1"], chance)]
        if "sync_accuracy" in result:
            rows.append(("sync: true alignment beats +-shift", result["sync_accuracy"],
                         f"chance 0.333 ({int(result['sync_clips'])} clips long enough)"))
    return rows
