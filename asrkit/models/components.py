"""Building blocks of wav2vec 2.0 (Baevski et al., 2020, §2 and §4.2).

Feature encoder f: X -> Z (strided temporal convolutions), feature projection, the
convolutional relative positional embedding and the Transformer context network g: Z -> C.
Each module receives already-built parts or plain sizes; ``asrkit.models.factory`` wires
them together from a ``Wav2Vec2Config``. SEW / SEW-D reuse these blocks.

These are the reference formulation, written as the paper and fairseq describe the model. The
faster computations of the same functions (GEMMs on strided views, packed weights, the positional
convolution by FFT, ...) live in ``asrkit.models.fast`` and replace these modules through
``prepare_for_training`` / ``prepare_for_inference``.

Shapes are written ``(N, T, C)``: batch, time, channels. Padding masks are True at padding.
"""
from __future__ import annotations

import ast
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

ConvLayerSpec = tuple[int, int, int]  # (channels, kernel, stride), fairseq conv_feature_layers


def parse_conv_layers(spec: str | Sequence[Sequence[int]]) -> list[ConvLayerSpec]:
    """Parse fairseq ``conv_feature_layers`` without ``eval``.

    Accepts the fairseq string form ``"[(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512, 2, 2)] * 2"``
    (list literals joined by ``+`` and repeated by ``* n``) or an already-built list of
    ``(channels, kernel, stride)`` triples.
    """
    if not isinstance(spec, str):
        return [tuple(int(v) for v in layer) for layer in spec]  # type: ignore[misc]

    def evaluate(node: ast.AST):
        if isinstance(node, ast.Expression):
            return evaluate(node.body)
        if isinstance(node, (ast.List, ast.Tuple)):
            items = [evaluate(e) for e in node.elts]
            return items if isinstance(node, ast.List) else tuple(items)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult)):
            left, right = evaluate(node.left), evaluate(node.right)
            return left + right if isinstance(node.op, ast.Add) else left * right
        raise ValueError(f"conv_feature_layers: unsupported expression {ast.dump(node)}")

    layers = evaluate(ast.parse(spec, mode="eval"))
    if not isinstance(layers, list) or not all(isinstance(t, tuple) and len(t) == 3 for t in layers):
        raise ValueError(f"conv_feature_layers must be a list of (dim, kernel, stride) triples, got {spec!r}")
    return [tuple(int(v) for v in t) for t in layers]  # type: ignore[misc]


POSITION_TERMS = ("c2p", "p2c")


def parse_pos_att_type(spec: str | Sequence[str]) -> tuple[str, ...]:
    """DeBERTa ``pos_att_type`` of SEW-D (here so that the model config can check it without importing
    ``sew_d``): (``"p2c|c2p"`` or a sequence) -> the position terms, in a fixed order."""
    items = [s.strip().lower() for s in (spec.split("|") if isinstance(spec, str) else spec) if s.strip()]
    unknown = sorted(set(items) - set(POSITION_TERMS))
    if unknown or not items:
        raise ValueError(f"pos_att_type must combine 'c2p' and 'p2c' (e.g. 'p2c|c2p'), got {spec!r}")
    return tuple(t for t in POSITION_TERMS if t in items)


def conv_output_lengths(lengths: Tensor, conv_layers: Sequence[ConvLayerSpec]) -> Tensor:
    """Frames produced from ``lengths`` samples by unpadded strided convolutions (clamped at 0)."""
    for _, kernel, stride in conv_layers:
        lengths = torch.div(lengths - kernel, stride, rounding_mode="floor") + 1
        lengths = lengths.clamp(min=0)
    return lengths


def conv_receptive_field(conv_layers: Sequence[ConvLayerSpec]) -> int:
    """Input samples seen by one output frame of a stack of unpadded strided convolutions."""
    field = 1
    for _, kernel, stride in reversed(conv_layers):
        field = (field - 1) * stride + kernel
    return field


def lengths_to_padding_mask(lengths: Tensor, max_len: int) -> Tensor:
    """``(N,)`` lengths -> ``(N, max_len)`` mask, True at padding."""
    return torch.arange(max_len, device=lengths.device)[None, :] >= lengths[:, None]


class Fp32GroupNorm(nn.GroupNorm):
    """GroupNorm computed in float32 (fairseq Fp32GroupNorm): statistics over time overflow in fp16."""

    def forward(self, x: Tensor) -> Tensor:
        w = self.weight.float() if self.weight is not None else None
        b = self.bias.float() if self.bias is not None else None
        return F.group_norm(x.float(), self.num_groups, w, b, self.eps).type_as(x)


