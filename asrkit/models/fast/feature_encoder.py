"""The feature encoder f: X -> Z computed channels-last as GEMMs on strided views of its input
(replaces ``asrkit.models.components.FeatureEncoder`` and its ``ConvBlock`` s).

No ``im2col`` copy and no transposes between blocks: each block's kernel taps are split into chunks of
``stride`` consecutive frames, and the frames a chunk reads for successive outputs are rows
``stride * C_in`` apart in memory, which BLAS takes as a leading dimension. The first block (one input
channel) multiplies the waveform's windows ``(T', K)`` by ``(K, C)``; its per-channel GroupNorm is folded
into that GEMM: ``mean_t(X W) = mean_t(X) W`` and ``var_t(X w_c) = w_c^T Cov(X) w_c`` come from the
``K x K`` covariance of the windows instead of two passes over the ``(T', C)`` output. The same sums and
statistics as the convolutions followed by fairseq's norms; training uses this path too (gradients flow
through the GEMMs), inference adds reused scratch memory (fp32), a block-wise LayerNorm + GELU and
oneDNN's packed GEMM with fused GELU for one-GEMM blocks (bf16).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from asrkit.models.components import ConvBlock, FeatureEncoder
from asrkit.models.fast.cache import InferenceCache, ScratchBuffer, adopt
from asrkit.models.fast.linear import cpu_bf16_autocast, gelu_, linear
from asrkit.models.fast.options import FastOptions


class FastConvBlock(ConvBlock):
    """``ConvBlock`` computed channels-last, ``(N, T, C_in)`` -> ``(N, T', C_out)``, as GEMMs on views of
    the input; driven by ``FastFeatureEncoder`` (a lone ``ConvBlock`` takes ``(N, C_in, T)``)."""

    @classmethod
    def from_reference(cls, block: ConvBlock, options: FastOptions) -> FastConvBlock:
        fast = adopt(cls, block)
        fast.options = options
        fast._cache = InferenceCache()
        fast._packed = InferenceCache()  # bf16 inference of a one-GEMM block (``linear``)
        return fast

    def _gemm_weights(self) -> list[Tensor]:
        """``(C_out, C_in, K)`` -> one ``(taps * C_in, C_out)`` matrix per chunk of ``stride`` taps, then the bias."""
        weight, stride = self.conv.weight, self.conv.stride[0]
        taps = weight.permute(2, 1, 0)  # (K, C_in, C_out)
        if weight.size(1) == 1:  # the first block: the waveform's windows are materialised, one GEMM
            return [taps.reshape(-1, weight.size(0)), self.conv.bias]
        chunks = [taps[i : i + stride].reshape(-1, weight.size(0)) for i in range(0, taps.size(0), stride)]
        return [*chunks, self.conv.bias]

    def forward(self, x: Tensor, scratch: ScratchBuffer | None = None) -> Tensor:
        """``(N, T, C_in)`` -> ``(N, T', C_out)``, channels last. With ``scratch`` (fp32 inference on CPU),
        the output is written into that buffer, not into fresh memory."""
        n, t, c_in = x.shape
        kernel, stride = self.conv.kernel_size[0], self.conv.stride[0]
        t_out = (t - kernel) // stride + 1
        params = [self.conv.weight] if self.conv.bias is None else [self.conv.weight, self.conv.bias]
        *weights, bias = self._cache.get(params, self._gemm_weights)  # in the autocast dtype if any
        if c_in == 1:
            windows = x[..., 0].unfold(1, kernel, stride)  # (N, T', K) view; K / stride times the waveform once copied
            if isinstance(self.norm, nn.GroupNorm) and self.norm.num_groups == self.norm.num_channels:
                return gelu_(_conv_channel_norm(windows, weights[0], self.norm, scratch))
            chunks = [(windows.contiguous(), weights[0])]
        else:
            chunks = []
            for i, w in zip(range(0, kernel, stride), weights):
                taps = min(stride, kernel - i)
                # (N, T', taps * C_in) view with row stride stride * C_in: a valid GEMM operand as is
                view = x[:, i:].unfold(1, taps, stride)[:, :t_out].transpose(2, 3).reshape(n, t_out, taps * c_in)
                chunks.append((view, w))
        if len(chunks) == 1 and self.norm is None and not torch.is_grad_enabled() and cpu_bf16_autocast(x):
            # kernel = stride (or 1): one GEMM over contiguous frames, GELU fused into it by oneDNN
            view, w = chunks[0]
            return linear(view, w.t(), bias, self._packed, self.options, sources=params, gelu=True)
        if torch.is_grad_enabled():  # functional ops for autograd (3-D matmul: no copy at batch 1)
            y = None
            for view, w in chunks:
                term = torch.matmul(view, w)
                y = (term if bias is None else term + bias.to(term.dtype)) if y is None else y + term
        else:  # 2-D GEMMs per utterance on the strided views, accumulated in place (beta = 1)
            (first, w0), rest = chunks[0], chunks[1:]
            if scratch is not None:
                y = scratch.take((n, t_out, w0.size(1)), x.dtype)
                for b in range(n):
                    torch.mm(first[b], w0, out=y[b]) if bias is None else torch.addmm(bias, first[b], w0, out=y[b])
            else:  # functional, so that autocast applies
                y = torch.matmul(first, w0)
                if bias is not None:
                    y.add_(bias)
            for view, w in rest:
                for b in range(n):
                    y[b].addmm_(view[b], w)
        if isinstance(self.norm, nn.LayerNorm):
            if not torch.is_grad_enabled():
                return _layer_norm_gelu_(y, self.norm)
            y = self.norm(y)
        elif self.norm is not None:  # a GroupNorm over channel groups: statistics over (time, group)
            y = self.norm(y.transpose(1, 2)).transpose(1, 2)
        return gelu_(y)


def _layer_norm_gelu_(y: Tensor, norm: nn.LayerNorm, frames: int = 1024) -> Tensor:
    """``GELU(norm(y))`` over channels, written into ``y`` (no gradient) a block of ``frames`` frames at a time.

    The first blocks' activations are tens of MB; the norm's fp32 result (and, under bf16 autocast, the
    fp32 copy of its input) would be fresh memory of that size on every call, which the OS hands out
    page by page (see ``ScratchBuffer``). Block by block the temporaries stay small and in cache, and
    GELU runs on each block while it is there. Same values as
    ``gelu_(norm(y))``.
    """
    flat = y.view(-1, y.size(-1))
    for start in range(0, flat.size(0), frames):
        block = flat[start : start + frames]
        block.copy_(norm(block))
        gelu_(block)
    return y


def _conv_channel_norm(windows: Tensor, weight: Tensor, norm: nn.GroupNorm, scratch: ScratchBuffer | None = None
                       ) -> Tensor:
    """``GroupNorm(C, C)(conv(x))`` for the first block, channels last, as one GEMM per utterance.

    ``windows`` ``(N, T', K)`` waveform windows, ``weight`` ``(K, C)``. The statistics of each
    output channel over time follow from the windows' mean and ``K x K`` covariance (computed in
    float64); the normalisation and the affine map are folded into the GEMM's weight and bias.
    The convolution's bias cancels in the normalisation. Biased variance, as ``F.group_norm``.
    """
    xd = windows.double()
    mean = xd.mean(dim=1, keepdim=True)  # (N, 1, K)
    centred = xd - mean
    cov = centred.transpose(1, 2) @ centred / windows.size(1)  # (N, K, K)
    wd = weight.double()
    var = ((cov @ wd) * wd).sum(dim=1)  # (N, C): w_c^T Cov w_c
    scale = torch.rsqrt(var + norm.eps)
    if norm.weight is not None:
        scale = scale * norm.weight.double()
    # centred windows times the scaled weight: the mean is gone before the GEMM (no cancellation for
    # waveforms with a DC offset); the affine bias rides in the GEMM as the weight row of a column of ones
    shift = (norm.bias.double() if norm.bias is not None else wd.new_zeros(wd.size(1))).expand(scale.size(0), 1, -1)
    weight_aug = torch.cat([wd[None] * scale[:, None, :], shift], dim=1).to(windows.dtype)  # (N, K + 1, C)
    windows_aug = F.pad(centred.to(windows.dtype), (0, 1), value=1.0)
    if scratch is not None:
        y = scratch.take((windows.size(0), windows.size(1), weight.size(1)), windows.dtype)
        for b in range(windows.size(0)):
            torch.mm(windows_aug[b], weight_aug[b], out=y[b])
        return y
    if windows.size(0) == 1:
        return torch.mm(windows_aug[0], weight_aug[0]).unsqueeze(0)
    return torch.bmm(windows_aug, weight_aug)


class FastFeatureEncoder(FeatureEncoder):
    """``FeatureEncoder`` whose blocks (``FastConvBlock``) run channels-last; in fp32 CPU inference the
    intermediate activations go to reused scratch memory (the output is fresh)."""

    @classmethod
    def from_reference(cls, encoder: FeatureEncoder, options: FastOptions) -> FastFeatureEncoder:
        if not all(isinstance(block, FastConvBlock) for block in encoder.conv_layers):
            raise TypeError("FastFeatureEncoder needs FastConvBlock s (swap the blocks first)")
        return adopt(cls, encoder)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """``(N, L)`` waveform (and ``(N,)`` sample lengths) -> ``(N, T, C)`` latents z (and frame lengths)."""
        self.check_length(x)
        x = x.unsqueeze(-1)  # (N, L, 1): the blocks run channels last
        scratch = ScratchBuffer.pair() if not torch.is_grad_enabled() and x.device.type == "cpu" \
            and x.dtype == torch.float32 and not torch.is_autocast_enabled("cpu") else None
        last = len(self.conv_layers) - 1
        for i, block in enumerate(self.conv_layers):
            x = block(x, scratch[i % 2] if scratch is not None and i < last else None)
        if lengths is not None:
            lengths = self.output_lengths(lengths)
        return x, lengths
