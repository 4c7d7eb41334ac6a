"""Linear layers and frame counts for CPU inference: packed GEMM weights and padded row counts.

``linear`` computes ``F.linear`` (optionally followed by GELU) and, without gradients on a CPU, through
a weight packed once for the GEMM library: MKL's packed-weight GEMM in fp32 (the same products and
sums as ``F.linear``), oneDNN's prepacked linear under bf16 autocast with the GELU fused as its
post-op. oneDNN builds a kernel for every new row count, so row counts go through ``row_bucket``;
``inference_frames`` pads a Transformer's frames once at its input for the same reason and for SDPA's
bf16 kernel, which is slow at key lengths that are not a multiple of 16.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from asrkit.models.fast.cache import InferenceCache
from asrkit.models.fast.options import FastOptions


def cpu_bf16_autocast(x: Tensor) -> bool:
    """``x`` is on the CPU and bf16 autocast is on there (the case of oneDNN's bf16 paths)."""
    return (x.device.type == "cpu" and torch.is_autocast_enabled("cpu")
            and torch.get_autocast_dtype("cpu") == torch.bfloat16)


def gelu_(x: Tensor) -> Tensor:
    """GELU, in place when no gradient flows through ``x`` (saves a pass of allocation over big activations)."""
    return F.gelu(x) if x.requires_grad else torch.ops.aten.gelu_(x)


def row_bucket(rows: int) -> int:
    """``rows`` rounded up to a multiple of 2^(bits - 4) (at least 16): at most 1/8 more rows, 8-16 row
    counts per octave, so that a test set's frame counts map to a few oneDNN kernels."""
    step = 1 << max(4, rows.bit_length() - 4)
    return -(-rows // step) * step


def linear(x: Tensor, weight: Tensor, bias: Tensor | None, cache: InferenceCache, options: FastOptions,
           sources: Sequence[Tensor] | None = None, gelu: bool = False) -> Tensor:
    """``F.linear(x, weight, bias)``, followed by the exact (erf) GELU if ``gelu``. Without gradients,
    what is derived from the weight is kept in ``cache`` for as long as ``sources`` (default: the weight
    itself, else the parameters the weight is derived from) are unchanged: under autocast the weight and
    bias in the autocast dtype (cast once, not on every call), on CPU in bf16 packed for oneDNN with the
    GELU fused; in fp32 on CPU the weight packed for MKL's GEMM."""
    if torch.is_grad_enabled():
        y = F.linear(x, weight, bias)
    elif torch.is_autocast_enabled(x.device.type):
        if options.onednn_packed_linear and cpu_bf16_autocast(x):
            packed, bias = cache.get(sources or [weight], lambda: [
                torch.ops.mkldnn._reorder_linear_weight(weight.to(torch.bfloat16).contiguous()), bias], kind="onednn")
            rows = x.to(torch.bfloat16).reshape(-1, x.size(-1))
            m = rows.size(0)
            bucket = row_bucket(m)
            if bucket != m:
                rows = F.pad(rows, (0, 0, 0, bucket - m))
            y = torch.ops.mkldnn._linear_pointwise(rows, packed, bias, "gelu" if gelu else "none", [],
                                                   "none" if gelu else "")
            return y[:m].view(*x.shape[:-1], y.size(-1))
        weight, bias = cache.get(sources or [weight], lambda: [weight, bias])
        y = F.linear(x, weight, bias)
    elif (not options.mkl_packed_linear or x.device.type != "cpu" or x.dtype != torch.float32
            or weight.dtype != torch.float32):
        y = F.linear(x, weight, bias)
    else:
        (packed,) = cache.get(sources or [weight], lambda: [torch.ops.mkl._mkl_reorder_linear_weight(weight, 256)],
                              kind="mkl")
        x = x.contiguous()
        y = torch.ops.mkl._mkl_linear(x, packed, weight, bias, x.numel() // x.size(-1))
    return gelu_(y) if gelu else y


def inference_frames(x: Tensor, options: FastOptions) -> int:
    """The frames per utterance a Transformer runs its ``(N, T, D)`` input at: ``T``, or in reduced-precision
    (bf16 / fp16) CPU inference ``T`` padded to a multiple of ``options.sdpa_key_multiple``, and with oneDNN's
    packed bf16 linears further so that the ``N T`` rows are one of ``row_bucket``'s counts. Padded once at the
    Transformer's input and masked as keys, the frames cost no padding copy in each of a block's linears."""
    n, t = x.shape[:2]
    dtype = torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else x.dtype
    if t == 0 or torch.is_grad_enabled() or x.device.type != "cpu" or dtype not in (torch.bfloat16, torch.float16):
        return t
    frames = -(-row_bucket(n * t) // n) if options.onednn_packed_linear and cpu_bf16_autocast(x) else t
    multiple = options.sdpa_key_multiple
    return -(-frames // multiple) * multiple


def pad_frames(x: Tensor, padding_mask: Tensor | None, frames: int,
               mask_new_frames: bool = True) -> tuple[Tensor, Tensor | None]:
    """``(N, T, D)`` and its ``(N, T)`` padding mask (True at padding; None: no padding) padded to ``frames``:
    zero frames, marked as padding (so that no query attends to them). With ``mask_new_frames`` False a
    missing mask stays None (the caller masks the new frames its own way)."""
    n, t = x.shape[:2]
    if frames == t:
        return x, padding_mask
    if padding_mask is None:
        if not mask_new_frames:
            return F.pad(x, (0, 0, 0, frames - t)), None
        padding_mask = torch.zeros(n, t, dtype=torch.bool, device=x.device)
    return F.pad(x, (0, 0, 0, frames - t)), F.pad(padding_mask, (0, frames - t), value=True)