class Fp32LayerNorm(nn.LayerNorm):
    """LayerNorm computed in float32 (fairseq Fp32LayerNorm)."""

    def forward(self, x: Tensor) -> Tensor:
        w = self.weight.float() if self.weight is not None else None
        b = self.bias.float() if self.bias is not None else None
        return F.layer_norm(x.float(), self.normalized_shape, w, b, self.eps).type_as(x)


def key_mask(padding_mask: Tensor | None, dtype: torch.dtype) -> Tensor | None:
    """The attention mask for a ``(N, T)`` key padding mask (True at padding): ``(N, 1, 1, T)``, additive
    (0 or -inf) in the attention's ``dtype``, or None when nothing is padded. Built once per forward and
    shared by the blocks. An utterance of zero frames would mask every key and give NaN; its outputs are
    padding anyway, so it attends freely."""
    if padding_mask is None or not padding_mask.any():
        return None
    padding_mask = padding_mask & ~padding_mask.all(dim=1, keepdim=True)
    mask = torch.zeros(padding_mask.shape, dtype=dtype, device=padding_mask.device)
    return mask.masked_fill_(padding_mask, float("-inf"))[:, None, None, :]


def attention_dtype(x: Tensor) -> torch.dtype:
    """The dtype attention scores of ``x`` are computed in: the autocast dtype where autocast is on."""
    return torch.get_autocast_dtype(x.device.type) if torch.is_autocast_enabled(x.device.type) else x.dtype


class ConvBlock(nn.Module):
    """Conv1d -> optional norm -> GELU, one block of the feature encoder (§2, "Feature encoder").
    ``(N, C_in, T)`` -> ``(N, C_out, T')``.

    Args:
        conv: the temporal convolution (fairseq ``conv_bias`` decides its bias).
        norm: ``Fp32GroupNorm(C, C)`` (fairseq ``extractor_mode="default"``, first block only),
            ``Fp32LayerNorm(C)`` over channels (``extractor_mode="layer_norm"``) or None.
    """

    def __init__(self, conv: nn.Conv1d, norm: nn.Module | None = None):
        super().__init__()
        if conv.padding != (0,) or conv.dilation != (1,) or conv.groups != 1:
            raise ValueError("feature encoder convolutions are unpadded, undilated and ungrouped")
        self.conv = conv
        self.norm = norm

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv(x)
        if isinstance(self.norm, nn.LayerNorm):  # over channels
            x = self.norm(x.transpose(1, 2)).transpose(1, 2)
        elif self.norm is not None:  # GroupNorm: statistics over time per channel group
            x = self.norm(x)
        return F.gelu(x)


class FeatureEncoder(nn.Module):
    """Multi-layer convolutional feature encoder f: X -> Z (fairseq ConvFeatureExtractionModel).

    Args:
        conv_layers: the built ``ConvBlock`` s.
        layer_specs: their ``(channels, kernel, stride)`` (fairseq ``conv_feature_layers``),
            used to turn sample lengths into frame lengths.
    """

    def __init__(self, conv_layers: Sequence[ConvBlock], layer_specs: Sequence[ConvLayerSpec]):
        super().__init__()
        self.conv_layers = nn.ModuleList(conv_layers)
        self.layer_specs = [tuple(s) for s in layer_specs]

    @property
    def receptive_field(self) -> int:
        """Input samples seen by one output frame (400 for the paper's encoder)."""
        return conv_receptive_field(self.layer_specs)

    def output_lengths(self, lengths: Tensor) -> Tensor:
        return conv_output_lengths(lengths, self.layer_specs)

    @property
    def downsample_rate(self) -> int:
        """Input samples per output frame: the product of the strides (320 for the paper's encoder)."""
        return math.prod(stride for _, _, stride in self.layer_specs)

    def check_length(self, x: Tensor) -> None:
        """A clear error for input shorter than one frame's receptive field."""
        if x.size(-1) < self.receptive_field:
            raise ValueError(
                f"input of {x.size(-1)} samples is shorter than the feature encoder's receptive field "
                f"({self.receptive_field} samples); pad or drop such utterances"
            )

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """``(N, L)`` waveform (and ``(N,)`` sample lengths) -> ``(N, T, C)`` latents z (and frame lengths)."""
        self.check_length(x)
        x = x.unsqueeze(1)  # (N, 1, L)
        for block in self.conv_layers:
            x = block(x)
        if lengths is not None:
            lengths = self.output_lengths(lengths)
        return x.transpose(1, 2), lengths


