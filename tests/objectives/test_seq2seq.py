"""fairseq's label-smoothed NLL: a hand-computed value, padding ignored, PyTorch's smoothing at the matching epsilon."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from asrkit.objectives.seq2seq import label_smoothed_nll_loss


def test_label_smoothed_loss_by_hand():
    # p = (1/2, 1/4, 1/8, 1/8), target 0, epsilon 0.1, V = 4: eps_i = 0.1 / 3
    # nll = ln 2; sum_v -log p_v = (1 + 2 + 3 + 3) ln 2 = 9 ln 2
    # loss = (1 - 0.1 - 0.1/3) ln 2 + (0.1/3) 9 ln 2 = (0.9 + 8 * 0.1/3) ln 2 = (3.5 / 3) ln 2
    lprobs = torch.tensor([[0.5, 0.25, 0.125, 0.125], [0.25, 0.25, 0.25, 0.25]]).log()
    target = torch.tensor([0, 3])  # the second is padding (pad = 3)
    loss, nll = label_smoothed_nll_loss(lprobs, target, 0.1, ignore_index=3)
    assert nll.item() == pytest.approx(math.log(2), rel=1e-6)
    assert loss.item() == pytest.approx(3.5 / 3 * math.log(2), rel=1e-6)


def test_it_is_the_cross_entropy_to_target_one_minus_epsilon_and_epsilon_over_v_minus_1_elsewhere():
    g = torch.Generator().manual_seed(0)
    lprobs = torch.log_softmax(torch.randn(2, 5, 7, generator=g), dim=-1)
    target = torch.randint(1, 7, (2, 5), generator=g)
    target[1, 3:] = 0  # pad
    eps, v = 0.1, 7
    loss, nll = label_smoothed_nll_loss(lprobs, target, eps, ignore_index=0)
    q = torch.full((2, 5, v), eps / (v - 1)).scatter(-1, target.unsqueeze(-1), 1 - eps)
    keep = (target != 0).unsqueeze(-1)
    assert loss.item() == pytest.approx(-(q * lprobs * keep).sum().item(), rel=1e-5)
    # PyTorch spreads its epsilon over all V classes: the same loss at epsilon * V / (V - 1)
    torch_loss = F.cross_entropy(lprobs.view(-1, v), target.view(-1), ignore_index=0, reduction="sum",
                                 label_smoothing=eps * v / (v - 1))
    assert loss.item() == pytest.approx(torch_loss.item(), rel=1e-5)
    assert nll.item() == pytest.approx(F.nll_loss(lprobs.view(-1, v), target.view(-1), ignore_index=0,
                                                  reduction="sum").item(), rel=1e-6)


def test_no_smoothing_is_the_nll_and_bad_inputs_are_errors():
    lprobs = torch.log_softmax(torch.randn(4, 5), dim=-1)
    target = torch.tensor([1, 2, 3, 4])
    loss, nll = label_smoothed_nll_loss(lprobs, target, 0.0)
    assert loss.item() == pytest.approx(nll.item())
    with pytest.raises(ValueError, match="epsilon"):
        label_smoothed_nll_loss(lprobs, target, 1.0)
    with pytest.raises(ValueError, match="shape"):
        label_smoothed_nll_loss(lprobs, target[:3], 0.1)
