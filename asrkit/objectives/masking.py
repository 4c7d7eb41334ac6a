"""Span masking of the latent features (wav2vec 2.0 §3.1, §4.2 and Appendix A).

A proportion p of the time steps is sampled without replacement as starting indices and the
M steps from each start are masked; spans may overlap. This is fairseq ``compute_mask_indices``
with ``mask_selection="static"``, ``no_overlap=False``; the numbers of starts is
``int(mask_prob * T / M + u)``, u ~ U(0, 1), so fairseq's ``mask_prob`` is p * M: the paper's
p = 0.065 with M = 10 is ``mask_prob = 0.65``. For a 15 s input (T = 749) about 49% of the
frames end up masked, in spans of mean length 14.7 (Appendix A).

Randomness comes only from the ``numpy.random.Generator`` passed in, so a seeded generator
gives the same mask everywhere.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def compute_mask_indices(
    shape: tuple[int, int],
    padding_mask: Tensor | np.ndarray | None,
    mask_prob: float,
    mask_length: int,
    rng: np.random.Generator,
    *,
    min_masks: int = 0,
    require_same_masks: bool = True,
) -> Tensor:
    """Sample span masks.

    Args:
        shape: ``(N, T)``.
        padding_mask: ``(N, T)``, True at padding (right padding); masks never fall inside it.
        mask_prob: fairseq ``mask_prob`` = p * M (0.65 for the paper's p = 0.065, M = 10); the
            expected number of starts per utterance is ``mask_prob * T / mask_length``.
        mask_length: M, span length (fairseq ``mask_length``; 10).
        rng: the source of randomness.
        min_masks: at least this many starts per utterance (fairseq's model passes 2).
        require_same_masks: give every utterance the same number of masked frames by keeping a random
            subset of the larger masks, so targets stack into ``(N, T_masked, C)`` (fairseq
            ``require_same_masks``). Utterances too short to mask (0 or 1 frame) are left out of the count.

    Returns:
        ``(N, T)`` bool tensor, True at masked frames. At least one valid frame of each utterance
        stays unmasked.
    """
    bsz, all_sz = shape
    if padding_mask is not None:
        pad = padding_mask.cpu().numpy() if isinstance(padding_mask, Tensor) else np.asarray(padding_mask)
        sizes = all_sz - pad.astype(np.int64).sum(axis=1)
    else:
        sizes = np.full(bsz, all_sz, dtype=np.int64)

    mask_idcs = []
    for sz in sizes.tolist():
        num_mask = max(min_masks, int(mask_prob * sz / float(mask_length) + rng.random()))
        if sz <= 1 or num_mask == 0:
            mask_idcs.append(np.zeros(0, dtype=np.int64))
            continue
        num_mask = min(num_mask, sz - 1)
        # starts are drawn from [0, sz - M) so that spans fit; short inputs shrink the range as fairseq
        min_len = mask_length
        if sz - min_len <= num_mask:
            min_len = sz - num_mask - 1
        starts = rng.choice(sz - min_len, num_mask, replace=False)
        idc = (starts[:, None] + np.arange(mask_length)[None, :]).reshape(-1)
        idc = np.unique(idc[idc < sz])
        if len(idc) >= sz:  # keep one visible frame so there is context to predict from
            idc = np.sort(rng.choice(idc, sz - 1, replace=False))
        mask_idcs.append(idc)

    target_len = None
    if require_same_masks:
        counts = [len(m) for m, sz in zip(mask_idcs, sizes) if sz > 1]
        target_len = min(counts) if counts else 0

    mask = np.zeros((bsz, all_sz), dtype=bool)
    for i, idc in enumerate(mask_idcs):
        if target_len is not None and len(idc) > target_len:
            idc = rng.choice(idc, target_len, replace=False)
        mask[i, idc] = True
    return torch.from_numpy(mask)


def mask_spans_stats(mask: Tensor) -> tuple[float, float]:
    """Fraction of masked frames and mean length of maximal masked runs of an ``(N, T)`` mask."""
    m = mask.to(torch.int8)
    padded = torch.nn.functional.pad(m, (1, 1))
    diff = padded[:, 1:] - padded[:, :-1]
    starts = (diff == 1).nonzero()
    ends = (diff == -1).nonzero()
    lengths = (ends[:, 1] - starts[:, 1]).float()
    return mask.float().mean().item(), lengths.mean().item() if len(lengths) else 0.0