def feature_encoder(
    conv_layers: Sequence[ConvLayerSpec], extractor_mode: str = "group_norm", conv_bias: bool = False
) -> FeatureEncoder:
    """Build the feature encoder.

    Args:
        conv_layers: ``(channels, kernel, stride)`` per block (fairseq ``conv_feature_layers``); the paper
            uses 7 blocks of 512 channels, strides (5,2,2,2,2,2,2), kernels (10,3,3,3,3,2,2) (§4.2).
        extractor_mode: ``"group_norm"`` normalises the output of the first block only (BASE on
            LibriSpeech; fairseq ``extractor_mode="default"``); ``"layer_norm"`` puts a LayerNorm in
            every block (LARGE; fairseq ``"layer_norm"``).
        conv_bias: bias in the convolutions (fairseq ``conv_bias``).
    """
    if extractor_mode not in ("group_norm", "layer_norm"):
        raise ValueError(f"extractor_mode must be 'group_norm' or 'layer_norm', got {extractor_mode!r}")
    blocks, in_channels = [], 1
    for i, (channels, kernel, stride) in enumerate(conv_layers):
        conv = nn.Conv1d(in_channels, channels, kernel, stride=stride, bias=conv_bias)
        nn.init.kaiming_normal_(conv.weight)
        if extractor_mode == "layer_norm":
            norm: nn.Module | None = Fp32LayerNorm(channels)
        elif i == 0:
            norm = Fp32GroupNorm(channels, channels)
        else:
            norm = None
        blocks.append(ConvBlock(conv, norm))
        in_channels = channels
    return FeatureEncoder(blocks, conv_layers)


class _GradMultiply(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, scale: float) -> Tensor:
        ctx.scale = scale
        return x.clone()

    @staticmethod
    def backward(ctx, grad: Tensor):
        return grad * ctx.scale, None


def scale_grad(x: Tensor, scale: float) -> Tensor:
    """Identity in the forward pass, gradient times ``scale`` in the backward pass.

    fairseq ``GradMultiply``; with ``feature_grad_mult = 0.1`` the feature encoder's gradients are
    scaled down by 10 (BASE on LibriSpeech, §4.2).
    """
    return x if scale == 1.0 else _GradMultiply.apply(x, scale)


class FeatureProjection(nn.Module):
    """LayerNorm over the encoder channels, then Linear to the Transformer width and dropout.

    Args:
        in_features: feature encoder channels (512 in the paper).
        out_features: Transformer width (fairseq ``encoder_embed_dim``); fairseq ``post_extract_proj``.
        dropout: fairseq ``dropout_input`` ("dropout at the output of the feature encoder", §4.2).
    """

    def __init__(self, in_features: int, out_features: int, dropout: float = 0.0):
        super().__init__()
        self.layer_norm = nn.LayerNorm(in_features)
        self.projection = nn.Linear(in_features, out_features)
        self.dropout = nn.Dropout(dropout)

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """``(N, T, C)`` -> projected ``(N, T, D)`` and the normalised ``(N, T, C)`` that feed the quantizer."""
        normed = self.layer_norm(z)
        return self.dropout(self.projection(normed)), normed


