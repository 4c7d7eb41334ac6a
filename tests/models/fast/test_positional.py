"""The fast positional convolution (channels-last, frame buckets, FFT, the bf16 guard) against the
reference ``ConvolutionalPositionalEmbedding`` on the same weights."""
from __future__ import annotations

import copy

import pytest
import torch

from asrkit.models.components import ConvolutionalPositionalEmbedding
from asrkit.models.fast import FastOptions
from asrkit.models.fast.positional import FastConvolutionalPositionalEmbedding


def pair(embed_dim: int, kernel: int, groups: int, stride: int = 1, options: FastOptions = FastOptions()):
    torch.manual_seed(0)
    reference = ConvolutionalPositionalEmbedding(embed_dim, kernel, groups, stride=stride)
    with torch.no_grad():
        for p in reference.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return reference, FastConvolutionalPositionalEmbedding.from_reference(copy.deepcopy(reference), options)


@pytest.mark.parametrize("kernel, stride", [(16, 1), (31, 2), (4, 2)], ids=["even", "strided_odd", "strided_even"])
def test_positional_convolution_padded_to_a_frame_bucket_gives_the_same_frames(kernel, stride):
    """Inference pads the direct convolution's input to a multiple of ``pos_conv_frame_bucket`` frames (fewer
    shapes for oneDNN to build kernels for); the frames it returns are those of the reference."""
    reference, fast = pair(32, kernel, 4, stride)
    bucket = fast.options.pos_conv_frame_bucket
    for t in (1, 5, bucket - 1, bucket, bucket + 1, 70):
        x = torch.randn(2, t, 32)
        with torch.no_grad():
            out, ref = fast(x), reference(x)
        assert out.shape == ref.shape and torch.allclose(out, ref, atol=1e-5), (kernel, stride, t)
        grad = fast(x)  # training: the channels-last convolution, differentiable
        assert grad.requires_grad and torch.allclose(grad, ref, atol=1e-5)


@pytest.mark.parametrize("kernel", [128, 65], ids=["even_kernel", "odd_kernel"])
def test_fft_positional_convolution_matches_the_reference(kernel):
    """Overlap-save blocks of 256 frames (129 or 192 new frames each): one partial block, an exact
    block boundary and several blocks, in one zero-padded batch; weights changed in between."""
    reference, fast = pair(64, kernel, 4)
    hop = fast.fft_size() - kernel + 1
    lengths = (1, 40, hop, 3 * hop + 7)
    valid = torch.arange(max(lengths))[None, :, None] < torch.tensor(lengths)[:, None, None]
    x = torch.randn(len(lengths), max(lengths), 64) * valid
    assert fast.use_fft(x.detach()) is False  # with gradients: the differentiable convolution
    for _ in range(2):
        with torch.inference_mode():
            assert fast.use_fft(x)
            out = fast(x)
            single = fast(x[2:3, : lengths[2]])
        with torch.no_grad():
            ref = reference(x)
            ref_single = reference(x[2:3, : lengths[2]])
        assert out.shape == ref.shape == x.shape
        assert (out - ref).abs().max() < 1e-5 * ref.abs().max()
        assert torch.allclose(single[0], ref_single[0], atol=1e-5)
        with torch.no_grad():  # a new weight version: the kept spectrum is recomputed
            for module in (reference, fast):
                module.conv.parametrizations.weight.original1.mul_(1.5)
    without = FastConvolutionalPositionalEmbedding.from_reference(reference, FastOptions(fft_pos_conv=False))
    short_kernel = FastConvolutionalPositionalEmbedding.from_reference(reference, FastOptions(fft_min_kernel=kernel + 1))
    with torch.inference_mode():
        assert not without.use_fft(x) and not short_kernel.use_fft(x)
        assert not fast.use_fft(x[:, :0])  # no frames: the convolution's own handling
        assert torch.allclose(without(x), fast(x), atol=1e-5 * float(fast(x).abs().max()))


def test_narrow_positional_convolution_runs_in_fp32_under_bf16_autocast():
    """oneDNN's bf16 grouped convolution is wrong on AMX CPUs below 16 channels per group
    (ONEDNN_BF16_MIN_GROUP_CHANNELS): such a positional convolution gives its fp32 result under bf16
    autocast, on any CPU; one of 16 channels per group runs in bf16."""
    x = torch.randn(2, 37, 32)
    for groups, narrow in ((4, True), (2, False)):  # 8 and 16 channels per group
        reference, fast = pair(32, 16, groups)
        with torch.no_grad():
            fp32 = fast(x)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                mixed = fast(x)
                ref = reference(x)
        assert (mixed.dtype == torch.float32 and torch.equal(mixed, fp32)) if narrow else mixed.dtype == torch.bfloat16
        assert (mixed.float() - ref.float()).abs().max() < 0.05
