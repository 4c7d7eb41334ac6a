"""Disentangled attention for the squeezed context network: SEW-D (Wu et al., 2021, §3.4).

SEW-D replaces multi-head self-attention by DeBERTa-v2's disentangled attention (He et al., 2021),
as the released code does (asapp ``sew_asapp/models/squeeze_wav2vec2_deberta.py`` wrapping
``DeBERTa.bert.BertEncoder``; transformers ``SEWDModel``). Content and position stay separate: a
shared table of relative-position embeddings P (2k rows, LayerNorm'ed: ``norm_rel_ebd``) is projected
per layer into position keys K^r and queries Q^r, and the score of query i for key j is

    A_ij = (q_i . k_j  +  q_i . K^r[d(i, j)]  +  k_j . Q^r[d(i, j)]) / sqrt(d_head * (1 + #position terms))

content-to-content, content-to-position ("c2p") and position-to-content ("p2c"), with d(i, j) the
row of i - j in the table after log-bucketing (``relative_position_index``): each position term is a
matmul against the whole table followed by a ``gather`` at d(i, j), as in DeBERTa.

Blocks are post-LN like wav2vec 2.0 BASE (``EncoderLayer``), with DeBERTa's LayerNorm epsilon. There is
no LayerNorm or dropout at the input of the stack (the squeezed input goes straight in, as in asapp
and transformers). ``asrkit.models.fast.disentangled`` computes the same attention faster.

Shapes are ``(N, T, C)``; padding masks are True at padding.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from asrkit.models.components import (POSITION_TERMS, EncoderLayer, FeedForward, init_bert_params, key_mask,
                                      parse_pos_att_type)

def relative_position_index(
    num_frames: int, position_buckets: int = 256, max_relative_positions: int = 512, device=None
) -> Tensor:
    """``(T, T)`` row of the relative-embedding table used by query i and key j.

    The offset i - j is kept as is up to ``b/2 = position_buckets // 2`` frames; farther offsets share
    log-spaced buckets, sign(i - j) * (b/2 + ceil(log(|i - j| / (b/2)) / log((m - 1) / (b/2)) * (b/2 - 1)))
    with m = ``max_relative_positions`` (DeBERTa-v2 ``make_log_bucket_position``), so offsets up to m - 1
    use b - 1 buckets on each side. The result is shifted by the table half-size k (b, or m without
    buckets) and clamped to the 2k rows.
    """
    pos = torch.arange(num_frames, device=device)
    rel = pos[:, None] - pos[None, :]
    span = max_relative_positions
    if position_buckets > 0:
        mid = position_buckets // 2
        dist = rel.abs()
        # float32 as in DeBERTa-v2 / transformers, so bucket edges agree bit for bit
        ratio = torch.log(dist.clamp(min=mid).float() / mid) / torch.log(torch.tensor((max_relative_positions - 1) / mid))
        far = torch.ceil(ratio * (mid - 1)).long() + mid
        rel = torch.where(dist <= mid, rel, far * rel.sign())
        span = position_buckets
    return (rel + span).clamp(0, 2 * span - 1)


# The skewed layout of the position terms (``DisentangledSelfAttention._skewed_position_bias``) pads its
# 2T - 1 columns to a multiple of this: 32 bf16 (one AMX tile row) or 32 fp32 values.


class DisentangledSelfAttention(nn.Module):
    """Multi-head disentangled self-attention (DeBERTa-v2; SEW-D §3.4).

    Args:
        embed_dim: width D (fairseq ``encoder_embed_dim``).
        num_heads: heads (fairseq ``encoder_attention_heads``; asapp uses 64-dim heads).
        position_terms: ``("c2p",)``, ``("p2c",)`` or both (DeBERTa ``pos_att_type``).
        share_att_key: project the relative embeddings with ``q_proj`` / ``k_proj`` (DeBERTa-v2
            ``share_att_key``, the SEW-D setting); otherwise with own ``pos_q_proj`` / ``pos_k_proj``.
        dropout: on the attention weights (DeBERTa ``attention_probs_dropout_prob`` = fairseq ``attention_dropout``).
        position_dropout: on the relative embeddings (DeBERTa ``hidden_dropout_prob``, which asapp sets
            to fairseq ``activation_dropout``).
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        position_terms: Sequence[str] = POSITION_TERMS,
        share_att_key: bool = True,
        dropout: float = 0.0,
        position_dropout: float = 0.0,
    ):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.position_terms = parse_pos_att_type(position_terms)
        self.dropout = dropout
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)  # DeBERTa attention.output.dense
        self.share_att_key = share_att_key
        if not share_att_key:
            if "c2p" in self.position_terms:
                self.pos_k_proj = nn.Linear(embed_dim, embed_dim)
            if "p2c" in self.position_terms:
                self.pos_q_proj = nn.Linear(embed_dim, embed_dim)
        self.position_dropout = nn.Dropout(position_dropout)
        self.scale = 1.0 / math.sqrt(embed_dim // num_heads * (1 + len(self.position_terms)))

    def position_heads(self, proj: nn.Linear, rel_embeddings: Tensor) -> Tensor:
        """``(R, D)`` relative embeddings -> position keys or queries per head, ``(H, R, D/H)``."""
        return proj(rel_embeddings).view(rel_embeddings.size(0), self.num_heads, -1).transpose(0, 1)

    def position_projections(self, rel_embeddings: Tensor) -> dict[str, Tensor]:
        """K^r (for c2p) and Q^r (for p2c) of the (dropped-out) table, ``(H, 2k, D/H)``, by term."""
        rel = self.position_dropout(rel_embeddings)
        names = {"c2p": "k_proj" if self.share_att_key else "pos_k_proj",
                 "p2c": "q_proj" if self.share_att_key else "pos_q_proj"}  # only the terms' own exist
        return {term: self.position_heads(getattr(self, names[term]), rel) for term in self.position_terms}

    def forward(self, x: Tensor, padding_mask: Tensor | None, rel_embeddings: Tensor, rel_index: Tensor) -> Tensor:
        """``(N, T, D)``, key padding mask ``(N, T)``, relative embeddings ``(2k, D)`` and
        ``relative_position_index`` ``(T, T)`` -> ``(N, T, D)``."""
        n, t, d = x.shape
        q, k, v = (proj(x).view(n, t, self.num_heads, -1).transpose(1, 2) for proj in (self.q_proj, self.k_proj,
                                                                                     self.v_proj))
        scores = q @ k.transpose(-1, -2)  # content to content, (N, H, T, T)
        tables = self.position_projections(rel_embeddings)
        index = rel_index.expand(n, self.num_heads, t, t)
        if "c2p" in tables:  # q_i . K^r[d(i, j)]: row i of q K^r^T, column d(i, j)
            scores = scores + torch.gather(q @ tables["c2p"].transpose(-1, -2), -1, index)
        if "p2c" in tables:  # k_j . Q^r[d(i, j)]: row j of k Q^r^T, column d(i, j)
            p2c = torch.gather(k @ tables["p2c"].transpose(-1, -2), -1, index.transpose(-1, -2))
            scores = scores + p2c.transpose(-1, -2)
        scores = scores * self.scale
        mask = key_mask(padding_mask, scores.dtype)
        if mask is not None:
            scores = scores + mask
        probs = F.dropout(scores.softmax(dim=-1), self.dropout, self.training)
        return self.out_proj((probs @ v).transpose(1, 2).reshape(n, t, d))


class DisentangledEncoderLayer(EncoderLayer):
    """A post-LN Transformer block (``EncoderLayer``) around ``DisentangledSelfAttention``; the
    relative embeddings and their index come from the enclosing ``DisentangledTransformer``.

    DeBERTa's block is wav2vec 2.0's post-LN block: attention, out_proj, dropout, LayerNorm(x + .);
    Linear, GELU, Linear, dropout, LayerNorm(x + .); only the LayerNorm epsilon differs.
    """

    def __init__(
        self, attention: DisentangledSelfAttention, feed_forward: FeedForward, embed_dim: int,
        dropout: float = 0.0, layer_norm_eps: float = 1e-7,
    ):  # fmt: skip
        super().__init__(attention, feed_forward, embed_dim, dropout, layer_norm_first=False)
        self.attention_norm.eps = layer_norm_eps
        self.feed_forward_norm.eps = layer_norm_eps

    def forward(self, x: Tensor, padding_mask: Tensor | None, rel_embeddings: Tensor, rel_index: Tensor) -> Tensor:
        x = self.attention_norm(x + self.dropout(self.attention(x, padding_mask, rel_embeddings, rel_index)))
        return self.feed_forward_norm(x + self.feed_forward(x))


class DisentangledTransformer(nn.Module):
    """A stack of ``DisentangledEncoderLayer`` s sharing one relative-position table (DeBERTa-v2 encoder).

    Args:
        layers: the blocks (fairseq ``encoder_layers``).
        rel_embeddings: the 2k x D table (k = ``position_buckets``, or ``max_relative_positions``
            without buckets).
        rel_norm: LayerNorm applied to the table once per forward (DeBERTa-v2 ``norm_rel_ebd="layer_norm"``) or None.
        position_buckets: DeBERTa-v2 ``position_buckets`` (256 in SEW-D); 0 keeps every offset.
        max_relative_positions: DeBERTa ``max_relative_positions`` (512 in SEW-D).
        layerdrop: probability of skipping each block in training (fairseq ``encoder_layerdrop``;
            asapp wraps the DeBERTa layers in a ``LayerDropModuleList``).
    """

    def __init__(
        self,
        layers: Sequence[DisentangledEncoderLayer],
        rel_embeddings: nn.Embedding,
        rel_norm: nn.LayerNorm | None,
        position_buckets: int = 256,
        max_relative_positions: int = 512,
        layerdrop: float = 0.0,
    ):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.rel_embeddings = rel_embeddings
        self.rel_norm = rel_norm
        self.position_buckets = position_buckets
        self.max_relative_positions = max_relative_positions
        self.layerdrop = layerdrop

    def relative_embeddings(self) -> Tensor:
        """The shared table, LayerNorm'ed when ``rel_norm`` is set."""
        rel = self.rel_embeddings.weight
        return self.rel_norm(rel) if self.rel_norm is not None else rel

    def forward(self, x: Tensor, padding_mask: Tensor | None = None) -> Tensor:
        """``(N, T, D)`` with ``(N, T)`` padding mask -> ``(N, T, D)``."""
        index = relative_position_index(x.size(1), self.position_buckets, self.max_relative_positions, x.device)
        rel = self.relative_embeddings()
        for layer in self.layers:
            if self.training and self.layerdrop > 0 and torch.rand(()) < self.layerdrop:
                continue
            x = layer(x, padding_mask, rel, index)
        return x

    def hidden_states(self, x: Tensor, padding_mask: Tensor | None = None) -> list[Tensor]:
        """The blocks' input and every block's output (L + 1), every block run whatever ``layerdrop``
        (``TransformerEncoder.hidden_states``)."""
        index = relative_position_index(x.size(1), self.position_buckets, self.max_relative_positions, x.device)
        rel = self.relative_embeddings()
        states = [x]
        for layer in self.layers:
            states.append(layer(states[-1], padding_mask, rel, index))
        return states


def disentangled_transformer(
    embed_dim: int,
    num_layers: int,
    num_heads: int,
    ffn_dim: int,
    *,
    position_buckets: int = 256,
    max_relative_positions: int = 512,
    pos_att_type: str | Sequence[str] = "p2c|c2p",
    share_att_key: bool = True,
    norm_rel_ebd: bool = True,
    attention_dropout: float = 0.1,
    hidden_dropout: float = 0.0,
    layer_norm_eps: float = 1e-7,
    layerdrop: float = 0.0,
) -> DisentangledTransformer:
    """Build the SEW-D Transformer. Arguments are the DeBERTa-v2 options asapp sets
    (``position_buckets``, ``max_relative_positions``, ``pos_att_type``, ``share_att_key``,
    ``norm_rel_ebd``, ``layer_norm_eps``); ``hidden_dropout`` is DeBERTa ``hidden_dropout_prob``
    (after the attention and FFN outputs and on the relative embeddings), fed by fairseq
    ``activation_dropout`` in asapp and transformers. Weights ~ N(0, 0.02) (DeBERTa ``initializer_range``)."""
    if max_relative_positions < 2:
        raise ValueError(f"max_relative_positions must be at least 2, got {max_relative_positions}")
    layers = [
        DisentangledEncoderLayer(
            DisentangledSelfAttention(embed_dim, num_heads, parse_pos_att_type(pos_att_type), share_att_key,
                                      attention_dropout, hidden_dropout),
            FeedForward(embed_dim, ffn_dim, activation_dropout=0.0, dropout=hidden_dropout),
            embed_dim,
            hidden_dropout,
            layer_norm_eps,
        )
        for _ in range(num_layers)
    ]  # fmt: skip
    span = position_buckets if position_buckets > 0 else max_relative_positions
    rel_embeddings = nn.Embedding(2 * span, embed_dim)
    nn.init.normal_(rel_embeddings.weight, mean=0.0, std=0.02)
    rel_norm = nn.LayerNorm(embed_dim, eps=layer_norm_eps) if norm_rel_ebd else None
    transformer = DisentangledTransformer(layers, rel_embeddings, rel_norm, position_buckets, max_relative_positions,
                                          layerdrop)
    transformer.layers.apply(init_bert_params)
    return transformer
