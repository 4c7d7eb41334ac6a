"""Batched beam search over an encoder-decoder, with fairseq's ``SequenceGenerator`` semantics
(``fairseq/sequence_generator.py``, facebookresearch/fairseq @ 3d262bb).

Each utterance keeps ``beam`` hypotheses, all starting from ``bos``. At every step each hypothesis is extended by
the decoder's log-probabilities (log_softmax in fp32), and the best 2 x ``beam`` (hypothesis, token) pairs of the
utterance are the candidates: an EOS among the first ``beam`` candidates finishes that hypothesis, the first
``beam`` candidates that are not EOS go on. An utterance is done when ``beam`` hypotheses have finished or at its
maximum length, where only EOS may follow. Finished hypotheses are ranked by

    score = sum of log p(y_t | y_<t, x) over the tokens and the EOS / (tokens + 1) ** len_penalty

(fairseq ``normalize_scores``, ``--lenpen``; len_penalty 0 ranks by the total log-probability, larger values favour
longer outputs). The pad token is never chosen; EOS is barred for the first ``min_len`` steps (fairseq ``min_len``,
default 1: no empty output).

The maximum length of an utterance is ``int(max_len_a * S + max_len_b)`` tokens before the EOS, S its valid encoder
frames, and at most ``max_len``. fairseq takes S from the whole padded batch; here each utterance has its own, so
that a batch decodes exactly as its utterances one by one (ESPnet's ``maxlenratio`` also scales the encoder output
length). Greedy decoding is ``beam=1``.

The decoder is any callable ``decoder(prev_tokens (B, t), memory (B, S, D), memory_padding_mask (B, S),
incremental_state) -> logits (B, t', V)`` for the t' positions past those in ``incremental_state`` (a dict, filled by
the decoder, of batch-first tensors that the search reorders along dim 0): ``asrkit.models.seq2seq.TransformerDecoder``.
Utterances that are done leave the batch.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from ..models.seq2seq import EncoderDecoderModel, IncrementalState, reorder_state

Decoder = Callable[[Tensor, Tensor, "Tensor | None", IncrementalState], Tensor]


@dataclass(frozen=True)
class Hypothesis:
    tokens: tuple[int, ...]  # the output without BOS and EOS
    score: float  # total log-probability (EOS included) / (len(tokens) + 1) ** len_penalty
    log_prob: float  # total log-probability, EOS included


def max_lengths(source_lengths: Tensor, max_len_a: float, max_len_b: int, max_len: int | None = None) -> list[int]:
    """Tokens allowed before the EOS per utterance: ``int(max_len_a * S + max_len_b)``, at most ``max_len``
    (fairseq ``--max-len-a``, ``--max-len-b``)."""
    limits = [int(max_len_a * s + max_len_b) for s in source_lengths.tolist()]
    return [min(m, max_len) if max_len is not None else m for m in limits]


@torch.no_grad()
def beam_search(decoder: Decoder, memory: Tensor, memory_padding_mask: Tensor | None, *, beam: int = 5,
                max_len_a: float = 0.0, max_len_b: int = 200, max_len: int | None = None, len_penalty: float = 1.0,
                min_len: int = 1, bos: int, eos: int, pad: int) -> list[list[Hypothesis]]:
    """Beam search for every utterance of ``(N, S, D)`` ``memory`` with ``(N, S)`` padding (True at padding).

    Returns for each utterance its finished hypotheses, best first (``beam`` of them, fewer only when the search
    ran out of finite-scored ones). ``max_len`` caps every utterance (the decoder's ``max_target_positions`` - 1).
    """
    if beam < 1:
        raise ValueError(f"beam must be >= 1, got {beam}")
    if min_len < 0:
        raise ValueError(f"min_len must be >= 0, got {min_len}")
    n, s = memory.shape[:2]
    device = memory.device
    source_lengths = torch.full((n,), s) if memory_padding_mask is None else (~memory_padding_mask).sum(dim=1).cpu()
    limits = max_lengths(source_lengths, max_len_a, max_len_b, max_len)
    if min(limits, default=1) < min_len:
        worst = min(range(n), key=lambda i: limits[i])
        raise ValueError(f"utterance {worst}: maximum length {limits[worst]} (max_len_a * {int(source_lengths[worst])} "
                         f"frames + max_len_b) is below min_len {min_len}; raise max_len_b or lower min_len")

    # the active utterances (index into the input batch) and their rows: utterance b's beams are rows b*K .. b*K+K-1
    active = list(range(n))
    rows = torch.arange(n, device=device).repeat_interleave(beam)
    mem = memory.index_select(0, rows)
    mem_mask = memory_padding_mask.index_select(0, rows) if memory_padding_mask is not None else None
    tokens = torch.full((n * beam, 1), bos, dtype=torch.long, device=device)
    # only the first beam of each utterance is live at step 0 (the others are copies of it)
    scores = torch.full((n, beam), -math.inf, device=device)
    scores[:, 0] = 0.0
    state: IncrementalState = {}
    finished: list[list[Hypothesis]] = [[] for _ in range(n)]

    for step in range(max(limits) + 1):
        lprobs = torch.log_softmax(decoder(tokens, mem, mem_mask, state)[:, -1].float(), dim=-1)
        vocab = lprobs.size(-1)
        lprobs[:, pad] = -math.inf
        if step < min_len:
            lprobs[:, eos] = -math.inf
        if any(step >= limits[b] for b in active):  # only EOS may follow
            at_limit = torch.tensor([step >= limits[b] for b in active], device=device).repeat_interleave(beam)
            eos_lprobs = lprobs[at_limit, eos]
            lprobs[at_limit] = -math.inf
            lprobs[at_limit, eos] = eos_lprobs
        # candidates: the best 2K (beam, token) pairs per utterance
        total = (scores.view(-1, 1) + lprobs).view(len(active), beam * vocab)
        cand_scores, cand = total.topk(min(2 * beam, beam * vocab), dim=1)
        cand_beams, cand_tokens = cand // vocab, cand % vocab
        is_eos = (cand_tokens == eos) & torch.isfinite(cand_scores)

        # finish the EOS among the first K candidates (fairseq finalize_hypos), best first
        first = min(beam, cand.size(1))
        eos_at = is_eos[:, :first].nonzero().tolist() if bool(is_eos[:, :first].any()) else []
        if eos_at:
            eos_scores = cand_scores[:, :first].cpu()
            eos_rows = (torch.arange(len(active), device=device).unsqueeze(1) * beam + cand_beams[:, :first]).cpu()
        for i, j in eos_at:
            b = active[i]
            if len(finished[b]) < beam:
                log_prob = float(eos_scores[i, j])
                out = tuple(tokens[int(eos_rows[i, j]), 1:].tolist())
                finished[b].append(Hypothesis(out, log_prob / (len(out) + 1) ** len_penalty, log_prob))
        done = {i for i, b in enumerate(active) if len(finished[b]) >= beam or step >= limits[b]}
        if len(done) == len(active):
            break

        # the first K candidates that are not EOS go on (there are at least K among 2K: one EOS per beam at most)
        order = torch.sort((is_eos.long() * cand.size(1)) + torch.arange(cand.size(1), device=device), dim=1).indices
        go_on = order[:, :beam]
        keep = [i for i in range(len(active)) if i not in done]
        keep_t = torch.tensor(keep, dtype=torch.long, device=device)
        go_on = go_on.index_select(0, keep_t)
        next_rows = (keep_t.unsqueeze(1) * beam + cand_beams.index_select(0, keep_t).gather(1, go_on)).view(-1)
        next_tokens = cand_tokens.index_select(0, keep_t).gather(1, go_on).view(-1, 1)
        scores = cand_scores.index_select(0, keep_t).gather(1, go_on)
        tokens = torch.cat([tokens.index_select(0, next_rows), next_tokens], dim=1)
        mem = mem.index_select(0, next_rows)
        mem_mask = mem_mask.index_select(0, next_rows) if mem_mask is not None else None
        reorder_state(state, next_rows)
        active = [active[i] for i in keep]

    return [sorted(hyps, key=lambda h: h.score, reverse=True) for hyps in finished]


def greedy_search(decoder: Decoder, memory: Tensor, memory_padding_mask: Tensor | None, **kwargs) -> list[Hypothesis]:
    """The best hypothesis of ``beam_search`` with ``beam=1``, one per utterance."""
    return [hyps[0] if hyps else Hypothesis((), -math.inf, -math.inf)
            for hyps in beam_search(decoder, memory, memory_padding_mask, beam=1, **kwargs)]


@torch.no_grad()
def translate(model: EncoderDecoderModel, source: Tensor, padding_mask: Tensor | None = None,
              **kwargs) -> list[list[Hypothesis]]:
    """Encode ``(N, L)`` waveforms and ``beam_search`` the model's decoder (keyword arguments as there); the
    model should be in eval mode. ``max_len`` defaults to the decoder's ``max_target_positions`` - 1."""
    x, x_padding = model.encode(source, padding_mask)
    kwargs.setdefault("max_len", model.decoder.cfg.max_target_positions - 1)
    return beam_search(model.decoder, model.memory(x), x_padding, **kwargs)


__all__ = ["Hypothesis", "beam_search", "greedy_search", "max_lengths", "translate"]
