"""Fine-tuning heads: a linear CTC classifier on an encoder (wav2vec 2.0 §3.3, §4.3).

``CTCModel`` works on any encoder of the model factory: wav2vec 2.0 / SEW / SEW-D (``Wav2Vec2ForCTC``, which
drops the pre-training heads and freezes the feature encoder, ``feature_grad_mult = 0``), or the Conformer
audio encoder of the audio-visual model (Jain et al., 2024), which has none. For the first
``freeze_finetune_updates`` updates only the classifier is trained (wav2vec 2.0 §4.3: 10k updates), then the
encoder too; ``freeze_encoder`` keeps the encoder frozen, in eval mode, for the whole run (Jain et al. §3.3:
"the encoder weights frozen", as SUPERB's upstreams). Time masking reuses the pre-trained mask embedding
(wav2vec 2.0) or masks the filter banks (Conformer) (Appendix B).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .wav2vec2 import Wav2Vec2Model


class CTCModel(nn.Module):
    """``(N, L)`` waveform -> ``(N, T, V)`` CTC log-probabilities (fp32) and frame lengths.

    Args:
        encoder: has ``extract_features(source, padding_mask, mask=...)`` returning ``.x`` ``(N, T, D)`` and
            ``.padding_mask``, ``output_lengths(num_samples)``, ``embed_dim`` and ``min_samples``.
        config: the encoder's model config (what the checkpoint keeps; ``sample_rate``, ``normalize``).
        vocab_size: output tokens including the blank (index 0).
        final_dropout: dropout before the classifier (fairseq ``final_dropout``).
        freeze_finetune_updates: updates during which only the classifier learns
            (fairseq ``freeze_finetune_updates``).
        freeze_encoder: the encoder never learns and runs in eval mode (no dropout, fixed batch-norm statistics).
    """

    def __init__(self, encoder: nn.Module, config, vocab_size: int, final_dropout: float = 0.0,
                 freeze_finetune_updates: int = 0, freeze_encoder: bool = False):
        super().__init__()
        self.encoder = encoder
        self.encoder_config = config
        self.dropout = nn.Dropout(final_dropout)
        self.classifier = nn.Linear(encoder.embed_dim, vocab_size)
        nn.init.xavier_uniform_(self.classifier.weight)  # fairseq Linear() for the CTC projection
        nn.init.zeros_(self.classifier.bias)
        self.freeze_finetune_updates = freeze_finetune_updates
        self.freeze_encoder = freeze_encoder
        if freeze_encoder:
            encoder.requires_grad_(False)
        self.num_updates = 0

    @property
    def sample_rate(self) -> int:
        return self.encoder_config.sample_rate

    @property
    def normalize(self) -> bool:
        """Whether the waveform is normalised to zero mean, unit variance (wav2vec 2.0 LARGE); the Conformer
        normalises its filter banks instead."""
        return bool(getattr(self.encoder_config, "normalize", False))

    @property
    def min_samples(self) -> int:
        """The shortest input giving one output frame."""
        return self.encoder.min_samples

    def train(self, mode: bool = True) -> CTCModel:
        super().train(mode)
        if self.freeze_encoder:
            self.encoder.eval()
        return self

    def set_num_updates(self, num_updates: int) -> None:
        self.num_updates = num_updates

    def output_lengths(self, num_samples: Tensor) -> Tensor:
        return self.encoder.output_lengths(num_samples)

    def forward(self, source: Tensor, padding_mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        frozen = self.freeze_encoder or (self.training and self.num_updates < self.freeze_finetune_updates)
        with torch.set_grad_enabled(torch.is_grad_enabled() and not frozen):
            out = self.encoder.extract_features(source, padding_mask, mask=self.training and not self.freeze_encoder)
        logits = self.classifier(self.dropout(out.x))
        n, t = logits.shape[:2]
        lengths = (~out.padding_mask).sum(dim=1) if out.padding_mask is not None else \
            torch.full((n,), t, dtype=torch.long, device=logits.device)
        return torch.log_softmax(logits.float(), dim=-1), lengths


class Wav2Vec2ForCTC(CTCModel):
    """``CTCModel`` on a ``Wav2Vec2Model`` (wav2vec 2.0, SEW, SEW-D): its pre-training heads are removed and
    the feature encoder is frozen when ``feature_grad_mult`` is 0 (§4.3)."""

    def __init__(self, encoder: Wav2Vec2Model, vocab_size: int, final_dropout: float = 0.0,
                 freeze_finetune_updates: int = 0, freeze_encoder: bool = False):
        encoder.quantizer = None
        encoder.final_proj = None
        if encoder.cfg.feature_grad_mult == 0:
            encoder.feature_encoder.requires_grad_(False)
        super().__init__(encoder, encoder.cfg, vocab_size, final_dropout, freeze_finetune_updates, freeze_encoder)
