"""Lexicon-constrained CTC beam search with an n-gram LM, as wav2vec 2.0 §4.4 decodes.

A thin layer over torchaudio's ``ctc_decoder`` (the flashlight-text lexicon decoder, as
fairseq's ``W2lKenLMDecoder``): only lexicon words are emitted, and a hypothesis scores
``log p_CTC + lm_weight * log p_LM + word_score * #words``. Everything that can be checked
before the search is: the LM file, blank and silence tokens, and that the lexicon spells its
words with the model's tokens only.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from ..data.tokenizer import BLANK, WORD_BOUNDARY
from ..utf8 import read_utf8
from .greedy import check_emissions
from .lm import LMError, check_lm


class TokenMismatch(ValueError):
    """The token list, the lexicon and the model's output classes disagree."""


@dataclass(frozen=True)
class DecodeResult:
    text: str  # words separated by single spaces; "" for nothing decoded
    score: float  # decoder score of the best hypothesis (acoustic + weighted LM + word score)


def check_lexicon(lexicon_path: str | Path, tokens: Sequence[str]) -> int:
    """Every spelling unit of a flashlight lexicon (``WORD<TAB>W O R D |``) must be a token;
    returns the number of entries, or raises :class:`TokenMismatch` naming the missing tokens."""
    lexicon_path = Path(lexicon_path)
    if not lexicon_path.is_file():
        raise FileNotFoundError(f"{lexicon_path}: lexicon not found")
    known, missing, entries = set(tokens), {}, 0
    for lineno, line in enumerate(read_utf8(lexicon_path, TokenMismatch).splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 2:
            raise TokenMismatch(f"{lexicon_path}:{lineno}: expected 'WORD<TAB>spelling', got {line!r}")
        entries += 1
        for unit in fields[1:]:
            if unit not in known:
                missing.setdefault(unit, fields[0])
    if missing:
        shown = ", ".join(f"{u!r} (in {w})" for u, w in list(missing.items())[:10])
        raise TokenMismatch(f"{lexicon_path}: spelled with {len(missing)} token(s) the model does not have: "
                            f"{shown}; the lexicon does not match this model's token set")
    if entries == 0:
        raise TokenMismatch(f"{lexicon_path}: lexicon is empty")
    return entries


class LexiconBeamDecoder:
    """Beam search over CTC emissions restricted to a lexicon, with an optional KenLM.

    Arguments mirror fairseq's ``infer.py`` options: ``beam_size`` (``--beam``, 500 for the
    4-gram in wav2vec 2.0), ``beam_threshold`` (``--beam-threshold``), ``lm_weight``
    (``--lm-weight``), ``word_score`` (``--word-score``, the word insertion penalty),
    ``unk_score`` (``--unk-weight``; -inf forbids out-of-lexicon words), ``sil_score``
    (``--sil-weight``). ``lm_path`` None decodes with the lexicon alone.
    """

    def __init__(self, tokens: Sequence[str], lexicon_path: str | Path, lm_path: str | Path | None = None, *,
                 beam_size: int = 50, beam_threshold: float = 25.0, lm_weight: float = 2.0,
                 word_score: float = 0.0, unk_score: float = float("-inf"), sil_score: float = 0.0,
                 sil_token: str = WORD_BOUNDARY, blank_token: str = BLANK):
        tokens = list(tokens)
        if len(set(tokens)) != len(tokens):
            raise TokenMismatch("token list has duplicates")
        absent = [t for t in (blank_token, sil_token) if t not in tokens]
        if absent:
            raise TokenMismatch(f"token list lacks {', '.join(map(repr, absent))} (blank / word boundary)")
        check_lexicon(lexicon_path, tokens)
        if lm_path is not None:
            check_lm(lm_path)
        self.tokens, self.lexicon_path, self.lm_path = tokens, Path(lexicon_path), lm_path
        self.options = {"beam_size": beam_size, "beam_threshold": beam_threshold, "lm_weight": lm_weight,
                        "word_score": word_score, "unk_score": unk_score, "sil_score": sil_score,
                        "sil_token": sil_token, "blank_token": blank_token}

        from torchaudio.models.decoder import ctc_decoder

        try:
            self._decoder = ctc_decoder(str(lexicon_path), tokens, lm=None if lm_path is None else str(lm_path),
                                        nbest=1, **self.options)
        except RuntimeError as e:  # KenLM's C++ exceptions (truncated or corrupt LM)
            raise LMError(f"{lm_path}: KenLM cannot load it: {str(e).splitlines()[-1]}") from e

    def with_weights(self, lm_weight: float, word_score: float, beam_size: int | None = None
                     ) -> LexiconBeamDecoder:
        """The same decoder with other LM weight / word score (for tuning on dev) and, if given, beam
        size; itself when nothing changes (a new decoder loads the LM again)."""
        options = {**self.options, "lm_weight": lm_weight, "word_score": word_score,
                   "beam_size": self.options["beam_size"] if beam_size is None else beam_size}
        if options == self.options:
            return self
        return LexiconBeamDecoder(self.tokens, self.lexicon_path, self.lm_path, **options)

    def decode(self, emissions: torch.Tensor, lengths: torch.Tensor | Sequence[int] | None = None
               ) -> list[DecodeResult]:
        """``emissions`` (N, T, V) log-probabilities, ``lengths`` (N,) -> one result per utterance,
        in order. Zero-length utterances give ``DecodeResult("", 0.0)`` without searching."""
        lens = check_emissions(emissions, lengths, len(self.tokens))
        emissions = emissions.detach().to("cpu", torch.float32).contiguous()
        results = []
        for i, n in enumerate(lens):
            if n == 0:
                results.append(DecodeResult("", 0.0))
                continue
            hyps = self._decoder(emissions[i:i + 1], torch.tensor([n]))[0]
            results.append(DecodeResult(" ".join(hyps[0].words), float(hyps[0].score)) if hyps
                           else DecodeResult("", float("-inf")))
        return results

    __call__ = decode
