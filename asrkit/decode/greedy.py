"""Best-path CTC decoding (Graves et al. 2006): the "Viterbi"/no-LM rows of wav2vec 2.0 Table 1.

Emissions are log-probabilities ``(N, T, V)`` with valid lengths ``(N,)``; index ``blank`` is
the CTC blank and ``word_boundary`` (``|`` for characters, as wav2vec 2.0 §3.3) separates words.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

from ..data.tokenizer import WORD_BOUNDARY


def check_emissions(emissions: torch.Tensor, lengths: torch.Tensor | Sequence[int] | None,
                    num_tokens: int) -> list[int]:
    """Validate ``(N, T, V)`` emissions against the token list and return the lengths as ints
    (``T`` for every utterance when ``lengths`` is None)."""
    if emissions.ndim != 3:
        raise ValueError(f"emissions must be (N, T, V), got shape {tuple(emissions.shape)}")
    n, t, v = emissions.shape
    if v != num_tokens:
        raise ValueError(f"emissions have {v} classes but the token list has {num_tokens}: "
                         "the tokens do not belong to this model")
    lens = [t] * n if lengths is None else [int(x) for x in (lengths.tolist() if torch.is_tensor(lengths) else lengths)]
    if len(lens) != n:
        raise ValueError(f"{len(lens)} lengths for {n} utterances")
    bad = [x for x in lens if not 0 <= x <= t]
    if bad:
        raise ValueError(f"lengths must lie in [0, {t}], got {bad[:5]}")
    return lens


def ids_to_text(ids: Sequence[int], tokens: Sequence[str], blank: int = 0,
                word_boundary: str = WORD_BOUNDARY) -> str:
    """Collapse repeats, drop blanks, boundary -> space, single spaces, no edge spaces."""
    out, prev = [], None
    for i in ids:
        if i != prev and i != blank:
            out.append(tokens[i])
        prev = i
    return " ".join("".join(out).replace(word_boundary, " ").split())


def greedy_decode(emissions: torch.Tensor, lengths: torch.Tensor | Sequence[int] | None,
                  tokens: Sequence[str], blank: int = 0, word_boundary: str = WORD_BOUNDARY) -> list[str]:
    """Argmax per frame over the first ``lengths[i]`` frames -> one text per utterance, in order.
    Zero-length, all-blank and empty batches give empty strings / an empty list."""
    lens = check_emissions(emissions, lengths, len(tokens))
    best = emissions.argmax(dim=-1).cpu().tolist()
    return [ids_to_text(seq[:n], tokens, blank, word_boundary) for seq, n in zip(best, lens)]
