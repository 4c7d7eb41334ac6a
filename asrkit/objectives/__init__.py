"""Training objectives as plain functions of tensors returning ``(loss, stats)``, and the wav2vec 2.0 objective
of a pre-training forward pass (``wav2vec2_objective``)."""
from asrkit.objectives.contrastive import (
    contrastive_logits,
    contrastive_logits_of,
    contrastive_loss,
    diversity_loss,
    feature_penalty,
    sample_negative_indices,
    wav2vec2_logits,
    wav2vec2_loss,
    wav2vec2_objective,
)
from asrkit.objectives.masking import compute_mask_indices

__all__ = [
    "compute_mask_indices",
    "contrastive_logits",
    "contrastive_logits_of",
    "contrastive_loss",
    "diversity_loss",
    "feature_penalty",
    "sample_negative_indices",
    "wav2vec2_logits",
    "wav2vec2_loss",
    "wav2vec2_objective",
]
