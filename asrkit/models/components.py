"""Building blocks of wav2vec 2.0 (Baevski et al., 2020, §2 and §4.2).

Feature encoder f: X -> Z (strided temporal convolutions), feature projection, the
convolutional relative positional embedding and the Transformer context network g: Z -> C.
Each module receives already-built parts or plain sizes; ``asrkit.models.wav2vec2`` wires
them together from a ``Wav2Vec2Config``. SEW / SEW-D reuse these blocks.

Shapes are written ``(N, T, C)``: batch, time, channels. Padding masks are True at padding.
"""
from __future__ import annotations

import ast
import math
import threading
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


def conv_output_lengths(lengths: Tensor, conv_layers: Sequence[ConvLayerSpec]) -> Tensor:
    """Frames produced from ``lengths`` samples by unpadded strided convolutions (clamped at 0)."""
    for _, kernel, stride in conv_layers:
        lengths = torch.div(lengths - kernel, stride, rounding_mode="floor") + 1
        lengths = lengths.clamp(min=0)
    return lengths


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


class InferenceCache:
    """Tensors derived from parameters (re-laid-out, concatenated, projected, cast to the autocast
    dtype), kept between forward passes while no gradient is recorded and the source tensors are
    unchanged: the same objects (held here, so their ids stay theirs), storage and version counter.
    An optimizer step, ``load_state_dict`` or ``.to()`` invalidates them; writing through ``p.data``
    bypasses the version counter and does not. With gradients enabled they are recomputed on every
    call, so autograd sees the parameters."""

    def __init__(self) -> None:
        self.sources: tuple[Tensor, ...] = ()
        self.key: tuple | None = None
        self.value = None

    def __getstate__(self) -> dict:  # copies and pickles of a model start with an empty cache
        return {"sources": (), "key": None, "value": None}

    def get(self, sources: Sequence[Tensor], derive, kind: str = ""):
        """``derive()`` (a list of tensors), or its cached result for the same ``sources`` and ``kind`` (which
        tells apart derivations of the same sources, e.g. a weight packed for one GEMM or for another)."""
        if torch.is_grad_enabled():
            return derive()
        device = sources[0].device.type
        dtype = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else None
        # inference tensors (made under torch.inference_mode, e.g. by another cache) have no version counter
        key = (kind, dtype,
               *((id(t), t.data_ptr(), -1 if t.is_inference() else t._version, t.dtype) for t in sources))
        if key != self.key:
            value = derive()
            if dtype is not None:  # autocast would cast the fp32 result again on every call
                value = [v.to(dtype) if v is not None and v.is_floating_point() else v for v in value]
            self.sources, self.key, self.value = tuple(sources), key, value
        return self.value


# MKL's packed-weight GEMM (the op behind PyTorch inductor's frozen fp32 CPU linears): the weight is
# reordered for MKL's kernel once, not on every call. Same products and sums as F.linear (bit for bit
# in our tests), 1.1-1.7x faster for the Transformer's (T, D) x (D, F) products at T of a few hundred
# frames. The packed copy takes about twice the weight's memory, held while the model is used for
# inference; ``PACKED_LINEAR["enabled"] = False`` turns it off.
PACKED_LINEAR = {"enabled": torch.backends.mkl.is_available() and hasattr(torch.ops.mkl, "_mkl_linear")}

# oneDNN's prepacked linear (the op behind inductor's frozen bf16 CPU linears) for bf16 autocast inference
# on CPU: the weight is reordered into oneDNN's blocked (AMX / AVX-512 BF16) layout once instead of on every
# call, and the FFN's GELU runs as the GEMM's post-op instead of as a pass over the bf16 activations of its
# own. The same products (up to a bf16 rounding of the output); on a 2-core Xeon with AMX 1.2-1.6x faster for
# the Transformer's linears, and fc1 + GELU 1.4x. ``ONEDNN_PACKED_LINEAR["enabled"] = False`` turns it off.
ONEDNN_PACKED_LINEAR = {"enabled": torch.backends.mkldnn.is_available()
                        and hasattr(torch.ops.mkldnn, "_linear_pointwise")
                        and hasattr(torch.ops.mkldnn, "_reorder_linear_weight")}

