"""The audio encoder of multi-stage multi-modal pre-training (Jain et al., 2024, §3.4): filter banks, a 1-D
convolutional 4x sub-sampling, sinusoidal positions and a Conformer (Gulati et al., 2020, §2).

16 kHz waveform -> 80-dim Kaldi log-mel filter banks (25 ms windows every 10 ms, ``snip_edges``, no dither;
no weights) -> per-utterance mean/variance normalisation per bin over the valid frames -> the first
``max_frames`` frames (paper: 1000) -> two ``Conv1d(kernel 3, stride 2, padding 1)`` + ReLU and a Linear to
the width (1000 -> 250 frames, 40 ms each) -> x * sqrt(D) + sinusoidal positions (Vaswani et al., 2017,
§3.5, as ESPnet's ``PositionalEncoding``) -> Conformer blocks. What later stages keep (the CTC head, the
translation model, SUPERB) is this whole module; the front end has no weights.

Output length of the sub-sampling: each convolution maps L frames to ``floor((L - 1) / 2) + 1`` (= ceil(L / 2),
0 for 0), so T fbank frames give ``ceil(ceil(T / 2) / 2) = ceil(T / 4)`` output frames; T fbank frames come
from ``floor((S - 400) / 160) + 1`` samples S (Kaldi ``snip_edges``). ``downsample_rate`` is 4 x 160 = 640.

For MAE (``encode_tokens``) one token is ``frames_per_token`` = 4 whole fbank frames: an utterance of T
valid frames has ``floor(T / 4)`` tokens and its trailing ``T mod 4`` frames are dropped, so tokens and
the 320-value reconstruction targets (``AudioVisualModel.audio_targets``) line up one to one.

Shapes are ``(N, T, C)``; padding masks are True at padding.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from asrkit.models.components import SelfAttention, attention_dtype, key_mask, lengths_to_padding_mask
from asrkit.objectives.masking import compute_mask_indices


@dataclass
class EncoderOutput:
    x: Tensor  # (N, T', D) output of the last block
    padding_mask: Tensor | None  # (N, T') True at padding
    hidden_states: tuple[Tensor, ...]  # the blocks' input (after positions), then every block's output


class FbankFrontEnd(nn.Module):
    """Waveform -> normalised log-mel filter banks (no weights), as ``asrkit.models.sew.FbankFeatureEncoder``
    computes them (``torchaudio.compliance.kaldi.fbank`` on the waveform x 32768, as Kaldi reads 16-bit audio).

    Args:
        num_mel_bins: 80 (§3.4).
        sample_rate: of the waveform (16 kHz).
        feature_norm: ``"utterance"``: zero mean, unit variance per bin over the valid frames (ESPnet
            ``utterance_mvn``, which by default normalises the mean only; the contract asks for both), or ``"none"``.
        max_frames: keep the first ``max_frames`` frames (§3.4: 1000); 0 keeps all.
    """

    frame_length_ms, frame_shift_ms = 25.0, 10.0

    def __init__(self, num_mel_bins: int = 80, sample_rate: int = 16000, feature_norm: str = "utterance",
                 max_frames: int = 1000):
        super().__init__()
        if feature_norm not in ("utterance", "none"):
            raise ValueError(f"feature_norm must be 'utterance' or 'none', got {feature_norm!r}")
        self.num_mel_bins, self.sample_rate = num_mel_bins, sample_rate
        self.feature_norm, self.max_frames = feature_norm, max_frames
        self.window = int(sample_rate * self.frame_length_ms / 1000)  # 400 samples at 16 kHz
        self.shift = int(sample_rate * self.frame_shift_ms / 1000)  # 160

    def frame_lengths(self, num_samples: Tensor, capped: bool = True) -> Tensor:
        """Valid fbank frames of ``num_samples``: ``floor((S - 400) / 160) + 1`` (0 below 400), at most ``max_frames``."""
        frames = (torch.div(num_samples - self.window, self.shift, rounding_mode="floor") + 1).clamp(min=0)
        return frames.clamp(max=self.max_frames) if capped and self.max_frames > 0 else frames

    def forward(self, source: Tensor, padding_mask: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """``(N, L)`` waveform and padding -> ``(N, T, F)`` fp32 features (0 at padding) and ``(N, T)`` padding."""
        from torchaudio.compliance import kaldi

        if source.size(-1) < self.window:
            raise ValueError(f"input of {source.size(-1)} samples is shorter than one filter-bank window "
                             f"({self.window} samples), the least that gives an output frame; pad or drop it")
        with torch.no_grad(), torch.autocast(source.device.type, enabled=False):
            wav = source.float() * 32768.0
            fbank = torch.stack([
                kaldi.fbank(w.unsqueeze(0), num_mel_bins=self.num_mel_bins, sample_frequency=self.sample_rate,
                            frame_length=self.frame_length_ms, frame_shift=self.frame_shift_ms, dither=0.0,
                            snip_edges=True)
                for w in wav
            ])  # fmt: skip
            frame_padding = None
            if padding_mask is not None:
                lengths = self.frame_lengths((~padding_mask).sum(dim=1), capped=False)
                frame_padding = lengths_to_padding_mask(lengths, fbank.size(1))
                fbank = fbank.masked_fill(frame_padding.unsqueeze(-1), 0.0)
            if self.feature_norm == "utterance":
                fbank = utterance_mvn(fbank, frame_padding)
            if self.max_frames > 0 and fbank.size(1) > self.max_frames:
                fbank = fbank[:, : self.max_frames]
                frame_padding = frame_padding[:, : self.max_frames] if frame_padding is not None else None
        return fbank, frame_padding


def utterance_mvn(x: Tensor, padding_mask: Tensor | None, eps: float = 1e-5) -> Tensor:
    """``(N, T, F)`` -> (x - mean) / sqrt(var + eps) per utterance and bin over the valid frames; padding stays 0."""
    valid = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device) if padding_mask is None else ~padding_mask
    w = valid.unsqueeze(-1).to(x.dtype)
    count = w.sum(dim=1, keepdim=True).clamp(min=1)
    mean = (x * w).sum(dim=1, keepdim=True) / count
    var = ((x - mean).pow(2) * w).sum(dim=1, keepdim=True) / count
    return ((x - mean) * torch.rsqrt(var + eps)) * w


class FbankMasking(nn.Module):
    """SpecAugment-style fine-tuning masks on the normalised filter banks (Park et al., 2019, time and frequency
    masks; spans drawn by ``compute_mask_indices`` as wav2vec 2.0 fine-tuning draws them): masked frames and
    bins are set to 0, the utterance mean after normalisation. No weights.

    Args:
        mask_prob, mask_length: time spans (fairseq ``mask_prob`` = p * M, ``mask_length`` M); 0 = off.
        mask_channel_prob, mask_channel_length: frequency spans; 0 = off.
    """

    def __init__(self, mask_prob: float = 0.0, mask_length: int = 10, mask_channel_prob: float = 0.0,
                 mask_channel_length: int = 10):
        super().__init__()
        self.mask_prob, self.mask_length = mask_prob, mask_length
        self.mask_channel_prob, self.mask_channel_length = mask_channel_prob, mask_channel_length

    def forward(self, fbank: Tensor, frame_padding: Tensor | None, generator: torch.Generator | None = None) -> Tensor:
        n, t, f = fbank.shape
        if self.mask_prob <= 0 and self.mask_channel_prob <= 0:
            return fbank
        device = generator.device if generator is not None else "cpu"
        rng = np.random.default_rng(int(torch.randint(2**62, (), generator=generator, device=device)))
        if self.mask_prob > 0:
            time = compute_mask_indices((n, t), frame_padding, self.mask_prob, self.mask_length, rng,
                                        min_masks=0, require_same_masks=False)
            fbank = fbank.masked_fill(time.to(fbank.device).unsqueeze(-1), 0.0)
        if self.mask_channel_prob > 0:
            channels = compute_mask_indices((n, f), None, self.mask_channel_prob, self.mask_channel_length, rng,
                                            require_same_masks=False)
            fbank = fbank.masked_fill(channels.to(fbank.device).unsqueeze(1), 0.0)
        return fbank


def halved_lengths(lengths: Tensor) -> Tensor:
    """Output frames of one ``Conv1d(kernel 3, stride 2, padding 1)``: ``floor((L - 1) / 2) + 1`` = ceil(L / 2)."""
    return (torch.div(lengths - 1, 2, rounding_mode="floor") + 1).clamp(min=0)


def subsampled_lengths(frames: Tensor) -> Tensor:
    """Output frames of ``ConvSubsampling`` for ``frames`` input frames: ``ceil(ceil(T / 2) / 2)`` = ceil(T / 4)."""
    return halved_lengths(halved_lengths(frames))


class ConvSubsampling(nn.Module):
    """1-D convolutional 4x sub-sampling (§3.4: 1000 -> 250 frames): two ``Conv1d(kernel 3, stride 2,
    padding 1)`` + ReLU over time with the bins as channels (ESPnet's ``Conv2dSubsampling`` in one dimension:
    its kernels, strides, ReLU and output Linear), then a Linear to the width. Padded frames are zeroed
    before each convolution, so a padded utterance gives the frames it gives alone.

    Args:
        in_dim: fbank bins (80).
        channels: convolution channels (ESPnet: the encoder width).
        out_dim: the Conformer width D.
    """

    def __init__(self, in_dim: int, channels: int, out_dim: int):
        super().__init__()
        self.conv1 = nn.Conv1d(in_dim, channels, 3, stride=2, padding=1)
        self.conv2 = nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.out = nn.Linear(channels, out_dim)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """``(N, T, F)`` and ``(N,)`` valid frames -> ``(N, ceil(T / 4), D)`` and the output lengths."""
        h = x.transpose(1, 2)
        for conv in (self.conv1, self.conv2):
            if lengths is not None:
                h = h.masked_fill(lengths_to_padding_mask(lengths, h.size(-1)).unsqueeze(1), 0.0)
            h = F.relu(conv(h))
            lengths = halved_lengths(lengths) if lengths is not None else None
        return self.out(h.transpose(1, 2)), lengths


def sinusoidal_positions(positions: Tensor, dim: int) -> Tensor:
    """Vaswani et al. (2017) §3.5: ``(...)`` integer positions -> ``(..., dim)`` with sin at even and cos at odd
    channels, PE(p, 2i) = sin(p / 10000^(2i / dim)) (ESPnet ``PositionalEncoding``'s layout). fp32."""
    inv_freq = torch.exp(torch.arange(0, dim, 2, device=positions.device, dtype=torch.float32)
                         * (-math.log(10000.0) / dim))
    angles = positions.float().unsqueeze(-1) * inv_freq
    return torch.stack([angles.sin(), angles.cos()], dim=-1).flatten(-2)[..., :dim]


class PositionalEncoding(nn.Module):
    """x * sqrt(D) + PE(position), then dropout (ESPnet ``PositionalEncoding``, Vaswani et al. §3.4-3.5)."""

    def __init__(self, embed_dim: int, dropout: float = 0.0):
        super().__init__()
        self.embed_dim, self.scale = embed_dim, math.sqrt(embed_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, positions: Tensor) -> Tensor:
        """``(N, T, D)`` and ``(N, T)`` (or ``(T,)``) position indices -> ``(N, T, D)``."""
        return self.dropout(x * self.scale + sinusoidal_positions(positions, self.embed_dim).to(x.dtype))


class ConformerFeedForward(nn.Module):
    """Feed-forward module (Gulati et al. §2.3): LayerNorm -> Linear -> Swish -> dropout -> Linear -> dropout."""

    def __init__(self, embed_dim: int, ffn_dim: int, dropout: float = 0.0):
        super().__init__()
        self.layer_norm = nn.LayerNorm(embed_dim)
        self.fc1 = nn.Linear(embed_dim, ffn_dim)
        self.fc2 = nn.Linear(ffn_dim, embed_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.fc2(self.dropout(F.silu(self.fc1(self.layer_norm(x))))))


class MaskedBatchNorm1d(nn.BatchNorm1d):
    """BatchNorm over channels of ``(N, C, T)`` whose training statistics count valid frames only (ESPnet and
    torchaudio count padding too), computed in fp32 also under autocast. In eval mode it is ``BatchNorm1d``."""

    def forward(self, x: Tensor, padding_mask: Tensor | None = None) -> Tensor:
        with torch.autocast(x.device.type, enabled=False):
            h = x.float()
            if not self.training or padding_mask is None:
                return super().forward(h).to(x.dtype)
            frames = h.transpose(1, 2)  # (N, T, C)
            valid = ~padding_mask
            normed = F.batch_norm(frames[valid], self.running_mean, self.running_var, self.weight, self.bias,
                                  True, self.momentum if self.momentum is not None else 0.1, self.eps)
            if self.num_batches_tracked is not None:
                self.num_batches_tracked.add_(1)
            out = frames.new_zeros(frames.shape).masked_scatter(valid.unsqueeze(-1), normed)
            return out.transpose(1, 2).to(x.dtype)


class ChannelLayerNorm(nn.LayerNorm):
    """LayerNorm over the channels of ``(N, C, T)`` (wenet ``ConvolutionModule(norm="layer_norm")``)."""

    def forward(self, x: Tensor, padding_mask: Tensor | None = None) -> Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


class ConvolutionModule(nn.Module):
    """Convolution module (Gulati et al. §2.2, Fig. 2): LayerNorm -> pointwise conv (2D channels) -> GLU ->
    depthwise conv -> norm -> Swish -> pointwise conv -> dropout. Padded frames are zeroed before the
    depthwise convolution so that they do not leak into valid ones.

    Args:
        embed_dim: D.
        kernel_size: depthwise kernel (§3.4: 31); odd, "same" padding.
        norm: ``"batch"`` (Gulati et al., ESPnet, torchaudio) or ``"layer"`` (wenet's option; statistics per frame).
        dropout: on the output.
    """

    def __init__(self, embed_dim: int, kernel_size: int = 31, norm: str = "batch", dropout: float = 0.0):
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"depthwise kernel_size must be odd for 'same' padding, got {kernel_size}")
        if norm not in ("batch", "layer"):
            raise ValueError(f"conv module norm must be 'batch' or 'layer', got {norm!r}")
        self.layer_norm = nn.LayerNorm(embed_dim)
        self.pointwise1 = nn.Conv1d(embed_dim, 2 * embed_dim, 1)
        self.depthwise = nn.Conv1d(embed_dim, embed_dim, kernel_size, padding=(kernel_size - 1) // 2, groups=embed_dim)
        self.norm = MaskedBatchNorm1d(embed_dim) if norm == "batch" else ChannelLayerNorm(embed_dim)
        self.pointwise2 = nn.Conv1d(embed_dim, embed_dim, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, padding_mask: Tensor | None = None) -> Tensor:
        """``(N, T, D)`` -> ``(N, T, D)``."""
        h = F.glu(self.pointwise1(self.layer_norm(x).transpose(1, 2)), dim=1)
        if padding_mask is not None:
            h = h.masked_fill(padding_mask.unsqueeze(1), 0.0)
        h = self.pointwise2(F.silu(self.norm(self.depthwise(h), padding_mask)))
        return self.dropout(h.transpose(1, 2))


class ConformerBlock(nn.Module):
    """Conformer block (Gulati et al. §2.4, eq. 1): x + FFN/2 -> x + MHSA(LN(x)) -> x + Conv -> x + FFN/2 ->
    LayerNorm. Absolute positions come from outside (added once before the blocks), as in torchaudio's
    ``ConformerLayer``; the paper's relative positional attention is not used (§3.4 of Jain et al. names
    sinusoidal positions).

    Args:
        ffn1, ffn2: the macaron ``ConformerFeedForward`` halves.
        attention: ``SelfAttention``.
        conv: ``ConvolutionModule``.
        embed_dim: D, for the attention and final LayerNorms.
        dropout: on the attention output.
    """

    def __init__(self, ffn1: ConformerFeedForward, attention: SelfAttention, conv: ConvolutionModule,
                 ffn2: ConformerFeedForward, embed_dim: int, dropout: float = 0.0):
        super().__init__()
        self.ffn1, self.attention, self.conv, self.ffn2 = ffn1, attention, conv, ffn2
        self.attention_norm = nn.LayerNorm(embed_dim)
        self.final_norm = nn.LayerNorm(embed_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, attn_mask: Tensor | None = None, padding_mask: Tensor | None = None) -> Tensor:
        """``(N, T, D)``, the additive key mask of ``key_mask`` and ``(N, T)`` padding -> ``(N, T, D)``."""
        x = x + 0.5 * self.ffn1(x)
        x = x + self.dropout(self.attention(self.attention_norm(x), attn_mask))
        x = x + self.conv(x, padding_mask)
        x = x + 0.5 * self.ffn2(x)
        return self.final_norm(x)


class ConformerEncoder(nn.Module):
    """The audio encoder (§3.4): ``FbankFrontEnd`` -> ``ConvSubsampling`` -> ``PositionalEncoding`` -> blocks.

    Args:
        front_end: the ``FbankFrontEnd`` (no weights).
        subsampling: the ``ConvSubsampling``.
        positions: the ``PositionalEncoding``.
        blocks: the ``ConformerBlock`` s.
        masking: ``FbankMasking`` for fine-tuning (``extract_features(mask=True)``).
    """

    frames_per_token = 4  # fbank frames per output frame / MAE token (40 ms)

    def __init__(self, front_end: FbankFrontEnd, subsampling: ConvSubsampling, positions: PositionalEncoding,
                 blocks: Sequence[ConformerBlock], masking: FbankMasking | None = None):
        super().__init__()
        self.front_end = front_end
        self.subsampling = subsampling
        self.positions = positions
        self.blocks = nn.ModuleList(blocks)
        self.masking = masking if masking is not None else FbankMasking()
        self.embed_dim = positions.embed_dim
        self.num_layers = len(self.blocks)
        self.downsample_rate = front_end.shift * self.frames_per_token  # 640 samples at 16 kHz

    @property
    def min_samples(self) -> int:
        """The shortest input giving one output frame: one fbank window."""
        return self.front_end.window

    def output_lengths(self, num_samples: Tensor) -> Tensor:
        """Valid output frames for ``(N,)`` sample counts: ``ceil(min(frames, max_frames) / 4)``."""
        return subsampled_lengths(self.front_end.frame_lengths(num_samples))

    def features(self, source: Tensor, padding_mask: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """``(N, L)`` waveform -> normalised ``(N, T, 80)`` fbank (fp32, no gradient) and ``(N, T)`` frame padding."""
        return self.front_end(source, padding_mask)

    def run_blocks(self, x: Tensor, padding_mask: Tensor | None) -> EncoderOutput:
        if padding_mask is not None:
            x = x.masked_fill(padding_mask.unsqueeze(-1), 0.0)
        attn_mask = key_mask(padding_mask, attention_dtype(x))
        hidden = [x]
        for block in self.blocks:
            x = block(x, attn_mask, padding_mask)
            hidden.append(x)
        return EncoderOutput(x, padding_mask, tuple(hidden))

    def extract_features(self, source: Tensor, padding_mask: Tensor | None = None, mask: bool = False,
                         generator: torch.Generator | None = None) -> EncoderOutput:
        """``(N, L)`` waveform with ``(N, L)`` padding -> ``EncoderOutput`` at 40 ms per frame. With ``mask``
        the fbank gets the fine-tuning time/frequency masks (``FbankMasking``)."""
        fbank, frame_padding = self.features(source, padding_mask)
        if mask:
            fbank = self.masking(fbank, frame_padding, generator)
        lengths = None if frame_padding is None else (~frame_padding).sum(dim=1)
        x, lengths = self.subsampling(fbank, lengths)
        out_padding = None if lengths is None else lengths_to_padding_mask(lengths, x.size(1))
        x = self.positions(x, torch.arange(x.size(1), device=x.device))
        return self.run_blocks(x, out_padding)

    def hidden_states(self, source: Tensor, padding_mask: Tensor | None = None) -> tuple[list[Tensor], Tensor | None]:
        """``(N, L)`` waveform -> the L + 1 states of ``extract_features`` (the sub-sampling output with positions,
        then every block's output) at 40 ms per frame, and their ``(N, T)`` padding."""
        out = self.extract_features(source, padding_mask)
        return list(out.hidden_states), out.padding_mask

    def num_tokens(self, frame_lengths: Tensor) -> Tensor:
        """MAE tokens of ``frame_lengths`` valid fbank frames: whole groups of 4 frames."""
        return torch.div(frame_lengths, self.frames_per_token, rounding_mode="floor")

    def encode_tokens(self, fbank: Tensor, frame_padding: Tensor | None, masked: Tensor | None = None,
                      keep: Tensor | None = None, keep_padding: Tensor | None = None) -> EncoderOutput:
        """The MAE encoder pass on whole 4-frame tokens (L = T // 4 tokens).

        The frames of ``masked`` tokens ``(N, L)`` are zeroed and the full input is sub-sampled (so no masked
        frame reaches a visible token through the convolutions' receptive field); then only the tokens in
        ``keep`` ``(N, K)`` (padding ``keep_padding``) run through the blocks, with the positions of their
        original index (drop-style MAE, §3.4). With ``keep`` None every token runs (the zero-filled reading of
        §3.1). Returns ``EncoderOutput`` over the K kept (or L) tokens.
        """
        n, t, _ = fbank.shape
        num = t // self.frames_per_token
        if num == 0:
            raise ValueError(f"{t} fbank frames make no whole {self.frames_per_token}-frame token")
        fbank = fbank[:, : num * self.frames_per_token]
        frames = fbank.new_full((n,), t, dtype=torch.long) if frame_padding is None \
            else (~frame_padding).sum(dim=1)
        tokens = self.num_tokens(frames)
        lengths = tokens * self.frames_per_token
        if masked is not None:
            frame_masked = masked.repeat_interleave(self.frames_per_token, dim=1)
            fbank = fbank.masked_fill(frame_masked.unsqueeze(-1), 0.0)
        x, _ = self.subsampling(fbank, lengths)
        token_padding = lengths_to_padding_mask(tokens, num)
        if keep is None:
            x = self.positions(x, torch.arange(num, device=x.device))
            return self.run_blocks(x, token_padding if token_padding.any() else None)
        x = torch.gather(x, 1, keep.unsqueeze(-1).expand(-1, -1, x.size(-1)))
        x = self.positions(x, keep)
        return self.run_blocks(x, keep_padding if keep_padding is not None and keep_padding.any() else None)


def conformer(
    embed_dim: int = 256,
    num_layers: int = 16,
    num_heads: int = 4,
    ffn_dim: int = 1024,
    kernel_size: int = 31,
    *,
    conv_norm: str = "batch",
    dropout: float = 0.1,
    attention_dropout: float = 0.1,
    num_mel_bins: int = 80,
    sample_rate: int = 16000,
    feature_norm: str = "utterance",
    max_frames: int = 1000,
    masking: FbankMasking | None = None,
) -> ConformerEncoder:
    """Build the audio encoder; defaults are ``av_paper``'s (16 blocks, 4 heads, kernel 31 from §3.4; width
    256 and FFN 1024 from ESPnet's MuST-C ``train_st_conformer.yaml``). Weights: PyTorch's defaults, as ESPnet
    and torchaudio leave them."""
    blocks = [
        ConformerBlock(
            ConformerFeedForward(embed_dim, ffn_dim, dropout),
            SelfAttention(embed_dim, num_heads, attention_dropout),
            ConvolutionModule(embed_dim, kernel_size, conv_norm, dropout),
            ConformerFeedForward(embed_dim, ffn_dim, dropout),
            embed_dim,
            dropout,
        )
        for _ in range(num_layers)
    ]
    return ConformerEncoder(FbankFrontEnd(num_mel_bins, sample_rate, feature_norm, max_frames),
                            ConvSubsampling(num_mel_bins, embed_dim, embed_dim),
                            PositionalEncoding(embed_dim, dropout), blocks, masking)
