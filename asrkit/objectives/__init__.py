"""Training objectives as plain functions of tensors returning ``(loss, stats)``: the wav2vec 2.0 objective of a
pre-training forward pass (``wav2vec2_objective``), and the audio-visual MAE (``mae_objective``), CLR
(``clr_loss``) and their sum (``mae_clr_loss``) with the retrieval measures of their evaluation, and the
permutation-invariant BCE of diarization (``pit_bce_loss``)."""
from asrkit.objectives.av_contrastive import (
    batched_retrieval_top1,
    clr_loss,
    mae_clr_loss,
    paired_similarity,
    retrieval_top1,
    sync_accuracy,
)
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
from asrkit.objectives.mae import (
    TokenMask,
    gather_tokens,
    mae_loss,
    mae_objective,
    mean_baseline_loss,
    random_token_mask,
    scatter_tokens,
)
from asrkit.objectives.masking import compute_mask_indices
from asrkit.objectives.pit import permute_labels, pit_bce_loss

__all__ = [
    "TokenMask",
    "batched_retrieval_top1",
    "clr_loss",
    "compute_mask_indices",
    "contrastive_logits",
    "contrastive_logits_of",
    "contrastive_loss",
    "diversity_loss",
    "feature_penalty",
    "gather_tokens",
    "mae_clr_loss",
    "mae_loss",
    "mae_objective",
    "mean_baseline_loss",
    "paired_similarity",
    "permute_labels",
    "pit_bce_loss",
    "random_token_mask",
    "retrieval_top1",
    "sample_negative_indices",
    "scatter_tokens",
    "sync_accuracy",
    "wav2vec2_logits",
    "wav2vec2_loss",
    "wav2vec2_objective",
]
