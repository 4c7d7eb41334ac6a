"""Fine-tuning heads: a linear CTC classifier on the context network (wav2vec 2.0 §3.3, §4.3).

The pre-training heads (quantizer, ``final_proj``) are dropped; the feature encoder stays
frozen (``feature_grad_mult = 0``); for the first ``freeze_finetune_updates`` updates only
the classifier is trained (§4.3: 10k updates), then the Transformer too. Time masking
reuses the pre-trained mask embedding, channel masking zeroes spans (Appendix B).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .wav2vec2 import Wav2Vec2Model


class Wav2Vec2ForCTC(nn.Module):
    """``(N, L)`` waveform -> ``(N, T, V)`` CTC log-probabilities (fp32) and frame lengths.

    Args:
        encoder: a (pre-trained or fresh) ``Wav2Vec2Model``; its pre-training heads are removed.
        vocab_size: output tokens including the blank (index 0).
        final_dropout: dropout before the classifier (fairseq ``final_dropout``).
        freeze_finetune_updates: updates during which only the classifier learns
            (fairseq ``freeze_finetune_updates``).
    """

    def __init__(self, encoder: Wav2Vec2Model, vocab_size: int, final_dropout: float = 0.0,
                 freeze_finetune_updates: int = 0):
        super().__init__()
        encoder.quantizer = None
        encoder.final_proj = None
        if encoder.cfg.feature_grad_mult == 0:
            encoder.feature_encoder.requires_grad_(False)
        self.encoder = encoder
        self.dropout = nn.Dropout(final_dropout)
        self.classifier = nn.Linear(encoder.cfg.encoder_embed_dim, vocab_size)
        nn.init.xavier_uniform_(self.classifier.weight)  # fairseq Linear() for the CTC projection
        nn.init.zeros_(self.classifier.bias)
        self.freeze_finetune_updates = freeze_finetune_updates
        self.num_updates = 0

    def set_num_updates(self, num_updates: int) -> None:
        self.num_updates = num_updates

    def output_lengths(self, num_samples: Tensor) -> Tensor:
        return self.encoder.feature_encoder.output_lengths(num_samples)

    def forward(self, source: Tensor, padding_mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        frozen = self.training and self.num_updates < self.freeze_finetune_updates
        with torch.set_grad_enabled(torch.is_grad_enabled() and not frozen):
            out = self.encoder.extract_features(source, padding_mask, mask=self.training)
        logits = self.classifier(self.dropout(out.x))
        n, t = logits.shape[:2]
        lengths = (~out.padding_mask).sum(dim=1) if out.padding_mask is not None else \
            torch.full((n,), t, dtype=torch.long, device=logits.device)
        return torch.log_softmax(logits.float(), dim=-1), lengths
