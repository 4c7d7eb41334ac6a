"""N-best rescoring with a second LM, as wav2vec 2.0 §4.4 could combine its two LMs: the 4-gram beam search keeps
the ``nbest`` best hypotheses of each utterance, and each is ranked again by

    am_score + lm_weight * log10 P_LM2(words </s>) + word_score * #words,

``am_score`` being the first pass's score without its LM and word parts (:func:`acoustic_score`), and the weights
tuned on dev as the first pass's are (:mod:`.tune`). The second LM scores every hypothesis once; tuning only
ranks the lists again, which costs no search.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class NBestHyp:
    words: tuple[str, ...]
    am_score: float  # acoustic score of the first pass (its LM and word-insertion parts removed)
    lm_score: float  # log10 P(words </s>) under the rescoring LM


def acoustic_score(score: float, lm_log10: float, n_words: int, lm_weight: float, word_score: float) -> float:
    """The first pass's ``score = am + lm_weight * lm_log10 + word_score * n_words`` solved for ``am``
    (exact with flashlight's silence score 0, asrkit's setting)."""
    return score - lm_weight * lm_log10 - word_score * n_words


def best_hypothesis(nbest: Sequence[NBestHyp], lm_weight: float, word_score: float) -> int:
    """Index of the hypothesis of highest combined score (the first one on ties); -1 for an empty list."""
    best, best_score = -1, float("-inf")
    for i, h in enumerate(nbest):
        s = h.am_score + lm_weight * h.lm_score + word_score * len(h.words)
        if s > best_score:
            best, best_score = i, s
    return best


def rescore(nbests: Sequence[Sequence[NBestHyp]], lm_weight: float, word_score: float
            ) -> tuple[list[str], list[float]]:
    """The best text of each N-best list and its combined score ("" and 0 for an empty list)."""
    texts, scores = [], []
    for nbest in nbests:
        i = best_hypothesis(nbest, lm_weight, word_score)
        if i < 0:
            texts.append("")
            scores.append(0.0)
            continue
        h = nbest[i]
        texts.append(" ".join(h.words))
        scores.append(h.am_score + lm_weight * h.lm_score + word_score * len(h.words))
    return texts, scores