# The positional convolution by FFT in fp32 CPU inference (``ConvolutionalPositionalEmbedding._fft_conv``)
# for kernels of at least ``min_kernel`` frames; below that the direct grouped convolution is as fast.
FFT_POS_CONV = {"enabled": True, "min_kernel": 64}


# oneDNN builds a convolution kernel for every new input shape and keeps it (its primitive cache): on a
# 2-core Xeon with AMX the first call of SEW-D-tiny's strided positional convolution at a new length takes
# 6.4 ms, later ones 1.1 ms. Inference over a test set meets a new length with almost every utterance, so
# on CPU without gradients the direct (oneDNN) positional convolution pads its input with zeros to a
# multiple of this many frames, which the convolution's own zero padding would read there anyway: the
# outputs are the same and there are 1/32 as many shapes to build kernels for.
POS_CONV_FRAME_BUCKET = 32

# oneDNN's bf16 grouped convolution on CPUs with AMX (torch 2.14, measured on a Xeon with AMX-BF16) returns
# wrong outputs (errors of the size of the outputs; the gradients are right) for fewer than 16 input
# channels per group with even kernels. Every Table 2 model has 16 or more (D / 16 groups); narrower
# positional convolutions, as in small test models, run in fp32 under bf16 autocast. (Other wrong bf16
# convolutions of oneDNN's AMX kernels are known: pytorch/pytorch#163347, #169688.)
ONEDNN_BF16_MIN_GROUP_CHANNELS = 16


# SDPA's CPU flash-attention kernel in bf16 (torch 2.14, AMX) can be much slower when the key length is not
# a multiple of 16 (6 heads of 64 with SEW-D's bias at T = 362: 0.77 ms, padded to 368 and masked 0.49 ms;
# 4 heads without a bias at T = 187 / 375: 285 / 554 µs, padded and masked 121 / 370 µs). Reduced-precision
# CPU inference therefore runs the Transformer on frames padded to a multiple of this (``inference_frames``).
SDPA_KEY_MULTIPLE = 16


