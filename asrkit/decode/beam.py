"""Lexicon-constrained CTC beam search with an n-gram or Transformer LM, as wav2vec 2.0 §4.4 decodes.

A thin layer over torchaudio's ``ctc_decoder`` (the flashlight-text lexicon decoder, as
fairseq's ``W2lKenLMDecoder``): only lexicon words are emitted, and a hypothesis scores
``log p_CTC + lm_weight * log10 p_LM + word_score * #words``. The LM is a KenLM file or a Transformer LM
checkpoint (told apart by content; :mod:`.transformer_lm` is its ``CTCDecoderLM``). Everything that can be
checked before the search is: the LM file, blank and silence tokens, and that the lexicon spells its
words with the model's tokens only.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..data.tokenizer import BLANK, WORD_BOUNDARY
from ..utf8 import read_utf8
from .greedy import check_emissions
from .lm import LMError, check_lm

if TYPE_CHECKING:
    import torch  # imported where used: `asrkit lm` (asrkit.decode.lm, under this package) never loads it


class TokenMismatch(ValueError):
    """The token list, the lexicon and the model's output classes disagree."""


@dataclass(frozen=True)
class DecodeResult:
    text: str  # words separated by single spaces; "" for nothing decoded
    score: float  # decoder score of the best hypothesis (acoustic + weighted LM + word score)


def lexicon_words(lexicon_path: str | Path) -> list[str]:
    """The words of a flashlight lexicon, in file order, each once."""
    return list(dict.fromkeys(line.split()[0] for line in read_utf8(lexicon_path, TokenMismatch).splitlines()
                              if line.split()))


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
    (``--sil-weight``). ``lm_path``: a KenLM binary/ARPA or a Transformer LM checkpoint (``asrkit lm train
    --type transformer``); None decodes with the lexicon alone. ``nbest``: hypotheses kept per utterance
    (:meth:`decode_nbest`; N-best rescoring).
    """

    def __init__(self, tokens: Sequence[str], lexicon_path: str | Path, lm_path: str | Path | None = None, *,
                 beam_size: int = 50, beam_threshold: float = 25.0, lm_weight: float = 2.0,
                 word_score: float = 0.0, unk_score: float = float("-inf"), sil_score: float = 0.0,
                 sil_token: str = WORD_BOUNDARY, blank_token: str = BLANK, nbest: int = 1):
        tokens = list(tokens)
        if len(set(tokens)) != len(tokens):
            raise TokenMismatch("token list has duplicates")
        absent = [t for t in (blank_token, sil_token) if t not in tokens]
        if absent:
            raise TokenMismatch(f"token list lacks {', '.join(map(repr, absent))} (blank / word boundary)")
        check_lexicon(lexicon_path, tokens)
        from .transformer_lm import is_transformer_lm

        self.lm_kind = None if lm_path is None else "transformer" if is_transformer_lm(lm_path) else "kenlm"
        if self.lm_kind == "kenlm":
            check_lm(lm_path)
        self.tokens, self.lexicon_path, self.lm_path = tokens, Path(lexicon_path), lm_path
        self.options = {"beam_size": beam_size, "beam_threshold": beam_threshold, "lm_weight": lm_weight,
                        "word_score": word_score, "unk_score": unk_score, "sil_score": sil_score,
                        "sil_token": sil_token, "blank_token": blank_token, "nbest": nbest}
        self._kenlm = None

        from torchaudio.models.decoder import ctc_decoder

        if self.lm_kind == "transformer":
            self._decoder = self._transformer_decoder(ctc_decoder)
            return
        try:
            self._decoder = ctc_decoder(str(lexicon_path), tokens, lm=None if lm_path is None else str(lm_path),
                                        **self.options)
        except RuntimeError as e:  # KenLM's C++ exceptions (truncated or corrupt LM)
            raise LMError(f"{lm_path}: KenLM cannot load it: {str(e).splitlines()[-1]}") from e

    def _transformer_decoder(self, ctc_decoder):
        """The flashlight decoder over the Transformer LM: its word index is that of an LM dictionary written here
        (``<unk>``, then the lexicon's words in order), which the custom LM maps to its vocabulary."""
        import tempfile

        from .transformer_lm import load_scorer, transformer_decoder_lm

        self.scorer = load_scorer(self.lm_path)
        words = ["<unk>", *(w for w in lexicon_words(self.lexicon_path) if w != "<unk>")]
        self.custom_lm = transformer_decoder_lm(self.scorer, words)
        with tempfile.NamedTemporaryFile("w", suffix=".dict", encoding="utf-8") as f:
            f.write("".join(w + "\n" for w in words))
            f.flush()
            return ctc_decoder(str(self.lexicon_path), self.tokens, lm=self.custom_lm, lm_dict=f.name,
                               **self.options)

    def lm_log10(self, words: Sequence[str]) -> float:
        """log10 P(words </s>) under this decoder's LM (0 without one): the LM part of a hypothesis' score."""
        if self.lm_kind is None:
            return 0.0
        if self.lm_kind == "transformer":
            return self.scorer.sentence_log10(words)
        if self._kenlm is None:
            import kenlm

            self._kenlm = kenlm.Model(str(self.lm_path))
        return float(self._kenlm.score(" ".join(words), bos=True, eos=True))

    def with_weights(self, lm_weight: float, word_score: float, beam_size: int | None = None,
                     nbest: int | None = None) -> LexiconBeamDecoder:
        """The same decoder with other LM weight / word score (for tuning on dev) and, if given, beam
        size; itself when nothing changes (a new decoder loads the LM again)."""
        options = {**self.options, "lm_weight": lm_weight, "word_score": word_score,
                   "beam_size": self.options["beam_size"] if beam_size is None else beam_size,
                   "nbest": self.options["nbest"] if nbest is None else nbest}
        if options == self.options:
            return self
        return LexiconBeamDecoder(self.tokens, self.lexicon_path, self.lm_path, **options)

    def decode(self, emissions: torch.Tensor, lengths: torch.Tensor | Sequence[int] | None = None
               ) -> list[DecodeResult]:
        """``emissions`` (N, T, V) log-probabilities, ``lengths`` (N,) -> one result per utterance,
        in order. Zero-length utterances give ``DecodeResult("", 0.0)`` without searching."""
        import torch

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

    def decode_nbest(self, emissions: torch.Tensor) -> list[tuple[tuple[str, ...], float]]:
        """The ``nbest`` best hypotheses of one utterance's emissions ``(T, V)``, best first, as ``(words, decoder
        score)``; none for a zero-length utterance."""
        import torch

        check_emissions(emissions[None], None, len(self.tokens))
        if emissions.size(0) == 0:
            return []
        emissions = emissions.detach().to("cpu", torch.float32).contiguous()[None]
        hyps = self._decoder(emissions, torch.tensor([emissions.size(1)]))[0]
        return [(tuple(h.words), float(h.score)) for h in hyps]

    __call__ = decode
