"""BLEU and chrF through sacrebleu: hand-computed values on tiny corpora, and the signatures."""
from __future__ import annotations

import math

import pytest

from asrkit.score.bleu import bleu_chrf, format_scores


def test_corpus_bleu_by_hand():
    # clipped n-gram matches / hypothesis n-grams, summed over the corpus:
    #   "a b c d e" vs "a b c d f": 1-grams 4/5, 2-grams 3/4, 3-grams 2/3, 4-grams 1/2
    #   "x y" vs "x y z w":         1-grams 2/2, 2-grams 1/1, no 3- or 4-grams
    # corpus: 6/7, 4/5, 2/3, 1/2; hypothesis 7 words, reference 9: brevity penalty exp(1 - 9/7)
    scores = bleu_chrf(["a b c d e", "x y"], ["a b c d f", "x y z w"])
    expected = math.exp(1 - 9 / 7) * (6 / 7 * 4 / 5 * 2 / 3 * 1 / 2) ** 0.25 * 100
    assert scores["bleu"] == pytest.approx(expected, abs=1e-9)


def test_chrf_by_hand():
    # "ab" vs "ac": character 1-grams P = R = 1/2, 2-grams P = R = 0, no longer n-grams in either (those orders
    # do not count); mean P = mean R = 1/4; F_2 = 5 P R / (4 P + R) = 1/4
    assert bleu_chrf(["ab"], ["ac"])["chrf"] == pytest.approx(25.0)
    assert bleu_chrf(["the same words"], ["the same words"])["chrf"] == pytest.approx(100.0)


def test_the_signatures_say_how_the_scores_were_computed():
    scores = bleu_chrf(["a b c d e"], ["a b c d e"])
    assert scores["bleu"] == pytest.approx(100.0)
    for part in ("nrefs:1", "case:mixed", "tok:13a", "smooth:exp", "version:"):
        assert part in scores["bleu_signature"]
    for part in ("nrefs:1", "nc:6", "nw:0", "version:"):
        assert part in scores["chrf_signature"]
    lines = format_scores(scores).splitlines()
    assert lines[0].startswith("BLEU = 100.00  nrefs:1") and lines[1].startswith("chrF2 = 100.00  nrefs:1")


def test_misaligned_or_empty_input_is_an_error():
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        bleu_chrf(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="no sentences"):
        bleu_chrf([], [])
    with pytest.raises(ValueError, match="hypothesis 1 is not a one-line string"):
        bleu_chrf(["a", "b\nc"], ["a", "b"])
