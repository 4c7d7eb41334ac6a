"""SUPERB's downstream models (Yang et al., 2021; s3prl ``upstream/interfaces.py`` and ``downstream/*``): what
learns on a frozen upstream's hidden states.

- ``WeightedSum``: s3prl's ``Featurizer``: a softmax over one learned weight per hidden state (uniform at the
  start, s3prl #187), optionally each state LayerNorm'ed first (``layer_norm``), summed into one ``(N, T, D)``;
- ``UtteranceClassifier``: KS and IC (``speech_commands``, ``fluent_commands``): a projector (``projector_dim``
  256), mean pooling over the valid frames, one linear classifier per label slot (IC's action, object,
  location; KS has one);
- ``FrameCTC``: PR (``ctc/libriphone.yaml``): the projector, then a frame-level linear layer to the phones
  and the CTC blank;
- ``DiarizationLSTM``: SD (``diarization``): an LSTM (1 layer, 512 units) and a linear layer giving one
  speech-activity logit per speaker and frame.

``SuperbModel`` is the featurizer and one head; the upstream is not part of it (it never learns, and the
checkpoint holds only what does). The losses live in :mod:`asrkit.train.superb`.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .components import lengths_to_padding_mask
from .heads import LSTMHead


class WeightedSum(nn.Module):
    """``(N, S, T, D)`` stacked hidden states -> ``(N, T, D)``: sum_s softmax(w)_s h_s (s3prl ``Featurizer``).

    Args:
        num_states: S, the upstream's hidden states (its blocks + 1); fixed, so a state can never move.
        layer_norm: LayerNorm (no affine) of each state first (s3prl ``Featurizer(normalize=True)``).
    """

    def __init__(self, num_states: int, layer_norm: bool = False):
        super().__init__()
        self.weights = nn.Parameter(torch.zeros(num_states))  # uniform after the softmax
        self.layer_norm = layer_norm

    def forward(self, states: Tensor) -> Tensor:
        if states.size(1) != self.weights.numel():
            raise ValueError(f"{states.size(1)} hidden states, but the weighted sum was built for "
                             f"{self.weights.numel()}")
        if self.layer_norm:
            states = F.layer_norm(states, states.shape[-1:])
        return torch.einsum("s,nstd->ntd", self.weights.softmax(dim=0).to(states.dtype), states)

    def layer_weights(self) -> list[float]:
        """The softmax weights, state 0 (the blocks' input) first."""
        return self.weights.detach().float().softmax(dim=0).tolist()


class UtteranceClassifier(nn.Module):
    """KS / IC: projector, mean pooling over valid frames, a linear classifier per slot -> ``[(N, C_i)]``."""

    def __init__(self, input_dim: int, num_classes: Sequence[int], projector_dim: int = 256):
        super().__init__()
        self.projector = nn.Linear(input_dim, projector_dim)
        self.classifiers = nn.ModuleList(nn.Linear(projector_dim, c) for c in num_classes)

    def forward(self, x: Tensor, lengths: Tensor) -> list[Tensor]:
        x = self.projector(x)
        valid = (~lengths_to_padding_mask(lengths, x.size(1))).unsqueeze(-1).to(x.dtype)
        pooled = (x * valid).sum(dim=1) / lengths.clamp(min=1).unsqueeze(-1).to(x.dtype)
        return [c(pooled) for c in self.classifiers]


class FrameCTC(nn.Module):
    """PR: projector and a frame-level linear layer -> ``(N, T, V)`` logits, V = phones + blank (index 0)."""

    def __init__(self, input_dim: int, vocab_size: int, projector_dim: int = 256):
        super().__init__()
        self.projector = nn.Linear(input_dim, projector_dim)
        self.classifier = nn.Linear(projector_dim, vocab_size)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        return self.classifier(self.projector(x))


class DiarizationLSTM(nn.Module):
    """SD: an LSTM over the frames (``LSTMHead``, no dropout; padding never reaches valid frames) and a linear
    layer -> ``(N, T, speakers)`` activity logits."""

    def __init__(self, input_dim: int, num_speakers: int = 2, hidden: int = 512, layers: int = 1,
                 bidirectional: bool = False):
        super().__init__()
        self.lstm = LSTMHead(input_dim, hidden, layers, dropout=0.0, bidirectional=bidirectional)
        self.classifier = nn.Linear(self.lstm.output_dim, num_speakers)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        return self.classifier(self.lstm(x, lengths))


class SuperbModel(nn.Module):
    """The weighted sum of the upstream's hidden states and a task head: ``(N, S, T, D)`` states and ``(N,)``
    valid frames -> the head's output (``UtteranceClassifier``: a list of logits; others: ``(N, T, C)``)."""

    def __init__(self, featurizer: WeightedSum, head: nn.Module):
        super().__init__()
        self.featurizer = featurizer
        self.head = head

    def forward(self, states: Tensor, lengths: Tensor):
        return self.head(self.featurizer(states), lengths)
