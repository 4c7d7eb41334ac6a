"""The fast inference paths of the building blocks compute what the plain formulation computes.

The feature encoder runs channels-last as GEMMs on strided views (first-block GroupNorm folded into
its GEMM, scratch buffers without grad), the positional convolution runs by FFT without grad,
attention projections and SEW-D position tables are cached between inference calls: each is checked
against ``nn.Conv1d`` / ``F.group_norm`` / fresh weights, with and without gradients, at batch 1 and
above, and after the weights change.
"""
from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from asrkit.models.components import (FFT_POS_CONV, ONEDNN_PACKED_LINEAR, PACKED_LINEAR, POS_CONV_FRAME_BUCKET,
                                      SDPA_KEY_MULTIPLE, ConvBlock, ConvolutionalPositionalEmbedding, FeatureEncoder,
                                      InferenceCache, _row_bucket, feature_encoder, inference_frames, key_mask, linear,
                                      pad_frames, transformer_encoder)
from asrkit.models.wav2vec2 import Wav2Vec2Config, wav2vec2_model

LAYERS = [(16, 10, 5), (24, 3, 2), (24, 3, 2), (16, 2, 2), (16, 1, 1)]  # k = 1 as in WFE-C


def _reference(encoder: FeatureEncoder, wav: torch.Tensor) -> torch.Tensor:
    """fairseq ConvFeatureExtractionModel: (N, C, T) convolutions, GroupNorm / transposed LayerNorm, GELU."""
    x = wav.unsqueeze(1)
    for block in encoder.conv_layers:
        x = F.conv1d(x, block.conv.weight, block.conv.bias, stride=block.conv.stride)
        if isinstance(block.norm, torch.nn.LayerNorm):
            x = F.layer_norm(x.transpose(1, 2), block.norm.normalized_shape, block.norm.weight, block.norm.bias,
                             block.norm.eps).transpose(1, 2)
        elif block.norm is not None:
            x = F.group_norm(x, block.norm.num_groups, block.norm.weight, block.norm.bias, block.norm.eps)
        x = F.gelu(x)
    return x.transpose(1, 2)


def _perturbed_encoder(mode: str, bias: bool) -> FeatureEncoder:
    torch.manual_seed(0)
    encoder = feature_encoder(LAYERS, mode, bias)
    with torch.no_grad():
        for p in encoder.parameters():
            p.add_(0.1 * torch.randn_like(p))  # norms away from 1 / 0
    return encoder


