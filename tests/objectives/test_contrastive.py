"""wav2vec 2.0 objective (§3.2, eq. 2-4) and distractor sampling."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from asrkit.objectives.contrastive import (
    contrastive_logits,
    contrastive_loss,
    diversity_loss,
    sample_negative_indices,
    wav2vec2_loss,
)


def test_negatives_come_from_other_masked_frames_of_the_same_utterance():
    gen = torch.Generator().manual_seed(0)
    mask = torch.rand(4, 60, generator=gen) < 0.5
    mask[3] = False
    mask[3, 7] = True  # a single target frame: no distractor available
    idx = sample_negative_indices(mask, 100, generator=gen)
    utt = mask.nonzero()[:, 0]
    assert idx.shape == (int(mask.sum()), 100)
    assert (utt[idx] == utt[:, None]).all()  # same utterance
    self_idx = torch.arange(len(utt))[:, None]
    single = utt == 3
    assert (idx[~single] != self_idx[~single]).all()  # never the positive itself
    assert (idx[single] == self_idx[single]).all()


def test_negatives_are_uniform_over_the_other_frames():
    mask = torch.ones(1, 5, dtype=torch.bool)
    idx = sample_negative_indices(mask, 20000, generator=torch.Generator().manual_seed(1))
    counts = torch.bincount(idx[0], minlength=5).float() / 20000
    assert counts[0] == 0 and torch.allclose(counts[1:], torch.full((4,), 0.25), atol=0.02)


def test_contrastive_logits_are_scaled_cosines_and_mask_copies_of_the_positive():
    gen = torch.Generator().manual_seed(0)
    pred, pos = torch.randn(6, 8, generator=gen), torch.randn(6, 8, generator=gen)
    negs = torch.randn(6, 4, 8, generator=gen)
    negs[2, 1] = pos[2]
    logits = contrastive_logits(pred, pos, negs, logit_temp=0.1)
    assert logits.shape == (6, 5)
    assert torch.allclose(logits[0, 0], F.cosine_similarity(pred[0], pos[0], dim=0) / 0.1)
    assert torch.allclose(logits[4, 3], F.cosine_similarity(pred[4], negs[4, 2], dim=0) / 0.1)
    assert logits[2, 2] == float("-inf") and torch.isfinite(logits[2, [0, 1, 3, 4]]).all()


def test_contrastive_loss_and_accuracy():
    logits = torch.tensor([[5.0, 1.0, 0.0], [0.0, 2.0, 1.0], [1.0, 1.0, 1.0]])
    loss, stats = contrastive_loss(logits)
    assert torch.allclose(loss, F.cross_entropy(logits, torch.zeros(3, dtype=torch.long)))
    assert stats["accuracy"] == 1 / 3  # all-equal row counts as wrong, as fairseq
    assert stats["num_masked"] == 3


def test_empty_logits_give_zero_loss():
    loss, stats = contrastive_loss(torch.zeros(0, 11, requires_grad=True))
    loss.backward()
    assert loss == 0 and not math.isnan(stats["accuracy"])


def test_diversity_loss_bounds():
    full, _ = diversity_loss(torch.tensor(640.0), 640)
    collapsed, stats = diversity_loss(torch.tensor(2.0), 640)
    assert full == 0 and torch.isclose(collapsed, torch.tensor(638 / 640))
    assert stats["prob_perplexity"] == 2.0


def test_total_loss_weights_are_alpha_and_feature_penalty():
    logits = torch.randn(10, 101)
    ppl, pen = torch.tensor(300.0), torch.tensor(0.5)
    loss, stats = wav2vec2_loss(logits, ppl, 640, pen)
    l_m, _ = contrastive_loss(logits)
    expected = l_m + 0.1 * (640 - 300) / 640 + 10 * 0.5
    assert torch.allclose(loss, expected) and stats["loss"] == loss
    no_pen, stats = wav2vec2_loss(logits, ppl, 640, pen, feature_penalty_weight=0.0)
    assert torch.allclose(no_pen, l_m + 0.1 * (640 - 300) / 640) and "feature_penalty" not in stats


def test_logits_by_index_equal_the_explicit_distractor_logits_and_gradients():
    from asrkit.objectives.contrastive import contrastive_logits_by_index

    g = torch.Generator().manual_seed(0)
    mask = torch.rand(3, 40, generator=g) < 0.5
    m = int(mask.sum())
    codes = torch.randint(0, 4, (m, 2), generator=g)  # few codes: many distractors equal the positive
    book = torch.randn(2, 4, 8, generator=g)
    targets = torch.cat([book[0, codes[:, 0]], book[1, codes[:, 1]]], dim=1).requires_grad_()
    preds = torch.randn(m, 16, generator=g).requires_grad_()
    idx = sample_negative_indices(mask, 10, generator=g)
    ref = contrastive_logits(preds, targets, targets[idx], logit_temp=0.1)
    fast = contrastive_logits_by_index(preds, targets, idx, codes, logit_temp=0.1)
    assert torch.isinf(ref).any() and torch.equal(torch.isinf(ref), torch.isinf(fast))
    finite = torch.isfinite(ref)
    assert torch.allclose(ref[finite], fast[finite], atol=1e-5)
    (ga,) = torch.autograd.grad(ref[finite].sum(), preds)
    (gb,) = torch.autograd.grad(fast[finite].sum(), preds)
    assert torch.allclose(ga, gb, atol=1e-5)


def test_logits_by_index_stay_fp32_under_bf16_autocast():
    from asrkit.objectives.contrastive import contrastive_logits_by_index

    g = torch.Generator().manual_seed(1)
    preds, targets = torch.randn(30, 16, generator=g), torch.randn(30, 16, generator=g)
    idx = torch.randint(0, 30, (30, 5), generator=g)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = contrastive_logits_by_index(preds, targets, idx, logit_temp=0.1)
    ref = contrastive_logits_by_index(preds, targets, idx, logit_temp=0.1)
    assert logits.dtype == torch.float32 and torch.allclose(logits, ref, atol=1e-5)
