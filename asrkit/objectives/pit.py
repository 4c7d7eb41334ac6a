"""Permutation-invariant BCE for end-to-end neural diarization (EEND, Fujita et al., 2019, §3.2; SUPERB SD).

A diarization head emits, per frame, one logit per output channel; which channel speaks for which reference
speaker is arbitrary, so each utterance is scored under the assignment of channels to speakers that fits it best.
This is EEND's ``pit_loss`` / ``batch_pit_loss`` (hitachi-speech/EEND ``eend/chainer_backend/models.py``), as
s3prl ``downstream/diarization`` uses it, with two things made explicit:

- All S! permutations are tried (S = 2 in SUPERB's Libri2Mix task), and the chosen one is returned.
- The loss is a *sum* over utterances of the minimum BCE summed over valid frames and speakers; EEND divides
  that by the frame count of the batch (and its per-utterance term carries a factor 1/S); the per frame-speaker
  mean is the ``loss`` stat here, so whichever normalisation a trainer wants is one division away.

A permutation ``perm`` (shape ``(S,)``) compares output channel ``j`` with reference speaker ``perm[j]``:
the labels the outputs are scored against are ``labels[..., perm]`` (EEND permutes the labels, not the
outputs), see :func:`permute_labels`. Padding frames (``t >= length``) count nowhere and get zero gradient,
whatever their values (NaN included).
"""
from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import Tensor


def all_permutations(num_speakers: int, device: torch.device | None = None) -> Tensor:
    """``(S!, S)`` long: every permutation of ``range(S)``, in ``itertools.permutations`` order (identity first)."""
    return torch.tensor(list(itertools.permutations(range(num_speakers))), dtype=torch.long,
                        device=device).reshape(-1, num_speakers)


def valid_frames(lengths: Tensor, max_len: int) -> Tensor:
    """``(N, T)`` bool, True at real frames (``t < lengths[n]``)."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def pit_bce_loss(logits: Tensor, labels: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
    """Permutation-invariant binary cross-entropy, summed.

    Args:
        logits: ``(N, T, S)`` pre-sigmoid speaker activities; computed in fp32.
        labels: ``(N, T, S)`` reference activities, 0./1. floats.
        lengths: ``(N,)`` valid frames per utterance (``<= T``).

    Returns:
        ``(loss, perms, stats)``: ``loss`` is the 0-dim sum over utterances of
        ``min_perm sum_{t < length, j} BCE(logits[n, t, j], labels[n, t, perm[j]])``; ``perms`` ``(N, S)`` long is
        each utterance's minimising permutation (the first in ``itertools.permutations`` order on a tie, so the
        identity when nothing distinguishes them); ``stats``: ``loss``, the same loss per valid frame-speaker
        (``loss / (sum(lengths) * S)``, 0 with no valid frame), and ``frames``, ``sum(lengths)``.
    """
    if logits.shape != labels.shape or logits.dim() != 3:
        raise ValueError(f"logits and labels must both be (N, T, S), got {tuple(logits.shape)} and "
                         f"{tuple(labels.shape)}")
    num, max_len, num_spk = logits.shape
    lengths = lengths.to(logits.device).long()
    if lengths.shape != (num,) or bool((lengths < 0).any()) or bool((lengths > max_len).any()):
        raise ValueError(f"lengths must be (N,) = ({num},) in [0, {max_len}], got {lengths.tolist()}")
    valid = valid_frames(lengths, max_len)[..., None]  # (N, T, 1)
    # zero padding first: a NaN there would otherwise leak into the gradient through where()
    x = torch.where(valid, logits.float(), 0.0)
    y = torch.where(valid, labels.float(), 0.0)
    # cost[n, j, k]: BCE of output channel j against reference speaker k, summed over valid frames
    pair = F.binary_cross_entropy_with_logits(x[..., :, None].expand(-1, -1, -1, num_spk),
                                              y[..., None, :].expand(-1, -1, num_spk, -1), reduction="none")
    cost = torch.where(valid[..., None], pair, 0.0).sum(dim=1)  # (N, S, S)
    table = all_permutations(num_spk, logits.device)  # (P, S)
    per_perm = cost[:, torch.arange(num_spk, device=logits.device), table].sum(dim=-1)  # (N, P)
    best, index = per_perm.min(dim=1)
    loss = best.sum()
    frames = lengths.sum()
    mean = loss.detach() / (frames * num_spk).clamp(min=1)
    return loss, table[index], {"loss": mean, "frames": frames}


def permute_labels(labels: Tensor, perms: Tensor) -> Tensor:
    """``labels`` ``(N, T, S)`` reordered so channel ``j`` holds reference speaker ``perms[n, j]`` (``perms``
    ``(N, S)`` from :func:`pit_bce_loss`): the targets the outputs were scored against."""
    return labels.gather(2, perms.to(labels.device)[:, None, :].expand(-1, labels.size(1), -1))
