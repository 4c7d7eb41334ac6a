"""Corpus BLEU (Papineni et al., 2002) and chrF (Popović, 2015) of translations, computed by sacrebleu (Post, 2018)
with its defaults, and its signatures, which say how they were computed and belong next to every score.

BLEU: 13a tokenisation, case-sensitive, n-grams up to 4, exponential smoothing (``nrefs:1|case:mixed|eff:no|
tok:13a|smooth:exp``). chrF: character n-grams up to 6, no word n-grams, beta 2 (chrF2, not chrF++). One
reference per hypothesis, as MuST-C has. The texts are detokenised sentences, one per segment.
"""
from __future__ import annotations

from collections.abc import Sequence

from sacrebleu.metrics import BLEU, CHRF


def bleu_chrf(hyps: Sequence[str], refs: Sequence[str]) -> dict:
    """Corpus scores of ``hyps`` against ``refs`` (aligned, one reference each) -> ``{"bleu": float (0-100),
    "chrf": float (0-100), "bleu_signature": str, "chrf_signature": str}``."""
    hyps, refs = list(hyps), list(refs)
    if len(hyps) != len(refs):
        raise ValueError(f"{len(hyps)} hypotheses but {len(refs)} references; score aligned lists")
    if not refs:
        raise ValueError("no sentences to score")
    for name, texts in (("hypothesis", hyps), ("reference", refs)):
        bad = next((i for i, t in enumerate(texts) if not isinstance(t, str) or "\n" in t), None)
        if bad is not None:
            raise ValueError(f"{name} {bad} is not a one-line string: {texts[bad]!r}")
    bleu, chrf = BLEU(), CHRF()
    return {
        "bleu": bleu.corpus_score(hyps, [refs]).score,
        "chrf": chrf.corpus_score(hyps, [refs]).score,
        "bleu_signature": str(bleu.get_signature()),
        "chrf_signature": str(chrf.get_signature()),
    }


def format_scores(scores: dict) -> str:
    """One line per metric, the score with its signature: ``BLEU = 27.31  nrefs:1|case:mixed|...``."""
    return (f"BLEU = {scores['bleu']:.2f}  {scores['bleu_signature']}\n"
            f"chrF2 = {scores['chrf']:.2f}  {scores['chrf_signature']}")


__all__ = ["bleu_chrf", "format_scores"]
