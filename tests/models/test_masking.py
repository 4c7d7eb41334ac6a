"""Span masking (wav2vec 2.0 §3.1, Appendix A)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from asrkit.objectives.masking import compute_mask_indices, mask_spans_stats

T_15S = 749  # frames of a 15 s input at 16 kHz: (240000 - 400) // 320 + 1


def test_paper_statistics_for_15s_input():
    """Appendix A: p = 0.065 (mask_prob 0.65), M = 10 masks ~49% of a 15 s input, mean span 14.7."""
    rng = np.random.default_rng(0)
    mask = compute_mask_indices((2000, T_15S), None, 0.65, 10, rng, min_masks=2, require_same_masks=False)
    fraction, mean_span = mask_spans_stats(mask)
    print(f"masked fraction {fraction:.4f}, mean span length {mean_span:.2f}")
    assert 0.45 <= fraction <= 0.53
    assert 13.5 <= mean_span <= 16.0


def test_never_masks_padding_and_keeps_counts_equal():
    rng = np.random.default_rng(1)
    lengths = torch.tensor([300, 120, 57, 300, 11])
    padding_mask = torch.arange(300)[None, :] >= lengths[:, None]
    for _ in range(50):
        mask = compute_mask_indices((5, 300), padding_mask, 0.65, 10, rng, min_masks=2)
        assert not (mask & padding_mask).any()
        counts = mask.sum(1)
        assert (counts == counts[0]).all() and counts[0] > 0  # require_same_masks
        assert ((~mask & ~padding_mask).sum(1) >= 1).all()  # some context stays visible


def test_seeded_generator_is_deterministic():
    a = compute_mask_indices((4, 200), None, 0.65, 10, np.random.default_rng(7))
    b = compute_mask_indices((4, 200), None, 0.65, 10, np.random.default_rng(7))
    c = compute_mask_indices((4, 200), None, 0.65, 10, np.random.default_rng(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_spans_are_mask_length_long_without_truncation():
    """Starts are drawn from [0, T - M), so a single span is exactly M frames."""
    rng = np.random.default_rng(2)
    mask = compute_mask_indices((200, 100), None, 0.01, 10, rng, min_masks=1, require_same_masks=False)
    assert (mask.sum(1) == 10).all()
    _, mean_span = mask_spans_stats(mask)
    assert mean_span == 10


@pytest.mark.parametrize("length", [0, 1, 2, 5, 12])
def test_short_and_empty_utterances(length):
    rng = np.random.default_rng(3)
    padding_mask = torch.zeros(2, 40, dtype=torch.bool)
    padding_mask[1, length:] = True
    mask = compute_mask_indices((2, 40), padding_mask, 0.65, 10, rng, min_masks=2)
    assert not (mask & padding_mask).any()
    if length <= 1:  # nothing to mask; the other utterance is not held back by it
        assert not mask[1].any() and mask[0].any()
    else:
        assert 0 < mask[1].sum() < length
        assert mask[0].sum() == mask[1].sum()


def test_zero_probability_masks_nothing():
    mask = compute_mask_indices((3, 50), None, 0.0, 10, np.random.default_rng(0))
    assert mask.shape == (3, 50) and mask.dtype == torch.bool and not mask.any()
