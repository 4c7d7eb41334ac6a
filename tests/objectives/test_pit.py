"""Permutation-invariant BCE of SUPERB SD (EEND's pit_loss), against hand-computed BCE values.

With ``a = ln 3`` a logit of ``+a`` is p = 3/4 and ``-a`` is p = 1/4, so each frame-speaker BCE is either
``-ln(3/4) = ln(4/3)`` (the label agrees with the side of 1/2 the logit is on) or ``-ln(1/4) = ln 4``.
"""
from __future__ import annotations

import math

import pytest
import torch

from asrkit.objectives.pit import all_permutations, permute_labels, pit_bce_loss

A = math.log(3.0)
GOOD, BAD = math.log(4 / 3), math.log(4.0)


def two_utterances():
    # utterance 0: 2 valid frames of 3; the outputs are the labels with channels swapped; the padding frame
    # would favour the identity by a wide margin (logit 99 against label 1) if it were counted
    logits0 = [[A, -A], [A, -A], [99.0, -99.0]]
    labels0 = [[0, 1], [0, 1], [1, 0]]
    # utterance 1: 3 valid frames; the identity is right but imperfect
    logits1 = [[A, -A], [A, A], [-A, -A]]
    labels1 = [[1, 0], [1, 0], [0, 1]]
    logits = torch.tensor([logits0, logits1])
    labels = torch.tensor([labels0, labels1], dtype=torch.float)
    return logits, labels, torch.tensor([2, 3])


def test_loss_is_the_bce_of_the_best_permutation_per_utterance():
    logits, labels, lengths = two_utterances()
    loss, perms, stats = pit_bce_loss(logits, labels, lengths)
    # utterance 0: identity 4 ln 4, swap 4 ln(4/3); utterance 1: identity 4 ln(4/3) + 2 ln 4, swap 4 ln 4 + 2 ln(4/3)
    expected = 4 * GOOD + (4 * GOOD + 2 * BAD)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert perms.tolist() == [[1, 0], [0, 1]]
    assert stats["loss"].item() == pytest.approx(expected / (5 * 2), rel=1e-6)
    assert stats["frames"].item() == 5


def test_padding_is_ignored_in_value_and_gradient():
    logits, labels, lengths = two_utterances()
    logits[0, 2] = float("nan")
    labels[0, 2] = float("nan")
    logits.requires_grad_(True)
    loss, perms, _ = pit_bce_loss(logits, labels, lengths)
    loss.backward()
    assert loss.item() == pytest.approx(8 * GOOD + 2 * BAD, rel=1e-6)
    assert perms.tolist() == [[1, 0], [0, 1]]
    assert logits.grad[0, 2].tolist() == [0.0, 0.0]
    # a valid frame's gradient is sigmoid(x) - y against the chosen (swapped) label: 3/4 - 1 and 1/4 - 0
    assert logits.grad[0, 0].tolist() == pytest.approx([-0.25, 0.25], abs=1e-6)


def test_permute_labels_gives_the_targets_of_the_chosen_permutation():
    logits, labels, lengths = two_utterances()
    _, perms, _ = pit_bce_loss(logits, labels, lengths)
    targets = permute_labels(labels, perms)
    assert targets[0].tolist() == [[1, 0], [1, 0], [0, 1]]
    assert targets[1].tolist() == labels[1].tolist()


def test_three_speakers_find_a_cyclic_permutation_among_all_six():
    assert all_permutations(3).tolist() == [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]
    labels = torch.tensor([[[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]]], dtype=torch.float)
    logits = 5.0 * (2 * labels[..., [2, 0, 1]] - 1)  # output j is reference speaker (2, 0, 1)[j]
    loss, perms, stats = pit_bce_loss(logits, labels, torch.tensor([4]))
    assert perms.tolist() == [[2, 0, 1]]
    assert loss.item() == pytest.approx(12 * math.log1p(math.exp(-5.0)), rel=1e-5)
    assert stats["loss"].item() == pytest.approx(math.log1p(math.exp(-5.0)), rel=1e-5)


def test_a_tie_keeps_the_identity_and_an_empty_batch_is_zero():
    logits = torch.zeros(1, 4, 2)
    labels = torch.tensor([[[1, 0], [0, 1], [1, 1], [0, 0]]], dtype=torch.float)
    loss, perms, _ = pit_bce_loss(logits, labels, torch.tensor([4]))
    assert perms.tolist() == [[0, 1]]
    assert loss.item() == pytest.approx(8 * math.log(2.0), rel=1e-6)
    loss, perms, stats = pit_bce_loss(logits, labels, torch.tensor([0]))
    assert loss.item() == 0.0 and perms.tolist() == [[0, 1]] and stats["loss"].item() == 0.0


def test_bad_shapes_and_lengths_are_errors():
    with pytest.raises(ValueError, match=r"\(N, T, S\)"):
        pit_bce_loss(torch.zeros(1, 3, 2), torch.zeros(1, 3, 3), torch.tensor([3]))
    with pytest.raises(ValueError, match="lengths"):
        pit_bce_loss(torch.zeros(1, 3, 2), torch.zeros(1, 3, 2), torch.tensor([4]))
