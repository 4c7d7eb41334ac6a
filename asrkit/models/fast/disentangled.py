"""Disentangled attention (SEW-D) for speed (replaces ``DisentangledSelfAttention``,
``DisentangledEncoderLayer`` and ``DisentangledTransformer`` of ``asrkit.models.sew_d``).

- The attention scale is folded into the query projection (and into the position queries Q^r), so
  neither the queries nor the ``(N, H, T, T)`` bias take a pass of their own for it; queries, keys and
  values come from one GEMM; the position terms are matmuls against only the table rows the input can
  reach, followed by one ``gather`` each from flat indices built once per input length
  (``RelativePositions``) and shared by all layers; the bias enters ``F.scaled_dot_product_attention``
  with the key padding mask. Training uses all of this.
- Without gradients, K^r and Q^r over the whole table are projected once and kept, linears go through
  ``linear``, and the position terms may be computed in a skewed layout: one column per offset, read
  through strided views with no gather at all (``options.position_bias``).
- In reduced-precision CPU inference the input is padded once (``inference_frames``); the padded frames
  are masked as keys by the position bias (``num_keys``).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from asrkit.models.components import key_mask
from asrkit.models.fast.cache import InferenceCache, adopt
from asrkit.models.fast.linear import inference_frames, linear, pad_frames
from asrkit.models.fast.options import FastOptions
from asrkit.models.sew_d import (DisentangledEncoderLayer, DisentangledSelfAttention, DisentangledTransformer,
                                 relative_position_index)

# The skewed layout of the position terms (``DisentangledSelfAttention._skewed_position_bias``) pads its
# 2T - 1 columns to a multiple of this: 32 bf16 (one AMX tile row) or 32 fp32 values.
SKEW_COLUMN_MULTIPLE = 32


@dataclass(frozen=True)
class RelativePositions:
    """``relative_position_index`` of a T-frame input, laid out for the attention's two look-ups.

    Only table rows ``first`` .. ``first + width - 1`` occur (2T - 1 of them while T <= b/2), so the
    position terms are computed against ``rows`` only. ``c2p`` and ``p2c`` are flat ``(T * T,)``
    indices into a ``(T, width)`` term: ``i * width + d(i, j) - first`` and ``j * width + d(i, j) - first``
    for entry (i, j); the second reads the p2c term (one row per key j) already transposed.

    ``offsets`` serves the skewed layout: the table row of each offset i - j = T - 1 - m for columns
    m = 0 .. 2T - 2 (then padded to a multiple of ``SKEW_COLUMN_MULTIPLE`` with the last row), the c2p
    term's columns; ``reversed_offsets`` has the 2T - 1 in the opposite order (the same padding after
    them), the p2c term's.
    """

    first: int
    width: int
    c2p: Tensor
    p2c: Tensor
    offsets: Tensor
    reversed_offsets: Tensor
    _stacked: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def rows(self) -> slice:
        return slice(self.first, self.first + self.width)

    def stacked_offsets(self, terms: Sequence[str], heads: int, table_rows: int) -> Tensor:
        """Rows of a ``(len(terms) H, table_rows, D/H)`` stack of per-head tables (``terms`` order) flattened
        to ``(len(terms) H table_rows, D/H)``: per head, ``offsets`` for c2p, ``reversed_offsets`` for p2c.
        Kept per (terms, heads, rows): the layers of one input share it."""
        key = (tuple(terms), heads, table_rows)
        if key not in self._stacked:
            cols = {"c2p": self.offsets, "p2c": self.reversed_offsets}
            base = torch.arange(len(terms) * heads, device=self.offsets.device)[:, None] * table_rows
            self._stacked[key] = (base + torch.stack([cols[t] for t in terms for _ in range(heads)])).reshape(-1)
        return self._stacked[key]

    @classmethod
    def of(cls, index: Tensor) -> RelativePositions:
        first, last = int(index.min()), int(index.max())
        width = last - first + 1
        local = index - first
        frames = torch.arange(index.size(0), device=index.device) * width
        # d(i, j) depends on i - j only: offsets T - 1 .. 0 are column 0, offsets -1 .. -(T - 1) row 0
        offsets = torch.cat([index[:, 0].flip(0), index[0, 1:]])
        padding = offsets[-1:].expand(-offsets.numel() % SKEW_COLUMN_MULTIPLE)
        return cls(first, width, (frames[:, None] + local).reshape(-1), (frames[None, :] + local).reshape(-1),
                   torch.cat([offsets, padding]), torch.cat([offsets.flip(0), padding]))


class FastDisentangledSelfAttention(DisentangledSelfAttention):
    """``DisentangledSelfAttention``: the same weights and attention; ``forward`` also takes the
    ``RelativePositions`` of the index and ``num_keys``."""

    @classmethod
    def from_reference(cls, attention: DisentangledSelfAttention, options: FastOptions) -> FastDisentangledSelfAttention:
        fast = adopt(cls, attention)
        fast.options = options
        fast._cache = InferenceCache()  # the fused q/k/v projection
        fast._position_cache = InferenceCache()  # K^r, Q^r: input-independent, so kept for inference
        fast._packed = (InferenceCache(), InferenceCache())  # packed in_proj, out_proj (CPU inference)
        return fast

    def _in_proj(self) -> list[Tensor]:
        """``(3D, D)`` weight and ``(3D,)`` bias projecting to queries, keys and values at once; the
        query rows carry the attention scale, so neither the queries nor the ``(N, H, T, T)`` scores
        need a pass of their own for it."""
        projs = (self.q_proj, self.k_proj, self.v_proj)
        weights, biases = [p.weight for p in projs], [p.bias for p in projs]
        weights[0], biases[0] = weights[0] * self.scale, biases[0] * self.scale
        return [torch.cat(weights), torch.cat(biases)]

    def _position_heads(self, proj: nn.Linear, rel_embeddings: Tensor, scale: float | None = None) -> Tensor:
        """``position_heads`` times ``scale``: contiguous where kept for inference, so that a selection of
        rows (table rows or offsets) is one contiguous copy or view and its transpose, ``(H, D/H, R)``, is the
        score matmul's operand as is (oneDNN copies a ``(R, D)`` layout first)."""
        heads = self.position_heads(proj, rel_embeddings)
        return heads if scale is None else heads * scale

    def _position_projections(self, rel_embeddings: Tensor, rows: slice) -> list[Tensor]:
        """K^r (for c2p) and Q^r (for p2c), ``(H, rows, D/H)``, in ``position_terms`` order. They depend on
        the weights and the relative-embedding table only: with no gradient all 2k rows are projected once
        and kept (``rows`` is then a view); in training only ``rows`` are projected."""
        if self.training:  # a fresh dropout mask on every call
            return self._project_positions(rel_embeddings[rows])
        tables = self._inference_tables(rel_embeddings)
        return [table[:, rows] for table in tables[: len(self.position_terms)]]

    def _project_positions(self, rel: Tensor) -> list[Tensor]:
        rel = self.position_dropout(rel)
        names = {"c2p": "k_proj" if self.share_att_key else "pos_k_proj",
                 "p2c": "q_proj" if self.share_att_key else "pos_q_proj"}  # only the terms' own exist
        # Q^r carries the attention scale, as the content queries do (see _in_proj)
        scales = {"c2p": None, "p2c": self.scale}
        return [self._position_heads(getattr(self, names[term]), rel, scales[term]) for term in self.position_terms]

    def _inference_tables(self, rel_embeddings: Tensor) -> list[Tensor]:
        """The kept tables: K^r and / or Q^r over all 2k rows (``position_terms`` order), then, with both
        terms, the two stacked as ``(2H, 2k, D/H)`` for the skewed layout's single matmul."""
        projs = [self.k_proj, self.q_proj] if self.share_att_key else \
            [getattr(self, name) for name in ("pos_k_proj", "pos_q_proj") if hasattr(self, name)]

        def derive() -> list[Tensor]:
            tables = [t.contiguous() for t in self._project_positions(rel_embeddings)]
            return tables + [torch.cat(tables)] if len(tables) == 2 else tables

        return self._position_cache.get([rel_embeddings, *(p for m in projs for p in (m.weight, m.bias))], derive)

    def position_bias(self, q: Tensor, k: Tensor, rel_embeddings: Tensor, rel: RelativePositions,
                      keys: int | None = None) -> Tensor:
        """c2p + p2c scores ``(N, H, T, T)`` for content queries/keys ``(N, H, T, D/H)``, in the scale of
        ``q`` (``forward`` passes scaled queries; the position queries are projected with the same scale).
        Inference may compute them in the skewed layout (``_skewed_position_bias``). With ``keys`` < T
        (frames padded for inference, ``inference_frames``), the columns from ``keys`` on are -inf.

        Otherwise each term is a matmul against the table rows the sequence uses (``rel.rows``: 2T - 1 of
        the 2k for short inputs) and one ``gather`` from its flattened ``(N H, T W)`` result; the flat index
        of the p2c term already holds its transpose, so both write contiguous ``(T, T)`` blocks (no gather over
        all 2k rows, no transposed add). ``gather`` with the index broadcast over N H rows, not
        ``index_select(1, .)``, whose bf16 version along a non-leading dimension takes a slow path."""
        n, h, t, _ = q.shape
        if self.use_skew(q, rel):
            return self._skewed_position_bias(q, k, rel_embeddings, rel, t if keys is None else keys)
        tables = dict(zip(self.position_terms, self._position_projections(rel_embeddings, rel.rows)))
        bias = None
        if "c2p" in self.position_terms:  # q_i . K^r[d(i, j)]
            c2p = torch.matmul(q, tables["c2p"].transpose(-1, -2))  # (N, H, T, W)
            bias = torch.gather(c2p.view(n * h, -1), 1, rel.c2p.expand(n * h, -1))
        if "p2c" in self.position_terms:  # k_j . Q^r[d(i, j)], read at row j, column d(i, j)
            p2c = torch.matmul(k, tables["p2c"].transpose(-1, -2))  # (N, H, T_key, W); Q^r is scaled
            term = torch.gather(p2c.view(n * h, -1), 1, rel.p2c.expand(n * h, -1))
            bias = term if bias is None else bias.add_(term)  # gather's backward needs only the index
        bias = bias.view(n, h, t, t)
        if keys is not None and keys < t:
            bias = bias.masked_fill(torch.arange(t, device=bias.device) >= keys, float("-inf"))
        return bias

    def use_skew(self, q: Tensor, rel: RelativePositions) -> bool:
        """The skewed layout without gradients (``options.position_bias``; auto: always in bf16 / fp16, in fp32
        while its 2T - 1 columns are at most twice the ``rel.width`` the gathers read: beyond that its bigger
        matmuls cost more than the gathers they save)."""
        if torch.is_grad_enabled() or self.options.position_bias == "gather":
            return False
        if self.options.position_bias == "skew":
            return True
        return q.dtype in (torch.bfloat16, torch.float16) or rel.offsets.numel() <= 2 * rel.width

    def _skewed_position_bias(self, q: Tensor, k: Tensor, rel_embeddings: Tensor, rel: RelativePositions,
                              keys: int) -> Tensor:
        """The position terms without a ``gather``: one column per offset instead of per table row.

        With K^r laid out per offset, column m = j - i + T - 1 holding K^r[d(i - j)] (rows
        ``rel.offsets``), c2p = q K^r_skew is ``(T, M)`` and its entry (i, j) sits at i M + j - i + T - 1,
        that is at stride (M - 1, 1) from offset T - 1: a strided view. The p2c term k Q^r_skew, with the
        columns in the opposite order, is the same view of its transpose. So the bias is one copy (the
        transposed p2c view) and one add (the c2p view), no index at all. The matmuls have M = 2T - 1
        (padded to ``SKEW_COLUMN_MULTIPLE``) columns instead of ``rel.width`` <= M. Only the first ``keys``
        columns are computed; the rest are -inf."""
        n, h, t, d = q.shape
        m = rel.offsets.numel()
        if len(self.position_terms) == 2 and not self.training:
            # both terms in one matmul: (q | k) against (K^r per offset | Q^r per reversed offset), one
            # index_select and one batched matmul of 2H heads instead of two of each (each has a fixed oneDNN
            # cost: the bulk of a block's position terms at a few seconds of audio)
            stacked = self._inference_tables(rel_embeddings)[-1]
            table = stacked.view(-1, d).index_select(0, rel.stacked_offsets(self.position_terms, h, stacked.size(1)))
            rows = torch.cat([q if term == "c2p" else k for term in self.position_terms], dim=1)  # (N, 2H, T, D/H)
            full = torch.matmul(rows, table.view(2 * h, m, d).transpose(-1, -2))  # (N, 2H, T, M)
            terms = {term: (full, 2 * h * t * m, i * h * t * m) for i, term in enumerate(self.position_terms)}
        else:
            tables = dict(zip(self.position_terms, self._position_projections(rel_embeddings, slice(None))))
            cols = {"c2p": rel.offsets, "p2c": rel.reversed_offsets}
            terms = {}
            for term in self.position_terms:
                full = torch.matmul(q if term == "c2p" else k, tables[term].index_select(1, cols[term]).transpose(-1, -2))
                terms[term] = (full, h * t * m, 0)
        bias = q.new_empty(n, h, t, t)
        if t > keys:
            bias[..., keys:] = float("-inf")
        out = bias[..., :keys]
        # p2c first: its transposed view is read once, by a copy (an add reading it is slower)
        for i, term in enumerate(reversed(self.position_terms)):
            full, batch_stride, start = terms[term]
            view = full.as_strided((n, h, t, t), (batch_stride, t * m, m - 1, 1), full.storage_offset() + start + t - 1)
            if term == "p2c":  # view[j, i] = k_j . Q^r[d(i - j)]: the p2c term transposed
                view = view.transpose(2, 3)
            view = view[..., :keys]
            if i == 0:
                out.copy_(view)
            else:
                out.add_(view)
        return bias

    def forward(
        self, x: Tensor, padding_mask: Tensor | None, rel_embeddings: Tensor, rel_index: Tensor | RelativePositions,
        num_keys: int | None = None,
    ) -> Tensor:
        """``(N, T, D)``, key padding mask ``(N, T)``, relative embeddings ``(2k, D)`` and
        ``relative_position_index`` ``(T, T)`` (or its ``RelativePositions``) -> ``(N, T, D)``. ``num_keys``:
        only the first frames are keys (the rest pad the input for inference, ``inference_frames``)."""
        n, t, d = x.shape
        rel = rel_index if isinstance(rel_index, RelativePositions) else RelativePositions.of(rel_index)
        params = [p for proj in (self.q_proj, self.k_proj, self.v_proj) for p in (proj.weight, proj.bias)]
        weight, bias = self._cache.get(params, self._in_proj)
        qkv = linear(x, weight, bias, self._packed[0], self.options, params).view(n, t, 3, self.num_heads, -1)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # (N, H, T, D / H) each; q already scaled
        scores = self.position_bias(q, k, rel_embeddings, rel, num_keys)
        mask = key_mask(padding_mask, scores.dtype)
        if mask is not None:
            scores = scores.add_(mask)
        x = F.scaled_dot_product_attention(q, k, v, attn_mask=scores, dropout_p=self.dropout if self.training else 0.0,
                                           scale=1.0)
        return linear(x.transpose(1, 2).reshape(n, t, d), self.out_proj.weight, self.out_proj.bias, self._packed[1],
                      self.options)