@pytest.mark.parametrize("mode, bias", [("group_norm", False), ("group_norm", True), ("layer_norm", True)])
def test_feature_encoder_matches_plain_convolutions(mode, bias):
    encoder = _perturbed_encoder(mode, bias)
    wav = torch.randn(3, 2345) + 0.5  # an offset: the folded GroupNorm must centre it
    ref = _reference(encoder, wav)
    with torch.no_grad():
        fast, _ = encoder(wav)
    with torch.inference_mode():
        again, _ = encoder(wav)
        single, _ = encoder(wav[1:2])
    grad, _ = encoder(wav)
    for out in (fast, again, grad):
        assert out.shape == ref.shape and torch.allclose(out, ref, atol=1e-5)
    assert torch.allclose(single[0], ref[1], atol=1e-5)
    # gradients through the GEMM formulation equal those of the convolutions
    wav.requires_grad_(True)
    params = [wav, *encoder.parameters()]
    # the first convolution's bias cancels in its GroupNorm: unused by the fold, zero gradient in the reference
    g_fast = torch.autograd.grad(encoder(wav)[0].square().sum(), params, allow_unused=True)
    g_ref = torch.autograd.grad(_reference(encoder, wav).square().sum(), params)
    for a, b in zip(g_fast, g_ref):
        assert torch.allclose(torch.zeros_like(b) if a is None else a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("autocast", [False, True])
def test_blockwise_layer_norm_of_long_inputs_matches_the_training_path(autocast):
    """Inference LayerNorm + GELU run in blocks of 1024 frames, in place: 1356 first-block frames per utterance
    give a block across two utterances and a partial last one. In fp32 equal to the functional (gradient)
    path, whose GEMMs are the same; under bf16 autocast (where the two paths round their GEMMs differently)
    close to the fp32 convolutions."""
    encoder = _perturbed_encoder("layer_norm", True)
    wav = torch.randn(3, 6789)
    assert (wav.size(1) - 10) // 5 + 1 == 1356
    ref = _reference(encoder, wav).detach()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        with torch.no_grad():
            blockwise, _ = encoder(wav)
        functional, _ = encoder(wav)
    if autocast:
        assert blockwise.dtype == torch.bfloat16 and (blockwise.float() - ref).abs().max() < 0.1
    else:
        assert torch.equal(blockwise, functional.detach()) and torch.allclose(blockwise, ref, atol=1e-5)


def test_first_block_norm_fold_is_accurate_for_large_offsets():
    """Per-channel statistics from the windows' covariance, windows centred before the GEMM: with a DC
    offset 300 times the signal, as close to a float64 computation as F.group_norm in float32."""
    encoder = _perturbed_encoder("group_norm", False)
    block: ConvBlock = encoder.conv_layers[0]
    wav = 0.01 * torch.randn(1, 4000) + 3.0

    def reference(wav, block):
        y = F.conv1d(wav[:, None], block.conv.weight, stride=5)
        return F.gelu(F.group_norm(y, 16, block.norm.weight, block.norm.bias, block.norm.eps)).transpose(1, 2)

    with torch.no_grad():
        exact = reference(wav.double(), copy.deepcopy(block).double())
        fp32_error = (reference(wav, block) - exact).abs().max()
        fold_error = (block(wav[..., None]) - exact).abs().max()
    assert fold_error <= max(fp32_error, 1e-6)


def _model(**kw) -> torch.nn.Module:
    torch.manual_seed(0)
    kw = {"conv_feature_layers": "[(16, 10, 5)] + [(16, 3, 2)] * 2 + [(16, 2, 2)]", **kw}
    cfg = Wav2Vec2Config(encoder_layers=2, encoder_embed_dim=32, encoder_ffn_embed_dim=64, encoder_attention_heads=4,
                         conv_pos=16, conv_pos_groups=4, latent_vars=8, final_dim=16, **kw)
    return wav2vec2_model(cfg).eval()


@pytest.mark.parametrize("model_type", ["wav2vec2", "sew_d"])
def test_cached_weights_follow_optimizer_steps_and_loads(model_type):
    extra = {"model_type": "sew_d", "squeeze_factor": 2, "position_buckets": 8, "max_relative_positions": 16} \
        if model_type == "sew_d" else {}
    model = _model(**extra)
    wav = torch.randn(1, 3000)
    with torch.inference_mode():
        before = model.extract_features(wav).x
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    model.extract_features(wav).x.square().mean().backward()
    opt.step()
    with torch.inference_mode():
        cached = model.extract_features(wav).x
    fresh = copy.deepcopy(model)  # a copy starts with empty caches
    with torch.no_grad():
        assert torch.allclose(cached, fresh.extract_features(wav).x, atol=1e-6)
        assert not torch.allclose(cached, before, atol=1e-3)
    with torch.inference_mode():
        model.load_state_dict(_model(**extra).state_dict())
        assert torch.allclose(model.extract_features(wav).x, before, atol=1e-6)


def test_bf16_packed_weights_follow_optimizer_steps():
    """bf16 inference keeps oneDNN-packed weights (Transformer linears, one-GEMM feature-encoder blocks with
    their GELU, SEW-D's up-sampling): after an optimizer step it computes what a fresh copy computes."""
    model = _model(**SEW_D_POINTWISE)
    wav = torch.randn(1, 3000)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        before = model.extract_features(wav).x
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    model.extract_features(wav).x.square().mean().backward()
    opt.step()
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        cached = model.extract_features(wav).x
        fresh = copy.deepcopy(model).extract_features(wav).x  # a copy starts with empty caches
    assert torch.equal(cached, fresh)
    assert not torch.allclose(cached.float(), before.float(), atol=1e-2)


def test_narrow_positional_convolution_runs_in_fp32_under_bf16_autocast():
    """oneDNN's bf16 grouped convolution is wrong on AMX CPUs below 16 channels per group
    (ONEDNN_BF16_MIN_GROUP_CHANNELS): such a positional convolution gives its fp32 result under bf16
    autocast, on any CPU; one of 16 channels per group runs in bf16."""
    torch.manual_seed(0)
    x = torch.randn(2, 37, 32)
    for groups, narrow in ((4, True), (2, False)):  # 8 and 16 channels per group
        pos_conv = ConvolutionalPositionalEmbedding(32, 16, groups).eval()
        with torch.no_grad():
            fp32 = pos_conv(x)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                mixed = pos_conv(x)
        assert (mixed.dtype == torch.float32 and torch.equal(mixed, fp32)) if narrow else mixed.dtype == torch.bfloat16


SEW_D_POINTWISE = {"model_type": "sew_d", "squeeze_factor": 2, "position_buckets": 8, "max_relative_positions": 16,
                   "conv_feature_layers": "[(16, 10, 5)] + [(16, 3, 2), (16, 1, 1)] * 2 + [(16, 2, 2)]"}


@pytest.mark.parametrize("extra", [{}, {"extractor_mode": "layer_norm", "conv_bias": True, "layer_norm_first": True},
                                   SEW_D_POINTWISE], ids=["group_norm", "layer_norm", "sew_d_pointwise"])
def test_bf16_autocast_stays_close_to_fp32(extra):
    model = _model(**extra)
    wav = torch.randn(2, 3000)
    with torch.inference_mode():
        fp32 = model.extract_features(wav).x
        with torch.autocast("cpu", dtype=torch.bfloat16):
            bf16 = model.extract_features(wav).x
            bf16_again = model.extract_features(wav).x
    with torch.autocast("cpu", dtype=torch.bfloat16):  # training path, gradients through the GEMMs
        model.train().extract_features(wav).x.float().square().mean().backward()
    assert torch.equal(bf16, bf16_again)
    assert (bf16.float() - fp32).abs().max() < 0.1
    assert all(p.grad is not None for p in model.feature_encoder.parameters())


@pytest.mark.skipif(not PACKED_LINEAR["enabled"], reason="torch built without MKL")
def test_packed_linear_matches_f_linear_and_follows_the_weights():
    torch.manual_seed(0)
    layer, cache = torch.nn.Linear(64, 96), InferenceCache()
    x = torch.randn(2, 57, 64)
    with torch.inference_mode():
        expected = F.linear(x, layer.weight, layer.bias)
        assert torch.allclose(linear(x, layer.weight, layer.bias, cache), expected, atol=1e-6)
        assert cache.value is not None  # packed once, kept
        layer.weight.mul_(2.0)  # a new version of the weight: packed again
        assert torch.allclose(linear(x[0], layer.weight, layer.bias, cache), F.linear(x[0], layer.weight, layer.bias),
                              atol=1e-6)
    out = linear(x, layer.weight, layer.bias, cache)  # with gradients: plain F.linear, differentiable
    assert out.requires_grad


@pytest.mark.skipif(not ONEDNN_PACKED_LINEAR["enabled"], reason="torch built without oneDNN")
def test_onednn_packed_linear_under_bf16_autocast():
    """Packed once for oneDNN, the same products as autocast's F.linear (within one bf16 rounding); the
    GELU is fused; a new weight version is packed again; the fp32 (MKL) and bf16
    derivations of one weight are kept apart."""
    torch.manual_seed(0)
    layer, cache = torch.nn.Linear(64, 96), InferenceCache()
    x = torch.randn(2, 57, 64)
    with torch.inference_mode():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            expected = F.linear(x, layer.weight, layer.bias)
            out = linear(x, layer.weight, layer.bias, cache)
            assert cache.key[0] == "onednn" and cache.value[0].is_mkldnn
            gelu = linear(x, layer.weight, layer.bias, cache, gelu=True)
        assert out.dtype == gelu.dtype == torch.bfloat16 and out.shape == (2, 57, 96)
        assert (out.float() - expected.float()).abs().max() <= 0.01 * expected.float().abs().max()
        exact = F.gelu(F.linear(x, layer.weight, layer.bias))
        assert (gelu.float() - exact).abs().max() < 0.02
        fp32 = linear(x, layer.weight, layer.bias, cache)  # fp32 after bf16: MKL's packing, not oneDNN's
        assert fp32.dtype == torch.float32 and torch.allclose(fp32, F.linear(x, layer.weight, layer.bias), atol=1e-6)
        layer.weight.mul_(-1.0)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            flipped = linear(x, layer.weight, layer.bias, cache)
        assert (flipped.float() - F.linear(x, layer.weight, layer.bias)).abs().max() < 0.05


def test_row_buckets_are_few_and_tight():
    """Row counts go to oneDNN rounded up by at most 1/8 (16 rows below 256), so a test set's frame
    counts map to a few shapes."""
    buckets = [_row_bucket(m) for m in range(1, 5001)]
    assert all(m <= b <= m + max(15, m // 8) for m, b in zip(range(1, 5001), buckets))
    assert len(set(buckets[99:400])) <= 24  # 100-400 frames: 24 shapes instead of 301


def test_inference_frames_are_padded_for_reduced_precision_cpu_inference_only():
    x = torch.randn(1, 359, 8)
    with torch.no_grad():
        assert inference_frames(x) == 359  # fp32
        assert inference_frames(x.bfloat16()) == inference_frames(x.half()) == 368  # no autocast: keys to 16
        assert inference_frames(torch.randn(1, 368, 8).half()) == 368  # already a multiple of 16
        with torch.autocast("cpu", dtype=torch.bfloat16):
            frames = inference_frames(x)
            assert inference_frames(torch.randn(3, 359, 8)) % SDPA_KEY_MULTIPLE == 0
    assert frames == (_row_bucket(359) if ONEDNN_PACKED_LINEAR["enabled"] else 368)
    if ONEDNN_PACKED_LINEAR["enabled"]:
        assert frames == 384  # the linears' row count: no padding copy of their own
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert inference_frames(x) == 359  # with gradients
    assert inference_frames(x.bfloat16()) == 359


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
            ref = x
            for layer in encoder.layers:
                ref = layer(ref, mask)
            padded, wide = pad_frames(x, mask, 48)
            padded = padded + F.pad(torch.randn(2, 11, 32), (0, 0, 37, 0))
            attn_mask = key_mask(wide, padded.dtype)
            assert wide.shape == (2, 48) and attn_mask.shape == (2, 1, 1, 48)
            for layer in encoder.layers:
                padded = layer(padded, None, attn_mask)
            assert torch.allclose(padded[:, :37], ref, atol=1e-5), mask is None
    assert key_mask(None, torch.float32) is None and key_mask(torch.zeros(1, 5, dtype=torch.bool), torch.float32) is None


@pytest.mark.parametrize("kernel, stride", [(16, 1), (31, 2), (4, 2)], ids=["even", "strided_odd", "strided_even"])
def test_positional_convolution_padded_to_a_frame_bucket_gives_the_same_frames(kernel, stride):
    """Inference pads the direct convolution's input to a multiple of POS_CONV_FRAME_BUCKET frames (fewer
    shapes for oneDNN to build kernels for); the frames it returns are those of the unpadded convolution."""
    torch.manual_seed(0)
    pos = ConvolutionalPositionalEmbedding(32, kernel, groups=4, stride=stride)
    for t in (1, 5, POS_CONV_FRAME_BUCKET - 1, POS_CONV_FRAME_BUCKET, POS_CONV_FRAME_BUCKET + 1, 70):
        x = torch.randn(2, t, 32)
        with torch.no_grad():
            fast = pos(x)
        conv = pos.conv
        y = F.conv1d(x.transpose(1, 2), conv.weight, conv.bias, stride=stride, padding=conv.padding, groups=4)
        ref = F.gelu(y[..., : y.size(-1) - pos.num_remove].transpose(1, 2))
        assert fast.shape == ref.shape and torch.allclose(fast, ref, atol=1e-5), (kernel, stride, t)


@pytest.mark.parametrize("kernel", [128, 65], ids=["even_kernel", "odd_kernel"])
def test_fft_positional_convolution_matches_the_grouped_convolution(kernel):
    """Overlap-save blocks of 256 frames (129 or 192 new frames each): one partial block, an exact
    block boundary and several blocks, in one zero-padded batch; weights changed in between."""
    torch.manual_seed(0)
    pos = ConvolutionalPositionalEmbedding(64, kernel, groups=4)
    with torch.no_grad():
        for p in pos.parameters():
            p.add_(0.1 * torch.randn_like(p))
    hop = pos._fft_size() - kernel + 1
    lengths = (1, 40, hop, 3 * hop + 7)
    valid = torch.arange(max(lengths))[None, :, None] < torch.tensor(lengths)[:, None, None]
    x = torch.randn(len(lengths), max(lengths), 64) * valid

    def direct(inp):
        conv = pos.conv
        y = F.conv1d(inp.transpose(1, 2), conv.weight, conv.bias, padding=conv.padding, groups=conv.groups)
        return F.gelu(y[..., : inp.size(1)].transpose(1, 2))

    assert pos._use_fft(x.detach()) is False  # with gradients: the differentiable convolution
    for _ in range(2):
        with torch.inference_mode():
            assert pos._use_fft(x)
            fast = pos(x)
            single = pos(x[2:3, : lengths[2]])
        ref = direct(x)
        assert fast.shape == ref.shape == x.shape
        assert (fast - ref).abs().max() < 1e-5 * ref.abs().max()
        assert torch.allclose(single[0], direct(x[2:3, : lengths[2]])[0], atol=1e-5)
        with torch.no_grad():  # a new weight version: the kept spectrum is recomputed
            pos.conv.parametrizations.weight.original1.mul_(1.5)
    FFT_POS_CONV["enabled"] = False
    try:
        with torch.inference_mode():
            assert not pos._use_fft(x)
            assert not pos._use_fft(x[:, :0])  # no frames: the convolution's own handling
    finally:
        FFT_POS_CONV["enabled"] = True
