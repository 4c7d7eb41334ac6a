"""Which floating-point precision to train and infer in, and the autocast context for it: the one place
that defines precisions (``Precision``, ``PRECISIONS``) for training, decoding and benchmarks.

``bf16`` autocast pays off only where the hardware multiplies bf16 natively: CUDA GPUs from
Ampere on, and CPUs with AVX-512 BF16 or AMX. Elsewhere oneDNN emulates bf16 and a CPU step
runs slower than in fp32 (measured on an AVX-512 Xeon without BF16: the demo wav2vec 2.0
pre-training step took 2.7x as long in bf16 as in fp32). ``auto`` picks for the machine.
"""
from __future__ import annotations

import contextlib
import typing
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import torch  # imported where used: the command line reads PRECISIONS without loading torch

# what a user may ask for; fp16 adds a loss scaler in training; auto is resolved per device (resolve_precision)
Precision = Literal["auto", "fp32", "bf16", "fp16"]
PRECISIONS: tuple[str, ...] = typing.get_args(Precision)


@lru_cache(maxsize=None)
def cpu_has_native_bf16() -> bool:
    """True when the CPU advertises AVX-512 BF16 or AMX-BF16 (Linux ``/proc/cpuinfo`` flags)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str, device: torch.device | str) -> str:
    """``auto`` -> ``bf16`` on hardware with native bf16 arithmetic, else ``fp32``; others unchanged."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
    if precision != "auto":
        return precision
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if device.type == "cpu" and cpu_has_native_bf16() else "fp32"


def autocast(precision: str, device: torch.device | str):
    """The autocast context of a resolved ``precision`` on ``device`` (nothing for fp32)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision not in ("bf16", "fp16"):
        raise ValueError(f"precision {precision!r} must be resolved first (fp32, bf16 or fp16)")
    import torch

    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16 if precision == "bf16" else torch.float16)
