"""Weighted training statistics summed over micro-batches, updates and processes, on the device until read."""
from __future__ import annotations

import torch

from .distributed import all_reduce, is_dist


class Stats:
    """Weighted sums per key. A stat is a value, weighted by the batch's sample size, or a
    ``(value, weight)`` pair with its own weight (e.g. WER weighted by reference words).

    Tensor values are summed where they are, in float64 (the Python floats they replace were float64
    too, and the sums come out the same, bit for bit): no host synchronisation until ``means()`` or
    ``state()``. Weights are host numbers (sample sizes) and are summed on the host."""

    def __init__(self):
        self.sums: dict[str, float] = {}  # host sums, of float values (and of tensors once read)
        self.weights: dict[str, float] = {}  # every key, in the order first seen
        self._device: dict[tuple[str, ...], torch.Tensor] = {}  # keys -> float64 vector of their sums

    @classmethod
    def from_state(cls, state: dict) -> Stats:
        """From the ``{"sums", "weights"}`` a checkpoint holds."""
        stats = cls()
        stats.sums, stats.weights = dict(state["sums"]), dict(state["weights"])
        return stats

    def state(self) -> dict:
        """``{"sums", "weights"}`` as Python floats (a host synchronisation), for a checkpoint."""
        self._read()
        return {"sums": dict(self.sums), "weights": dict(self.weights)}

    def add(self, stats: dict, weight: float) -> None:
        keys, values = [], []
        for k, v in stats.items():
            value, w = v if isinstance(v, tuple) else (v, weight)
            if torch.is_tensor(value) and not isinstance(v, tuple):
                keys.append(k)
                values.append(value.detach())
            else:
                self.sums[k] = self.sums.get(k, 0.0) + float(value) * w
            self.weights[k] = self.weights.get(k, 0.0) + w
        if keys:
            # float(value) * weight, as a float64 vector: the same numbers without a host synchronisation
            self._add_device(tuple(keys), torch.stack(values).to(torch.float64) * weight)

    def _add_device(self, keys: tuple[str, ...], vector: torch.Tensor) -> None:
        if keys not in self._device:
            # start from the host's sums (a resumed window's), so that the additions keep their order
            start = [self.sums.pop(k, 0.0) for k in keys]
            self._device[keys] = (torch.tensor(start, dtype=torch.float64).to(vector.device) if any(start)
                                  else torch.zeros(len(keys), dtype=torch.float64, device=vector.device))
        self._device[keys] = self._device[keys] + vector

    def merge(self, other: Stats) -> None:
        for k, v in other.sums.items():
            self.sums[k] = self.sums.get(k, 0.0) + v
        for keys, vector in other._device.items():
            self._add_device(keys, vector)
        for k, w in other.weights.items():
            self.weights[k] = self.weights.get(k, 0.0) + w

    def _read(self) -> None:
        """Bring the device sums to the host (one synchronisation per group of keys, usually one)."""
        for keys, vector in self._device.items():
            for k, v in zip(keys, vector.tolist()):
                self.sums[k] = self.sums.get(k, 0.0) + v
        self._device = {}

    def all_reduce(self, device) -> None:
        if not is_dist():
            return
        self._read()
        keys = sorted(self.sums)
        vals = all_reduce([self.sums[k] for k in keys] + [self.weights[k] for k in keys], device)
        self.sums = dict(zip(keys, vals[: len(keys)]))
        self.weights = dict(zip(keys, vals[len(keys):]))

    def means(self) -> dict[str, float]:
        self._read()
        return {k: self.sums[k] / max(self.weights[k], 1e-12) for k in self.weights}
