"""The fast feature encoder (GEMMs on strided views, folded first-block GroupNorm, scratch buffers,
block-wise LayerNorm + GELU) against the reference convolutions, with and without gradients, at batch 1
and above, under bf16 autocast, and after the weights change."""
from __future__ import annotations

import copy

import pytest
import torch

from asrkit.models.components import FeatureEncoder, feature_encoder
from asrkit.models.fast import FastOptions, use_fast_modules
from asrkit.models.fast.feature_encoder import FastConvBlock, FastFeatureEncoder

LAYERS = [(16, 10, 5), (24, 3, 2), (24, 3, 2), (16, 2, 2), (16, 1, 1)]  # k = 1 as in WFE-C


def perturbed_encoder(mode: str, bias: bool) -> FeatureEncoder:
    torch.manual_seed(0)
    encoder = feature_encoder(LAYERS, mode, bias)
    with torch.no_grad():
        for p in encoder.parameters():
            p.add_(0.1 * torch.randn_like(p))  # norms away from 1 / 0
    return encoder


def pair(mode: str, bias: bool) -> tuple[FeatureEncoder, FastFeatureEncoder]:
    reference = perturbed_encoder(mode, bias)
    return reference, use_fast_modules(copy.deepcopy(reference))


@pytest.mark.parametrize("mode, bias", [("group_norm", False), ("group_norm", True), ("layer_norm", True)])
def test_fast_feature_encoder_matches_the_reference(mode, bias):
    reference, fast = pair(mode, bias)
    assert isinstance(fast, FastFeatureEncoder) and all(isinstance(b, FastConvBlock) for b in fast.conv_layers)
    wav = torch.randn(3, 2345) + 0.5  # an offset: the folded GroupNorm must centre it
    with torch.no_grad():
        ref, lengths = reference(wav, torch.tensor([2345, 2000, 1000]))
        out, fast_lengths = fast(wav, torch.tensor([2345, 2000, 1000]))
    with torch.inference_mode():
        again, _ = fast(wav)
        single, _ = fast(wav[1:2])
    grad, _ = fast(wav)
    assert torch.equal(lengths, fast_lengths)
    for x in (out, again, grad):
        assert x.shape == ref.shape and torch.allclose(x, ref, atol=1e-5)
    assert torch.allclose(single[0], ref[1], atol=1e-5)
    # gradients through the GEMM formulation equal those of the convolutions
    wav.requires_grad_(True)
    # the first convolution's bias cancels in its GroupNorm: unused by the fold, zero gradient in the reference
    g_fast = torch.autograd.grad(fast(wav)[0].square().sum(), [wav, *fast.parameters()], allow_unused=True)
    g_ref = torch.autograd.grad(reference(wav)[0].square().sum(), [wav, *reference.parameters()])
    for a, b in zip(g_fast, g_ref):
        assert torch.allclose(torch.zeros_like(b) if a is None else a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("autocast", [False, True])
def test_blockwise_layer_norm_of_long_inputs_matches_the_training_path(autocast):
    """Inference LayerNorm + GELU run in blocks of 1024 frames, in place: 1356 first-block frames per utterance
    give a block across two utterances and a partial last one. In fp32 equal to the functional (gradient)
    path, whose GEMMs are the same; under bf16 autocast (where the two paths round their GEMMs differently)
    close to the fp32 reference."""
    reference, fast = pair("layer_norm", True)
    wav = torch.randn(3, 6789)
    assert (wav.size(1) - 10) // 5 + 1 == 1356
    with torch.no_grad():
        ref, _ = reference(wav)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        with torch.no_grad():
            blockwise, _ = fast(wav)
        functional, _ = fast(wav)
    if autocast:
        assert blockwise.dtype == torch.bfloat16 and (blockwise.float() - ref).abs().max() < 0.1
    else:
        assert torch.equal(blockwise, functional.detach()) and torch.allclose(blockwise, ref, atol=1e-5)


def test_first_block_norm_fold_is_accurate_for_large_offsets():
    """Per-channel statistics from the windows' covariance, windows centred before the GEMM: with a DC
    offset 300 times the signal, as close to a float64 reference as the fp32 reference is."""
    reference, _ = pair("group_norm", False)
    block = reference.conv_layers[0]
    fast = FastConvBlock.from_reference(copy.deepcopy(block), FastOptions())
    wav = 0.01 * torch.randn(1, 1, 4000) + 3.0
    with torch.no_grad():
        exact = copy.deepcopy(block).double()(wav.double())
        fp32_error = (block(wav) - exact).abs().max()
        fold_error = (fast(wav.transpose(1, 2)).transpose(1, 2) - exact).abs().max()
    assert fold_error <= max(fp32_error, 1e-6)


def test_cached_gemm_weights_follow_the_parameters():
    """Inference keeps the re-laid-out kernels; an optimizer step makes it derive them again."""
    reference, fast = pair("layer_norm", True)
    wav = torch.randn(2, 3000)
    with torch.inference_mode():
        before, _ = fast(wav)
    fast(wav)[0].square().mean().backward()
    torch.optim.SGD(fast.parameters(), lr=0.5).step()
    reference.load_state_dict(fast.state_dict())
    with torch.inference_mode():
        after, _ = fast(wav)
        ref, _ = reference(wav)
    assert not torch.allclose(after, before, atol=1e-3) and torch.allclose(after, ref, atol=1e-5)
