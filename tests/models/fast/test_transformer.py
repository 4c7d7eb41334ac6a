"""The fast Transformer pieces against the reference ones on the same weights: packed linears (MKL fp32,
oneDNN bf16 with fused GELU), row buckets, padded inference frames masked as keys, fused q/k/v
attention, the FFN and the whole encoder."""
from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from asrkit.models.components import attention_dtype, key_mask, transformer_encoder
from asrkit.models.fast import FastOptions, use_fast_modules
from asrkit.models.fast.cache import InferenceCache
from asrkit.models.fast.linear import inference_frames, linear, pad_frames, row_bucket
from asrkit.models.fast.options import mkl_packed_linear_available, onednn_packed_linear_available
from asrkit.models.fast.transformer import FastFeedForward, FastSelfAttention, FastTransformerEncoder


@pytest.mark.skipif(not mkl_packed_linear_available(), reason="torch built without MKL")
def test_packed_linear_matches_f_linear_and_follows_the_weights():
    torch.manual_seed(0)
    layer, cache, options = torch.nn.Linear(64, 96), InferenceCache(), FastOptions()
    x = torch.randn(2, 57, 64)
    with torch.inference_mode():
        expected = F.linear(x, layer.weight, layer.bias)
        assert torch.allclose(linear(x, layer.weight, layer.bias, cache, options), expected, atol=1e-6)
        assert cache.key[0] == "mkl"  # packed once, kept
        layer.weight.mul_(2.0)  # a new version of the weight: packed again
        assert torch.allclose(linear(x[0], layer.weight, layer.bias, cache, options),
                              F.linear(x[0], layer.weight, layer.bias), atol=1e-6)
        off = InferenceCache()
        linear(x, layer.weight, layer.bias, off, FastOptions(mkl_packed_linear=False))
        assert off.key is None  # plain F.linear: nothing derived
    out = linear(x, layer.weight, layer.bias, cache, options)  # with gradients: plain F.linear, differentiable
    assert out.requires_grad


@pytest.mark.skipif(not onednn_packed_linear_available(), reason="torch built without oneDNN")
def test_onednn_packed_linear_under_bf16_autocast():
    """Packed once for oneDNN, the same products as autocast's F.linear (within one bf16 rounding); the
    GELU is fused; a new weight version is packed again; the fp32 (MKL) and bf16 derivations of one weight
    are kept apart."""
    torch.manual_seed(0)
    layer, cache, options = torch.nn.Linear(64, 96), InferenceCache(), FastOptions()
    x = torch.randn(2, 57, 64)
    with torch.inference_mode():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            expected = F.linear(x, layer.weight, layer.bias)
            out = linear(x, layer.weight, layer.bias, cache, options)
            assert cache.key[0] == "onednn" and cache.value[0].is_mkldnn
            gelu = linear(x, layer.weight, layer.bias, cache, options, gelu=True)
        assert out.dtype == gelu.dtype == torch.bfloat16 and out.shape == (2, 57, 96)
        assert (out.float() - expected.float()).abs().max() <= 0.01 * expected.float().abs().max()
        exact = F.gelu(F.linear(x, layer.weight, layer.bias))
        assert (gelu.float() - exact).abs().max() < 0.02
        fp32 = linear(x, layer.weight, layer.bias, cache, options)  # fp32 after bf16: not oneDNN's packing
        assert fp32.dtype == torch.float32 and torch.allclose(fp32, F.linear(x, layer.weight, layer.bias), atol=1e-6)
        layer.weight.mul_(-1.0)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            flipped = linear(x, layer.weight, layer.bias, cache, options)
        assert (flipped.float() - F.linear(x, layer.weight, layer.bias)).abs().max() < 0.05


