"""Best-path CTC decoding (Graves et al. 2006): the "Viterbi"/no-LM rows of wav2vec 2.0 Table 1, and the
validation WER of fine-tuning (``best_paths``).

Emissions are log-probabilities ``(N, T, V)`` with valid lengths ``(N,)``; index ``blank`` is
the CTC blank. Tokens are characters, where ``word_boundary`` (``|``, as wav2vec 2.0 §3.3) separates
words, sentencepiece pieces, where ``\u2581`` starts one, or phones, written separated by spaces
(:func:`asrkit.data.tokenizer.token_unit` tells them apart).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..data.tokenizer import SPM_WORD_START, WORD_BOUNDARY, token_unit

if TYPE_CHECKING:
    import torch  # imported where used: `asrkit lm` (asrkit.decode.lm, under this package) never loads it


def check_emissions(emissions: torch.Tensor, lengths: torch.Tensor | Sequence[int] | None,
                    num_tokens: int | None = None) -> list[int]:
    """Validate ``(N, T, V)`` emissions (against the token list, given ``num_tokens``) and return the lengths
    as ints (``T`` for every utterance when ``lengths`` is None)."""
    import torch

    if emissions.ndim != 3:
        raise ValueError(f"emissions must be (N, T, V), got shape {tuple(emissions.shape)}")
    n, t, v = emissions.shape
    if num_tokens is not None and v != num_tokens:
        raise ValueError(f"emissions have {v} classes but the token list has {num_tokens}: "
                         "the tokens do not belong to this model")
    lens = [t] * n if lengths is None else [int(x) for x in (lengths.tolist() if torch.is_tensor(lengths) else lengths)]
    if len(lens) != n:
        raise ValueError(f"{len(lens)} lengths for {n} utterances")
    bad = [x for x in lens if not 0 <= x <= t]
    if bad:
        raise ValueError(f"lengths must lie in [0, {t}], got {bad[:5]}")
    return lens


def best_paths(emissions: torch.Tensor, lengths: torch.Tensor | Sequence[int] | None, blank: int = 0
               ) -> list[list[int]]:
    """The token ids of each utterance's best path: argmax per frame over its first ``lengths[i]`` frames,
    repeats collapsed (a blank between two equal tokens keeps both), blanks dropped."""
    lens = check_emissions(emissions, lengths)
    paths = []
    for seq, n in zip(emissions.argmax(dim=-1).cpu().tolist(), lens):
        ids, prev = [], None
        for i in seq[:n]:
            if i != prev and i != blank:
                ids.append(i)
            prev = i
        paths.append(ids)
    return paths


def tokens_to_text(ids: Sequence[int], tokens: Sequence[str], word_boundary: str = WORD_BOUNDARY) -> str:
    """Text of a path: characters with ``word_boundary`` between words (single spaces, none at the edges),
    or, for a token list without it, sentencepiece pieces whose ``\u2581`` starts a word, or else phones
    separated by spaces."""
    if word_boundary in tokens:
        return " ".join("".join(tokens[i] for i in ids).replace(word_boundary, " ").split())
    if token_unit(tokens) == "phone":
        return " ".join(tokens[i] for i in ids)
    return "".join(tokens[i] for i in ids).replace(SPM_WORD_START, " ").strip()


def greedy_decode(emissions: torch.Tensor, lengths: torch.Tensor | Sequence[int] | None,
                  tokens: Sequence[str], blank: int = 0, word_boundary: str = WORD_BOUNDARY) -> list[str]:
    """Best path -> one text per utterance, in order. Zero-length, all-blank and empty batches give
    empty strings / an empty list."""
    check_emissions(emissions, lengths, len(tokens))
    return [tokens_to_text(ids, tokens, word_boundary) for ids in best_paths(emissions, lengths, blank)]
