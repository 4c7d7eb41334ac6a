"""The fast disentangled attention (SEW-D) against the reference on the same weights: the flat indices
of ``RelativePositions``, the skewed layout against the gathers, padded frames past ``num_keys``, the
choice of layout, and the whole transformer with and without gradients."""
from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from asrkit.models.fast import FastOptions, use_fast_modules
from asrkit.models.fast.disentangled import FastDisentangledSelfAttention, FastDisentangledTransformer, RelativePositions
from asrkit.models.sew_d import DisentangledSelfAttention, disentangled_transformer, relative_position_index


def fast_attention(att: DisentangledSelfAttention, position_bias: str = "auto") -> FastDisentangledSelfAttention:
    return FastDisentangledSelfAttention.from_reference(copy.deepcopy(att), FastOptions(position_bias=position_bias))


@pytest.mark.parametrize("t", [1, 40, 300])
def test_relative_positions_read_what_a_gather_over_all_rows_reads(t):
    """From a (T, 2k) term over every table row: c2p is term[i, d(i, j)], p2c is term[j, d(i, j)] (DeBERTa's
    gather, and gather of the transposed index then a transpose); both read from the used rows only."""
    index = relative_position_index(t, 256, 512)  # log buckets from 128 frames on
    rel = RelativePositions.of(index)
    if t <= 128:  # unbucketed: the 2T - 1 offsets only
        assert rel.width == 2 * t - 1
    term = torch.randn(t, 512)
    used = term[:, rel.rows].reshape(-1)
    assert torch.equal(used[rel.c2p].view(t, t), term.gather(1, index))
    assert torch.equal(used[rel.p2c].view(t, t), term.gather(1, index.t()).t())


@pytest.mark.parametrize("terms, share", [(("c2p", "p2c"), True), (("c2p", "p2c"), False), (("c2p",), False),
                                          (("p2c",), True)])
def test_skewed_and_gathered_position_terms_equal_the_reference(terms, share):
    """Inference's skewed layout (one column per offset, strided views, no gather) and the gathers over the
    used rows give the reference attention: in fp32 for inputs within the linear buckets, across the log
    buckets and beyond the table (T > max_relative_positions), with a padded batch; under bf16 autocast
    within bf16 rounding."""
    torch.manual_seed(0)
    att = DisentangledSelfAttention(48, 3, terms, share_att_key=share).eval()
    gather, skew = fast_attention(att, "gather"), fast_attention(att, "skew")
    rel = torch.randn(2 * 64, 48)  # 2k rows, k = 64 buckets
    for t in (1, 5, 40, 90, 300):
        x = torch.randn(2, t, 48)
        padding = torch.zeros(2, t, dtype=torch.bool)
        padding[1, t // 2 + 1:] = True
        index = relative_position_index(t, 64, 100)
        with torch.no_grad():
            ref = att(x, padding, rel, index)
            gathered = gather(x, padding, rel, index)
            skewed = skew(x, padding, rel, index)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                bf16 = skew(x, padding, rel, index)
        assert torch.allclose(gathered, ref, atol=1e-5, rtol=0), (terms, t)
        assert torch.allclose(skewed, gathered, atol=1e-6, rtol=0), (terms, t)
        assert (bf16.float() - ref).abs().max() < 0.02, (terms, t)


@pytest.mark.parametrize("position_bias", ["gather", "skew"])
def test_frames_padded_past_num_keys_leave_the_real_frames_unchanged(position_bias):
    """Inference pads the input to ``inference_frames`` and passes the real frame count as ``num_keys``:
    the padded frames are masked as keys by the position bias, so the real frames' outputs are those of
    the unpadded input, whatever the padded frames hold (random here), with and without a padding mask."""
    torch.manual_seed(0)
    att = fast_attention(DisentangledSelfAttention(48, 3).eval(), position_bias)
    rel = torch.randn(2 * 64, 48)
    for t, extra in ((5, 11), (90, 6), (150, 26)):
        x = torch.randn(2, t + extra, 48)
        padding = torch.zeros(2, t, dtype=torch.bool)
        padding[1, t // 2 + 1:] = True
        with torch.no_grad():
            for mask in (None, padding):
                ref = att(x[:, :t], mask, rel, relative_position_index(t, 64, 100))
                wide = None if mask is None else F.pad(mask, (0, extra), value=True)
                padded = att(x, wide, rel, relative_position_index(t + extra, 64, 100), num_keys=t)
                assert torch.allclose(padded[:, :t], ref, atol=1e-5, rtol=0), (t, mask is None)


def test_skewed_position_terms_are_chosen_for_inference_only():
    att = fast_attention(DisentangledSelfAttention(48, 3).eval())
    q = torch.randn(1, 3, 300, 16)
    short, long = (RelativePositions.of(relative_position_index(t, 256, 512)) for t in (300, 700))
    with torch.no_grad():
        assert att.use_skew(q, short)  # fp32: 608 columns for 449 table rows
        assert not att.use_skew(q, long)  # fp32: 1408 columns for all 512 rows, the gathers are cheaper
        assert att.use_skew(q.bfloat16(), long)
        assert fast_attention(att, "skew").use_skew(q, long) and not fast_attention(att, "gather").use_skew(q, short)
    assert not att.use_skew(q, short)  # with gradients


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_fast_disentangled_transformer_matches_the_reference(precision):
    """The whole stack (folded scale, fused projections, kept tables, padded frames) against the reference,
    without and with gradients, in training mode (dropout 0) and in eval mode."""
    torch.manual_seed(0)
    reference = disentangled_transformer(48, 2, 3, 96, position_buckets=16, max_relative_positions=40,
                                         attention_dropout=0.0)
    fast = use_fast_modules(copy.deepcopy(reference))
    assert isinstance(fast, FastDisentangledTransformer)
    x = torch.randn(2, 75, 48)
    padding = torch.zeros(2, 75, dtype=torch.bool)
    padding[1, 50:] = True
    bf16 = precision == "bf16"
    tolerance = 0.1 if bf16 else 1e-5
    for mode in ("train", "eval"):
        reference.train(mode == "train"), fast.train(mode == "train")
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            with torch.no_grad():
                ref = reference(x, padding).float()
                out = fast(x, padding).float()
            grad = fast(x, padding).float()
        assert (out - ref).abs().max() < tolerance and (grad.detach() - ref).abs().max() < tolerance, mode