def test_row_buckets_are_few_and_tight():
    """Row counts go to oneDNN rounded up by at most 1/8 (16 rows below 256), so a test set's frame
    counts map to a few shapes."""
    buckets = [row_bucket(m) for m in range(1, 5001)]
    assert all(m <= b <= m + max(15, m // 8) for m, b in zip(range(1, 5001), buckets))
    assert len(set(buckets[99:400])) <= 24  # 100-400 frames: 24 shapes instead of 301


def test_inference_frames_are_padded_for_reduced_precision_cpu_inference_only():
    x, options = torch.randn(1, 359, 8), FastOptions()
    with torch.no_grad():
        assert inference_frames(x, options) == 359  # fp32
        assert inference_frames(x.bfloat16(), options) == inference_frames(x.half(), options) == 368  # keys to 16
        assert inference_frames(torch.randn(1, 368, 8).half(), options) == 368  # already a multiple of 16
        assert inference_frames(x.half(), FastOptions(sdpa_key_multiple=1)) == 359
        with torch.autocast("cpu", dtype=torch.bfloat16):
            frames = inference_frames(x, options)
            assert inference_frames(torch.randn(3, 359, 8), options) % options.sdpa_key_multiple == 0
    assert frames == (row_bucket(359) if options.onednn_packed_linear else 368)
    if options.onednn_packed_linear:
        assert frames == 384  # the linears' row count: no padding copy of their own
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert inference_frames(x, options) == 359  # with gradients
    assert inference_frames(x.bfloat16(), options) == 359


@pytest.mark.parametrize("layer_norm_first", [False, True], ids=["post_ln", "pre_ln"])
def test_padded_frames_are_masked_as_keys(layer_norm_first):
    """A Transformer run on frames padded with ``pad_frames`` (random frames here, not zeros) gives the
    real frames the outputs of the unpadded input, with and without a padding mask of its own."""
    torch.manual_seed(0)
    encoder = transformer_encoder(32, 2, 4, 64, conv_pos=0, layer_norm_first=layer_norm_first).eval()
    x = torch.randn(2, 37, 32)
    padding = torch.zeros(2, 37, dtype=torch.bool)
    padding[1, 20:] = True
    with torch.no_grad():
        for mask in (None, padding):
            ref = encoder.run_layers(x, key_mask(mask, x.dtype))
            padded, wide = pad_frames(x, mask, 48)
            padded = padded + F.pad(torch.randn(2, 11, 32), (0, 0, 37, 0))
            attn_mask = key_mask(wide, padded.dtype)
            assert wide.shape == (2, 48) and attn_mask.shape == (2, 1, 1, 48)
            assert torch.allclose(encoder.run_layers(padded, attn_mask)[:, :37], ref, atol=1e-5), mask is None
    assert key_mask(None, torch.float32) is None and key_mask(torch.zeros(1, 5, dtype=torch.bool), torch.float32) is None


@pytest.mark.parametrize("layer_norm_first", [False, True], ids=["post_ln", "pre_ln"])
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_fast_transformer_encoder_matches_the_reference(layer_norm_first, precision):
    """Fused q/k/v, packed linears and padded frames compute the reference encoder's output, with a
    zero-length and a padded utterance in the batch, and with gradients (training)."""
    torch.manual_seed(0)
    reference = transformer_encoder(64, 2, 4, 128, conv_pos=16, conv_pos_groups=4,
                                    layer_norm_first=layer_norm_first).eval()
    fast = use_fast_modules(copy.deepcopy(reference))
    assert isinstance(fast, FastTransformerEncoder)
    assert all(isinstance(layer.attention, FastSelfAttention) and isinstance(layer.feed_forward, FastFeedForward)
               for layer in fast.layers)
    x = torch.randn(3, 59, 64)
    padding = torch.zeros(3, 59, dtype=torch.bool)
    padding[1, 30:] = True
    padding[2] = True
    bf16 = precision == "bf16"
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        with torch.no_grad():
            ref = reference(x, padding).float()
            out = fast(x, padding).float()
        grad = fast(x, padding).float()
    tolerance = 0.1 if bf16 else 1e-5
    assert out.shape == ref.shape and torch.isfinite(out).all()
    assert (out - ref).abs().max() < tolerance and (grad.detach() - ref).abs().max() < tolerance
    assert attention_dtype(x) == torch.float32


def test_onednn_packed_linear_is_off_where_the_cpu_has_no_onednn_bf16(monkeypatch):
    """oneDNN's bf16 weight reorder raises on AVX2-only CPUs: there the bf16 fast path must not be chosen."""
    from asrkit.models.fast.options import onednn_packed_linear_available

    class NoBf16:  # stands in for torch.ops.mkldnn on such a CPU
        _linear_pointwise = _reorder_linear_weight = object()

        @staticmethod
        def _is_mkldnn_bf16_supported():
            return False

    monkeypatch.setattr(torch.ops, "mkldnn", NoBf16(), raising=False)
    assert onednn_packed_linear_available() is False
