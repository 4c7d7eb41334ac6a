"""What an audio-visual pre-training checkpoint learned, measured on held-out clips (``asrkit eval-av``).

- **MAE**: the reconstruction loss of the masked audio and video tokens, next to the loss of predicting each
  masked token by the mean of its clip's visible tokens (``objectives.mae.mean_baseline_loss``): a model that
  learned nothing about the signal does no better than that reference. Masks are drawn from ``seed``.
- **CLR retrieval**: audio->video and video->audio top-1 accuracy of the clip embeddings in batches of
  ``batch_size`` clips (32; chance 1/32), drawn in a seeded random order; and within **same-speaker batches**
  (every candidate shows the same face, so appearance cannot give the answer away: only the lips can).
- **Sync test**: each clip's embedding similarity at the true alignment against the same audio shifted by
  ``+-shift_seconds`` (0.5 s). The shift is circular over the clip's valid samples, so both versions hold the same
  speech and only its timing against the lips differs (a plain shift would also change how much speech the window
  holds). Accuracy = the fraction of clips whose true alignment beats both shifts; chance 1/3.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..checkpoint import load_model
from ..config import ConfigError
from ..data.av import AVDataset, roll_valid
from ..models.av import AudioVisualModel
from ..objectives.av_contrastive import batched_retrieval_top1, paired_similarity, sync_accuracy
from ..objectives.mae import mae_objective, random_token_mask
from ..precision import autocast, resolve_precision


@dataclass(frozen=True)
class AVEvalOptions:
    batch_size: int = 32  # clips per retrieval batch (the protocol; chance 1 / batch_size)
    shift_seconds: float = 0.5  # audio shift of the sync test
    audio_mask_ratio: float = 0.6  # MAE masks (paper §3.4: 60 %)
    video_mask_ratio: float = 0.6
    seed: int = 0  # masks and the order of the retrieval batches
    frame_stride: int = 4  # as the pre-training data config
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
    ds = AVDataset(manifest, sample_rate=cfg.sample_rate, max_frames=cfg.max_frames, num_frames=cfg.num_frames,
                   frame_stride=options.frame_stride, crop_size=cfg.image_size, train=False, flip=False,
                   use_video=cfg.use_video, seed=options.seed)
    if len(ds) == 0:
        raise ConfigError(f"{manifest}: lists no usable clips")
    device = torch.device(options.device)
    amp = autocast(resolve_precision(options.precision, device), device)
    gen = torch.Generator(device=device).manual_seed(options.seed)
    # the CLR projections of a checkpoint trained without CLR are untrained: no retrieval to report
    has_clr = cfg.use_video and model.video_encoder is not None and "clr" in str(ckpt.task.get("objective", "clr"))
    has_mae = not (cfg.use_video and cfg.video_tokens == "frame")  # frame tokens have no pixel targets
    sums: dict[str, float] = {}
    weights: dict[str, float] = {}
    audio_emb, video_emb, shifted = [], [], []
    shift = int(round(options.shift_seconds * cfg.sample_rate))
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
                rolled = [model.clr(roll_valid(source, batch["lengths"].to(device), s), padding, video)[0]
                          for s in (shift, -shift)]
                shifted.append(torch.stack([paired_similarity(r.float().cpu(), v.float().cpu()) for r in rolled], 1))
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
        out["sync_accuracy"] = sync_accuracy(paired_similarity(a, v), torch.cat(shifted))
    return out


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
        rows.append(("sync: true alignment beats +-shift", result["sync_accuracy"], "chance 0.333"))
    return rows
