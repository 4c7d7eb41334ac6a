"""wav2vec 2.0 objective (§3.2, eq. 2-4) and distractor sampling."""
from __future__ import annotations

import math

import pytest
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



MICRO = {"conv_feature_layers": "[(16, 10, 5)] + [(16, 3, 2)] * 2 + [(16, 2, 2)]", "encoder_layers": 2,
         "encoder_embed_dim": 24, "encoder_ffn_embed_dim": 48, "encoder_attention_heads": 2, "conv_pos": 8,
         "conv_pos_groups": 4, "latent_vars": 6, "final_dim": 12, "num_negatives": 7}


def _pretraining_batch(**config):
    """A micro model in training mode (dropout, LayerDrop) and a padded batch of two utterances."""
    from asrkit.models import Wav2Vec2Config, wav2vec2_model

    torch.manual_seed(0)
    model = wav2vec2_model(Wav2Vec2Config(**{**MICRO, **config})).train()
    wav = torch.randn(2, 4000, generator=torch.Generator().manual_seed(1))
    padding_mask = torch.arange(4000)[None, :] >= torch.tensor([[4000], [3100]])
    return model, wav.masked_fill(padding_mask, 0.0), padding_mask


def _forward_before_the_objective_moved_out(model, wav, padding_mask, generator):
    """Loss of ``Wav2Vec2Model.forward`` as it computed the logits itself (e44333c), step by step."""
    from asrkit.objectives.contrastive import contrastive_logits_by_index

    out = model.extract_features(wav, padding_mask, True, None, generator)
    target_mask = out.mask_indices
    q = model.quantizer(out.features[target_mask].unsqueeze(0), generator=generator)
    targets = q.quantized.squeeze(0)
    negative_indices = sample_negative_indices(target_mask, model.cfg.num_negatives, generator)
    predictions = model.final_proj(out.x[target_mask])
    if model.cfg.codebook_negatives > 0:
        num, k = targets.size(0), model.cfg.codebook_negatives
        from_codebook = model.quantizer.sample_codevectors(num * k, generator).view(num, k, -1)
        negatives = torch.cat([targets[negative_indices], from_codebook], dim=1)
        logits = contrastive_logits(predictions, targets, negatives, model.cfg.logit_temp)
    else:
        logits = contrastive_logits_by_index(predictions, targets, negative_indices, q.indices.squeeze(0),
                                             model.cfg.logit_temp)
    return wav2vec2_loss(logits, q.prob_perplexity, q.num_vars, out.features_pen)[0], logits


@pytest.mark.parametrize("config", [{}, {"codebook_negatives": 3}, {"predictor_layers": 2, "predictor_hidden_dim": 16}])
def test_the_objective_draws_and_computes_exactly_what_the_model_s_forward_did(config):
    """The same generator draws in the same order (masks, Gumbel noise, distractors, codebook entries) and the
    same arithmetic: logits, loss and every gradient bit for bit equal to the pre-refactor forward pass."""
    from asrkit.objectives.contrastive import wav2vec2_logits, wav2vec2_objective

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the codebook gather's backward sums in a thread-dependent order
    try:
        runs = []
        for moved_out in (False, True):
            model, wav, padding_mask = _pretraining_batch(**config)
            torch.manual_seed(5)  # dropout and LayerDrop
            gen = torch.Generator().manual_seed(7)
            if moved_out:
                out = model(wav, padding_mask, generator=gen)
                state = gen.get_state()
                logits = wav2vec2_logits(model, out, gen)
                gen.set_state(state)
                loss, _ = wav2vec2_objective(model, out, gen)
            else:
                loss, logits = _forward_before_the_objective_moved_out(model, wav, padding_mask, gen)
            loss.backward()
            runs.append((logits, loss, {n: p.grad for n, p in model.named_parameters()}, gen.get_state()))
    finally:
        torch.set_num_threads(threads)
    (logits_a, loss_a, grads_a, gen_a), (logits_b, loss_b, grads_b, gen_b) = runs
    assert torch.equal(logits_a, logits_b) and torch.equal(loss_a, loss_b) and torch.equal(gen_a, gen_b)
    assert grads_a.keys() == grads_b.keys()
    for name, grad in grads_a.items():
        assert (grad is None and grads_b[name] is None) or torch.equal(grad, grads_b[name]), name


def test_distractors_are_other_target_frames_of_the_same_utterance_drawn_from_the_generator():
    """wav2vec2_logits against an explicit per-frame computation from the same uniform draws."""
    from asrkit.objectives.contrastive import wav2vec2_logits

    model, wav, padding_mask = _pretraining_batch(latent_vars=2)  # 2 x 2 codewords: many distractors equal q_t
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        out = model(wav, padding_mask, generator=gen)
        draws = torch.Generator()
        draws.set_state(gen.get_state())
        logits = wav2vec2_logits(model, out, gen)
    k = model.cfg.num_negatives
    u = torch.rand(out.targets.size(0), k, generator=draws, dtype=torch.float64)
    rows = [(b, t) for b, t in out.target_mask.nonzero().tolist()]
    expected = torch.empty_like(logits)
    for i, (b, _) in enumerate(rows):
        same = [j for j, (c, _) in enumerate(rows) if c == b]  # this utterance's target frames, in order
        others = [j for j in same if j != i]
        candidates = [i] + [others[int(u[i, n] * len(others))] for n in range(k)]
        for col, j in enumerate(candidates):
            cos = F.cosine_similarity(out.predictions[i], out.targets[j], dim=0) / model.cfg.logit_temp
            same_codeword = col > 0 and torch.equal(out.codes[j], out.codes[i])
            expected[i, col] = float("-inf") if same_codeword else cos
    assert torch.isinf(expected).any() and torch.equal(torch.isinf(logits), torch.isinf(expected))
    finite = torch.isfinite(expected)
    assert torch.allclose(logits[finite], expected[finite], atol=1e-5)
