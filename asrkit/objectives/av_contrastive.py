"""Audio-visual contrastive learning (CLR) and MAE+CLR (Jain et al., 2024, §3.1 and §3.4), and the retrieval
measures that show what the embeddings learned (issue 19, "Done when").

- ``clr_loss``: InfoNCE over the batch, the audio and the video of the same clip a positive pair and every other
  pairing a negative (CLIP, Radford et al., 2021; VideoCLIP, Xu et al., 2021). Symmetric by default, the mean of
  the audio->video and video->audio cross-entropies, as CLIP and VideoCLIP, which the paper follows (its equation
  is stripped, notes §1.4). The one-directional option defaults to video->audio, the direction of CAV-MAE's
  default ``-diag(log_softmax(a @ v.T / 0.05, dim=0)).mean()``: the softmax over dim 0 runs over the audios
  for each video (cav-mae ``bidirect_contrast=False``; cav-mae issues 17 and 23).
- ``retrieval_top1`` / ``batched_retrieval_top1``: top-1 retrieval both ways over a set, within groups (same-speaker
  batches, where face appearance cannot identify the clip), or in consecutive batches of 32 as the issue reports.
- ``sync_accuracy``: how often the true audio-video alignment scores above every shifted one (audio +-0.5 s).
- ``mae_clr_loss``: L = w_mae * L_MAE + w_clr * L_CLR. The paper adds the two with equal weights (§3.1, like
  W2v-BERT), so both default to 1. CAV-MAE's ``contrast_loss_weight=0.01`` is not copied: its author says it was
  tuned together with its learning rate and that 1 works for contrastive-only training with the LR retuned
  (cav-mae issue 20).

The multiplier of the similarities is the model's ``logit_scale``: exp of a learned log-scale (CLIP: initialised
to 1/0.07, clamped at 100) or a fixed 1/temperature (CAV-MAE: 1/0.05). The embeddings ``clr_loss`` receives are
expected to be L2-normalised already (the model's ``clr`` returns them so); it does not normalise them again.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

DIRECTIONS = ("a2v", "v2a")


def _top1(sim: Tensor, allowed: Tensor | None = None) -> Tensor:
    """Per query (row) of a square ``(N, N)`` similarity matrix whose positives are on the diagonal: 1.0 when the
    positive scores strictly above every other allowed candidate (a tie counts wrong, as fairseq's accuracy)."""
    eye = torch.eye(sim.size(0), dtype=torch.bool, device=sim.device)
    excluded = eye if allowed is None else eye | ~allowed
    others = sim.masked_fill(excluded, float("-inf")).max(dim=1).values
    return (sim.diagonal() > others).float()


def clr_loss(audio_emb: Tensor, video_emb: Tensor, logit_scale: Tensor | float, *, symmetric: bool = True,
             direction: str = "v2a", audio_negatives: Tensor | None = None) -> tuple[Tensor, dict[str, Tensor]]:
    """InfoNCE with the same-clip pair as the positive.

    Args:
        audio_emb, video_emb: ``(N, D)``, L2-normalised; row i of both comes from clip i.
        logit_scale: the multiplier of the cosines (exp of the learned log-scale, or 1 / temperature), a tensor
            (gradients reach it) or a float.
        symmetric: the mean of the a->v and v->a cross-entropies (CLIP); False uses ``direction`` only.
        direction: the one-directional loss when not symmetric: ``"v2a"`` (each video picks its audio among the
            batch's audios: CAV-MAE's default, ``log_softmax`` over dim 0 of ``audio @ video.T``) or ``"a2v"``
            (each audio picks its video).
        audio_negatives: ``(N, S, D)``, L2-normalised, or None: S more candidates for video i alone, e.g. its own
            clip's audio shifted in time (the same voice and words, the wrong timing: negatives that only the
            lips can tell apart, as SyncNet's, Chung & Zisserman 2016). They join the v->a softmax; the a->v
            direction and the top-1 stats stay over the batch. Not in the paper: ``loss.clr_shift_negatives``.

    Stats: ``clr`` (the loss), ``clr_a2v`` and ``clr_v2a`` (the two cross-entropies), ``a2v_top1`` and
    ``v2a_top1`` (fractions of the batch whose positive is ranked first, ties counted wrong), ``logit_scale``.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    num = audio_emb.size(0)
    scale = logit_scale.float() if isinstance(logit_scale, Tensor) else float(logit_scale)
    with torch.autocast(audio_emb.device.type, enabled=False):  # fp32 logits: a softmax over the batch
        logits = scale * (audio_emb.float() @ video_emb.float().T)  # (N, N): row i is audio i against every video
    scale_stat = torch.as_tensor(scale, dtype=torch.float32).detach()
    if num == 0:
        zero = logits.sum() * 0.0
        return zero, {"clr": zero.detach(), "clr_a2v": zero.detach(), "clr_v2a": zero.detach(),
                      "a2v_top1": zero.detach(), "v2a_top1": zero.detach(), "logit_scale": scale_stat}
    target = torch.arange(num, device=logits.device)
    a2v = F.cross_entropy(logits, target)
    v2a_logits = logits.T
    if audio_negatives is not None:
        with torch.autocast(audio_emb.device.type, enabled=False):
            hard = scale * torch.einsum("nd,nsd->ns", video_emb.float(), audio_negatives.float())
        v2a_logits = torch.cat([v2a_logits, hard], dim=1)  # (N, N + S): video i against every audio, then its own
    v2a = F.cross_entropy(v2a_logits, target)
    if symmetric:
        loss = 0.5 * (a2v + v2a)
    else:
        loss = a2v if direction == "a2v" else v2a
    with torch.no_grad():
        stats = {"clr": loss.detach(), "clr_a2v": a2v.detach(), "clr_v2a": v2a.detach(),
                 "a2v_top1": _top1(logits).mean(), "v2a_top1": _top1(logits.T).mean(),
                 "logit_scale": scale_stat}
        if audio_negatives is not None:  # the true alignment above every shifted one (the sync test's measure)
            stats["sync_top1"] = (logits.diagonal()[:, None] > v2a_logits[:, num:]).all(dim=1).float().mean()
    return loss, stats


@torch.no_grad()
def retrieval_top1(audio_emb: Tensor, video_emb: Tensor, groups: Tensor | None = None) -> dict[str, float]:
    """Top-1 retrieval by cosine similarity, audio->video and video->audio, over the whole set of N clips or, with
    ``groups`` ``(N,)``, within groups: each query ranks only the candidates of its own group (same-speaker
    groups take face identity out of the task). Ties count wrong.

    Returns floats: ``a2v_top1``, ``v2a_top1``, ``chance`` (mean over queries of 1 / candidates) and ``num``.
    """
    num = audio_emb.size(0)
    if num == 0:
        return {"a2v_top1": 0.0, "v2a_top1": 0.0, "chance": 0.0, "num": 0}
    a = F.normalize(audio_emb.float(), dim=-1)
    v = F.normalize(video_emb.float(), dim=-1)
    sim = a @ v.T
    allowed = None if groups is None else groups[:, None] == groups[None, :]
    candidates = torch.full((num,), float(num)) if allowed is None else allowed.sum(dim=1).float()
    return {"a2v_top1": _top1(sim, allowed).mean().item(),
            "v2a_top1": _top1(sim.T, None if allowed is None else allowed.T).mean().item(),
            "chance": candidates.reciprocal().mean().item(), "num": num}


@torch.no_grad()
def batched_retrieval_top1(audio_emb: Tensor, video_emb: Tensor, batch_size: int = 32,
                           groups: Tensor | None = None) -> dict[str, float]:
    """``retrieval_top1`` within consecutive batches of ``batch_size`` clips (issue 19 reports dev retrieval in
    batches of 32: chance 1/32, about 3 %). With ``groups`` the batches are formed inside each group (groups in
    increasing order, clips in set order): same-speaker batches. A batch of a single clip has nothing to retrieve
    among and is left out.

    Returns floats: ``a2v_top1``, ``v2a_top1`` and ``chance`` averaged over the queries of every batch, ``num``
    (queries counted) and ``num_batches``.
    """
    if batch_size < 2:
        raise ValueError(f"batch_size must be at least 2, got {batch_size}")
    num = audio_emb.size(0)
    if groups is None:
        chunks = list(torch.arange(num, device=audio_emb.device).split(batch_size))
    else:
        chunks = [chunk for g in torch.unique(groups) for chunk in (groups == g).nonzero().flatten().split(batch_size)]
    chunks = [chunk for chunk in chunks if chunk.numel() >= 2]
    total = {"a2v_top1": 0.0, "v2a_top1": 0.0, "chance": 0.0}
    counted = 0
    for chunk in chunks:
        r = retrieval_top1(audio_emb[chunk], video_emb[chunk])
        for key in total:
            total[key] += r[key] * r["num"]
        counted += r["num"]
    result = {key: value / max(counted, 1) for key, value in total.items()}
    return {**result, "num": counted, "num_batches": len(chunks)}


def paired_similarity(audio_emb: Tensor, video_emb: Tensor) -> Tensor:
    """Cosine similarity of row i of ``audio_emb`` with row i of ``video_emb``: ``(N, D)`` x2 -> ``(N,)``, the score
    of one alignment per clip for ``sync_accuracy``."""
    return F.cosine_similarity(audio_emb.float(), video_emb.float(), dim=-1)


@torch.no_grad()
def sync_accuracy(true_scores: Tensor, shifted_scores: Tensor) -> float:
    """Fraction of clips whose true audio-video alignment scores strictly above every shifted alignment.

    Args:
        true_scores: ``(N,)``, e.g. ``paired_similarity`` of the clips' aligned audio and video embeddings.
        shifted_scores: ``(N,)`` or ``(N, S)``, the same clips with the audio shifted (issue 19: by -0.5 s and
            +0.5 s, S = 2).
    """
    if true_scores.numel() == 0:
        return 0.0
    shifted = shifted_scores.reshape(true_scores.size(0), -1)
    return (true_scores[:, None] > shifted).all(dim=1).float().mean().item()


def mae_clr_loss(mae_loss: Tensor, clr_loss: Tensor, mae_weight: float = 1.0,
                 clr_weight: float = 1.0) -> tuple[Tensor, dict[str, Tensor]]:
    """L = mae_weight * L_MAE + clr_weight * L_CLR (paper: 1 : 1, §3.1; see the module docstring on CAV-MAE's 0.01).

    Stats: ``mae_weighted``, ``clr_weighted`` (each term as it enters the sum) and ``loss``; the unweighted terms
    are in the stats of ``mae_objective`` (``mae``) and ``clr_loss`` (``clr``).
    """
    mae_term = mae_weight * mae_loss
    clr_term = clr_weight * clr_loss
    loss = mae_term + clr_term
    return loss, {"mae_weighted": mae_term.detach(), "clr_weighted": clr_term.detach(), "loss": loss.detach()}
