"""Inputs for parity tests against reference implementations (transformers, fairseq)."""
from __future__ import annotations

from collections.abc import Sequence

import torch


def perturbed(model: torch.nn.Module, scale: float = 0.1, seed: int = 0) -> torch.nn.Module:
    """Add noise to every parameter and switch to eval mode: reference inits leave LayerNorms at
    1/0 and biases at 0, which would hide swapped norms or biases in a key map."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(scale * torch.randn(p.shape, generator=gen))
    return model.eval()


def padded_batch(lengths: Sequence[int], seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Noise waveforms of ``lengths`` samples, zero-padded as a collater would: ``(N, L)`` and the
    ``(N, L)`` attention mask (True at valid samples, the transformers convention)."""
    gen = torch.Generator().manual_seed(seed)
    wav = torch.randn(len(lengths), max(lengths), generator=gen)
    attention_mask = torch.arange(max(lengths))[None, :] < torch.tensor(lengths)[:, None]
    return wav * attention_mask, attention_mask
