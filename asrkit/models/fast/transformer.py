"""The wav2vec 2.0 Transformer for speed (replaces ``SelfAttention``, ``FeedForward`` and
``TransformerEncoder`` of ``asrkit.models.components``).

- Attention computes queries, keys and values with one GEMM over the concatenated
  ``q_proj`` / ``k_proj`` / ``v_proj`` weights (kept as three Linears, so checkpoints are unchanged);
  training uses this too.
- Without gradients every linear goes through ``linear``: the derived weights (the concatenation,
  autocast casts, MKL / oneDNN packings) are kept until the parameters change; the FFN's GELU is fused
  into oneDNN's GEMM under bf16.
- In reduced-precision CPU inference the encoder pads its frames once (``inference_frames``), masked as
  keys, so that SDPA and oneDNN see few and friendly shapes.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from asrkit.models.components import FeedForward, SelfAttention, TransformerEncoder, attention_dtype, key_mask
from asrkit.models.fast.cache import InferenceCache, adopt
from asrkit.models.fast.linear import inference_frames, linear, pad_frames
from asrkit.models.fast.options import FastOptions


class FastSelfAttention(SelfAttention):
    """``SelfAttention`` with one fused q/k/v GEMM and, for inference, kept (packed) weights."""

    @classmethod
    def from_reference(cls, attention: SelfAttention, options: FastOptions) -> FastSelfAttention:
        fast = adopt(cls, attention)
        fast.options = options
        fast._cache = InferenceCache()
        fast._packed = (InferenceCache(), InferenceCache())  # in_proj, out_proj
        return fast

    def _in_proj(self) -> list[Tensor]:
        """``(3D, D)`` weight and ``(3D,)`` bias projecting to queries, keys and values at once."""
        projs = (self.q_proj, self.k_proj, self.v_proj)
        return [torch.cat([p.weight for p in projs]), torch.cat([p.bias for p in projs])]

    def forward(self, x: Tensor, attn_mask: Tensor | None = None) -> Tensor:
        n, t, d = x.shape
        params = [p for proj in (self.q_proj, self.k_proj, self.v_proj) for p in (proj.weight, proj.bias)]
        weight, bias = self._cache.get(params, self._in_proj)
        qkv = linear(x, weight, bias, self._packed[0], self.options, params).view(n, t, 3, self.num_heads, -1)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # (N, H, T, D / H) each
        x = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=self.dropout if self.training else 0.0)
        return linear(x.transpose(1, 2).reshape(n, t, d), self.out_proj.weight, self.out_proj.bias, self._packed[1],
                      self.options)


class FastFeedForward(FeedForward):
    """``FeedForward`` through ``linear`` (packed weights, fused GELU in bf16 inference)."""

    @classmethod
    def from_reference(cls, feed_forward: FeedForward, options: FastOptions) -> FastFeedForward:
        fast = adopt(cls, feed_forward)
        fast.options = options
        fast._packed = (InferenceCache(), InferenceCache())
        return fast

    def forward(self, x: Tensor) -> Tensor:
        h = linear(x, self.fc1.weight, self.fc1.bias, self._packed[0], self.options, gelu=True)
        return self.dropout(linear(self.activation_dropout(h), self.fc2.weight, self.fc2.bias, self._packed[1],
                                   self.options))


class FastTransformerEncoder(TransformerEncoder):
    """``TransformerEncoder`` whose blocks run on frames padded for reduced-precision CPU inference."""

    @classmethod
    def from_reference(cls, encoder: TransformerEncoder, options: FastOptions) -> FastTransformerEncoder:
        fast = adopt(cls, encoder)
        fast.options = options
        return fast

    def forward(self, x: Tensor, padding_mask: Tensor | None = None) -> Tensor:
        t = x.size(1)
        x = self.embed(x, padding_mask)
        x, padding_mask = pad_frames(x, padding_mask, inference_frames(x, self.options))
        return self.run_layers(x, key_mask(padding_mask, attention_dtype(x)))[:, :t]