def cpu_bf16_autocast(x: Tensor) -> bool:
    """``x`` is on the CPU and bf16 autocast is on there (the case of the oneDNN bf16 paths below)."""
    return (x.device.type == "cpu" and torch.is_autocast_enabled("cpu")
            and torch.get_autocast_dtype("cpu") == torch.bfloat16)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None, cache: InferenceCache,
           sources: Sequence[Tensor] | None = None, gelu: bool = False) -> Tensor:
    """``F.linear(x, weight, bias)``, followed by the exact (erf) GELU if ``gelu``. Without gradients,
    what is derived from the weight is kept in ``cache`` for as long as ``sources`` (default: the weight
    itself, else the parameters the weight is derived from) are unchanged: under autocast the weight and
    bias in the autocast dtype (cast once, not on every call), on CPU in bf16 packed for oneDNN with the
    GELU fused; in fp32 on CPU the weight packed for MKL's GEMM."""
    if torch.is_grad_enabled():
        y = F.linear(x, weight, bias)
    elif torch.is_autocast_enabled(x.device.type):
        if ONEDNN_PACKED_LINEAR["enabled"] and cpu_bf16_autocast(x):
            packed, bias = cache.get(sources or [weight], lambda: [
                torch.ops.mkldnn._reorder_linear_weight(weight.to(torch.bfloat16).contiguous()), bias], kind="onednn")
            rows = x.to(torch.bfloat16).reshape(-1, x.size(-1))
            m = rows.size(0)
            bucket = _row_bucket(m)  # oneDNN builds a kernel per row count: keep the count to a few
            if bucket != m:
                rows = F.pad(rows, (0, 0, 0, bucket - m))
            y = torch.ops.mkldnn._linear_pointwise(rows, packed, bias, "gelu" if gelu else "none", [],
                                                   "none" if gelu else "")
            return y[:m].view(*x.shape[:-1], y.size(-1))
        weight, bias = cache.get(sources or [weight], lambda: [weight, bias])
        y = F.linear(x, weight, bias)
    elif (not PACKED_LINEAR["enabled"] or x.device.type != "cpu" or x.dtype != torch.float32
            or weight.dtype != torch.float32):
        y = F.linear(x, weight, bias)
    else:
        (packed,) = cache.get(sources or [weight], lambda: [torch.ops.mkl._mkl_reorder_linear_weight(weight, 256)],
                          kind="mkl")
        x = x.contiguous()
        y = torch.ops.mkl._mkl_linear(x, packed, weight, bias, x.numel() // x.size(-1))
    return gelu_(y) if gelu else y


def _row_bucket(rows: int) -> int:
    """``rows`` rounded up to a multiple of 2^(bits - 4) (at least 16): at most 1/8 more rows, 8-16 row
    counts per octave. oneDNN builds a kernel for every new row count (6 ms for a (T, 384) x (384, 1536)
    product on a 2-core Xeon with AMX, then 0.7 ms a call), and inference over a test set meets a new
    frame count with almost every utterance."""
    step = 1 << max(4, rows.bit_length() - 4)
    return -(-rows // step) * step


def inference_frames(x: Tensor) -> int:
    """The frames per utterance a Transformer runs its ``(N, T, D)`` input at: ``T``, or in reduced-precision
    (bf16 / fp16) CPU inference ``T`` padded to a multiple of ``SDPA_KEY_MULTIPLE``, and with oneDNN's packed
    bf16 linears further so that the ``N T`` rows are one of ``_row_bucket``'s counts. Padded once at the
    Transformer's input and masked as keys, the frames cost no padding copy in each of a block's linears
    (four or more per block), and SDPA's bf16 kernel is 1.1-2.4x faster on padded and masked queries and keys
    than on odd lengths (2-core Xeon with AMX, 4 heads of 64: T = 187 / 250 / 375 / 500 frames: 285 / 342 /
    554 / 795 us unpadded, 121 / 200 / 370 / 639 us padded to a multiple of 32 with a key mask)."""
    n, t = x.shape[:2]
    dtype = torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else x.dtype
    if t == 0 or torch.is_grad_enabled() or x.device.type != "cpu" or dtype not in (torch.bfloat16, torch.float16):
        return t
    frames = -(-_row_bucket(n * t) // n) if ONEDNN_PACKED_LINEAR["enabled"] and cpu_bf16_autocast(x) else t
    return -(-frames // SDPA_KEY_MULTIPLE) * SDPA_KEY_MULTIPLE


def pad_frames(x: Tensor, padding_mask: Tensor | None, frames: int) -> tuple[Tensor, Tensor | None]:
    """``(N, T, D)`` and its ``(N, T)`` padding mask (True at padding; None: no padding) padded to ``frames``:
    zero frames, marked as padding (so that no query attends to them)."""
    n, t = x.shape[:2]
    if frames == t:
        return x, padding_mask
    if padding_mask is None:
        padding_mask = torch.zeros(n, t, dtype=torch.bool, device=x.device)
    return F.pad(x, (0, 0, 0, frames - t)), F.pad(padding_mask, (0, frames - t), value=True)


def key_mask(padding_mask: Tensor | None, dtype: torch.dtype) -> Tensor | None:
    """SDPA's mask for a ``(N, T)`` key padding mask (True at padding): ``(N, 1, 1, T)``, additive (0 or -inf)
    in the attention's ``dtype``, or None when nothing is padded. Built once per forward and shared by the
    blocks (a boolean mask is turned into this inside SDPA on every call). An utterance of zero frames would
    mask every key and give NaN; its outputs are padding anyway, so it attends freely."""
    if padding_mask is None or not padding_mask.any():
        return None
    padding_mask = padding_mask & ~padding_mask.all(dim=1, keepdim=True)
    mask = torch.zeros(padding_mask.shape, dtype=dtype, device=padding_mask.device)
    return mask.masked_fill_(padding_mask, float("-inf"))[:, None, None, :]


def gelu_(x: Tensor) -> Tensor:
    """GELU, in place when no gradient flows through ``x`` (saves a pass of allocation over big activations)."""
    return F.gelu(x) if x.requires_grad else torch.ops.aten.gelu_(x)


class ConvBlock(nn.Module):
    """Conv1d -> optional norm -> GELU, one block of the feature encoder (§2, "Feature encoder").

    Computed channels-last, ``(N, T, C_in)`` -> ``(N, T', C_out)``, as GEMMs on views of the input
    (no ``im2col`` copy, no transposes between blocks): the kernel's taps are split into chunks of
    ``stride`` consecutive frames, and the frames a chunk reads for successive outputs are rows
    ``stride * C_in`` apart in memory, which BLAS takes as a leading dimension. The first block
    (one input channel) multiplies the waveform's windows ``(T', K)`` by ``(K, C)``; its per-channel
    GroupNorm is folded into that GEMM: ``mean_t(X W) = mean_t(X) W`` and
    ``var_t(X w_c) = w_c^T Cov(X) w_c`` come from the ``K x K`` covariance of the windows instead
    of two passes over the ``(T', C)`` output. Same sums and statistics as ``nn.Conv1d`` followed
    by fairseq's norm (parity with ``transformers`` is tested at 1e-4).

    Args:
        conv: the temporal convolution (fairseq ``conv_bias`` decides its bias); it holds the weights.
        norm: ``Fp32GroupNorm(C, C)`` (fairseq ``extractor_mode="default"``, first block only),
            ``Fp32LayerNorm(C)`` over channels (``extractor_mode="layer_norm"``) or None.
    """

    def __init__(self, conv: nn.Conv1d, norm: nn.Module | None = None):
        super().__init__()
        if conv.padding != (0,) or conv.dilation != (1,) or conv.groups != 1:
            raise ValueError("feature encoder convolutions are unpadded, undilated and ungrouped")
        self.conv = conv
        self.norm = norm
        self._cache = InferenceCache()
        self._packed = InferenceCache()  # bf16 inference of a one-GEMM block (``linear``)

    def _gemm_weights(self) -> list[Tensor]:
        """``(C_out, C_in, K)`` -> one ``(taps * C_in, C_out)`` matrix per chunk of ``stride`` taps, then the bias."""
        weight, stride = self.conv.weight, self.conv.stride[0]
        taps = weight.permute(2, 1, 0)  # (K, C_in, C_out)
        if weight.size(1) == 1:  # the first block: the waveform's windows are materialised, one GEMM
            return [taps.reshape(-1, weight.size(0)), self.conv.bias]
        chunks = [taps[i : i + stride].reshape(-1, weight.size(0)) for i in range(0, taps.size(0), stride)]
        return [*chunks, self.conv.bias]

    def forward(self, x: Tensor, scratch: ScratchBuffer | None = None) -> Tensor:
        """``(N, T, C_in)`` -> ``(N, T', C_out)``, channels last. With ``scratch`` (fp32 inference on CPU),
        the output is written into that buffer, not into fresh memory."""
        n, t, c_in = x.shape
        kernel, stride = self.conv.kernel_size[0], self.conv.stride[0]
        t_out = (t - kernel) // stride + 1
        params = [self.conv.weight] if self.conv.bias is None else [self.conv.weight, self.conv.bias]
        *weights, bias = self._cache.get(params, self._gemm_weights)  # in the autocast dtype if any
        if c_in == 1:
            windows = x[..., 0].unfold(1, kernel, stride)  # (N, T', K) view; K / stride times the waveform once copied
            if isinstance(self.norm, nn.GroupNorm) and self.norm.num_groups == self.norm.num_channels:
                return gelu_(_conv_channel_norm(windows, weights[0], self.norm, scratch))
            chunks = [(windows.contiguous(), weights[0])]
        else:
            chunks = []
            for i, w in zip(range(0, kernel, stride), weights):
                taps = min(stride, kernel - i)
                # (N, T', taps * C_in) view with row stride stride * C_in: a valid GEMM operand as is
                view = x[:, i:].unfold(1, taps, stride)[:, :t_out].transpose(2, 3).reshape(n, t_out, taps * c_in)
                chunks.append((view, w))
        if len(chunks) == 1 and self.norm is None and not torch.is_grad_enabled() and cpu_bf16_autocast(x):
            # kernel = stride (or 1): one GEMM over contiguous frames, GELU fused into it by oneDNN
            view, w = chunks[0]
            return linear(view, w.t(), bias, self._packed, sources=params, gelu=True)
        if torch.is_grad_enabled():  # functional ops for autograd (3-D matmul: no copy at batch 1)
            y = None
            for view, w in chunks:
                term = torch.matmul(view, w)
                y = (term if bias is None else term + bias.to(term.dtype)) if y is None else y + term
        else:  # 2-D GEMMs per utterance on the strided views, accumulated in place (beta = 1)
            (first, w0), rest = chunks[0], chunks[1:]
            if scratch is not None:
                y = scratch.take((n, t_out, w0.size(1)), x.dtype)
                for b in range(n):
                    torch.mm(first[b], w0, out=y[b]) if bias is None else torch.addmm(bias, first[b], w0, out=y[b])
            else:  # functional, so that autocast applies
                y = torch.matmul(first, w0)
                if bias is not None:
                    y.add_(bias)
            for view, w in rest:
                for b in range(n):
                    y[b].addmm_(view[b], w)
        if isinstance(self.norm, nn.LayerNorm):
            if not torch.is_grad_enabled():
                return _layer_norm_gelu_(y, self.norm)
            y = self.norm(y)
        elif self.norm is not None:  # a GroupNorm over channel groups: statistics over (time, group)
            y = self.norm(y.transpose(1, 2)).transpose(1, 2)
        return gelu_(y)


def _layer_norm_gelu_(y: Tensor, norm: nn.LayerNorm, frames: int = 1024) -> Tensor:
    """``GELU(norm(y))`` over channels, written into ``y`` (no gradient) a block of ``frames`` frames at a time.

    The first blocks' activations are tens of MB; the norm's fp32 result (and, under bf16 autocast, the fp32
    copy of its input) would be fresh memory of that size on every call, which the OS hands out page by page
    (see ``ScratchBuffer``): on a 2-core Xeon the LayerNorm of a 7 s utterance's first block (23k x 512) took
    18 ms that way, the GELU after it 4, and the whole block 54 ms in fp32; block by block, 18 ms. The
    temporaries stay small and in cache, and GELU runs on each block while it is there. Same values as
    ``gelu_(norm(y))``.
    """
    flat = y.view(-1, y.size(-1))
    for start in range(0, flat.size(0), frames):
        block = flat[start : start + frames]
        block.copy_(norm(block))
        gelu_(block)
    return y


def _conv_channel_norm(windows: Tensor, weight: Tensor, norm: nn.GroupNorm, scratch: ScratchBuffer | None = None
                       ) -> Tensor:
    """``GroupNorm(C, C)(conv(x))`` for the first block, channels last, as one GEMM per utterance.

    ``windows`` ``(N, T', K)`` waveform windows, ``weight`` ``(K, C)``. The statistics of each
    output channel over time follow from the windows' mean and ``K x K`` covariance (computed in
    float64); the normalisation and the affine map are folded into the GEMM's weight and bias.
    The convolution's bias cancels in the normalisation. Biased variance, as ``F.group_norm``.
    """
    xd = windows.double()
    mean = xd.mean(dim=1, keepdim=True)  # (N, 1, K)
    centred = xd - mean
    cov = centred.transpose(1, 2) @ centred / windows.size(1)  # (N, K, K)
    wd = weight.double()
    var = ((cov @ wd) * wd).sum(dim=1)  # (N, C): w_c^T Cov w_c
    scale = torch.rsqrt(var + norm.eps)
    if norm.weight is not None:
        scale = scale * norm.weight.double()
    # centred windows times the scaled weight: the mean is gone before the GEMM (no cancellation for
    # waveforms with a DC offset); the affine bias rides in the GEMM as the weight row of a column of ones
    shift = (norm.bias.double() if norm.bias is not None else wd.new_zeros(wd.size(1))).expand(scale.size(0), 1, -1)
    weight_aug = torch.cat([wd[None] * scale[:, None, :], shift], dim=1).to(windows.dtype)  # (N, K + 1, C)
    windows_aug = F.pad(centred.to(windows.dtype), (0, 1), value=1.0)
    if scratch is not None:
        y = scratch.take((windows.size(0), windows.size(1), weight.size(1)), windows.dtype)
        for b in range(windows.size(0)):
            torch.mm(windows_aug[b], weight_aug[b], out=y[b])
        return y
    if windows.size(0) == 1:
        return torch.mm(windows_aug[0], weight_aug[0]).unsqueeze(0)
    return torch.bmm(windows_aug, weight_aug)


class ScratchBuffer:
    """Memory reused for the feature encoder's large activations across inference calls.

    The first blocks' outputs are tens of MB per utterance (T' x C floats at 3.2 kHz); fresh memory
    that size comes from the OS page by page (glibc maps allocations over 32 MB afresh each time),
    which on a VM costs about as much as the GEMM that fills it. Buffers are per thread and grow to
    the largest activation seen, which they keep.
    """

    _local = threading.local()

    def __init__(self) -> None:
        self.data: Tensor | None = None

    @classmethod
    def pair(cls) -> tuple[ScratchBuffer, ScratchBuffer]:
        """This thread's two CPU buffers (blocks alternate between them)."""
        if not hasattr(cls._local, "pair"):
            cls._local.pair = (cls(), cls())
        return cls._local.pair

    def take(self, shape: tuple[int, ...], dtype: torch.dtype) -> Tensor:
        numel = math.prod(shape)
        if self.data is None or self.data.numel() < numel or self.data.dtype != dtype:
            with torch.inference_mode(False):  # a normal tensor: usable under no_grad and inference_mode alike
                self.data = torch.empty(numel, dtype=dtype)
        return self.data[:numel].view(shape)


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
        field = 1
        for _, kernel, stride in reversed(self.layer_specs):
            field = (field - 1) * stride + kernel
        return field

    def output_lengths(self, lengths: Tensor) -> Tensor:
        return conv_output_lengths(lengths, self.layer_specs)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """``(N, L)`` waveform (and ``(N,)`` sample lengths) -> ``(N, T, C)`` latents z (and frame lengths)."""
        if x.size(-1) < self.receptive_field:
            raise ValueError(
                f"input of {x.size(-1)} samples is shorter than the feature encoder's receptive field "
                f"({self.receptive_field} samples); pad or drop such utterances"
            )
        x = x.unsqueeze(-1)  # (N, L, 1): the blocks run channels last
        # fp32 inference on CPU: intermediate activations go to reused scratch memory; the output is fresh
        scratch = ScratchBuffer.pair() if not torch.is_grad_enabled() and x.device.type == "cpu" \
            and x.dtype == torch.float32 and not torch.is_autocast_enabled("cpu") else None
        last = len(self.conv_layers) - 1
        for i, block in enumerate(self.conv_layers):
            x = block(x, scratch[i % 2] if scratch is not None and i < last else None)
        if lengths is not None:
            lengths = self.output_lengths(lengths)
        return x, lengths


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
    """Grouped convolution over time acting as relative positional embedding (§2; fairseq ``pos_conv``).

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
        self._cache = InferenceCache()
        self._spectrum = InferenceCache()  # the kernel's spectrum for fp32 CPU inference (see _fft_conv)

    def _weight_sources(self) -> list[Tensor]:
        """The weight-norm parameters (g, v) the derived kernels are kept for."""
        return list(self.conv.parametrizations.weight.parameters())

    def _weight(self) -> list[Tensor]:
        """The weight-normalised kernel as ``(D, D / groups, 1, K)`` in channels-last layout."""
        return [self.conv.weight.unsqueeze(2).contiguous(memory_format=torch.channels_last)]

    def forward(self, x: Tensor) -> Tensor:
        """``(N, T, D)`` -> ``(N, T, D)``.

        Run as a channels-last 2-D convolution: ``(N, T, D)`` seen as ``(N, D, 1, T)`` is already in
        that layout, and oneDNN's grouped kernel for it is about twice as fast as the ``(N, D, T)``
        one; the output comes back ``(N, T, D)`` without transposes.
        """
        if self._use_fft(x):
            return gelu_(self._fft_conv(x))
        if self._bf16_unsafe(x):  # see ONEDNN_BF16_MIN_GROUP_CHANNELS
            with torch.autocast("cpu", enabled=False):
                return self.forward(x.float())
        weight = self._cache.get(self._weight_sources(), self._weight)[0]
        t, (stride,), (pad,), (kernel,) = x.size(1), self.conv.stride, self.conv.padding, self.conv.kernel_size
        frames = (t + 2 * pad - kernel) // stride + 1 - self.num_remove  # the output frames (SamePad removed)
        bucket = POS_CONV_FRAME_BUCKET if not torch.is_grad_enabled() and x.device.type == "cpu" else 1
        if t % bucket:  # zeros past the end are what the convolution's own padding reads there
            x = F.pad(x, (0, 0, 0, bucket - t % bucket))
        y = F.conv2d(x.transpose(1, 2).unsqueeze(2), weight, self.conv.bias, stride=(1, stride),
                     padding=(0, pad), groups=self.conv.groups)
        return gelu_(y.squeeze(2).transpose(1, 2)[:, :frames])

    def _bf16_unsafe(self, x: Tensor) -> bool:
        """bf16 autocast on a CPU, with fewer channels per group than oneDNN's bf16 kernel handles."""
        return self.conv.in_channels // self.conv.groups < ONEDNN_BF16_MIN_GROUP_CHANNELS and cpu_bf16_autocast(x)

    def _use_fft(self, x: Tensor) -> bool:
        """The FFT path: fp32 CPU inference (no grad, no autocast), stride 1, a long enough kernel."""
        return (FFT_POS_CONV["enabled"] and self.conv.stride[0] == 1
                and self.conv.kernel_size[0] >= FFT_POS_CONV["min_kernel"]
                and not torch.is_grad_enabled() and not torch.is_autocast_enabled("cpu")
                and x.device.type == "cpu" and x.dtype == torch.float32 and x.size(1) > 0)

    def _fft_size(self) -> int:
        """Block length of the overlap-save convolution: the power of two at or above twice the kernel,
        so that each block yields ``n - K + 1`` (about half) new output frames."""
        return 1 << (2 * self.conv.kernel_size[0] - 1).bit_length()

    def _kernel_spectrum(self) -> list[Tensor]:
        """``conj(rfft(w))`` per group and frequency, ``(F * G, C_in, C_out)`` complex (computed in float64)."""
        weight, groups, n = self.conv.weight.double(), self.conv.groups, self._fft_size()
        c_out, c_in, _ = weight.shape
        spectrum = torch.fft.rfft(weight, n=n, dim=-1).conj()  # (G * C_out / G, C_in, F)
        f = spectrum.size(-1)
        spectrum = spectrum.view(groups, c_out // groups, c_in, f).permute(3, 0, 2, 1)  # (F, G, C_in, C_out)
        return [spectrum.reshape(f * groups, c_in, c_out // groups).to(torch.complex64).contiguous()]

    def _fft_conv(self, x: Tensor) -> Tensor:
        """The same convolution (before GELU) by overlap-save FFT: ``(N, T, D)`` -> ``(N, T, D)``.

        The grouped kernel is ``D * (D / G) * K`` multiply-adds per frame (4.7 M at BASE's D = 768,
        K = 128); in the frequency domain each of the ``n / 2 + 1`` bins of a block of ``n`` frames
        (``n - K + 1`` new outputs) takes one complex ``(D / G) x (D / G)`` product per group, about
        ``K / 4`` times fewer real multiply-adds. oneDNN's grouped kernel reaches ~20 GFLOP/s on a CPU
        core here; this path is 2.5-5x faster for K = 128 at D = 256-1024, T = 360-700 frames
        (rounding ~1e-6). The spectrum, ``n / 2 + 1`` complex copies of the weight (38 MB for
        BASE), is kept while the model is used for inference; ``FFT_POS_CONV["enabled"] = False``
        turns the path off.
        """
        (spectrum,) = self._spectrum.get(self._weight_sources(), self._kernel_spectrum)
        n_utt, t, d = x.shape
        kernel, groups, n = self.conv.kernel_size[0], self.conv.groups, self._fft_size()
        hop = n - kernel + 1  # valid outputs per block
        blocks = -(-t // hop)
        pad = self.conv.padding[0]
        # block b reads padded frames [b * hop, b * hop + n): frame j of the padded input is x[j - pad]
        padded = F.pad(x, (0, 0, pad, blocks * hop + kernel - 1 - pad - t))
        segments = padded.unfold(1, n, hop)  # (N, B, D, n) view
        spec = torch.fft.rfft(segments, dim=-1)  # (N, B, D, F)
        f, c = spec.size(-1), d // groups
        spec = spec.view(n_utt * blocks, groups, c, f).permute(3, 1, 0, 2).reshape(f * groups, n_utt * blocks, c)
        out = torch.bmm(spec, spectrum)  # (F * G, N * B, C_out): per bin and group, C_in -> C_out
        out = out.view(f, groups, n_utt * blocks, c).permute(2, 1, 3, 0).reshape(n_utt, blocks, d, f)
        y = torch.fft.irfft(out, n=n, dim=-1)[..., :hop]  # circular correlation: the first hop frames are exact
        y = y.transpose(2, 3).reshape(n_utt, blocks * hop, d)[:, :t]
        return y.add_(self.conv.bias) if self.conv.bias is not None else y


class SelfAttention(nn.Module):
    """Multi-head self-attention through ``F.scaled_dot_product_attention``.

    Queries, keys and values come from one GEMM with the concatenated ``q_proj``/``k_proj``/``v_proj``
    weights (kept as three Linears, so checkpoints and key maps are unchanged); for inference the
    concatenation is cached until the weights change.

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
        self._cache = InferenceCache()
        self._packed = (InferenceCache(), InferenceCache())  # in_proj, out_proj

    def _in_proj(self) -> list[Tensor]:
        """``(3D, D)`` weight and ``(3D,)`` bias projecting to queries, keys and values at once."""
        projs = (self.q_proj, self.k_proj, self.v_proj)
        return [torch.cat([p.weight for p in projs]), torch.cat([p.bias for p in projs])]

    def forward(self, x: Tensor, padding_mask: Tensor | None = None, attn_mask: Tensor | None = None) -> Tensor:
        """``(N, T, D)`` with ``(N, T)`` key padding mask (True at padding) -> ``(N, T, D)``. ``attn_mask``:
        the padding mask as ``key_mask`` makes it, when the caller has it already (``padding_mask`` is then
        not read)."""
        n, t, d = x.shape
        params = [p for proj in (self.q_proj, self.k_proj, self.v_proj) for p in (proj.weight, proj.bias)]
        weight, bias = self._cache.get(params, self._in_proj)
        qkv = linear(x, weight, bias, self._packed[0], params).view(n, t, 3, self.num_heads, -1)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # (N, H, T, D / H) each
        if attn_mask is None:
            attn_mask = key_mask(padding_mask, q.dtype)
        x = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask, dropout_p=self.dropout if self.training else 0.0
        )
        return linear(x.transpose(1, 2).reshape(n, t, d), self.out_proj.weight, self.out_proj.bias, self._packed[1])


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
        self._packed = (InferenceCache(), InferenceCache())

    def forward(self, x: Tensor) -> Tensor:
        h = linear(x, self.fc1.weight, self.fc1.bias, self._packed[0], gelu=True)
        return self.dropout(linear(self.activation_dropout(h), self.fc2.weight, self.fc2.bias, self._packed[1]))


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

    def forward(self, x: Tensor, padding_mask: Tensor | None = None, attn_mask: Tensor | None = None) -> Tensor:
        """``(N, T, D)`` with ``(N, T)`` key padding mask (or its ``key_mask``, ``attn_mask``) -> ``(N, T, D)``."""
        if self.layer_norm_first:
            x = x + self.dropout(self.attention(self.attention_norm(x), padding_mask, attn_mask))
            return x + self.feed_forward(self.feed_forward_norm(x))
        x = self.attention_norm(x + self.dropout(self.attention(x, padding_mask, attn_mask)))
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

    def forward(self, x: Tensor, padding_mask: Tensor | None = None) -> Tensor:
        """``(N, T, D)`` with ``(N, T)`` padding mask -> ``(N, T, D)`` context representations c."""
        if padding_mask is not None:
            x = x.masked_fill(padding_mask.unsqueeze(-1), 0.0)  # padding must not leak through pos_conv
        if self.pos_conv is not None:
            x = x + self.pos_conv(x)
        if not self.layer_norm_first:
            x = self.layer_norm(x)
        x = self.dropout(x)
        t = x.size(1)
        x, padding_mask = pad_frames(x, padding_mask, inference_frames(x))
        attn_mask = key_mask(padding_mask, torch.get_autocast_dtype(x.device.type)
                             if torch.is_autocast_enabled(x.device.type) else x.dtype)
        for layer in self.layers:
            if self.training and self.layerdrop > 0 and torch.rand(()) < self.layerdrop:
                continue
            x = layer(x, padding_mask, attn_mask)
        if self.layer_norm_first:
            x = self.layer_norm(x)
        return x[:, :t]


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
