"""Masked auto-encoding of audio and video tokens (Jain et al., 2024, §3.1 and §3.4; MAE, He et al., 2022).

- ``random_token_mask``: per utterance, ``round(ratio * length)`` valid tokens masked, drawn uniformly without
  replacement (MAE ``random_masking``: argsort of uniform noise), and the indices of the visible ones that the
  encoder sees (drop-style MAE, §3.4 "the remaining frames"). The paper masks 60 % of both modalities (§3.4; the
  audio ratio is blanked in the text but "shared" with the video's, notes §1.2).
- ``gather_tokens`` / ``scatter_tokens``: visible tokens out of a sequence, and back into it with a mask token
  everywhere else (the decoder's input).
- ``mae_loss``: squared L2 between reconstruction and target per token, averaged over the token's values, then
  over the masked valid tokens (CAV-MAE, MAE-ST; the paper's equation is stripped, notes §1.4), or over every
  valid token (option). ``norm_target`` is MAE's ``norm_pix_loss``.
- ``mean_baseline_loss``: the same loss when each utterance's counted tokens are predicted by the mean of its
  visible targets: the reference the MAE loss has to beat (issue 19, "Done when").
- ``mae_objective``: the audio and video terms of a model's ``MAEOutput``, weighted and logged separately.

Padding masks elsewhere in asrkit are True at padding; the ``valid`` masks of the losses here are True at real
tokens, as the model's ``MAEOutput.audio_valid``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor


@dataclass
class TokenMask:
    """Which tokens the encoder sees; shapes ``(N, L)`` over all tokens, ``(N, K)`` over the visible ones."""

    masked: Tensor        # (N, L) bool, True at masked tokens (never at padding)
    keep: Tensor          # (N, K) long, indices of the visible tokens in increasing order, padded with 0
    keep_padding: Tensor  # (N, K) bool, True where keep is padding (K = max visible count in the batch)


def random_token_mask(lengths: Tensor, max_len: int, ratio: float,
                      generator: torch.Generator | None = None) -> TokenMask:
    """Mask exactly ``round(ratio * length)`` of each utterance's valid tokens (at most ``length - 1``).

    The masked tokens are drawn uniformly without replacement from the first ``length`` positions: uniform noise
    is drawn for every position, padding is pushed to the end, and the ``round(ratio * length)`` positions of
    lowest noise are masked (MAE ``random_masking``, with the noise of padding set above every valid one). One
    visible token is always left so the encoder has something to see. Everything runs on ``lengths.device``
    (``generator`` must live there too); the only host sync is reading K, the batch's largest visible count.

    Args:
        lengths: ``(N,)`` long, valid tokens per utterance (``<= max_len``).
        max_len: L, the padded token count.
        ratio: masking ratio in [0, 1] (paper: 0.6 for audio and video, §3.4).
        generator: the source of randomness; the same generator state gives the same mask.
    """
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"mask ratio must be in [0, 1], got {ratio}")
    device = lengths.device
    lengths = lengths.long()
    num = lengths.size(0)
    pos = torch.arange(max_len, device=device)
    valid = pos[None, :] < lengths[:, None]
    # float64 rounding is half-to-even like Python's round(ratio * length)
    num_mask = torch.minimum(torch.round(lengths.double() * ratio).long(), lengths - 1).clamp(min=0)

    noise = torch.rand(num, max_len, generator=generator, device=device)
    noise = noise.masked_fill(~valid, 2.0)  # padding sorts after every valid position
    order = noise.argsort(dim=1)
    rank = torch.empty_like(order).scatter_(1, order, pos.expand(num, -1))
    masked = rank < num_mask[:, None]

    visible = valid & ~masked
    num_keep = lengths - num_mask
    width = int(num_keep.max()) if num > 0 else 0
    # a stable sort of "not visible" lists the visible positions first, in increasing order
    keep = (~visible).to(torch.uint8).sort(dim=1, stable=True).indices[:, :width]
    keep_padding = torch.arange(width, device=device)[None, :] >= num_keep[:, None]
    keep = keep.masked_fill(keep_padding, 0)
    return TokenMask(masked=masked, keep=keep, keep_padding=keep_padding)


def gather_tokens(x: Tensor, keep: Tensor) -> Tensor:
    """The visible tokens ``(N, K, C)`` of ``x`` ``(N, L, C)`` at ``keep`` ``(N, K)`` (padding rows hold token 0)."""
    return x.gather(1, keep[..., None].expand(-1, -1, x.size(-1)))


def scatter_tokens(visible: Tensor, mask: TokenMask, fill: Tensor) -> Tensor:
    """Put ``visible`` ``(N, K, C)`` back at ``mask.keep`` in an ``(N, L, C)`` sequence holding ``fill`` ``(C,)``
    (the mask token) at every other position, padding included. Differentiable in ``visible`` and ``fill``."""
    num, length = mask.masked.shape
    # padded keep entries are sent to an extra column that is dropped, so they cannot overwrite token 0
    index = mask.keep.masked_fill(mask.keep_padding, length)
    base = fill.to(visible.dtype).expand(num, length + 1, visible.size(-1))
    out = base.scatter(1, index[..., None].expand(-1, -1, visible.size(-1)), visible)
    return out[:, :length]


def normalize_target(target: Tensor, eps: float = 1e-6) -> Tensor:
    """Per-token mean/variance normalisation over the last dimension, MAE ``norm_pix_loss``:
    ``(t - mean) / sqrt(var + eps)`` with the unbiased variance, as MAE's ``target.var(dim=-1)``."""
    target = target.float()
    mean = target.mean(dim=-1, keepdim=True)
    var = target.var(dim=-1, keepdim=True)
    return (target - mean) / (var + eps).sqrt()


