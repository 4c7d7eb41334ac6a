"""The convolutional positional embedding for speed (replaces
``asrkit.models.components.ConvolutionalPositionalEmbedding``).

- The convolution runs as a channels-last 2-D convolution: ``(N, T, D)`` seen as ``(N, D, 1, T)`` is
  already in that layout, oneDNN's grouped kernel for it is faster than the ``(N, D, T)`` one, and the
  output comes back ``(N, T, D)`` without transposes. Training uses this path too.
- In CPU inference the input is padded with zeros to a multiple of ``options.pos_conv_frame_bucket``
  frames (which the convolution's own zero padding would read there anyway): oneDNN builds a kernel for
  every new input shape, and a test set meets a new length with almost every utterance.
- In fp32 CPU inference, kernels of at least ``options.fft_min_kernel`` frames run by overlap-save FFT.
- oneDNN's bf16 grouped convolution on CPUs with AMX (torch 2.14) returns wrong outputs (errors of the
  size of the outputs; the gradients are right) for fewer than ``ONEDNN_BF16_MIN_GROUP_CHANNELS`` input
  channels per group with even kernels. Every Table 2 model has 16 or more (D / 16 groups); narrower
  positional convolutions, as in small test models, run in fp32 under bf16 autocast (other wrong bf16
  convolutions of oneDNN's AMX kernels: pytorch/pytorch#163347, #169688).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from asrkit.models.components import ConvolutionalPositionalEmbedding
from asrkit.models.fast.cache import InferenceCache, adopt
from asrkit.models.fast.linear import cpu_bf16_autocast, gelu_
from asrkit.models.fast.options import FastOptions

ONEDNN_BF16_MIN_GROUP_CHANNELS = 16


class FastConvolutionalPositionalEmbedding(ConvolutionalPositionalEmbedding):
    """``ConvolutionalPositionalEmbedding``: the same weights and output, ``(N, T, D)`` -> ``(N, T, D)``."""

    @classmethod
    def from_reference(cls, pos_conv: ConvolutionalPositionalEmbedding,
                       options: FastOptions) -> FastConvolutionalPositionalEmbedding:
        fast = adopt(cls, pos_conv)
        fast.options = options
        fast._cache = InferenceCache()
        fast._spectrum = InferenceCache()  # the kernel's spectrum for fp32 CPU inference (see _fft_conv)
        return fast

    def _weight_sources(self) -> list[Tensor]:
        """The weight-norm parameters (g, v) the derived kernels are kept for."""
        return list(self.conv.parametrizations.weight.parameters())

    def _weight(self) -> list[Tensor]:
        """The weight-normalised kernel as ``(D, D / groups, 1, K)`` in channels-last layout."""
        return [self.conv.weight.unsqueeze(2).contiguous(memory_format=torch.channels_last)]

    def forward(self, x: Tensor) -> Tensor:
        """``(N, T, D)`` -> ``(N, T, D)``: by FFT (``use_fft``), else as a channels-last 2-D convolution."""
        if self.use_fft(x):
            return gelu_(self._fft_conv(x))
        if self._bf16_unsafe(x):  # see ONEDNN_BF16_MIN_GROUP_CHANNELS
            with torch.autocast("cpu", enabled=False):
                return self.forward(x.float())
        weight = self._cache.get(self._weight_sources(), self._weight)[0]
        t, (stride,), (pad,), (kernel,) = x.size(1), self.conv.stride, self.conv.padding, self.conv.kernel_size
        frames = (t + 2 * pad - kernel) // stride + 1 - self.num_remove  # the output frames (SamePad removed)
        bucket = self.options.pos_conv_frame_bucket if not torch.is_grad_enabled() and x.device.type == "cpu" else 1
        if t % bucket:  # zeros past the end are what the convolution's own padding reads there
            x = F.pad(x, (0, 0, 0, bucket - t % bucket))
        y = F.conv2d(x.transpose(1, 2).unsqueeze(2), weight, self.conv.bias, stride=(1, stride),
                     padding=(0, pad), groups=self.conv.groups)
        return gelu_(y.squeeze(2).transpose(1, 2)[:, :frames])

    def _bf16_unsafe(self, x: Tensor) -> bool:
        """bf16 autocast on a CPU, with fewer channels per group than oneDNN's bf16 kernel handles."""
        return self.conv.in_channels // self.conv.groups < ONEDNN_BF16_MIN_GROUP_CHANNELS and cpu_bf16_autocast(x)

    def use_fft(self, x: Tensor) -> bool:
        """The FFT path: fp32 CPU inference (no grad, no autocast), stride 1, a long enough kernel."""
        return (self.options.fft_pos_conv and self.conv.stride[0] == 1
                and self.conv.kernel_size[0] >= self.options.fft_min_kernel
                and not torch.is_grad_enabled() and not torch.is_autocast_enabled("cpu")
                and x.device.type == "cpu" and x.dtype == torch.float32 and x.size(1) > 0)

    def fft_size(self) -> int:
        """Block length of the overlap-save convolution: the power of two at or above twice the kernel,
        so that each block yields ``n - K + 1`` (about half) new output frames."""
        return 1 << (2 * self.conv.kernel_size[0] - 1).bit_length()

    def _kernel_spectrum(self) -> list[Tensor]:
        """``conj(rfft(w))`` per group and frequency, ``(F * G, C_in, C_out)`` complex (computed in float64)."""
        weight, groups, n = self.conv.weight.double(), self.conv.groups, self.fft_size()
        c_out, c_in, _ = weight.shape
        spectrum = torch.fft.rfft(weight, n=n, dim=-1).conj()  # (G * C_out / G, C_in, F)
        f = spectrum.size(-1)
        spectrum = spectrum.view(groups, c_out // groups, c_in, f).permute(3, 0, 2, 1)  # (F, G, C_in, C_out)
        return [spectrum.reshape(f * groups, c_in, c_out // groups).to(torch.complex64).contiguous()]

    def _fft_conv(self, x: Tensor) -> Tensor:
        """The same convolution (before GELU) by overlap-save FFT: ``(N, T, D)`` -> ``(N, T, D)``.

        The grouped kernel is ``D * (D / G) * K`` multiply-adds per frame; in the frequency domain each of
        the ``n / 2 + 1`` bins of a block of ``n`` frames (``n - K + 1`` new outputs) takes one complex
        ``(D / G) x (D / G)`` product per group, about ``K / 4`` times fewer real multiply-adds (rounding
        ~1e-6). The spectrum, ``n / 2 + 1`` complex copies of the weight, is kept while the model is used
        for inference.
        """
        (spectrum,) = self._spectrum.get(self._weight_sources(), self._kernel_spectrum)
        n_utt, t, d = x.shape
        kernel, groups, n = self.conv.kernel_size[0], self.conv.groups, self.fft_size()
        hop = n - kernel + 1  # valid outputs per block
        blocks = -(-t // hop)
        pad = self.conv.padding[0]
        # block b reads padded frames [b * hop, b * hop + n): frame j of the padded input is x[j - pad]
        padded = F.pad(x, (0, 0, pad, blocks * hop + kernel - 1 - pad - t))
        segments = padded.unfold(1, n, hop)  # (N, B, D, n) view
        spec = torch.fft.rfft(segments, dim=-1)  # (N, B, D, F)
        f, c = spec.size(-1), d // groups
        spec = spec.view(n_utt * blocks, groups, c, f).permute(3, 1, 0, 2).reshape(f * groups, n_utt * blocks, c)
        out = torch.bmm(spec, spectrum)  # (F * G, N * B, C_out): per bin and group, C_in -> C_out
        out = out.view(f, groups, n_utt * blocks, c).permute(2, 1, 3, 0).reshape(n_utt, blocks, d, f)
        y = torch.fft.irfft(out, n=n, dim=-1)[..., :hop]  # circular correlation: the first hop frames are exact
        y = y.transpose(2, 3).reshape(n_utt, blocks * hop, d)[:, :t]
        return y.add_(self.conv.bias) if self.conv.bias is not None else y
