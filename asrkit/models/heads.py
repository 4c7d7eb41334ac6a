"""Fine-tuning heads: a linear CTC classifier on an encoder (wav2vec 2.0 §3.3, §4.3), or a BLSTM task decoder
before it (SUPERB's ASR head, for a frozen encoder).

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
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .wav2vec2 import Wav2Vec2Model

HEADS = ("linear", "lstm")


class LSTMHead(nn.Module):
    """A bidirectional LSTM between a (frozen) encoder and the CTC classifier: SUPERB's ASR downstream
    (Yang et al., 2021; s3prl ``downstream/asr``: 2 BLSTM layers of 1024 units per direction, dropout 0.2),
    the task decoder of the multi-stage paper's frozen-encoder ASR (Jain et al., 2024, §3.3). Padding frames
    never reach the real ones (packed sequences)."""

    def __init__(self, input_dim: int, hidden: int = 1024, layers: int = 2, dropout: float = 0.2,
                 bidirectional: bool = True):
        super().__init__()
        self.lstm = nn.LSTM(input_dim, hidden, num_layers=layers, batch_first=True, bidirectional=bidirectional,
                            dropout=dropout if layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.output_dim = (2 if bidirectional else 1) * hidden

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        t = x.size(1)
        packed = pack_padded_sequence(x.float(), lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False)
        out, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=t)
        return self.dropout(out)


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
        head: ``linear`` (wav2vec 2.0: the classifier on the encoder output) or ``lstm`` (:class:`LSTMHead` of
            ``head_layers`` x ``head_dim`` units per direction before the classifier, SUPERB's ASR).
    """

    def __init__(self, encoder: nn.Module, config, vocab_size: int, final_dropout: float = 0.0,
                 freeze_finetune_updates: int = 0, freeze_encoder: bool = False, head: str = "linear",
                 head_layers: int = 2, head_dim: int = 1024, head_dropout: float = 0.2):
        super().__init__()
        if head not in HEADS:
            raise ValueError(f"head {head!r}: choose one of {', '.join(HEADS)}")
        self.encoder = encoder
        self.encoder_config = config
        self.dropout = nn.Dropout(final_dropout)
        self.head = LSTMHead(encoder.embed_dim, head_dim, head_layers, head_dropout) if head == "lstm" else None
        self.classifier = nn.Linear(self.head.output_dim if self.head is not None else encoder.embed_dim, vocab_size)
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
        n, t = out.x.shape[:2]
        lengths = (~out.padding_mask).sum(dim=1) if out.padding_mask is not None else \
            torch.full((n,), t, dtype=torch.long, device=out.x.device)
        x = self.dropout(out.x)
        if self.head is not None:
            x = self.head(x, lengths)
        logits = self.classifier(x)
        return torch.log_softmax(logits.float(), dim=-1), lengths


class Wav2Vec2ForCTC(CTCModel):
    """``CTCModel`` on a ``Wav2Vec2Model`` (wav2vec 2.0, SEW, SEW-D): its pre-training heads are removed and
    the feature encoder is frozen when ``feature_grad_mult`` is 0 (§4.3)."""

    def __init__(self, encoder: Wav2Vec2Model, vocab_size: int, final_dropout: float = 0.0,
                 freeze_finetune_updates: int = 0, freeze_encoder: bool = False, **head):
        encoder.quantizer = None
        encoder.final_proj = None
        if encoder.cfg.feature_grad_mult == 0:
            encoder.feature_encoder.requires_grad_(False)
        super().__init__(encoder, encoder.cfg, vocab_size, final_dropout, freeze_finetune_updates, freeze_encoder,
                         **head)
