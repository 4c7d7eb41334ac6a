"""wav2vec 2.0 pre-training objective (Baevski et al., 2020, §3.2, eq. 2-4).

L = L_m + alpha * L_d (+ the feature L2 penalty used for BASE on LibriSpeech, §4.2).

- ``sample_negative_indices``: K distractors drawn uniformly from the other masked time steps of
  the same utterance (fairseq ``sample_negatives`` with ``cross_sample_negatives=0``).
- ``contrastive_logits``: cos(c_t, q~) / kappa for the positive and the distractors.
- ``contrastive_loss`` (eq. 3), ``diversity_loss`` (eq. 4), ``wav2vec2_loss`` (eq. 2 plus penalty).
- ``wav2vec2_logits`` / ``wav2vec2_objective``: the above for a pre-training forward pass of
  ``Wav2Vec2Model``, which returns the projected c_t, the quantized q_t and the target mask; the
  distractors are drawn here, after the model's masking and Gumbel noise, from the same generator.

fairseq sums the losses and divides the gradient by the number of masked frames; the means
returned here are the same quantity. Weights follow fairseq ``loss_weights = [0.1, 10]``
(alpha and the feature penalty weight, BASE on LibriSpeech).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor


def sample_negative_indices(
    mask: Tensor, num_negatives: int, generator: torch.Generator | None = None, num: int | None = None
) -> Tensor:
    """Distractor indices for every masked frame.

    Args:
        mask: ``(N, T)`` bool, True at the M target frames (masked time steps).
        num_negatives: K (fairseq ``num_negatives``; 100).
        num: M, ``mask.sum()``, when the caller knows it (the targets' rows): counting it would make the
            host wait for the device.

    Returns:
        ``(M, K)`` indices into the M target frames taken in row-major order (``x[mask]``), each
        drawn uniformly, with replacement, from the other target frames of the same utterance.
        An utterance with a single target frame gets the frame itself, which
        ``contrastive_logits`` then masks out.
    """
    counts = mask.sum(dim=1)
    num = int(counts.sum()) if num is None else num
    device = mask.device
    if num == 0 or num_negatives == 0:
        return torch.zeros(num, num_negatives, dtype=torch.long, device=device)
    offsets = counts.cumsum(0) - counts
    utt = torch.repeat_interleave(torch.arange(mask.size(0), device=device), counts, output_size=num)
    pos = torch.arange(num, device=device) - offsets[utt]  # index within the utterance
    others = (counts[utt] - 1).clamp(min=0)
    u = torch.rand(num, num_negatives, generator=generator, dtype=torch.float64, device=mask.device)
    draw = (u * others[:, None]).long()  # uniform in [0, others)
    draw = draw + (draw >= pos[:, None]).long()  # skip the positive itself, keeping uniformity
    draw = torch.where(others[:, None] > 0, draw, pos[:, None])
    return offsets[utt][:, None] + draw


def contrastive_logits(predictions: Tensor, targets: Tensor, negatives: Tensor, logit_temp: float = 0.1) -> Tensor:
    """Logits of eq. 3: ``(M, F)`` predictions, ``(M, F)`` positives, ``(M, K, F)`` distractors -> ``(M, 1 + K)``.

    Column 0 is the positive. Distractors identical to the positive (same codewords) get -inf,
    as in fairseq ``compute_preds``. ``logit_temp`` is kappa (fairseq ``logit_temp``; 0.1).
    """
    neg_is_pos = (negatives == targets[:, None, :]).all(dim=-1)
    candidates = torch.cat([targets[:, None, :], negatives], dim=1)
    logits = F.cosine_similarity(predictions.float()[:, None, :], candidates.float(), dim=-1) / logit_temp
    # unconditionally: asking ``neg_is_pos.any()`` first would make the host wait for the device
    return torch.cat([logits[:, :1], logits[:, 1:].masked_fill(neg_is_pos, float("-inf"))], dim=1)


def contrastive_logits_by_index(predictions: Tensor, targets: Tensor, negative_indices: Tensor,
                                codes: Tensor | None = None, logit_temp: float = 0.1) -> Tensor:
    """The same ``(M, 1 + K)`` logits as :func:`contrastive_logits`, without building the
    ``(M, K, F)`` distractor tensor: cosines of every prediction with every target are one
    ``(M, M)`` matrix product of unit vectors, and the distractors are gathered from it.

    Args:
        predictions, targets: ``(M, F)``.
        negative_indices: ``(M, K)`` rows of ``targets`` (:func:`sample_negative_indices`).
        codes: ``(M, G)`` codebook entries behind each target; a distractor with the positive's
            codes is the same codeword and gets -inf (fairseq compares the vectors). Without
            ``codes`` the vectors are compared.
    """
    with torch.autocast(predictions.device.type, enabled=False):  # fp32: cosines differ in the 3rd digit
        p = F.normalize(predictions.float(), dim=-1, eps=1e-8)
        t = F.normalize(targets.float(), dim=-1, eps=1e-8)
        sim = p @ t.T  # (M, M)
    rows = torch.arange(sim.size(0), device=sim.device)
    logits = torch.cat([sim[rows, rows][:, None], sim.gather(1, negative_indices)], dim=1) / logit_temp
    if negative_indices.numel():
        if codes is not None:
            same = (codes[negative_indices] == codes[:, None, :]).all(dim=-1)
        else:
            same = (targets[negative_indices] == targets[:, None, :]).all(dim=-1)
        # unconditionally: asking ``same.any()`` first would make the host wait for the device
        logits = torch.cat([logits[:, :1], logits[:, 1:].masked_fill(same, float("-inf"))], dim=1)
    return logits


def contrastive_loss(logits: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
    """L_m (eq. 3), mean over masked frames, for ``(M, 1 + K)`` logits with the positive in column 0.

    Stats: ``contrastive`` (the loss), ``accuracy`` (fraction of frames whose positive has the
    highest logit, ties where every logit is equal counted wrong, as fairseq), ``num_masked`` (M).
    """
    num = logits.size(0)
    if num == 0:
        zero = logits.sum() * 0.0
        return zero, {"contrastive": zero.detach(), "accuracy": zero.detach(), "num_masked": torch.tensor(0)}
    target = torch.zeros(num, dtype=torch.long, device=logits.device)
    loss = F.cross_entropy(logits.float(), target)
    with torch.no_grad():
        best = logits.argmax(dim=-1) == 0
        worst = logits.argmin(dim=-1) == 0
        accuracy = (best & ~worst).float().mean()
    return loss, {"contrastive": loss.detach(), "accuracy": accuracy, "num_masked": torch.tensor(num)}


def diversity_loss(prob_perplexity: Tensor, num_vars: int) -> tuple[Tensor, dict[str, Tensor]]:
    """L_d (eq. 4) as fairseq implements it: (GV - perplexity) / GV, in [0, 1).

    ``prob_perplexity`` is the summed per-group perplexity of the batch-averaged softmax (no
    Gumbel noise, no temperature); ``num_vars`` is G * V.
    """
    loss = (num_vars - prob_perplexity) / num_vars
    return loss, {"diversity": loss.detach(), "prob_perplexity": prob_perplexity.detach()}


def feature_penalty(features_pen: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
    """L2 penalty on the feature encoder output, ``features.pow(2).mean()`` (§4.2, LibriSpeech)."""
    return features_pen, {"feature_penalty": features_pen.detach()}


def wav2vec2_loss(
    logits: Tensor,
    prob_perplexity: Tensor,
    num_vars: int,
    features_pen: Tensor | None = None,
    *,
    diversity_weight: float = 0.1,
    feature_penalty_weight: float = 10.0,
) -> tuple[Tensor, dict[str, Tensor]]:
    """L = L_m + alpha * L_d + lambda * penalty (eq. 2; fairseq ``loss_weights = [alpha, lambda]``).

    Args:
        logits: ``(M, 1 + K)`` from ``contrastive_logits``.
        prob_perplexity, num_vars: from the quantizer.
        features_pen: ``features.pow(2).mean()`` from the model, or None.
        diversity_weight: alpha (0.1, §4.2).
        feature_penalty_weight: 10 for BASE on LibriSpeech; fairseq LARGE on LibriVox uses 0.
    """
    loss, stats = contrastive_loss(logits)
    l_d, d_stats = diversity_loss(prob_perplexity, num_vars)
    loss = loss + diversity_weight * l_d
    stats.update(d_stats)
    if features_pen is not None and feature_penalty_weight:
        pen, p_stats = feature_penalty(features_pen)
        loss = loss + feature_penalty_weight * pen
        stats.update(p_stats)
    stats["loss"] = loss.detach()
    return loss, stats


def wav2vec2_logits(model: Any, out: Any, generator: torch.Generator | None = None) -> Tensor:
    """The ``(M, 1 + K [+ C])`` logits of eq. 3 for ``out = model(...)``, a ``Wav2Vec2Model``'s pre-training pass.

    Options come from ``model.cfg``: K = ``num_negatives`` distractors from the other target frames of the
    same utterance, C = ``codebook_negatives`` more drawn from the codebook (``model.quantizer``), kappa =
    ``logit_temp``. ``generator`` continues the one given to the model: distractors, then codebook entries.
    """
    cfg = model.cfg
    return contrastive_logits_of(out, cfg.num_negatives, cfg.logit_temp, codebook_negatives=cfg.codebook_negatives,
                                 sample_codevectors=model.quantizer.sample_codevectors, generator=generator)


def contrastive_logits_of(out: Any, num_negatives: int, logit_temp: float = 0.1, *, codebook_negatives: int = 0,
                          sample_codevectors: Callable[[int, torch.Generator | None], Tensor] | None = None,
                          generator: torch.Generator | None = None) -> Tensor:
    """Logits of eq. 3 from a forward pass's ``predictions``, ``targets`` ``(M, F)``, ``codes`` ``(M, G)`` and
    ``target_mask`` ``(N, T)``; ``sample_codevectors(n, generator)`` gives ``(n, F)`` codebook distractors."""
    negative_indices = sample_negative_indices(out.target_mask, num_negatives, generator, num=out.targets.size(0))
    if codebook_negatives > 0:
        num = out.targets.size(0)
        from_codebook = sample_codevectors(num * codebook_negatives, generator).view(num, codebook_negatives, -1)
        negatives = torch.cat([out.targets[negative_indices], from_codebook], dim=1)
        return contrastive_logits(out.predictions, out.targets, negatives, logit_temp)
    # gathered from one (M, M) cosine matrix: no (M, K, F) tensor
    return contrastive_logits_by_index(out.predictions, out.targets, negative_indices, out.codes, logit_temp)


def wav2vec2_objective(model: Any, out: Any, generator: torch.Generator | None = None, *,
                       diversity_weight: float = 0.1, feature_penalty_weight: float = 10.0
                       ) -> tuple[Tensor, dict[str, Tensor]]:
    """L (eq. 2 plus the feature penalty) of ``out = model(...)``: ``wav2vec2_logits`` then ``wav2vec2_loss``."""
    logits = wav2vec2_logits(model, out, generator)
    return wav2vec2_loss(logits, out.prob_perplexity, out.num_vars, out.features_pen,
                         diversity_weight=diversity_weight, feature_penalty_weight=feature_penalty_weight)
