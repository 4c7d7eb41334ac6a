"""The speech-translation model of mid-training (Jain et al., 2024, §3.2, stage 2): an asrkit audio encoder, a
Transformer decoder with cross-attention (Vaswani et al., 2017, §3.1-§3.5) and an optional CTC head on the
encoder output that predicts the source transcript (the auxiliary loss of ESPnet's ST recipes).

The paper does not describe its translation decoder (notes §1.5: "NOT FOUND"); ``DecoderConfig`` defaults to the
decoder of ESPnet's MuST-C ST Conformer recipe (``egs2/must_c/st1/conf/tuning/train_st_conformer.yaml``,
``decoder_conf``, with ESPnet2 ``TransformerDecoder``'s defaults where the recipe is silent). A decoder block is
pre-LN (ESPnet ``normalize_before``): x + SelfAttn(LN(x)) (causal) -> x + CrossAttn(LN(x), memory) ->
x + FFN(LN(x)), and a final LayerNorm after the last block.

Tokens enter as ``Embedding(tokens) * sqrt(D) + PE(position)`` (Vaswani et al. §3.4-§3.5; ESPnet's
``PositionalEncoding`` layout, positions from 0 at the BOS token, the encoder's ``PositionalEncoding``).

Shapes are ``(N, T, C)``; padding masks are True at padding. Targets are right-padded: a causal decoder never
lets a position see the later padding, so padded targets give the same logits at their real positions, and
the self-attention needs no key padding mask.

Incremental decoding (beam search): ``TransformerDecoder.forward`` takes an ``IncrementalState``, a plain dict of
batch-first tensors (every layer's self-attention keys/values so far and its cross-attention keys/values of the
memory). A call then runs only the tokens past those already cached and returns their logits; ``reorder_state``
selects beams by index along dim 0, whatever the keys. Full and incremental forward give the same logits.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import check_ranges, field_error, from_dict
from .components import attention_dtype, key_mask
from .conformer import PositionalEncoding
from .wav2vec2 import Wav2Vec2Model

IncrementalState = dict[str, Tensor]  # batch-first tensors; see the module docstring

DROPOUT = "[0, 1)"


@dataclass(frozen=True)
class DecoderConfig:
    """The Transformer decoder's sizes. Defaults: ESPnet's MuST-C ST Conformer recipe (``decoder_conf`` of
    ``train_st_conformer.yaml``); the feed-forward activation is ReLU (ESPnet ``PositionwiseFeedForward``,
    fairseq ``s2t_transformer``)."""

    embed_dim: int = 256  # D; ESPnet's decoder is as wide as its encoder (encoder_conf.output_size: 256)
    layers: int = 6  # decoder_conf.num_blocks: 6
    attention_heads: int = 4  # decoder_conf.attention_heads: 4
    ffn_embed_dim: int = 2048  # decoder_conf.linear_units: 2048
    dropout: float = 0.1  # decoder_conf.dropout_rate (residuals) and positional_dropout_rate (embeddings): 0.1
    attention_dropout: float = 0.1  # decoder_conf.self_attention_dropout_rate = src_attention_dropout_rate: 0.1
    activation_dropout: float = 0.1  # ESPnet's FFN drops after the ReLU at dropout_rate: 0.1
    max_target_positions: int = 1024  # longest decoder input, BOS included (fairseq s2t_transformer: 1024)
    share_input_output_embed: bool = False  # tie the output projection to the embedding (ESPnet: separate
    # output_layer; fairseq --share-decoder-input-output-embed)
    normalize_before: bool = True  # pre-LN blocks and a final LayerNorm (ESPnet normalize_before: true)

    def __post_init__(self) -> None:
        check_ranges(self, embed_dim=">= 1", layers=">= 1", attention_heads=">= 1", ffn_embed_dim=">= 1",
                     dropout=DROPOUT, attention_dropout=DROPOUT, activation_dropout=DROPOUT,
                     max_target_positions=">= 2")
        if self.embed_dim % self.attention_heads:
            raise field_error(self, "embed_dim", f"{self.embed_dim} is not a multiple of attention_heads "
                                                 f"({self.attention_heads})")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> DecoderConfig:
        """Build from a mapping, type-checked; unknown keys are errors."""
        return from_dict(cls, dict(values), "DecoderConfig")


DECODER_CONFIGS: dict[str, DecoderConfig] = {
    # ESPnet MuST-C ST Conformer recipe, 6 x 256 (13.6M parameters with an 8k vocabulary)
    "mustc_st": DecoderConfig(),
    # for the synthetic recipe on 2 CPU cores: 2 blocks of 128 (4 heads of 32), FFN 4 x width as Vaswani et al.
    "tiny": DecoderConfig(embed_dim=128, layers=2, attention_heads=4, ffn_embed_dim=512, max_target_positions=256),
}


class Attention(nn.Module):
    """Multi-head attention (Vaswani et al. §3.2.2) through ``F.scaled_dot_product_attention``; keys and values
    may come from another width (fairseq ``MultiheadAttention`` ``kdim``/``vdim``: the encoder's, for
    cross-attention).

    Args:
        embed_dim: D of the queries and the output.
        num_heads: h.
        dropout: on the attention weights.
        kv_dim: width of the key/value input; None: ``embed_dim``.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, kv_dim: int | None = None):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
        kv_dim = embed_dim if kv_dim is None else kv_dim
        self.num_heads, self.dropout = num_heads, dropout
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(kv_dim, embed_dim)
        self.v_proj = nn.Linear(kv_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def heads(self, x: Tensor) -> Tensor:
        """``(N, T, D)`` -> ``(N, h, T, D / h)``."""
        return x.view(x.size(0), x.size(1), self.num_heads, -1).transpose(1, 2)

    def keys_values(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(N, S, kv_dim)`` -> keys and values ``(N, h, S, D / h)``."""
        return self.heads(self.k_proj(x)), self.heads(self.v_proj(x))

    def forward(self, query: Tensor, k: Tensor, v: Tensor, attn_mask: Tensor | None = None) -> Tensor:
        """``(N, T, D)`` queries over keys/values ``(N, h, S, D / h)``; ``attn_mask`` broadcasts to ``(N, h, T, S)``
        (bool: True attends; float: added) -> ``(N, T, D)``."""
        n, t, d = query.shape
        x = F.scaled_dot_product_attention(self.heads(self.q_proj(query)), k, v, attn_mask=attn_mask,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.out_proj(x.transpose(1, 2).reshape(n, t, d))


class DecoderFeedForward(nn.Module):
    """Position-wise FFN (Vaswani et al. §3.3): Linear -> ReLU -> dropout -> Linear (ESPnet
    ``PositionwiseFeedForward``); the residual dropout is the block's."""

    def __init__(self, embed_dim: int, ffn_dim: int, activation_dropout: float = 0.0):
        super().__init__()
        self.fc1 = nn.Linear(embed_dim, ffn_dim)
        self.fc2 = nn.Linear(ffn_dim, embed_dim)
        self.activation_dropout = nn.Dropout(activation_dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.activation_dropout(F.relu(self.fc1(x))))


class DecoderLayer(nn.Module):
    """One decoder block (Vaswani et al. §3.1): causal self-attention, cross-attention to the encoder output and
    an FFN, each in a residual with dropout; LayerNorm before each (pre-LN, ``normalize_before``) or after each
    residual sum (post-LN, the original Transformer).

    Args:
        self_attention, cross_attention: ``Attention`` s (the second with the encoder's ``kv_dim``).
        feed_forward: the ``DecoderFeedForward``.
        embed_dim: D, for the three LayerNorms.
        dropout: on each sub-layer's output.
        normalize_before: pre-LN.
    """

    def __init__(self, self_attention: Attention, cross_attention: Attention, feed_forward: DecoderFeedForward,
                 embed_dim: int, dropout: float = 0.0, normalize_before: bool = True):
        super().__init__()
        self.self_attention, self.cross_attention, self.feed_forward = self_attention, cross_attention, feed_forward
        self.self_attention_norm = nn.LayerNorm(embed_dim)
        self.cross_attention_norm = nn.LayerNorm(embed_dim)
        self.feed_forward_norm = nn.LayerNorm(embed_dim)
        self.dropout = nn.Dropout(dropout)
        self.normalize_before = normalize_before

    def forward(self, x: Tensor, memory_kv: tuple[Tensor, Tensor], causal_mask: Tensor | None,
                memory_mask: Tensor | None, past_kv: tuple[Tensor, Tensor] | None = None
                ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """``(N, T, D)`` new positions; ``memory_kv`` the cross-attention keys/values of the encoder output
        (``cross_attention.keys_values``); ``causal_mask`` ``(T, S_past + T)`` bool (True attends) or None (one new
        position); ``memory_mask`` the additive key mask of ``key_mask``; ``past_kv`` the self-attention
        keys/values of the earlier positions -> ``(N, T, D)`` and the self-attention keys/values of all positions."""
        h = self.self_attention_norm(x) if self.normalize_before else x
        k, v = self.self_attention.keys_values(h)
        if past_kv is not None:
            k, v = torch.cat([past_kv[0], k], dim=2), torch.cat([past_kv[1], v], dim=2)
        x = self._add(x, self.self_attention(h, k, v, causal_mask), self.self_attention_norm)
        h = self.cross_attention_norm(x) if self.normalize_before else x
        x = self._add(x, self.cross_attention(h, *memory_kv, memory_mask), self.cross_attention_norm)
        h = self.feed_forward_norm(x) if self.normalize_before else x
        return self._add(x, self.feed_forward(h), self.feed_forward_norm), (k, v)

    def _add(self, x: Tensor, y: Tensor, norm: nn.LayerNorm) -> Tensor:
        """The residual: x + dropout(y), normalised after the sum when post-LN."""
        x = x + self.dropout(y)
        return x if self.normalize_before else norm(x)


class TransformerDecoder(nn.Module):
    """Autoregressive Transformer decoder over an encoder output (Vaswani et al. §3.1).

    Args:
        cfg: the ``DecoderConfig``.
        vocab_size: V, target tokens including pad, BOS and EOS.
        encoder_dim: width of the memory it attends to; None: ``cfg.embed_dim`` (``EncoderDecoderModel`` then
            adapts a wider or narrower encoder with a Linear).
        pad: the padding token: its embedding is zero and gets no gradient (fairseq ``Embedding``).
    """

    def __init__(self, cfg: DecoderConfig, vocab_size: int, encoder_dim: int | None = None, pad: int = 0):
        super().__init__()
        if not 0 <= pad < vocab_size:
            raise ValueError(f"pad token {pad} is outside the vocabulary of {vocab_size} tokens")
        d = cfg.embed_dim
        self.cfg, self.vocab_size, self.pad = cfg, vocab_size, pad
        self.encoder_dim = d if encoder_dim is None else encoder_dim
        self.embed_tokens = nn.Embedding(vocab_size, d, padding_idx=pad)
        # fairseq Embedding: N(0, D^-1/2), so that after the sqrt(D) scale tokens and positions are both O(1)
        # (PyTorch's N(0, 1), which ESPnet keeps, would make them 16x the positions at D = 256)
        nn.init.normal_(self.embed_tokens.weight, mean=0.0, std=d ** -0.5)
        with torch.no_grad():
            self.embed_tokens.weight[pad].zero_()
        self.embed_positions = PositionalEncoding(d, cfg.dropout)
        self.layers = nn.ModuleList(
            DecoderLayer(Attention(d, cfg.attention_heads, cfg.attention_dropout),
                         Attention(d, cfg.attention_heads, cfg.attention_dropout, kv_dim=self.encoder_dim),
                         DecoderFeedForward(d, cfg.ffn_embed_dim, cfg.activation_dropout),
                         d, cfg.dropout, cfg.normalize_before)
            for _ in range(cfg.layers)
        )
        self.layer_norm = nn.LayerNorm(d) if cfg.normalize_before else None
        if cfg.share_input_output_embed:
            self.output_projection = nn.Linear(d, vocab_size, bias=False)  # fairseq: tied, no bias
            self.output_projection.weight = self.embed_tokens.weight
        else:
            self.output_projection = nn.Linear(d, vocab_size)  # ESPnet output_layer

    @staticmethod
    def cached_steps(state: IncrementalState | None) -> int:
        """Positions already in ``state``."""
        return 0 if not state else state["layers.0.self.k"].size(2)

    def forward(self, prev_tokens: Tensor, encoder_out: Tensor, encoder_padding_mask: Tensor | None = None,
                incremental_state: IncrementalState | None = None) -> Tensor:
        """``(N, T)`` decoder input (BOS, y_1, ..., right-padded), ``(N, S, encoder_dim)`` memory and its ``(N, S)``
        padding -> ``(N, T, V)`` logits, position t predicting token t + 1.

        With ``incremental_state`` (a dict, empty at the first step) only the positions past those cached run;
        the logits of those are returned and the state is extended in place.
        """
        start = self.cached_steps(incremental_state)
        total = prev_tokens.size(1)
        if total > self.cfg.max_target_positions:
            raise ValueError(f"decoder input of {total} tokens is longer than max_target_positions "
                             f"({self.cfg.max_target_positions}); drop longer targets or raise max_target_positions")
        if encoder_out.size(-1) != self.encoder_dim:
            raise ValueError(f"encoder output of width {encoder_out.size(-1)}, but this decoder attends to width "
                             f"{self.encoder_dim}; adapt it (EncoderDecoderModel does) or build the decoder with "
                             "that encoder_dim")
        if total <= start:
            raise ValueError(f"decoder input of {total} tokens, but {start} positions are already decoded; "
                             "pass the whole prefix with at least one new token")
        tokens = prev_tokens[:, start:]
        x = self.embed_positions(self.embed_tokens(tokens), torch.arange(start, total, device=tokens.device))
        # position start + i sees positions 0 .. start + i; one new position sees everything cached
        causal = None if total - start == 1 else (torch.arange(total, device=x.device)[None, :]
                                      <= torch.arange(start, total, device=x.device)[:, None])
        memory_mask = key_mask(encoder_padding_mask, attention_dtype(x))
        state = incremental_state
        for i, layer in enumerate(self.layers):
            name = f"layers.{i}"
            if state is not None and f"{name}.cross.k" in state:
                memory_kv = state[f"{name}.cross.k"], state[f"{name}.cross.v"]
            else:
                memory_kv = layer.cross_attention.keys_values(encoder_out)
            past_kv = (state[f"{name}.self.k"], state[f"{name}.self.v"]) if start else None
            x, self_kv = layer(x, memory_kv, causal, memory_mask, past_kv)
            if state is not None:
                state[f"{name}.self.k"], state[f"{name}.self.v"] = self_kv
                state[f"{name}.cross.k"], state[f"{name}.cross.v"] = memory_kv
        if self.layer_norm is not None:
            x = self.layer_norm(x)
        return self.output_projection(x)


def reorder_state(state: IncrementalState, order: Tensor) -> None:
    """Keep rows ``order`` ``(N',)`` of every tensor of ``state``, in place (beam search's reordering and pruning)."""
    for key, value in state.items():
        state[key] = value.index_select(0, order)


class Seq2SeqOutput(NamedTuple):
    logits: Tensor  # (N, T, V) decoder logits (before softmax)
    encoder_out: Tensor  # (N, S, encoder_dim) the encoder's output (before the adapter)
    encoder_padding_mask: Tensor | None  # (N, S) True at padding
    ctc_logits: Tensor | None  # (N, S, V_ctc) source-transcript CTC logits (before softmax); None without a head


class EncoderDecoderModel(nn.Module):
    """Any asrkit encoder + ``TransformerDecoder`` (+ a CTC head on the encoder output).

    The encoder is called as ``CTCModel`` calls it (``asrkit.models.heads``):
    ``encoder.extract_features(source, padding_mask, mask=self.training)`` returning ``.x`` ``(N, S, D)`` and
    ``.padding_mask``, so a ``ConformerEncoder`` (its fine-tuning ``FbankMasking``) and a ``Wav2Vec2Model``
    (wav2vec 2.0, SEW, SEW-D; its span masks) both fit; how strongly it masks is the encoder's configuration.
    A ``Wav2Vec2Model`` loses its pre-training heads (quantizer, final projection), as in ``Wav2Vec2ForCTC``.

    Args:
        encoder: the audio encoder.
        encoder_dim: its output width D_enc.
        decoder: the ``TransformerDecoder``; a Linear maps D_enc to its ``encoder_dim`` when they differ.
        ctc_vocab_size: source-side CTC outputs including the blank; 0: no CTC head.
    """

    def __init__(self, encoder: nn.Module, encoder_dim: int, decoder: TransformerDecoder, ctc_vocab_size: int = 0):
        super().__init__()
        declared = getattr(encoder, "embed_dim", encoder_dim)
        if declared != encoder_dim:
            raise ValueError(f"encoder_dim {encoder_dim} but the encoder's embed_dim is {declared}; pass {declared}")
        if ctc_vocab_size < 0:
            raise ValueError(f"ctc_vocab_size must be >= 0 (0: no CTC head), got {ctc_vocab_size}")
        if isinstance(encoder, Wav2Vec2Model):
            encoder.quantizer = None
            encoder.final_proj = None
            if encoder.cfg.feature_grad_mult == 0:
                encoder.feature_encoder.requires_grad_(False)
        self.encoder = encoder
        self.encoder_dim = encoder_dim
        self.decoder = decoder
        self.adapter = nn.Linear(encoder_dim, decoder.encoder_dim) if encoder_dim != decoder.encoder_dim else None
        self.ctc = nn.Linear(encoder_dim, ctc_vocab_size) if ctc_vocab_size else None
        if self.ctc is not None:
            nn.init.xavier_uniform_(self.ctc.weight)  # as CTCModel's classifier (fairseq Linear())
            nn.init.zeros_(self.ctc.bias)

    @property
    def min_samples(self) -> int:
        """The shortest input giving one encoder frame."""
        return self.encoder.min_samples

    def output_lengths(self, num_samples: Tensor) -> Tensor:
        """Encoder frames for ``(N,)`` sample counts."""
        return self.encoder.output_lengths(num_samples)

    def encode(self, source: Tensor, padding_mask: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """``(N, L)`` waveform with ``(N, L)`` padding -> encoder output ``(N, S, D_enc)`` and ``(N, S)`` padding."""
        out = self.encoder.extract_features(source, padding_mask, mask=self.training)
        return out.x, out.padding_mask

    def memory(self, encoder_out: Tensor) -> Tensor:
        """The encoder output as the decoder attends to it: through the adapter where widths differ."""
        return encoder_out if self.adapter is None else self.adapter(encoder_out)

    def forward(self, source: Tensor, padding_mask: Tensor | None, prev_tokens: Tensor) -> Seq2SeqOutput:
        """``(N, L)`` waveform, its padding and ``(N, T)`` decoder input (teacher forcing) -> ``Seq2SeqOutput``."""
        x, x_padding = self.encode(source, padding_mask)
        logits = self.decoder(prev_tokens, self.memory(x), x_padding)
        ctc_logits = self.ctc(x) if self.ctc is not None else None
        return Seq2SeqOutput(logits, x, x_padding, ctc_logits)


__all__ = [
    "DECODER_CONFIGS", "Attention", "DecoderConfig", "DecoderFeedForward", "DecoderLayer", "EncoderDecoderModel",
    "IncrementalState", "Seq2SeqOutput", "TransformerDecoder", "reorder_state",
]
