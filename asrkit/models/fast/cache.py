"""State the fast modules keep between inference calls: tensors derived from parameters
(``InferenceCache``) and reused activation memory (``ScratchBuffer``); and ``adopt``, which turns a
reference module into its fast subclass holding the same parameters."""
from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import TypeVar

import torch
from torch import Tensor, nn

M = TypeVar("M", bound=nn.Module)


def adopt(cls: type[M], reference: nn.Module) -> M:
    """A ``cls`` (a subclass of ``type(reference)``) that holds ``reference``'s parameters, buffers,
    submodules and settings, registered in the same order: the same ``state_dict`` keys and parameter
    order, and no fresh initialisation (so no draw from the RNG). The fast class sets its own extra state."""
    if not issubclass(cls, type(reference)):
        raise TypeError(f"{cls.__name__} does not extend {type(reference).__name__}")
    module = cls.__new__(cls)
    module.__dict__.update({k: v.copy() if isinstance(v, (dict, set)) else v for k, v in reference.__dict__.items()})
    return module


class InferenceCache:
    """Tensors derived from parameters (re-laid-out, concatenated, projected, cast to the autocast
    dtype), kept between forward passes while no gradient is recorded and the source tensors are
    unchanged: the same objects (held here, so their ids stay theirs), storage and version counter.
    An optimizer step, ``load_state_dict`` or ``.to()`` invalidates them; writing through ``p.data``
    bypasses the version counter and does not. With gradients enabled they are recomputed on every
    call, so autograd sees the parameters."""

    def __init__(self) -> None:
        self.sources: tuple[Tensor, ...] = ()
        self.key: tuple | None = None
        self.value = None

    def __getstate__(self) -> dict:  # copies and pickles of a model start with an empty cache
        return {"sources": (), "key": None, "value": None}

    def get(self, sources: Sequence[Tensor], derive, kind: str = ""):
        """``derive()`` (a list of tensors), or its cached result for the same ``sources`` and ``kind`` (which
        tells apart derivations of the same sources, e.g. a weight packed for one GEMM or for another)."""
        if torch.is_grad_enabled():
            return derive()
        device = sources[0].device.type
        dtype = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else None
        # inference tensors (made under torch.inference_mode, e.g. by another cache) have no version counter
        key = (kind, dtype,
               *((id(t), t.data_ptr(), -1 if t.is_inference() else t._version, t.dtype) for t in sources))
        if key != self.key:
            value = derive()
            if dtype is not None:  # autocast would cast the fp32 result again on every call
                value = [v.to(dtype) if v is not None and v.is_floating_point() else v for v in value]
            self.sources, self.key, self.value = tuple(sources), key, value
        return self.value


class ScratchBuffer:
    """Memory reused for the feature encoder's large activations across inference calls.

    The first blocks' outputs are tens of MB per utterance (T' x C floats at 3.2 kHz); fresh memory
    that size comes from the OS page by page (glibc maps allocations over 32 MB afresh each time).
    Buffers are per thread and grow to the largest activation seen, which they keep.
    """

    _local = threading.local()

    def __init__(self) -> None:
        self.data: Tensor | None = None

    @classmethod
    def pair(cls) -> tuple[ScratchBuffer, ScratchBuffer]:
        """This thread's two CPU buffers (blocks alternate between them)."""
        if not hasattr(cls._local, "pair"):
            cls._local.pair = (cls(), cls())
        return cls._local.pair

    def take(self, shape: tuple[int, ...], dtype: torch.dtype) -> Tensor:
        numel = math.prod(shape)
        if self.data is None or self.data.numel() < numel or self.data.dtype != dtype:
            with torch.inference_mode(False):  # a normal tensor: usable under no_grad and inference_mode alike
                self.data = torch.empty(numel, dtype=dtype)
        return self.data[:numel].view(shape)
