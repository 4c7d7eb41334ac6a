"""SEW's up-sampling for inference (replaces ``asrkit.models.sew.Upsample``): its Linear's weight and bias
are derived once and kept, and the product goes through ``linear`` (packed weights, GELU fused in bf16)."""
from __future__ import annotations

from torch import Tensor

from asrkit.models.fast.cache import InferenceCache, adopt
from asrkit.models.fast.linear import linear
from asrkit.models.fast.options import FastOptions
from asrkit.models.sew import Upsample


class FastUpsample(Upsample):
    """``Upsample``: the same weights and output, ``(N, T', D)`` -> ``(N, T' * s, D)``."""

    @classmethod
    def from_reference(cls, upsample: Upsample, options: FastOptions) -> FastUpsample:
        fast = adopt(cls, upsample)
        fast.options = options
        fast._cache = InferenceCache()  # the Linear's weight and bias
        fast._packed = InferenceCache()  # packed for MKL / oneDNN (``linear``)
        return fast

    def forward(self, x: Tensor) -> Tensor:
        n, t, _ = x.shape
        params = [self.weight, self.bias]
        weight, bias = self._cache.get(params, self.linear_weights)
        x = linear(x, weight, bias, self._packed, self.options, sources=params, gelu=True)
        return x.view(n, t * self.factor, -1)
