"""The Transformer language model of wav2vec 2.0 §4.4 ("Transf. LM"): a decoder-only, causal word-level
Transformer (Synnaeve et al., 2020, "End-to-end ASR: from supervised to semi-supervised learning with modern
architectures", §4: 20 blocks, model dimension 1280, FFN 6144, 16 heads, on the LibriSpeech LM corpus).

Token embedding (scaled by sqrt(d), as fairseq's ``transformer_lm``), sinusoidal or learned positions,
pre-LN blocks (LN -> causal self-attention -> residual; LN -> FFN -> residual), a final LN and an output
projection tied to the embedding. A sentence ``w1 .. wn`` is read as ``</s> w1 .. wn`` and predicts
``w1 .. wn </s>`` (fairseq's convention: the end-of-sentence symbol starts the next one).

``forward`` takes an optional key/value cache (one ``(k, v)`` pair per block, each ``(N, H, S, C/H)``) of the
tokens before ``tokens`` and returns the extended cache, so that a decoder can extend a word history one word at a
time with the same result as one forward over the whole history. Shapes ``(N, L)`` tokens, ``(N, L, V)`` logits.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import check_ranges, field_error, from_dict

KVCache = list[tuple[Tensor, Tensor]]  # per block: keys, values (N, H, S, C/H)


@dataclass(frozen=True)
class TransformerLMConfig:
    model_type: str = "transformer_lm"
    vocab_size: int = 0  # set from the training text's vocabulary when the model is built
    embed_dim: int = 1280  # d (Synnaeve et al. §4: 1280)
    ffn_dim: int = 6144  # FFN inner dimension (6144)
    num_layers: int = 20  # blocks (20)
    num_heads: int = 16  # attention heads (16)
    dropout: float = 0.1  # fairseq transformer_lm --dropout
    attention_dropout: float = 0.0
    activation: Literal["relu", "gelu"] = "relu"  # fairseq transformer_lm default activation_fn
    positions: Literal["sinusoidal", "learned"] = "sinusoidal"
    max_positions: int = 512  # learned positions only: the longest sentence (in units, </s> included)

    def __post_init__(self) -> None:
        check_ranges(self, vocab_size=">= 0", embed_dim=">= 1", ffn_dim=">= 1", num_layers=">= 1", num_heads=">= 1",
                     dropout="[0, 1)", attention_dropout="[0, 1)", max_positions=">= 1")
        if self.model_type != "transformer_lm":
            raise field_error(self, "model_type", f"{self.model_type!r}: a Transformer LM config is transformer_lm")
        if self.embed_dim % self.num_heads:
            raise field_error(self, "num_heads", f"{self.num_heads} does not divide embed_dim {self.embed_dim}")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TransformerLMConfig:
        """Build from a mapping, type-checked; unknown keys are errors."""
        return from_dict(cls, dict(values), "TransformerLMConfig")


LM_CONFIGS = {
    # Synnaeve et al. (2020) §4, the wav2vec 2.0 paper's Transformer LM (§4.4)
    "paper": TransformerLMConfig(),
    # the built-in synthetic corpus: a few thousand sentences of a small grammar; trains on a CPU in minutes
    "tiny": TransformerLMConfig(embed_dim=128, ffn_dim=512, num_layers=2, num_heads=4, dropout=0.1),
}


def lm_config(name: str) -> TransformerLMConfig:
    """A named Transformer LM config (``paper``, ``tiny``)."""
    from ..config import ConfigError

    if name not in LM_CONFIGS:
        raise ConfigError(f"no Transformer LM config {name!r}; named configs: {', '.join(LM_CONFIGS)}")
    return LM_CONFIGS[name]


def sinusoidal_positions(positions: Tensor, dim: int) -> Tensor:
    """``(L,)`` positions -> ``(L, dim)`` sin/cos embeddings (Vaswani et al., 2017, §3.5)."""
    half = dim // 2
    freq = torch.exp(torch.arange(half, device=positions.device, dtype=torch.float32) * -(math.log(10000.0) / max(half - 1, 1)))
    angles = positions.float()[:, None] * freq[None]
    emb = torch.cat([angles.sin(), angles.cos()], dim=1)
    return F.pad(emb, (0, dim - 2 * half))


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention in which position i sees positions <= i, the cached ones included."""

    def __init__(self, dim: int, num_heads: int, dropout: float):
        super().__init__()
        self.num_heads, self.dropout = num_heads, dropout
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: Tensor, past: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        n, length, dim = x.shape
        q, k, v = self.qkv(x).view(n, length, 3, self.num_heads, dim // self.num_heads).permute(2, 0, 3, 1, 4)
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        offset = k.size(2) - length  # the cached positions come first
        allowed = torch.ones(length, k.size(2), dtype=torch.bool, device=x.device).tril(offset)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.out(y.transpose(1, 2).reshape(n, length, dim)), (k, v)


class LMBlock(nn.Module):
    """Pre-LN block: x + Attn(LN(x)), then x + FFN(LN(x))."""

    def __init__(self, cfg: TransformerLMConfig):
        super().__init__()
        self.attn_norm = nn.LayerNorm(cfg.embed_dim)
        self.attn = CausalSelfAttention(cfg.embed_dim, cfg.num_heads, cfg.attention_dropout)
        self.ffn_norm = nn.LayerNorm(cfg.embed_dim)
        self.ffn = nn.Sequential(nn.Linear(cfg.embed_dim, cfg.ffn_dim), nn.ReLU() if cfg.activation == "relu"
                                 else nn.GELU(), nn.Dropout(cfg.dropout), nn.Linear(cfg.ffn_dim, cfg.embed_dim))
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: Tensor, past: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        y, kv = self.attn(self.attn_norm(x), past)
        x = x + self.dropout(y)
        return x + self.dropout(self.ffn(self.ffn_norm(x))), kv


class TransformerLM(nn.Module):
    """Decoder-only Transformer LM; ``forward(tokens (N, L), cache)`` -> ``(logits (N, L, V), cache)``."""

    def __init__(self, cfg: TransformerLMConfig):
        super().__init__()
        if cfg.vocab_size < 1:
            raise ValueError("TransformerLMConfig.vocab_size is 0: set it to the vocabulary's size")
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.embed_dim)
        nn.init.normal_(self.embed.weight, std=cfg.embed_dim ** -0.5)  # fairseq: std d^-1/2, scaled by sqrt(d)
        self.positions = nn.Embedding(cfg.max_positions, cfg.embed_dim) if cfg.positions == "learned" else None
        self.dropout = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(LMBlock(cfg) for _ in range(cfg.num_layers))
        self.norm = nn.LayerNorm(cfg.embed_dim)

    def forward(self, tokens: Tensor, cache: KVCache | None = None) -> tuple[Tensor, KVCache]:
        start = cache[0][0].size(2) if cache else 0
        positions = torch.arange(start, start + tokens.size(1), device=tokens.device)
        if self.positions is not None:
            if positions[-1] >= self.cfg.max_positions:
                raise ValueError(f"sequence of {start + tokens.size(1)} units: the learned positions stop at "
                                 f"max_positions={self.cfg.max_positions}")
            pos = self.positions(positions)
        else:
            pos = sinusoidal_positions(positions, self.cfg.embed_dim)
        x = self.dropout(self.embed(tokens) * math.sqrt(self.cfg.embed_dim) + pos.to(self.embed.weight.dtype))
        new_cache = []
        for i, block in enumerate(self.blocks):
            x, kv = block(x, cache[i] if cache else None)
            new_cache.append(kv)
        return F.linear(self.norm(x), self.embed.weight), new_cache  # output projection tied to the embedding


def transformer_lm(cfg: TransformerLMConfig) -> TransformerLM:
    return TransformerLM(cfg)
