"""Label-smoothed cross-entropy for the translation decoder (Szegedy et al., 2016, §7), as fairseq computes it.

fairseq ``fairseq/criterions/label_smoothed_cross_entropy.py`` (``label_smoothed_nll_loss``; facebookresearch/fairseq
@ 3d262bb, since "More accurate label smoothing loss computation", #3182): the target keeps 1 - epsilon and the
other V - 1 classes share epsilon, eps_i = epsilon / (V - 1) each, so per token

    loss = (1 - epsilon - eps_i) * (-log p_y) + eps_i * sum_v (-log p_v),

the cross-entropy to that smoothed distribution. (fairseq before #3182, and PyTorch's
``cross_entropy(label_smoothing=e)``, spread epsilon over all V classes, the target included: the same loss for
e = epsilon * V / (V - 1).)
ESPnet's MuST-C recipe smooths with epsilon = 0.1 (``lsm_weight``).
"""
from __future__ import annotations

from torch import Tensor


def label_smoothed_nll_loss(lprobs: Tensor, target: Tensor, epsilon: float,
                            ignore_index: int | None = None) -> tuple[Tensor, Tensor]:
    """``(..., V)`` log-probabilities and ``(...)`` targets -> (label-smoothed loss, NLL loss), both summed over
    the tokens not equal to ``ignore_index`` (fairseq ``reduce=True``); divide by the token count for a mean."""
    if not 0.0 <= epsilon < 1.0:
        raise ValueError(f"label smoothing epsilon must be in [0, 1), got {epsilon}")
    if target.shape != lprobs.shape[:-1]:
        raise ValueError(f"targets of shape {tuple(target.shape)} do not match log-probabilities of shape "
                         f"{tuple(lprobs.shape)}; expected targets {tuple(lprobs.shape[:-1])}")
    vocab = lprobs.size(-1)
    if vocab < 2:
        raise ValueError(f"label smoothing needs at least 2 classes, got {vocab}")
    target = target.unsqueeze(-1)
    keep = target != ignore_index if ignore_index is not None else None
    # an ignored target may be any index (the pad); gather at 0 there and drop it below
    nll = -lprobs.gather(-1, target.masked_fill(~keep, 0) if keep is not None else target)
    smooth = -lprobs.sum(dim=-1, keepdim=True)
    if keep is not None:
        nll, smooth = nll.masked_fill(~keep, 0.0), smooth.masked_fill(~keep, 0.0)
    nll, smooth = nll.sum(), smooth.sum()
    eps_i = epsilon / (vocab - 1)
    return (1.0 - epsilon - eps_i) * nll + eps_i * smooth, nll