def _counted(masked: Tensor, valid: Tensor | None, masked_only: bool) -> Tensor:
    if valid is None:
        valid = torch.ones_like(masked)
    return valid & masked if masked_only else valid


def mae_loss(pred: Tensor, target: Tensor, masked: Tensor, valid: Tensor | None = None, *,
             masked_only: bool = True, norm_target: bool = False, eps: float = 1e-6,
             name: str = "mae") -> tuple[Tensor, dict[str, Tensor]]:
    """Squared L2 per token averaged over its P values, averaged over the counted tokens.

    Args:
        pred, target: ``(N, L, P)``; computed in fp32.
        masked: ``(N, L)`` bool, True at masked tokens.
        valid: ``(N, L)`` bool, True at real tokens (None: all are real, as for video).
        masked_only: count only masked valid tokens (CAV-MAE, MAE-ST); False counts every valid token.
        norm_target: normalise each target token by its own mean and variance (MAE ``norm_pix_loss``).
        eps: added to that variance.
        name: the stats' key prefix.

    Stats: ``<name>`` (the loss) and ``<name>_tokens`` (the counted tokens). With no counted token the loss is 0.
    """
    target = normalize_target(target, eps) if norm_target else target.float()
    per_token = (pred.float() - target).pow(2).mean(dim=-1)
    counted = _counted(masked, valid, masked_only)
    count = counted.sum()
    # where, not a product: a prediction at padding may be anything, NaN included
    loss = torch.where(counted, per_token, 0.0).sum() / count.clamp(min=1)
    return loss, {name: loss.detach(), f"{name}_tokens": count}


@torch.no_grad()
def mean_baseline_loss(target: Tensor, masked: Tensor, valid: Tensor | None = None, *,
                       masked_only: bool = True, norm_target: bool = False, eps: float = 1e-6,
                       name: str = "mae_baseline") -> tuple[Tensor, dict[str, Tensor]]:
    """``mae_loss`` of predicting every counted token of an utterance by the mean of that utterance's visible
    (valid, unmasked) targets, after the same target normalisation. An utterance without a visible token is
    predicted by 0. No gradient: this is a reference, reported next to the MAE loss (issue 19)."""
    target = normalize_target(target, eps) if norm_target else target.float()
    visible = _counted(~masked, valid, masked_only=True)
    weights = visible.to(target.dtype)[..., None]
    mean = (target * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)  # (N, P)
    pred = mean[:, None, :].expand_as(target)
    return mae_loss(pred, target, masked, valid, masked_only=masked_only, norm_target=False, name=name)


def mae_objective(out: Any, *, audio_weight: float = 1.0, video_weight: float = 1.0, masked_only: bool = True,
                  norm_target_audio: bool = False, norm_target_video: bool = False,
                  baseline: bool = True) -> tuple[Tensor, dict[str, Tensor]]:
    """L_MAE = audio_weight * L_audio + video_weight * L_video for a model's ``MAEOutput`` ``out``.

    ``out`` has ``audio_pred``, ``audio_target`` ``(N, La, 320)``, ``audio_valid``, ``audio_masked`` ``(N, La)``
    and ``video_pred`` ``(N, Lv, P)`` or None (audio-only MAE), ``video_target``, ``video_masked`` ``(N, Lv)``
    (every video token is real: clips have a fixed frame count).

    Weights 1 and 1: the paper sums the two terms (Fig. 1, notes §1.4), as CAV-MAE does; AV-MAE uses 0.5/0.5.
    ``norm_target_*`` default off: the paper compares against "the original input" (§3.1); CAV-MAE and MAE-ST
    turn ``norm_pix_loss`` on. Stats: ``mae_audio``, ``mae_video`` and their ``_tokens`` counts, ``mae`` (the
    weighted sum) and, with ``baseline``, ``mae_audio_baseline`` / ``mae_video_baseline`` (``mean_baseline_loss``).
    """
    kw = dict(masked_only=masked_only)
    loss, stats = mae_loss(out.audio_pred, out.audio_target, out.audio_masked, out.audio_valid,
                           norm_target=norm_target_audio, name="mae_audio", **kw)
    loss = audio_weight * loss
    if baseline:
        stats["mae_audio_baseline"] = mean_baseline_loss(out.audio_target, out.audio_masked, out.audio_valid,
                                                         norm_target=norm_target_audio, **kw)[0]
    if out.video_pred is not None:
        video, video_stats = mae_loss(out.video_pred, out.video_target, out.video_masked, None,
                                      norm_target=norm_target_video, name="mae_video", **kw)
        loss = loss + video_weight * video
        stats.update(video_stats)
        if baseline:
            stats["mae_video_baseline"] = mean_baseline_loss(out.video_target, out.video_masked, None,
                                                             norm_target=norm_target_video, **kw)[0]
    stats["mae"] = loss.detach()
    return loss, stats
