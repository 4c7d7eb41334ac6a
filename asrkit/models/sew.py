"""SEW: what Wu et al. (2021, "Performance-Efficiency Trade-offs in Unsupervised Pre-training for
Speech Recognition") add to wav2vec 2.0, besides disentangled attention (``asrkit.models.sew_d``).

- §3.1 squeezed context network: the positional convolution gets stride s and down-samples, an
  average-pooled shortcut (kernel = stride = s) is added to it, the Transformer runs at 1/s of the
  frame rate and a transposed convolution (kernel = stride = s) up-samples its output, so the
  contrastive task stays at the full frame rate (``SqueezedContextNetwork``);
- §3.2 compact wave feature extractor WFE-C: channels (c, 2c, 2c, 4c, 4c, 8c, 8c), optionally a
  point-wise convolution after every layer but the first (WFE-C-c-11); only a different
  ``conv_feature_layers`` for the wav2vec 2.0 feature encoder (``wfe_c_layers``);
- §3.3 MLP predictor heads with BatchNorm replacing ``final_proj`` and ``project_q`` (``MLPPredictor``);
- Table 6 row 9, the filter-bank front end FBFE that replaces WFE-C in the ablation (``FbankFeatureEncoder``).

``asrkit.models.factory`` composes these with the wav2vec 2.0 blocks of
``asrkit.models.components``. Reference code: asapp ``sew_asapp/models/squeeze_wav2vec2.py``,
``sew_asapp/modules/mlp.py``, ``scripts/pt-sew*.sh``; transformers ``SEWModel`` / ``SEWDModel``.

Shapes are ``(N, T, C)``; padding masks are True at padding.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from asrkit.models.conformer import utterance_mvn
from asrkit.models.components import (ConvLayerSpec, ConvolutionalPositionalEmbedding, conv_output_lengths,
                                      conv_receptive_field)


def wfe_c_layers(c: int, pointwise: bool = True, first_kernel: int = 10) -> str:
    """``conv_feature_layers`` of WFE-C-c (§3.2); with ``pointwise`` the 13-layer WFE-C-c-11.

    Channels (c, 2c, 2c, 4c, 4c, 8c, 8c), strides (5, 2, 2, 2, 2, 2, 2), kernels (k0, 3, 3, 3, 3, 2, 2);
    WFE-C-c-11 adds a (kernel 1, stride 1) convolution of the same width after layers 2-7.
    The paper's text gives k0 = 7, but the released pre-training scripts (asapp ``scripts/pt-sew-d.sh``)
    and transformers' ``SEWConfig`` / ``SEWDConfig`` defaults use 10, as WFE-O does; we follow the
    code that produced the reported models. ``wfe_c_layers(64)`` is transformers' default SEW-D encoder::

        [(64, 10, 5)] + [(128, 3, 2), (128, 1, 1)] * 2 + [(256, 3, 2), (256, 1, 1)] * 2 + [(512, 2, 2), (512, 1, 1)] * 2
    """
    blocks = [f"[({c}, {first_kernel}, 5)]"]
    for mult, kernel in ((2, 3), (4, 3), (8, 2)):
        layer = f"({mult * c}, {kernel}, 2)"
        blocks.append(f"[{layer}, ({mult * c}, 1, 1)] * 2" if pointwise else f"[{layer}] * 2")
    return " + ".join(blocks)


class Fp32BatchNorm1d(nn.BatchNorm1d):
    """BatchNorm computed in float32, also under bf16/fp16 autocast (asapp ``FP32BatchNorm1d``):
    statistics over thousands of frames lose too much in 16 bits. Returns the input dtype."""

    def forward(self, x: Tensor) -> Tensor:
        with torch.autocast(x.device.type, enabled=False):
            return super().forward(x.float()).to(x.dtype)


class MLPPredictor(nn.Module):
    """MLP predictor head with BatchNorm (§3.3), in place of a linear ``final_proj`` / ``project_q``.

    ``num_layers - 1`` blocks Linear (no bias) -> BatchNorm (fp32) -> ReLU, then a Linear with bias:
    the paper's two-layer MLP with hidden size 4096. The text says "BatchNorm after each linear
    layer"; the released code (asapp ``MLPv3``, selected by ``mlp_version=v3`` in
    ``scripts/pt-sew-d.sh``) normalises the hidden layer only, and so do we. BatchNorm statistics
    run over every vector of the batch (the masked frames), as there. Linear weights are
    Xavier-normal, biases zero (asapp). ``(..., C_in)`` -> ``(..., C_out)``.

    Args:
        in_features: input size (Transformer width for ``final_proj``, codevector size d for ``project_q``).
        out_features: f, fairseq ``final_dim``.
        hidden_dim: fairseq/asapp ``mlp_hidden_size`` (4096).
        num_layers: asapp ``mlp_num_layers`` (2).
    """

    def __init__(self, in_features: int, out_features: int, hidden_dim: int = 4096, num_layers: int = 2):
        super().__init__()
        if num_layers < 2:
            raise ValueError(f"an MLP predictor needs at least 2 layers, got {num_layers}")
        layers: list[nn.Module] = []
        for _ in range(num_layers - 1):
            layers += [nn.Linear(in_features, hidden_dim, bias=False), Fp32BatchNorm1d(hidden_dim), nn.ReLU()]
            in_features = hidden_dim
        layers.append(nn.Linear(in_features, out_features))
        self.net = nn.Sequential(*layers)  # indices as asapp MLPv3's ``net``
        for m in self.net:
            if isinstance(m, nn.Linear):
                nn.init.xavier_normal_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x.reshape(-1, x.size(-1))).view(*x.shape[:-1], -1)


def predictor_head(in_features: int, out_features: int, num_layers: int = 1, hidden_dim: int = 4096) -> nn.Module:
    """A linear projection (wav2vec 2.0, ``num_layers=1``) or an ``MLPPredictor`` (SEW, §3.3)."""
    if num_layers == 1:
        return nn.Linear(in_features, out_features)
    return MLPPredictor(in_features, out_features, hidden_dim, num_layers)


class Upsample(nn.Module):
    """Up-sampling of §3.1: a transposed 1-D convolution with kernel = stride = s, then GELU.

    ``weight`` has ``nn.ConvTranspose1d``'s layout ``(D_in, D_out, s)``; ``bias`` ``(D_out, s)`` has one
    value per output channel and kernel offset. With kernel = stride the windows do not overlap, so
    each output frame t*s + j comes from input frame t through kernel tap j alone; the released
    models use ``Linear(D, s*D)`` + GELU + reshape (asapp ``get_upsample``, transformers
    ``SEWUpsampling``), which is this map with the bias untied across the s taps. We keep that
    bias to load their weights exactly, and compute the map as that one matmul (the same result as
    ``conv_transpose1d``).

    Args:
        embed_dim: Transformer width D.
        factor: s, fairseq/transformers ``squeeze_factor``.
    """

    def __init__(self, embed_dim: int, factor: int):
        super().__init__()
        self.factor = factor
        self.weight = nn.Parameter(torch.empty(embed_dim, embed_dim, factor))
        self.bias = nn.Parameter(torch.zeros(embed_dim, factor))
        nn.init.kaiming_normal_(self.weight, mode="fan_out", nonlinearity="relu")  # asapp get_upsample

    def linear_weights(self) -> list[Tensor]:
        """The ``(s * D_out, D_in)`` weight (row j * D_out + c) and ``(s * D_out,)`` bias of the Linear."""
        return [self.weight.permute(2, 1, 0).flatten(0, 1), self.bias.t().flatten()]

    def forward(self, x: Tensor) -> Tensor:
        """``(N, T', D)`` -> ``(N, T' * s, D)``."""
        n, t, _ = x.shape
        weight, bias = self.linear_weights()
        return F.gelu(F.linear(x, weight, bias)).view(n, t * self.factor, -1)


class SqueezedContextNetwork(nn.Module):
    """Squeezed context network (§3.1, Fig. 2): down-sample, Transformer at 1/s frame rate, up-sample.

    Frames are zeroed at padding (so padding does not leak through the convolution), then
    squeezed: x' = AvgPool_s(x) + PosConv_s(x), T' = floor(T / s) frames (the shortcut of footnote 1
    and the strided positional convolution). A squeezed frame is padding when all its s frames are
    (transformers ``SEWEncoder`` max-pools the attention mask), so an utterance of L frames keeps
    ceil(L / s) squeezed frames. The up-sampled output is zero-padded back to T frames: when T is not
    a multiple of s the last T mod s frames are zeros, as in asapp and transformers (a lone
    utterance of odd length therefore ends in a zero frame, and differs there from the same
    utterance padded in a batch).

    Args:
        pos_conv: ``ConvolutionalPositionalEmbedding`` with stride s (fairseq ``conv_pos``, ``conv_pos_groups``).
        transformer: ``(N, T', D)`` with padding mask ``(N, T')`` -> ``(N, T', D)``: a ``TransformerEncoder``
            without its own positional convolution (SEW) or a ``DisentangledTransformer`` (SEW-D).
        upsample: ``Upsample`` by s.
        squeeze_factor: s (asapp/transformers ``squeeze_factor``; 2 in the paper).
    """

    def __init__(self, pos_conv: nn.Module, transformer: nn.Module, upsample: Upsample, squeeze_factor: int = 2):
        super().__init__()
        self.pos_conv = pos_conv
        self.transformer = transformer
        self.upsample = upsample
        self.squeeze_factor = squeeze_factor

    def squeeze_padding_mask(self, padding_mask: Tensor) -> Tensor:
        """``(N, T)`` -> ``(N, floor(T / s))``: True where all s frames are padding."""
        n, t = padding_mask.shape
        s = self.squeeze_factor
        return padding_mask[:, : t // s * s].view(n, t // s, s).all(dim=-1)

    def squeeze(self, x: Tensor, padding_mask: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """``(N, T, D)``, ``(N, T)`` -> the Transformer's input ``(N, floor(T / s), D)`` and its padding mask."""
        n, t, d = x.shape
        s = self.squeeze_factor
        squeezed = t // s
        if padding_mask is not None:
            x = x.masked_fill(padding_mask.unsqueeze(-1), 0.0)
            padding_mask = self.squeeze_padding_mask(padding_mask)
        pooled = x[:, : squeezed * s].reshape(n, squeezed, s, d).mean(dim=2)
        return pooled + self.pos_conv(x)[:, :squeezed], padding_mask

    def forward(self, x: Tensor, padding_mask: Tensor | None = None) -> Tensor:
        """``(N, T, D)`` with ``(N, T)`` padding mask -> ``(N, T, D)`` context representations c."""
        n, t, d = x.shape
        if t // self.squeeze_factor == 0:  # fewer frames than s: nothing to squeeze, every frame is a tail frame
            return x.new_zeros(n, t, d)
        x = self.upsample(self.transformer(*self.squeeze(x, padding_mask)))
        return F.pad(x, (0, 0, 0, t - x.size(1)))

    def hidden_states(self, x: Tensor, padding_mask: Tensor | None = None) -> list[Tensor]:
        """L + 1 full-rate ``(N, T, D)`` states: the blocks' input and every block's output, each squeezed frame
        repeated s times, except the last, which is the network's output (up-sampled by ``upsample``, as
        ``forward`` returns it); tail frames are zeros as in ``forward``."""
        n, t, d = x.shape
        s = self.squeeze_factor
        if t // s == 0:
            return [x.new_zeros(n, t, d) for _ in range(len(self.transformer.layers) + 1)]
        states = self.transformer.hidden_states(*self.squeeze(x, padding_mask))
        full = [h.repeat_interleave(s, dim=1) for h in states[:-1]] + [self.upsample(states[-1])]
        return [F.pad(h, (0, 0, 0, t - h.size(1))) for h in full]


def squeezed_context_network(
    transformer: nn.Module, embed_dim: int, squeeze_factor: int = 2, conv_pos: int = 31, conv_pos_groups: int = 16
) -> SqueezedContextNetwork:
    """Wrap ``transformer`` in the down-/up-sampling of §3.1. SEW-D uses a positional kernel of 31
    (Table 2 "Conv-k"; fairseq ``conv_pos``) in 16 groups and s = 2."""
    # asapp initialises the strided positional convolution with fairseq's std at dropout 0
    pos_conv = ConvolutionalPositionalEmbedding(embed_dim, conv_pos, conv_pos_groups, dropout=0.0,
                                                stride=squeeze_factor)
    return SqueezedContextNetwork(pos_conv, transformer, Upsample(embed_dim, squeeze_factor), squeeze_factor)


class FbankFeatureEncoder(nn.Module):
    """Filter-bank feature extractor FBFE-c160 (SEW-D Table 6 row 9), in place of the waveform encoder.

    80-dim Kaldi log-mel filter banks (25 ms windows every 10 ms, ``torchaudio.compliance.kaldi.fbank``
    on the waveform scaled to 16-bit range as Kaldi reads it), two 2-D convolutions with ReLU over
    (time, frequency), then a linear projection of the flattened channels x bins. The paper gives only
    "two 2D convolutional layers and 160 channels followed by a linear projection layer" (asapp did
    not release this extractor); the default strides (1, then 2, in time and frequency) bring
    100 Hz frames to wav2vec 2.0's 50 Hz and reproduce Table 6's 42.2M parameters.

    Args:
        convs: the ``nn.Conv2d`` s (1 input channel first).
        layer_specs: their ``(channels, kernel, stride)``, the same in time and frequency.
        projection: ``Linear(channels * bins_out, out_dim)``.
        num_mel_bins: asapp ``fbank_dim`` (80).
        sample_rate: of the waveform (16 kHz).
        feature_norm: ``"none"`` (the paper says nothing of a normalisation), or ``"utterance"``: zero mean and
            unit variance per bin over the utterance's valid frames (``asrkit.models.conformer.utterance_mvn``, as
            fairseq's speech-to-text and ESPnet normalise filter banks). Without it an FBFE miniature's latents
            hardly vary over time (the spectrum's mean shape dominates them) and its quantizer collapsed to one
            code within 10 pre-training updates (recipes/synth/sewd_ablation, row 9).
    """

    def __init__(self, convs: Sequence[nn.Conv2d], layer_specs: Sequence[ConvLayerSpec], projection: nn.Linear,
                 num_mel_bins: int = 80, sample_rate: int = 16000, feature_norm: str = "none"):
        super().__init__()
        if feature_norm not in ("none", "utterance"):
            raise ValueError(f"feature_norm must be 'none' or 'utterance', got {feature_norm!r}")
        self.feature_norm = feature_norm
        self.convs = nn.ModuleList(convs)
        self.layer_specs = [tuple(s) for s in layer_specs]
        self.projection = projection
        self.num_mel_bins = num_mel_bins
        self.sample_rate = sample_rate
        self.frame_length = sample_rate * 25 // 1000  # samples per 25 ms window (400 at 16 kHz)
        self.frame_shift = sample_rate // 100  # 10 ms hop

    @property
    def _time_specs(self) -> list[ConvLayerSpec]:
        return [(self.num_mel_bins, self.frame_length, self.frame_shift), *self.layer_specs]

    @property
    def receptive_field(self) -> int:
        """Input samples seen by one output frame."""
        return conv_receptive_field(self._time_specs)

    def output_lengths(self, lengths: Tensor) -> Tensor:
        return conv_output_lengths(lengths, self._time_specs)

    @property
    def downsample_rate(self) -> int:
        """Input samples per output frame: the 10 ms hop times the convolutions' strides (320 by default)."""
        return math.prod(stride for _, _, stride in self._time_specs)

    def filter_banks(self, x: Tensor) -> Tensor:
        """``(N, L)`` waveform -> ``(N, T, num_mel_bins)`` log-mel filter banks (fp32, no gradient)."""
        from torchaudio.compliance import kaldi

        with torch.no_grad(), torch.autocast(x.device.type, enabled=False):
            wav = x.float() * 32768.0
            return torch.stack([
                kaldi.fbank(w.unsqueeze(0), num_mel_bins=self.num_mel_bins, sample_frequency=self.sample_rate,
                            frame_length=25.0, frame_shift=10.0, dither=0.0)
                for w in wav
            ])  # fmt: skip

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """``(N, L)`` waveform (and ``(N,)`` sample lengths) -> ``(N, T, C)`` features (and frame lengths).

        Frames are computed on the padded waveform; a valid output frame sees only valid samples
        (unpadded convolutions; the utterance normalisation counts the valid frames of ``lengths``, all
        frames without them), so padding does not change it."""
        if x.size(-1) < self.receptive_field:
            raise ValueError(
                f"input of {x.size(-1)} samples is shorter than the filter-bank encoder's receptive field "
                f"({self.receptive_field} samples); pad or drop such utterances"
            )
        fbank = self.filter_banks(x)
        if self.feature_norm == "utterance":
            padding = None
            if lengths is not None:
                frames = conv_output_lengths(lengths, self._time_specs[:1])
                padding = torch.arange(fbank.size(1), device=fbank.device)[None] >= frames[:, None]
            fbank = utterance_mvn(fbank, padding)
        h = fbank.to(self.projection.weight.dtype).unsqueeze(1)  # (N, 1, T, F)
        for conv in self.convs:
            h = F.relu(conv(h))
        h = h.permute(0, 2, 1, 3).flatten(2)  # (N, T', C * F')
        if lengths is not None:
            lengths = self.output_lengths(lengths)
        return self.projection(h), lengths


def fbank_feature_encoder(out_dim: int, conv_layers: Sequence[ConvLayerSpec] = ((160, 3, 1), (160, 3, 2)),
                          num_mel_bins: int = 80, sample_rate: int = 16000,
                          feature_norm: str = "none") -> FbankFeatureEncoder:
    """Build FBFE: ``conv_layers`` are ``(channels, kernel, stride)`` per 2-D convolution
    (square kernels and strides, no padding); ``out_dim`` is the projection size (asapp
    ``conv_flatten_dim``, the Transformer width); ``feature_norm``: ``FbankFeatureEncoder``'s."""
    convs, in_channels, bins = [], 1, num_mel_bins
    for channels, kernel, stride in conv_layers:
        convs.append(nn.Conv2d(in_channels, channels, kernel, stride=stride))
        in_channels, bins = channels, math.floor((bins - kernel) / stride) + 1
    if bins < 1:
        raise ValueError(f"fbank convolutions {list(conv_layers)} leave no frequency bins of {num_mel_bins}")
    return FbankFeatureEncoder(convs, conv_layers, nn.Linear(in_channels * bins, out_dim), num_mel_bins, sample_rate,
                               feature_norm)
