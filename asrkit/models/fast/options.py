"""What the fast modules may use, as one argument (``FastOptions``) instead of module-level switches.

Each field turns one kernel choice on or off; the defaults use every one this build of torch has.
``make bench`` measures what each is worth (``benchmarks/``); tests turn them off to compare paths.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch


def mkl_packed_linear_available() -> bool:
    """MKL's packed-weight GEMM (the op behind inductor's frozen fp32 CPU linears) is in this torch."""
    return torch.backends.mkl.is_available() and hasattr(torch.ops.mkl, "_mkl_linear")


def onednn_packed_linear_available() -> bool:
    """oneDNN's prepacked linear with a fused post-op (inductor's frozen bf16 CPU linears) is in this torch, and
    this CPU runs oneDNN's bf16 path: its weight reorder needs AVX-512 (BW, VL, DQ) or AVX-NE-CONVERT and raises
    on an AVX2-only CPU, where bf16 autocast falls back to the plain linear (emulated bf16)."""
    return (torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")
            and hasattr(torch.ops.mkldnn, "_reorder_linear_weight")
            and getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True)())


@dataclass(frozen=True)
class FastOptions:
    # fp32 CPU inference: linears through MKL's packed weights (``linear``)
    mkl_packed_linear: bool = mkl_packed_linear_available()
    # bf16 CPU inference: linears through oneDNN's packed weights, GELU fused as a post-op (``linear``)
    onednn_packed_linear: bool = onednn_packed_linear_available()
    # fp32 CPU inference: the positional convolution by overlap-save FFT for kernels of at least
    # ``fft_min_kernel`` frames (below that the direct grouped convolution is as fast)
    fft_pos_conv: bool = True
    fft_min_kernel: int = 64
    # CPU inference: the direct positional convolution's input padded with zeros to a multiple of this many
    # frames, so that oneDNN builds kernels (its primitive cache) for few input shapes; 1 = no padding
    pos_conv_frame_bucket: int = 32
    # reduced-precision CPU inference: the Transformer runs on frames padded to a multiple of this (SDPA's
    # bf16 CPU kernel is slow at key lengths that are not a multiple of 16); 1 = no padding
    sdpa_key_multiple: int = 16
    # SEW-D inference: position terms in the skewed layout (strided views, no gather), or by gathers;
    # auto picks by dtype and length (``FastDisentangledSelfAttention.use_skew``)
    position_bias: Literal["auto", "skew", "gather"] = "auto"

    def __post_init__(self) -> None:
        if self.mkl_packed_linear and not mkl_packed_linear_available():
            raise ValueError("mkl_packed_linear: this torch has no MKL packed linear")
        if self.onednn_packed_linear and not onednn_packed_linear_available():
            raise ValueError("onednn_packed_linear: this torch has no oneDNN packed linear")
        if min(self.fft_min_kernel, self.pos_conv_frame_bucket, self.sdpa_key_multiple) < 1:
            raise ValueError("fft_min_kernel, pos_conv_frame_bucket and sdpa_key_multiple must be >= 1")
        if self.position_bias not in ("auto", "skew", "gather"):
            raise ValueError(f"position_bias must be auto, skew or gather, got {self.position_bias!r}")
