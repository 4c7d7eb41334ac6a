"""Fast paths: modules that compute what the reference modules of ``asrkit.models`` compute, faster,
swapped in by one call.

- ``prepare_for_training(model)``: the computations training runs (the feature encoder as GEMMs on
  strided views with the first block's GroupNorm folded in, the channels-last positional convolution,
  fused q/k/v projections, SEW-D's folded attention scale and row-restricted position terms), and the
  inference paths the same modules take without gradients (validation, frozen phases of fine-tuning);
- ``prepare_for_inference(model, device)``: the same modules, the model in eval mode on ``device``. Each
  module picks its kernels at every call from the device, the dtype and the autocast state (packed MKL
  GEMMs in fp32 on CPU, oneDNN's packed bf16 GEMMs with fused GELU, the positional convolution by FFT,
  SEW-D's skewed position terms, padded frame counts), so one prepared model serves fp32 and bf16.

The swap keeps every parameter (the same objects, ``state_dict`` keys and order) and draws nothing from
the RNG: a prepared model saves and loads the checkpoints of the reference one. Options are arguments
(``FastOptions``). Each fast module is a subclass of the module it replaces, with a ``from_reference``
constructor; ``tests/models/fast`` checks each against its reference on the same weights.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from asrkit.models.components import (ConvBlock, ConvolutionalPositionalEmbedding, FeatureEncoder, FeedForward,
                                      SelfAttention, TransformerEncoder)
from asrkit.models.fast.disentangled import (FastDisentangledEncoderLayer, FastDisentangledSelfAttention,
                                             FastDisentangledTransformer)
from asrkit.models.fast.feature_encoder import FastConvBlock, FastFeatureEncoder
from asrkit.models.fast.options import FastOptions
from asrkit.models.fast.positional import FastConvolutionalPositionalEmbedding
from asrkit.models.fast.transformer import FastFeedForward, FastSelfAttention, FastTransformerEncoder
from asrkit.models.fast.upsample import FastUpsample
from asrkit.models.sew import Upsample
from asrkit.models.sew_d import DisentangledEncoderLayer, DisentangledSelfAttention, DisentangledTransformer

# reference module type (exactly, not subclasses) -> its fast replacement
FAST_MODULES: dict[type[nn.Module], Callable[[nn.Module, FastOptions], nn.Module]] = {
    ConvBlock: FastConvBlock.from_reference,
    FeatureEncoder: FastFeatureEncoder.from_reference,
    ConvolutionalPositionalEmbedding: FastConvolutionalPositionalEmbedding.from_reference,
    SelfAttention: FastSelfAttention.from_reference,
    FeedForward: FastFeedForward.from_reference,
    TransformerEncoder: FastTransformerEncoder.from_reference,
    DisentangledSelfAttention: FastDisentangledSelfAttention.from_reference,
    DisentangledEncoderLayer: FastDisentangledEncoderLayer.from_reference,
    DisentangledTransformer: FastDisentangledTransformer.from_reference,
    Upsample: FastUpsample.from_reference,
}


def _swap(module: nn.Module, options: FastOptions) -> nn.Module:
    """``module`` with its children swapped first (a fast parent adopts fast children), then itself."""
    for name, child in module.named_children():
        fast = _swap(child, options)
        if fast is not child:
            setattr(module, name, fast)  # the same slot: registration order is kept
    make = FAST_MODULES.get(type(module))
    return make(module, options) if make is not None else module


def use_fast_modules(model: nn.Module, options: FastOptions = FastOptions()) -> nn.Module:
    """Replace, in place, every reference module of ``model`` that has a fast version; returns ``model``
    (or its replacement, when ``model`` itself is such a module). Modules already fast stay as they are."""
    return _swap(model, options)


def prepare_for_training(model: nn.Module, options: FastOptions = FastOptions()) -> nn.Module:
    """The model the trainer runs: the fast modules swapped in (``use_fast_modules``). Call before
    wrapping it in DistributedDataParallel and before building the optimizer."""
    return use_fast_modules(model, options)


def prepare_for_inference(model: nn.Module, device: torch.device | str = "cpu",
                          options: FastOptions = FastOptions()) -> nn.Module:
    """The model for inference: the fast modules swapped in, moved to ``device``, in eval mode. Run it under
    ``torch.inference_mode()`` (or ``no_grad``) and, for bf16 / fp16, the autocast of ``asrkit.precision``."""
    return use_fast_modules(model, options).to(device).eval()


__all__ = ["FAST_MODULES", "FastOptions", "prepare_for_inference", "prepare_for_training", "use_fast_modules"]
