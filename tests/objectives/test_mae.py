"""MAE token masking, visible-token bookkeeping and the reconstruction loss (issue 19, objectives)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from asrkit.objectives.mae import (
    TokenMask,
    gather_tokens,
    mae_loss,
    mae_objective,
    mean_baseline_loss,
    random_token_mask,
    scatter_tokens,
)

LENGTHS = torch.tensor([10, 7, 1, 0, 5])


@pytest.mark.parametrize("ratio", [0.0, 0.3, 0.6, 0.75, 1.0])
def test_mask_ratio_is_exact_and_never_touches_padding(ratio):
    mask = random_token_mask(LENGTHS, 12, ratio, torch.Generator().manual_seed(0))
    assert mask.masked.shape == (5, 12) and mask.masked.dtype == torch.bool
    for i, n in enumerate(LENGTHS.tolist()):
        expected = max(0, min(round(ratio * n), n - 1))
        assert int(mask.masked[i].sum()) == expected
        assert not mask.masked[i, n:].any()


def test_keep_and_masked_are_complementary_over_valid_tokens():
    mask = random_token_mask(LENGTHS, 12, 0.6, torch.Generator().manual_seed(1))
    num_keep = (~mask.keep_padding).sum(1)
    assert mask.keep.shape[1] == int(num_keep.max())
    for i, n in enumerate(LENGTHS.tolist()):
        kept = mask.keep[i][~mask.keep_padding[i]]
        assert (kept[1:] > kept[:-1]).all()  # increasing, hence distinct
        visible = torch.zeros(12, dtype=torch.bool)
        visible[kept] = True
        assert (visible ^ mask.masked[i])[:n].all()  # every valid token exactly once
        assert not visible[n:].any()
        assert (mask.keep[i][mask.keep_padding[i]] == 0).all()
        assert not mask.keep_padding[i][: len(kept)].any()  # padding only at the end


def test_mask_is_deterministic_and_uniform():
    a = random_token_mask(LENGTHS, 12, 0.6, torch.Generator().manual_seed(3))
    b = random_token_mask(LENGTHS, 12, 0.6, torch.Generator().manual_seed(3))
    assert torch.equal(a.masked, b.masked) and torch.equal(a.keep, b.keep)
    gen = torch.Generator().manual_seed(4)
    counts = sum(random_token_mask(torch.tensor([5]), 5, 0.4, gen).masked[0].float() for _ in range(2000))
    assert torch.allclose(counts / 2000, torch.full((5,), 0.4), atol=0.04)  # each position equally likely


def test_gather_then_scatter_restores_visible_tokens_and_fills_the_rest():
    x = torch.randn(5, 12, 3, generator=torch.Generator().manual_seed(5))
    mask = random_token_mask(LENGTHS, 12, 0.6, torch.Generator().manual_seed(6))
    fill = torch.tensor([7.0, 8.0, 9.0], requires_grad=True)
    visible = gather_tokens(x, mask.keep)
    assert visible.shape == (5, mask.keep.shape[1], 3)
    full = scatter_tokens(visible, mask, fill)
    shown = (torch.arange(12)[None, :] < LENGTHS[:, None]) & ~mask.masked
    assert torch.equal(full[shown], x[shown])
    assert (full[~shown] == fill.detach()).all()  # masked tokens and padding alike
    assert int(shown.sum()) == int((~mask.keep_padding).sum())
    full.sum().backward()
    assert fill.grad.tolist() == [float((~shown).sum())] * 3


def test_scatter_does_not_let_keep_padding_overwrite_token_0():
    mask = TokenMask(masked=torch.tensor([[False, True, False], [True, False, False]]),
                     keep=torch.tensor([[0, 2], [1, 0]]), keep_padding=torch.tensor([[False, False], [False, True]]))
    visible = torch.tensor([[[1.0], [2.0]], [[3.0], [4.0]]])
    full = scatter_tokens(visible, mask, torch.tensor([0.0]))
    assert full[..., 0].tolist() == [[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]]


# two utterances, L = 3 tokens of P = 2 values; utterance 1 has 2 valid tokens
PRED = torch.tensor([[[1.0, 1.0], [0.0, 0.0], [2.0, 0.0]], [[0.0, 0.0], [1.0, 3.0], [float("nan"), 0.0]]])
TARGET = torch.tensor([[[1.0, 3.0], [2.0, 2.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 1.0], [5.0, 5.0]]])
MASKED = torch.tensor([[True, False, True], [False, True, False]])
VALID = torch.tensor([[True, True, True], [True, True, False]])
# per-token squared error averaged over values: [[2, 4, 2], [1, 2, nan]]


def test_mae_loss_on_masked_tokens_by_hand():
    loss, stats = mae_loss(PRED, TARGET, MASKED, VALID)
    assert loss.item() == pytest.approx((2 + 2 + 2) / 3)
    assert stats["mae"].item() == pytest.approx(2.0) and int(stats["mae_tokens"]) == 3


def test_mae_loss_on_all_valid_tokens_by_hand():
    loss, stats = mae_loss(PRED, TARGET, MASKED, VALID, masked_only=False, name="x")
    assert loss.item() == pytest.approx((2 + 4 + 2 + 1 + 2) / 5)  # padding (NaN prediction) left out
    assert int(stats["x_tokens"]) == 5


def test_mae_loss_with_normalised_targets():
    target = torch.tensor([[[1.0, 3.0], [0.0, 4.0]]])
    both = torch.tensor([[True, True]])
    # the unbiased variance of a 2-value token (a, b) is (a - b)^2 / 2: both tokens become (-1, 1) / sqrt(2)
    # (the biased variance would give (-1, 1) and a loss of 1 here)
    loss, _ = mae_loss(torch.zeros(1, 2, 2), target, both, None, norm_target=True, eps=0.0)
    assert loss.item() == pytest.approx(0.5)
    c = 2 ** -0.5
    pred = torch.tensor([[[-c, c], [c, -c]]])  # token 0 exact, token 1 negated: error (2c)^2 = 2 per value
    loss, _ = mae_loss(pred, target, both, None, norm_target=True, eps=0.0)
    assert loss.item() == pytest.approx((0.0 + 2.0) / 2)
    shifted, _ = mae_loss(pred, 10 * target + 3, both, None, norm_target=True, eps=0.0)
    assert shifted.item() == pytest.approx(loss.item())  # invariant to a token's offset and scale


def test_mae_loss_without_counted_tokens_is_zero_with_a_gradient():
    pred = torch.randn(1, 3, 2, requires_grad=True)
    loss, stats = mae_loss(pred, torch.randn(1, 3, 2), torch.zeros(1, 3, dtype=torch.bool), None)
    loss.backward()
    assert loss.item() == 0.0 and int(stats["mae_tokens"]) == 0 and (pred.grad == 0).all()


def test_mean_baseline_by_hand():
    # utterance 0 sees token 1 only: the mean is (2, 2); utterance 1 sees token 0: (1, 1)
    loss, stats = mean_baseline_loss(TARGET, MASKED, VALID)
    by_hand = (((1 - 2) ** 2 + (3 - 2) ** 2) / 2 + ((0 - 2) ** 2 * 2) / 2 + 0.0) / 3
    assert loss.item() == pytest.approx(by_hand)
    visible = torch.tensor([[True, True, False]])
    target = torch.tensor([[[1.0], [3.0], [6.0]]])
    loss, _ = mean_baseline_loss(target, ~visible, None, masked_only=False)
    assert loss.item() == pytest.approx((1 + 1 + 16) / 3)  # mean 2 predicts every token


def test_mae_objective_weights_and_logs_each_modality():
    video_pred, video_target = torch.zeros(2, 4, 3), torch.ones(2, 4, 3)
    out = SimpleNamespace(audio_pred=PRED, audio_target=TARGET, audio_masked=MASKED, audio_valid=VALID,
                          video_pred=video_pred, video_target=video_target,
                          video_masked=torch.tensor([[True, False, True, False], [False] * 4]))
    loss, stats = mae_objective(out, audio_weight=1.0, video_weight=0.5)
    assert stats["mae_audio"].item() == pytest.approx(2.0) and stats["mae_video"].item() == pytest.approx(1.0)
    assert loss.item() == pytest.approx(2.0 + 0.5 * 1.0) and stats["mae"].item() == pytest.approx(2.5)
    assert stats["mae_video_baseline"].item() == pytest.approx(0.0)  # constant targets: the mean is exact
    out.video_pred = None
    loss, stats = mae_objective(out)
    assert loss.item() == pytest.approx(2.0) and "mae_video" not in stats