class FastDisentangledEncoderLayer(DisentangledEncoderLayer):
    """``DisentangledEncoderLayer`` passing ``num_keys`` (frames padded for inference) to its attention."""

    @classmethod
    def from_reference(cls, layer: DisentangledEncoderLayer, options: FastOptions) -> FastDisentangledEncoderLayer:
        if not isinstance(layer.attention, FastDisentangledSelfAttention):
            raise TypeError("FastDisentangledEncoderLayer needs a FastDisentangledSelfAttention (swap it first)")
        return adopt(cls, layer)

    def forward(self, x: Tensor, padding_mask: Tensor | None, rel_embeddings: Tensor, rel: RelativePositions,
                num_keys: int | None = None) -> Tensor:
        x = self.attention_norm(x + self.dropout(self.attention(x, padding_mask, rel_embeddings, rel, num_keys)))
        return self.feed_forward_norm(x + self.feed_forward(x))


class FastDisentangledTransformer(DisentangledTransformer):
    """``DisentangledTransformer`` keeping the ``RelativePositions`` of the last few input lengths and, for
    inference, the normalised table; padded for reduced-precision CPU inference."""

    @classmethod
    def from_reference(cls, transformer: DisentangledTransformer, options: FastOptions) -> FastDisentangledTransformer:
        fast = adopt(cls, transformer)
        fast.options = options
        fast._cache = InferenceCache()
        fast._positions: dict[tuple[int, str], RelativePositions] = {}  # by (frames, device)
        return fast

    def relative_positions(self, num_frames: int, device) -> RelativePositions:
        """The index for ``num_frames``, shared by all layers; the last few lengths are kept."""
        key = (num_frames, str(device))
        if key not in self._positions:
            if len(self._positions) >= 16:
                self._positions.pop(next(iter(self._positions)))
            with torch.inference_mode(False):  # normal tensors: usable under inference_mode and autograd alike
                index = relative_position_index(num_frames, self.position_buckets, self.max_relative_positions, device)
                self._positions[key] = RelativePositions.of(index)
        return self._positions[key]

    def _relative_embeddings(self) -> list[Tensor]:
        return [self.relative_embeddings()]

    def forward(self, x: Tensor, padding_mask: Tensor | None = None) -> Tensor:
        """``(N, T, D)`` with ``(N, T)`` padding mask -> ``(N, T, D)``."""
        t = x.size(1)
        # padded frames are masked as keys by the position bias (``num_keys``), without a mask of their own
        x, padding_mask = pad_frames(x, padding_mask, inference_frames(x, self.options), mask_new_frames=False)
        positions = self.relative_positions(x.size(1), x.device)
        norm = list(self.rel_norm.parameters()) if self.rel_norm is not None else []
        # the same table object on every inference call, so the layers can keep their projections of it
        (rel,) = self._cache.get([self.rel_embeddings.weight, *norm], self._relative_embeddings)
        for layer in self.layers:
            if self.training and self.layerdrop > 0 and torch.rand(()) < self.layerdrop:
                continue
            x = layer(x, padding_mask, rel, positions, t)
        return x[:, :t]