class ConvolutionalPositionalEmbedding(nn.Module):
    """Grouped convolution over time acting as relative positional embedding (§2; fairseq ``pos_conv``),
    followed by GELU.

    Weight normalisation over ``dim=2`` as in fairseq; for even kernels the last output frame is
    removed (fairseq ``SamePad``) so the output has as many frames as the input. Returns the
    embedding only; the encoder adds it to its input.

    Args:
        embed_dim: Transformer width.
        kernel_size: fairseq ``conv_pos`` (128 in the paper).
        groups: fairseq ``conv_pos_groups`` (16 in the paper).
        dropout: Transformer dropout, which fairseq folds into the init scale.
        stride: 1; s down-samples by s (the squeezed context network of SEW, ``asrkit.models.sew``).
    """

    def __init__(self, embed_dim: int, kernel_size: int = 128, groups: int = 16, dropout: float = 0.0,
                 stride: int = 1):
        super().__init__()
        conv = nn.Conv1d(embed_dim, embed_dim, kernel_size, stride=stride, padding=kernel_size // 2, groups=groups)
        std = math.sqrt(4 * (1.0 - dropout) / (kernel_size * embed_dim))
        nn.init.normal_(conv.weight, mean=0.0, std=std)
        nn.init.zeros_(conv.bias)
        self.conv = nn.utils.parametrizations.weight_norm(conv, name="weight", dim=2)
        self.num_remove = 1 if kernel_size % 2 == 0 else 0

    def forward(self, x: Tensor) -> Tensor:
        """``(N, T, D)`` -> ``(N, T, D)`` (``(N, T', D)``, T' = T / s rounded as the convolution does, when strided)."""
        y = self.conv(x.transpose(1, 2))
        if self.num_remove:
            y = y[..., : -self.num_remove]
        return F.gelu(y).transpose(1, 2)


class SelfAttention(nn.Module):
    """Multi-head self-attention (fairseq ``MultiheadAttention``) through ``F.scaled_dot_product_attention``.

    Args:
        embed_dim: Transformer width (fairseq ``encoder_embed_dim``).
        num_heads: fairseq ``encoder_attention_heads``.
        dropout: on the attention weights (fairseq ``attention_dropout``).
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.dropout = dropout
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, x: Tensor, attn_mask: Tensor | None = None) -> Tensor:
        """``(N, T, D)`` with the key mask of ``key_mask`` (``(N, 1, 1, T)``, or None) -> ``(N, T, D)``."""
        n, t, d = x.shape
        q, k, v = (proj(x).view(n, t, self.num_heads, -1).transpose(1, 2) for proj in (self.q_proj, self.k_proj,
                                                                                     self.v_proj))
        x = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=self.dropout if self.training else 0.0)
        return self.out_proj(x.transpose(1, 2).reshape(n, t, d))


class FeedForward(nn.Module):
    """Position-wise FFN: Linear -> GELU -> dropout -> Linear -> dropout.

    Args:
        embed_dim: fairseq ``encoder_embed_dim``.
        ffn_dim: fairseq ``encoder_ffn_embed_dim`` (3072 BASE, 4096 LARGE).
        activation_dropout: after the GELU (fairseq ``activation_dropout``).
        dropout: on the output (fairseq ``dropout``).
    """

    def __init__(self, embed_dim: int, ffn_dim: int, activation_dropout: float = 0.0, dropout: float = 0.0):
        super().__init__()
        self.fc1 = nn.Linear(embed_dim, ffn_dim)
        self.fc2 = nn.Linear(ffn_dim, embed_dim)
        self.activation_dropout = nn.Dropout(activation_dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.fc2(self.activation_dropout(F.gelu(self.fc1(x)))))


class EncoderLayer(nn.Module):
    """Transformer block, post-LN (BASE) or pre-LN (LARGE).

    Args:
        attention: the ``SelfAttention``.
        feed_forward: the ``FeedForward``.
        embed_dim: width, for the two LayerNorms (fairseq ``self_attn_layer_norm`` and ``final_layer_norm``).
        dropout: on the attention output (fairseq ``dropout``).
        layer_norm_first: normalise before each sub-layer (fairseq ``layer_norm_first``; True for LARGE).
    """

    def __init__(
        self,
        attention: SelfAttention,
        feed_forward: FeedForward,
        embed_dim: int,
        dropout: float = 0.0,
        layer_norm_first: bool = False,
    ):
        super().__init__()
        self.attention = attention
        self.attention_norm = nn.LayerNorm(embed_dim)
        self.feed_forward = feed_forward
        self.feed_forward_norm = nn.LayerNorm(embed_dim)
        self.dropout = nn.Dropout(dropout)
        self.layer_norm_first = layer_norm_first

    def forward(self, x: Tensor, attn_mask: Tensor | None = None) -> Tensor:
        """``(N, T, D)`` with the key mask of ``key_mask`` -> ``(N, T, D)``."""
        if self.layer_norm_first:
            x = x + self.dropout(self.attention(self.attention_norm(x), attn_mask))
            return x + self.feed_forward(self.feed_forward_norm(x))
        x = self.attention_norm(x + self.dropout(self.attention(x, attn_mask)))
        return self.feed_forward_norm(x + self.feed_forward(x))


def init_bert_params(module: nn.Module) -> None:
    """fairseq ``init_bert_params`` as applied to the wav2vec 2.0 Transformer: Linear ~ N(0, 0.02), bias 0."""
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


class TransformerEncoder(nn.Module):
    """Context network g: Z -> C (§2): positional convolution, LayerNorm, Transformer blocks.

    Post-LN encoders (fairseq ``layer_norm_first=False``) apply ``layer_norm`` after adding the
    positional embedding; pre-LN encoders apply it after the last block.

    Args:
        pos_conv: the ``ConvolutionalPositionalEmbedding``; None when the caller adds positions itself
            (SEW squeezes with a strided one, ``asrkit.models.sew``).
        layers: the ``EncoderLayer`` s (fairseq ``encoder_layers``).
        embed_dim: width.
        dropout: after the positional embedding (fairseq ``dropout``).
        layer_norm_first: fairseq ``layer_norm_first``.
        layerdrop: probability of skipping each block in training (fairseq ``encoder_layerdrop``;
            0.05 BASE, 0.2 LARGE on LibriSpeech, §4.2).
    """

    def __init__(
        self,
        pos_conv: nn.Module | None,
        layers: Sequence[EncoderLayer],
        embed_dim: int,
        dropout: float = 0.0,
        layer_norm_first: bool = False,
        layerdrop: float = 0.0,
    ):
        super().__init__()
        self.pos_conv = pos_conv
        self.layer_norm = nn.LayerNorm(embed_dim)
        self.layers = nn.ModuleList(layers)
        self.dropout = nn.Dropout(dropout)
        self.layer_norm_first = layer_norm_first
        self.layerdrop = layerdrop

    def embed(self, x: Tensor, padding_mask: Tensor | None) -> Tensor:
        """The blocks' input: padding zeroed (it must not leak through ``pos_conv``), positions added,
        LayerNorm (post-LN) and dropout."""
        if padding_mask is not None:
            x = x.masked_fill(padding_mask.unsqueeze(-1), 0.0)
        if self.pos_conv is not None:
            x = x + self.pos_conv(x)
        if not self.layer_norm_first:
            x = self.layer_norm(x)
        return self.dropout(x)

    def run_layers(self, x: Tensor, attn_mask: Tensor | None) -> Tensor:
        """The blocks (each skipped with probability ``layerdrop`` in training), then LayerNorm (pre-LN)."""
        for layer in self.layers:
            if self.training and self.layerdrop > 0 and torch.rand(()) < self.layerdrop:
                continue
            x = layer(x, attn_mask)
        return self.layer_norm(x) if self.layer_norm_first else x

    def forward(self, x: Tensor, padding_mask: Tensor | None = None) -> Tensor:
        """``(N, T, D)`` with ``(N, T)`` padding mask -> ``(N, T, D)`` context representations c."""
        x = self.embed(x, padding_mask)
        return self.run_layers(x, key_mask(padding_mask, attention_dtype(x)))

    def hidden_states(self, x: Tensor, padding_mask: Tensor | None = None) -> list[Tensor]:
        """The blocks' input and every block's output, L + 1 ``(N, T, D)`` tensors (transformers'
        ``output_hidden_states``); a pre-LN encoder's last one after its final LayerNorm. Every block runs,
        whatever ``layerdrop``: SUPERB's weighted sum reads the states by position (s3prl #187, #350)."""
        x = self.embed(x, padding_mask)
        attn_mask = key_mask(padding_mask, attention_dtype(x))
        states = [x]
        for layer in self.layers:
            states.append(layer(states[-1], attn_mask))
        if self.layer_norm_first:
            states[-1] = self.layer_norm(states[-1])
        return states


def transformer_encoder(
    embed_dim: int,
    num_layers: int,
    num_heads: int,
    ffn_dim: int,
    *,
    conv_pos: int = 128,
    conv_pos_groups: int = 16,
    dropout: float = 0.1,
    attention_dropout: float = 0.1,
    activation_dropout: float = 0.0,
    layer_norm_first: bool = False,
    layerdrop: float = 0.0,
) -> TransformerEncoder:
    """Build the context network; arguments are the fairseq options of the same meaning
    (``encoder_embed_dim``, ``encoder_layers``, ``encoder_attention_heads``, ``encoder_ffn_embed_dim``,
    ``conv_pos``, ``conv_pos_groups``, ``dropout``, ``attention_dropout``, ``activation_dropout``,
    ``layer_norm_first``, ``encoder_layerdrop``); ``conv_pos=0`` builds no positional convolution
    (SEW's squeezed context network adds its own, strided)."""
    pos_conv = ConvolutionalPositionalEmbedding(embed_dim, conv_pos, conv_pos_groups, dropout) if conv_pos else None
    layers = [
        EncoderLayer(
            SelfAttention(embed_dim, num_heads, attention_dropout),
            FeedForward(embed_dim, ffn_dim, activation_dropout, dropout),
            embed_dim,
            dropout,
            layer_norm_first,
        )
        for _ in range(num_layers)
    ]
    encoder = TransformerEncoder(pos_conv, layers, embed_dim, dropout, layer_norm_first, layerdrop)
    encoder.layers.apply(init_bert_params)
    return encoder
