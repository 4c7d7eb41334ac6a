"""Training objectives as plain functions of tensors returning ``(loss, stats)``."""
from asrkit.objectives.contrastive import (
    contrastive_logits,
    contrastive_loss,
    diversity_loss,
    feature_penalty,
    sample_negative_indices,
    wav2vec2_loss,
)
from asrkit.objectives.masking import compute_mask_indices

__all__ = [
    "compute_mask_indices",
    "contrastive_logits",
    "contrastive_loss",
    "diversity_loss",
    "feature_penalty",
    "sample_negative_indices",
    "wav2vec2_loss",
]
