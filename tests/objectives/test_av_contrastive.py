"""Audio-visual InfoNCE, retrieval and sync measures, and the MAE+CLR sum (issue 19, objectives)."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from asrkit.objectives.av_contrastive import (
    batched_retrieval_top1,
    clr_loss,
    mae_clr_loss,
    paired_similarity,
    retrieval_top1,
    sync_accuracy,
)


def test_identical_embeddings_are_retrieved_with_the_known_loss():
    emb = torch.eye(4)
    loss, stats = clr_loss(emb, emb.clone(), 2.0)
    # every row and column: logit 2 for the positive, 0 for the 3 negatives
    assert loss.item() == pytest.approx(math.log1p(3 * math.exp(-2.0)), rel=1e-5)
    assert stats["a2v_top1"].item() == 1.0 and stats["v2a_top1"].item() == 1.0


def test_shuffled_pairing_is_never_retrieved():
    emb = torch.eye(4)
    loss, stats = clr_loss(emb, emb[[1, 2, 3, 0]], 10.0)
    assert stats["a2v_top1"].item() == 0.0 and stats["v2a_top1"].item() == 0.0
    assert loss.item() == pytest.approx(math.log1p(math.exp(10.0) + 2), rel=1e-4)  # positive at 0, one negative at 10


# a = identity, so sim[i, j] = a_i . v_j = v_j[i]:  sim = [[0.6, 0.2], [0.8, 0.0]], scaled by 2
A2 = torch.eye(2)
V2 = torch.tensor([[0.6, 0.8], [0.2, 0.0]])
A2V = (math.log1p(math.exp(2 * (0.2 - 0.6))) + math.log1p(math.exp(2 * (0.8 - 0.0)))) / 2  # rows
V2A = (math.log1p(math.exp(2 * (0.8 - 0.6))) + math.log1p(math.exp(2 * (0.2 - 0.0)))) / 2  # columns


def test_symmetric_and_one_directional_losses_by_hand():
    loss, stats = clr_loss(A2, V2, torch.tensor(2.0))
    assert loss.item() == pytest.approx((A2V + V2A) / 2, rel=1e-5)
    assert stats["clr_a2v"].item() == pytest.approx(A2V, rel=1e-5)
    assert stats["clr_v2a"].item() == pytest.approx(V2A, rel=1e-5)
    assert stats["a2v_top1"].item() == 0.5 and stats["v2a_top1"].item() == 0.0
    v2a, _ = clr_loss(A2, V2, 2.0, symmetric=False)
    a2v, _ = clr_loss(A2, V2, 2.0, symmetric=False, direction="a2v")
    assert v2a.item() == pytest.approx(V2A, rel=1e-5) and a2v.item() == pytest.approx(A2V, rel=1e-5)
    cav_mae = -torch.diag(F.log_softmax(A2 @ V2.T * 2.0, dim=0)).mean()  # cav-mae bidirect_contrast=False
    assert v2a.item() == pytest.approx(cav_mae.item(), rel=1e-6)
    with pytest.raises(ValueError):
        clr_loss(A2, V2, 2.0, symmetric=False, direction="both")


def test_gradients_reach_both_embeddings_and_a_learned_scale():
    gen = torch.Generator().manual_seed(0)
    audio = torch.randn(3, 5, generator=gen, requires_grad=True)
    video = torch.randn(3, 5, generator=gen, requires_grad=True)
    log_scale = torch.tensor(math.log(1 / 0.07), requires_grad=True)
    loss, _ = clr_loss(F.normalize(audio, dim=-1), F.normalize(video, dim=-1), log_scale.exp())
    loss.backward()
    assert audio.grad.abs().sum() > 0 and video.grad.abs().sum() > 0 and log_scale.grad.abs() > 0


# four clips, two speakers; each audio's best video overall is the other speaker's, its own clip within speaker
AUDIO4 = torch.eye(4)
VIDEO4 = torch.tensor([[0.6, 0.0, 0.8, 0.0], [0.0, 0.6, 0.0, 0.8], [0.8, 0.0, 0.6, 0.0], [0.0, 0.8, 0.0, 0.6]])
SPEAKER4 = torch.tensor([0, 0, 1, 1])


def test_retrieval_within_groups_only_ranks_the_group():
    overall = retrieval_top1(AUDIO4, VIDEO4)
    assert overall == {"a2v_top1": 0.0, "v2a_top1": 0.0, "chance": 0.25, "num": 4}
    within = retrieval_top1(AUDIO4, VIDEO4, groups=SPEAKER4)
    assert within == {"a2v_top1": 1.0, "v2a_top1": 1.0, "chance": 0.5, "num": 4}


def test_batched_retrieval_splits_consecutive_batches_and_groups():
    assert batched_retrieval_top1(AUDIO4, VIDEO4, batch_size=4)["a2v_top1"] == 0.0
    two = batched_retrieval_top1(AUDIO4, VIDEO4, batch_size=2)
    assert two == {"a2v_top1": 1.0, "v2a_top1": 1.0, "chance": 0.5, "num": 4, "num_batches": 2}
    # same-speaker batches of clips {0, 2} and {1, 3}: each audio's confuser is now in its batch
    crossed = batched_retrieval_top1(AUDIO4, VIDEO4, groups=torch.tensor([0, 1, 0, 1]))
    assert crossed["a2v_top1"] == 0.0 and crossed["num_batches"] == 2 and crossed["chance"] == 0.5
    # a fifth clip alone in the last batch has nothing to be retrieved among: left out
    five = batched_retrieval_top1(torch.eye(5), torch.eye(5), batch_size=2)
    assert five["num"] == 4 and five["num_batches"] == 2 and five["a2v_top1"] == 1.0


def test_sync_accuracy_counts_clips_whose_true_alignment_beats_every_shift():
    true = torch.tensor([0.9, 0.5, 0.7])
    shifted = torch.tensor([[0.1, 0.95], [0.2, 0.3], [0.7, 0.1]])  # clip 0 loses, clip 2 ties (wrong)
    assert sync_accuracy(true, shifted) == pytest.approx(1 / 3)
    assert sync_accuracy(true, shifted[:, 0]) == pytest.approx(2 / 3)
    audio, video = torch.tensor([[1.0, 0.0], [0.0, 2.0]]), torch.tensor([[3.0, 0.0], [1.0, 1.0]])
    assert torch.allclose(paired_similarity(audio, video), torch.tensor([1.0, 2 ** -0.5]))


def test_mae_clr_loss_is_the_weighted_sum_with_each_term_logged():
    mae, clr = torch.tensor(2.0, requires_grad=True), torch.tensor(3.0, requires_grad=True)
    loss, stats = mae_clr_loss(mae, clr)
    assert loss.item() == 5.0  # the paper's 1 : 1
    loss, stats = mae_clr_loss(mae, clr, mae_weight=1.0, clr_weight=0.01)
    loss.backward()
    assert loss.item() == pytest.approx(2.03)
    assert stats["mae_weighted"].item() == 2.0 and stats["clr_weighted"].item() == pytest.approx(0.03)
    assert mae.grad.item() == 1.0 and clr.grad.item() == pytest.approx(0.01)


def test_time_shifted_audio_negatives_join_the_video_to_audio_softmax_only():
    a = torch.eye(2)
    v = torch.eye(2)
    hard = torch.stack([torch.tensor([[0.6, 0.8]]), torch.tensor([[0.8, 0.6]])])  # (N=2, S=1, D=2)
    plain, _ = clr_loss(a, v, 1.0, symmetric=False, direction="v2a")
    loss, stats = clr_loss(a, v, 1.0, symmetric=False, direction="v2a", audio_negatives=hard)
    # video 0: logits [1, 0, 0.6] -> -log(e / (e + 1 + e^0.6)); video 1: [0, 1, 0.6], the same
    expected = -math.log(math.e / (math.e + 1 + math.exp(0.6)))
    assert loss.item() == pytest.approx(expected, rel=1e-6) and loss.item() > plain.item()
    a2v_alone, _ = clr_loss(a, v, 1.0, symmetric=False, direction="a2v")
    a2v, _ = clr_loss(a, v, 1.0, symmetric=False, direction="a2v", audio_negatives=hard)
    assert a2v.item() == pytest.approx(a2v_alone.item())  # audio queries rank videos: nothing added
    assert stats["sync_top1"].item() == 1.0  # the true audio (cosine 1) beats its shift (0.6)
    _, stats = clr_loss(a, v, 1.0, audio_negatives=torch.stack([v[:1], v[1:]]))  # shifts as good as the truth
    assert stats["sync_top1"].item() == 0.0  # a tie counts wrong
