"""Decoding CTC emissions: greedy, lexicon beam search with an n-gram LM.

- :mod:`.greedy`: best path, no LM;
- :mod:`.beam`: flashlight lexicon beam search with a KenLM or a Transformer LM (torchaudio ``ctc_decoder``);
- :mod:`.lm`: KenLM training (``make tools``), perplexity, lexicon;
- :mod:`.transformer_lm`: a Transformer LM checkpoint as the search's LM (cached, incremental) and for perplexity;
- :mod:`.rescore`: N-best rescoring with a second LM;
- :mod:`.tune`: LM weight / word score search on dev (wav2vec 2.0 §4.4);
- :mod:`.infer`: emissions of a fine-tuned model over a manifest.

Hypotheses are written as sclite ``trn`` files for :mod:`asrkit.score`.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from ..score.wer import write_trn
from .beam import DecodeResult, LexiconBeamDecoder, TokenMismatch, check_lexicon
from .greedy import greedy_decode
from .lm import (
    LMError,
    LMToolsMissing,
    build_lexicon,
    check_lm,
    lm_perplexity,
    lm_vocabulary,
    train_ngram,
)
from .tune import tune_lm_weights

__all__ = [
    "DecodeResult", "LMError", "LMToolsMissing", "LexiconBeamDecoder", "TokenMismatch", "build_lexicon",
    "check_lexicon", "check_lm", "greedy_decode", "lm_perplexity", "lm_vocabulary", "train_ngram",
    "tune_lm_weights", "write_hyp_trn", "write_scores_tsv",
]


def _check_aligned(ids: Sequence[str], *columns: Sequence) -> None:
    """One value per id in every column, and no id twice (a dict would silently keep one)."""
    if any(len(c) != len(ids) for c in columns):
        raise ValueError(f"{len(ids)} ids but {[len(c) for c in columns]} values")
    if len(set(ids)) != len(ids):
        repeated = sorted(u for u, k in Counter(ids).items() if k > 1)
        raise ValueError(f"utterance ids repeated: {repeated[:5]}")


def write_hyp_trn(path: str | Path, ids: Sequence[str], texts: Sequence[str]) -> Path:
    """Hypotheses as an sclite ``trn`` file, ``TEXT (utt_id)`` per line, in ``ids`` order."""
    _check_aligned(ids, texts)
    return write_trn(path, dict(zip(ids, texts)))


def write_scores_tsv(path: str | Path, ids: Sequence[str], texts: Sequence[str], scores: Sequence[float]) -> Path:
    """``id<TAB>score<TAB>text`` with a header line, in ``ids`` order (decoder scores for inspection)."""
    _check_aligned(ids, texts, scores)
    bad = [u for u, t in zip(ids, texts) if "\t" in u or "\t" in t or "\n" in t]
    if bad:
        raise ValueError(f"{path}: tab or newline in id/text of {bad[:5]}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = "".join(f"{u}\t{float(s):.4f}\t{' '.join(t.split())}\n" for u, t, s in zip(ids, texts, scores))
    path.write_text("id\tscore\ttext\n" + rows, encoding="utf-8")
    return path
