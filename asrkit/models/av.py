"""Audio-visual pre-training model of multi-stage multi-modal pre-training (Jain et al., 2024, §3.1, §3.4,
Fig. 1): a Conformer audio encoder, a ViT video encoder, one shared ViT decoder for MAE and the CLR projections.

- MAE: each encoder sees its visible tokens only (drop-style, §3.4; ``mae_input: zero`` is §3.1's other
  reading: masked frames / tubelets filled with 0 and every token encoded); the shared decoder takes the
  encoded tokens projected to its width, a learned mask token at the masked positions, fixed sin-cos
  positions per modality and a learned modality embedding, and reconstructs the audio then the video
  (``decoder_mode: sequential``: one pass per modality, as §3.4 says, "one after the other"; ``joint``: one
  pass over both, the cross-modal reading of §3.1's "joint transformer decoder"). Linear heads predict
  the 4 fbank frames x 80 bins of an audio token (320 values) and the pt x ph x pw x 3 pixels of a tubelet.
- CLR: audio mean over valid frames, video mean over space-time tokens (or frames in ``video_tokens: frame``),
  a Linear to ``clr_dim`` each, L2 normalisation, and the logit scale (§3.4; CLIP's).

No loss is computed here (``asrkit.objectives.mae``, ``asrkit.objectives.av_contrastive``); the encoders and
the decoder are built by ``asrkit.models.factory``. Shapes ``(N, T, C)``; padding masks are True at padding.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from asrkit.config import ConfigError, check_ranges, field_error, from_dict, load_config
from asrkit.data.audio import SAMPLE_RATE
from asrkit.models.components import EncoderLayer, attention_dtype, key_mask
from asrkit.models.conformer import ConformerEncoder
from asrkit.models.vit import VideoEncoder, separable_sincos, sincos_1d

CONFIG_DIR = Path(__file__).resolve().parent.parent / "conf" / "model"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

DROPOUT = "[0, 1)"


@dataclass(frozen=True)
class AVConfig:
    model_type: Literal["av"] = "av"
    sample_rate: int = SAMPLE_RATE  # Hz of the waveform, written by training like Wav2Vec2Config's
    # audio front end (§3.4): 80-dim Kaldi fbank, 25 ms / 10 ms; the contract's geometry
    fbank_dim: int = 80  # LFBE bins (§3.4)
    feature_norm: Literal["utterance", "none"] = "utterance"  # per-utterance MVN (ESPnet utterance_mvn)
    max_frames: int = 1000  # "the first 1000 frames" (§3.4); 0 keeps every frame (fine-tuning on long utterances)
    # Conformer (§3.4: 16 blocks, 4 heads, kernel 31; width/FFN from ESPnet MuST-C train_st_conformer.yaml)
    encoder_layers: int = 16
    encoder_embed_dim: int = 256
    encoder_ffn_embed_dim: int = 1024
    encoder_attention_heads: int = 4
    conv_kernel_size: int = 31  # depthwise convolution kernel (§3.4)
    conv_norm: Literal["batch", "layer"] = "batch"  # BatchNorm in the conv module (Gulati et al. §2.2; ESPnet)
    dropout: float = 0.1  # ESPnet MuST-C Conformer dropout_rate / positional_dropout_rate
    attention_dropout: float = 0.1  # ESPnet attention_dropout_rate
    # fine-tuning SpecAugment-style masks on the fbank (extract_features(mask=True)); 0 = off
    mask_prob: float = 0.0  # time spans: p * M as fairseq mask_prob
    mask_length: int = 10  # M, frames (10 ms each)
    mask_channel_prob: float = 0.0  # frequency spans
    mask_channel_length: int = 10  # bins
    # video ViT (§3.4: 12 blocks, 768; MAE-ST for what the paper blanked)
    use_video: bool = True  # false: audio-only MAE, no video encoder
    video_tokens: Literal["tubelet", "frame"] = "tubelet"  # tubelets for MAE; one token per frame for CLR (§3.4)
    image_size: int = 224  # crop size (MAE-ST input_size)
    num_frames: int = 16  # frames per clip (MAE-ST num_frames)
    video_patch_time: int = 2  # pt (MAE-ST t_patch_size)
    video_patch_size: int = 16  # ph = pw (MAE-ST patch_size)
    video_layers: int = 12  # §3.4
    video_embed_dim: int = 768  # §3.4
    video_attention_heads: int = 12  # ViT-B
    video_mlp_dim: int = 3072  # ViT-B (4 x width)
    video_pos_embed: Literal["sincos", "learned"] = "sincos"  # fixed separable t + (h, w); learned: MAE-ST
    # shared decoder (§3.4: ViT, 512 wide, 4 blocks)
    decoder_mode: Literal["sequential", "joint"] = "sequential"  # §3.4 "sequentially"; joint: §3.1 / CAV-MAE
    decoder_layers: int = 4
    decoder_embed_dim: int = 512
    decoder_attention_heads: int = 16  # MAE / MAE-ST / CAV-MAE decoders (512-d, 16 heads); not in the paper
    decoder_mlp_dim: int = 2048  # 4 x width (MAE mlp_ratio 4); not in the paper
    mae_input: Literal["drop", "zero"] = "drop"  # encoders see only visible tokens (§3.4) or zero-filled input (§3.1)
    # CLR (§3.4: pooled, "up-sampled and normalised"; CLIP-style InfoNCE)
    clr_dim: int = 512  # joint embedding: up from the audio width 256 (§3.4 "up-sampled"), CLIP ViT-B/16's 512
    clr_temperature: float = 0.07  # tau: CLIP's initial value (logit scale 1 / 0.07)
    clr_learn_temperature: bool = True  # learned as CLIP (capped at a scale of 100); false: fixed at clr_temperature

    def __post_init__(self) -> None:
        check_ranges(
            self, sample_rate=">= 1", fbank_dim=">= 1", max_frames=">= 0", encoder_layers=">= 1",
            encoder_embed_dim=">= 2", encoder_ffn_embed_dim=">= 1", encoder_attention_heads=">= 1",
            conv_kernel_size=">= 1", dropout=DROPOUT, attention_dropout=DROPOUT, mask_prob="[0, 1]",
            mask_length=">= 1", mask_channel_prob="[0, 1]", mask_channel_length=">= 1", image_size=">= 1",
            num_frames=">= 1", video_patch_time=">= 1", video_patch_size=">= 1", video_layers=">= 0",
            video_embed_dim=">= 4", video_attention_heads=">= 1", video_mlp_dim=">= 1", decoder_layers=">= 0",
            decoder_embed_dim=">= 4", decoder_attention_heads=">= 1", decoder_mlp_dim=">= 1", clr_dim=">= 1",
            clr_temperature="> 0",
        )  # fmt: skip
        if self.conv_kernel_size % 2 == 0:
            raise field_error(self, "conv_kernel_size", f"{self.conv_kernel_size} must be odd ('same' padding)")
        for width, heads in (("encoder_embed_dim", "encoder_attention_heads"),
                             ("video_embed_dim", "video_attention_heads"),
                             ("decoder_embed_dim", "decoder_attention_heads")):
            if getattr(self, width) % getattr(self, heads):
                raise field_error(self, width, f"{getattr(self, width)} is not a multiple of {heads} "
                                               f"({getattr(self, heads)})")
        for width in ("encoder_embed_dim", "video_embed_dim", "decoder_embed_dim"):
            if getattr(self, width) % 4:  # sin-cos tables split the channels in halves (and (h, w) in quarters)
                raise field_error(self, width, f"{getattr(self, width)} must be a multiple of 4 for sin-cos positions")
        if self.image_size % self.video_patch_size:
            raise field_error(self, "image_size", f"{self.image_size} is not a multiple of video_patch_size "
                                                  f"({self.video_patch_size})")
        if self.video_tokens == "tubelet" and self.num_frames % self.video_patch_time:
            raise field_error(self, "num_frames", f"{self.num_frames} is not a multiple of video_patch_time "
                                                  f"({self.video_patch_time})")
        if 0 < self.max_frames < ConformerEncoder.frames_per_token:
            raise field_error(self, "max_frames", f"{self.max_frames} frames make no 4-frame audio token")

    @property
    def video_patch_dim(self) -> int:
        """Values of a video MAE target: pt x ph x pw x 3."""
        return self.video_patch_time * self.video_patch_size ** 2 * 3

    @property
    def audio_patch_dim(self) -> int:
        """Values of an audio MAE target: 4 frames x fbank_dim bins (320)."""
        return ConformerEncoder.frames_per_token * self.fbank_dim

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> AVConfig:
        """Build from a mapping, type-checked; unknown keys are errors."""
        return from_dict(cls, dict(values), "AVConfig")


def load_av_config(name_or_path: str | Path, overrides: Iterable[str] = ()) -> AVConfig:
    """A named config (``av_tiny``, ``av_audio_tiny``, ``av_paper``) or a YAML path, with dotted ``key=value``
    overrides; fields missing from the file keep the defaults (``av_paper``'s sizes)."""
    path = Path(name_or_path)
    if not path.suffix:
        path = CONFIG_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        named = sorted(p.stem for p in CONFIG_DIR.glob("av*.yaml"))
        raise ConfigError(f"no AV model config {str(name_or_path)!r}; named configs: {', '.join(named)}")
    return load_config(AVConfig, path, overrides)


class TokenMaskLike(Protocol):
    masked: Tensor  # (N, L) True at masked tokens
    keep: Tensor  # (N, K) visible token indices, increasing, padded with 0
    keep_padding: Tensor  # (N, K) True where keep is padding


@dataclass
class MAEOutput:
    audio_pred: Tensor  # (N, La, 320) reconstruction of every token
    audio_target: Tensor  # (N, La, 320) the 4 normalised fbank frames of each token, (frame, bin) order
    audio_valid: Tensor  # (N, La) True at real (non-padding) tokens
    audio_masked: Tensor  # (N, La) True at masked tokens
    video_pred: Tensor | None = None  # (N, Lv, pt*ph*pw*3)
    video_target: Tensor | None = None  # (N, Lv, pt*ph*pw*3) normalised pixels, (pt, ph, pw, C) order
    video_masked: Tensor | None = None  # (N, Lv)


@dataclass
class Visible:
    """One modality's encoder output for the decoder: ``x`` ``(N, K, D)`` at token indices ``keep`` ``(N, K)``
    (``keep_padding`` True at padding), or every token when ``keep`` is None (``x`` ``(N, L, D)``)."""

    x: Tensor
    keep: Tensor | None
    keep_padding: Tensor | None
    num_tokens: int


@dataclass
class AVOutput:
    """What ``AudioVisualModel.forward`` returns: the MAE pass's output and/or CLR's (audio embedding, video
    embedding, logit scale); None for a pass the objective does not run."""

    mae: MAEOutput | None
    clr: tuple[Tensor, Tensor, Tensor] | None
    shifted_audio: Tensor | None = None  # (N, S, clr_dim) embeddings of the clips' time-shifted audio


class SharedDecoder(nn.Module):
    """The shared MAE decoder (§3.4: a ViT of 4 blocks, 512 wide, for both modalities).

    Args:
        audio_embed, video_embed: Linear from each encoder's width to the decoder's (MAE ``decoder_embed``).
        blocks: pre-LN ViT blocks.
        embed_dim: decoder width.
        audio_head, video_head: Linear to the 320 audio and pt*ph*pw*3 video values (MAE ``decoder_pred``).
        mode: ``"sequential"``: one pass per modality; ``"joint"``: one pass over audio then video tokens.
    """

    def __init__(self, audio_embed: nn.Linear, video_embed: nn.Linear | None, blocks: Sequence[EncoderLayer],
                 embed_dim: int, audio_head: nn.Linear, video_head: nn.Linear | None, mode: str = "sequential"):
        super().__init__()
        if mode not in ("sequential", "joint"):
            raise ValueError(f"decoder_mode must be 'sequential' or 'joint', got {mode!r}")
        self.audio_embed, self.video_embed = audio_embed, video_embed
        self.mask_token = nn.Parameter(torch.zeros(embed_dim))
        self.modality = nn.Parameter(torch.zeros(2, embed_dim))  # 0 audio, 1 video (CAV-MAE modality_a/_v)
        nn.init.normal_(self.mask_token, std=0.02)  # MAE
        nn.init.normal_(self.modality, std=0.02)
        self.blocks = nn.ModuleList(blocks)
        self.norm = nn.LayerNorm(embed_dim)
        self.audio_head, self.video_head = audio_head, video_head
        self.embed_dim, self.mode = embed_dim, mode

    def fill(self, visible: Visible, embed: nn.Linear) -> Tensor:
        """Project the visible tokens and put them at their indices, the mask token elsewhere: ``(N, L, D)``."""
        x = embed(visible.x)
        if visible.keep is None:
            return x
        n, k, d = x.shape
        num = visible.num_tokens
        index = visible.keep if visible.keep_padding is None else visible.keep.masked_fill(visible.keep_padding, num)
        slots = x.new_zeros(n, num + 1, d).scatter(1, index.unsqueeze(-1).expand(-1, -1, d), x)[:, :num]
        seen = torch.zeros(n, num + 1, dtype=torch.bool, device=x.device).scatter(1, index, True)[:, :num]
        return torch.where(seen.unsqueeze(-1), slots, self.mask_token.to(x.dtype))

    def run(self, x: Tensor, padding: Tensor | None) -> Tensor:
        attn_mask = key_mask(padding, attention_dtype(x))
        for block in self.blocks:
            x = block(x, attn_mask)
        return self.norm(x)

    def forward(self, audio: Visible, audio_padding: Tensor | None, video: Visible | None = None,
                video_grid: tuple[int, int, int] | None = None) -> tuple[Tensor, Tensor | None]:
        """-> ``(N, La, 320)`` audio and ``(N, Lv, P)`` video reconstructions (None without video)."""
        a = self.fill(audio, self.audio_embed)
        a = a + (sincos_1d(torch.arange(a.size(1), device=a.device), self.embed_dim) + self.modality[0]).to(a.dtype)
        if video is None:
            return self.audio_head(self.run(a, audio_padding)), None
        v = self.fill(video, self.video_embed)
        v = v + (separable_sincos(video_grid, self.embed_dim, v.device) + self.modality[1]).to(v.dtype)
        if self.mode == "sequential":
            a, v = self.run(a, audio_padding), self.run(v, None)
        else:
            padding = None if audio_padding is None else \
                torch.cat([audio_padding, audio_padding.new_zeros(v.shape[:2])], dim=1)
            out = self.run(torch.cat([a, v], dim=1), padding)
            a, v = out[:, : a.size(1)], out[:, a.size(1):]
        return self.audio_head(a), self.video_head(v)


class AudioVisualModel(nn.Module):
    """The stage-1 pre-training model (Fig. 1): MAE, CLR or both, on paired audio and video.

    Args:
        cfg: the ``AVConfig``.
        audio_encoder: the ``ConformerEncoder`` (what later stages keep).
        video_encoder: the ``VideoEncoder``; None for audio-only MAE (``use_video: false``).
        decoder: the ``SharedDecoder``.
        audio_proj, video_proj: CLR projections to ``clr_dim`` (video_proj None without video).
    """

    def __init__(self, cfg: AVConfig, audio_encoder: ConformerEncoder, video_encoder: VideoEncoder | None,
                 decoder: SharedDecoder, audio_proj: nn.Linear, video_proj: nn.Linear | None):
        super().__init__()
        self.cfg = cfg
        self.audio_encoder, self.video_encoder, self.decoder = audio_encoder, video_encoder, decoder
        self.audio_proj, self.video_proj = audio_proj, video_proj
        init = torch.tensor(math.log(1.0 / cfg.clr_temperature))
        if cfg.clr_learn_temperature:
            self.logit_scale = nn.Parameter(init)
        else:
            self.register_buffer("logit_scale", init)
        self.register_buffer("pixel_mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1, 1), persistent=False)

    # inputs and targets
    def video_input(self, frames: Tensor) -> Tensor:
        """uint8 RGB ``(N, T, H, W, 3)`` -> float ``(N, 3, T, H, W)`` in [0, 1], normalised with ImageNet mean/std."""
        x = frames.permute(0, 4, 1, 2, 3).float().div(255.0)
        return (x - self.pixel_mean) / self.pixel_std

    def _video(self, video: Tensor) -> Tensor:
        return self.video_input(video) if video.dtype == torch.uint8 else video

    def audio_frame_lengths(self, num_samples: Tensor) -> Tensor:
        """Valid fbank frames of ``(N,)`` sample counts (after ``max_frames``)."""
        return self.audio_encoder.front_end.frame_lengths(num_samples)

    def num_audio_tokens(self, frame_lengths: Tensor) -> Tensor:
        """MAE audio tokens of ``frame_lengths`` fbank frames: ``frame_lengths // 4``."""
        return self.audio_encoder.num_tokens(frame_lengths)

    @property
    def num_video_tokens(self) -> int:
        """Video MAE tokens of a configured clip (``num_frames`` x ``image_size``²)."""
        if self.video_encoder is None:
            return 0
        return self.video_encoder.num_tokens(self.cfg.num_frames, self.cfg.image_size, self.cfg.image_size)

    def audio_targets(self, fbank: Tensor, frame_padding: Tensor | None) -> tuple[Tensor, Tensor]:
        """``(N, T, F)`` fbank -> targets ``(N, T // 4, 4 F)`` ((frame, bin) order), their padding ``(N, T // 4)``."""
        n, t, f = fbank.shape
        k = ConformerEncoder.frames_per_token
        num = t // k
        targets = fbank[:, : num * k].reshape(n, num, k * f)
        frames = fbank.new_full((n,), t, dtype=torch.long) if frame_padding is None else (~frame_padding).sum(1)
        padding = torch.arange(num, device=fbank.device)[None, :] >= self.num_audio_tokens(frames)[:, None]
        return targets, padding

    def video_targets(self, video: Tensor) -> Tensor:
        """``(N, 3, T, H, W)`` normalised video (or uint8 frames) -> ``(N, Lv, pt*ph*pw*3)``: each tubelet's
        pixels in (pt, ph, pw, C) order, tokens in (t, h, w) order."""
        video = self._video(video)
        n, c, t, h, w = video.shape
        pt, ph, pw = self.cfg.video_patch_time, self.cfg.video_patch_size, self.cfg.video_patch_size
        x = video.reshape(n, c, t // pt, pt, h // ph, ph, w // pw, pw)
        return x.permute(0, 2, 4, 6, 3, 5, 7, 1).reshape(n, (t // pt) * (h // ph) * (w // pw), pt * ph * pw * c)

    # objectives' forward passes
    def forward(self, source: Tensor, padding_mask: Tensor | None = None, video: Tensor | None = None, *,
                objective: str = "mae", audio_mask: TokenMaskLike | None = None,
                video_mask: TokenMaskLike | None = None, shifted_source: Tensor | None = None,
                shifted_padding_mask: Tensor | None = None) -> AVOutput:
        """The forward pass of ``objective`` (mae, clr or mae_clr): ``AVOutput`` with the ``mae`` and/or ``clr``
        results. Training calls this rather than ``mae``/``clr``, so that DistributedDataParallel sees the
        pass and all-reduces its gradients. ``shifted_source`` ``(S * N, L)``: the clips' audio moved in time
        (S versions, clip-major within each), embedded by the audio branch as ``AVOutput.shifted_audio``
        ``(N, S, clr_dim)`` for CLR's time-shifted negatives."""
        if objective not in ("mae", "clr", "mae_clr"):
            raise ValueError(f"objective {objective!r}: choose mae, clr or mae_clr")
        if video is not None and self.video_encoder is not None:
            video = self._video(video)  # once for both passes
        mae = clr = None
        if objective in ("mae", "mae_clr"):
            if audio_mask is None:
                raise ValueError(f"{objective} needs an audio_mask (objectives.mae.random_token_mask)")
            mae = self.mae(source, padding_mask, video, audio_mask, video_mask)
        if objective in ("clr", "mae_clr"):
            if video is None:
                raise ValueError(f"{objective} needs the video")
            clr = self.clr(source, padding_mask, video)
        shifted = None
        if shifted_source is not None:
            n = source.size(0)
            shifted = self.audio_embedding(shifted_source, shifted_padding_mask)
            shifted = shifted.view(-1, n, shifted.size(-1)).transpose(0, 1)  # (N, S, D)
        return AVOutput(mae, clr, shifted)

    def mae(self, source: Tensor, padding_mask: Tensor | None, video: Tensor | None, audio_mask: TokenMaskLike,
            video_mask: TokenMaskLike | None = None) -> MAEOutput:
        """Masked reconstruction of the audio (and the video when given and ``use_video``): ``MAEOutput``.

        ``audio_mask`` / ``video_mask`` carry ``masked`` ``(N, L)``, ``keep`` and ``keep_padding`` ``(N, K)`` over
        ``num_audio_tokens`` / ``num_video_tokens`` tokens (``objectives.mae.random_token_mask``). ``video`` is
        uint8 frames ``(N, T, H, W, 3)`` or the output of ``video_input``."""
        audio, audio_target, token_padding = self._encode_audio(source, padding_mask, audio_mask)
        visible_video, video_target, grid = None, None, None
        if video is not None and self.video_encoder is not None:
            if video_mask is None:
                raise ValueError("MAE with video needs a video_mask")
            visible_video, video_target, grid = self._encode_video(self._video(video), video_mask)
        audio_pred, video_pred = self.decoder(audio, token_padding if token_padding.any() else None,
                                              visible_video, grid)
        return MAEOutput(audio_pred, audio_target, ~token_padding, audio_mask.masked, video_pred, video_target,
                         video_mask.masked if video_pred is not None else None)

    def _encode_audio(self, source: Tensor, padding_mask: Tensor | None,
                      mask: TokenMaskLike) -> tuple[Visible, Tensor, Tensor]:
        """The audio encoder's MAE pass: its output for the decoder, the targets and their padding."""
        fbank, frame_padding = self.audio_encoder.features(source, padding_mask)
        num, k = mask.masked.size(1), ConformerEncoder.frames_per_token
        if frame_padding is not None and fbank.size(1) // k > num \
                and int(self.num_audio_tokens((~frame_padding).sum(dim=1)).max()) <= num:
            # the batch is padded past its longest utterance: its masks cover the tokens up to that one
            fbank, frame_padding = fbank[:, : num * k], frame_padding[:, : num * k]
        target, token_padding = self.audio_targets(fbank, frame_padding)
        if mask.masked.shape != target.shape[:2]:
            raise ValueError(f"audio mask of shape {tuple(mask.masked.shape)} for {tuple(target.shape[:2])} "
                             "audio tokens")
        keep, keep_padding = (mask.keep, mask.keep_padding) if self.cfg.mae_input == "drop" else (None, None)
        enc = self.audio_encoder.encode_tokens(fbank, frame_padding, mask.masked, keep, keep_padding)
        return Visible(enc.x, keep, keep_padding, target.size(1)), target, token_padding

    def _encode_video(self, video: Tensor, mask: TokenMaskLike) -> tuple[Visible, Tensor, tuple[int, int, int]]:
        """The video encoder's MAE pass: its output for the decoder, the targets and the token grid."""
        encoder = self.video_encoder
        assert encoder is not None
        if encoder.frame_mode:
            raise ValueError("MAE on video needs video_tokens: tubelet (frame tokens have no pixel targets)")
        target, grid = self.video_targets(video), encoder.token_grid(*video.shape[2:])
        if self.cfg.mae_input == "drop":
            x = encoder(video, mask.keep, mask.keep_padding)
            return Visible(x, mask.keep, mask.keep_padding, target.size(1)), target, grid
        x = encoder(self._zero_tubelets(video, mask.masked, grid))
        return Visible(x, None, None, x.size(1)), target, grid

    def _zero_tubelets(self, video: Tensor, masked: Tensor, grid: tuple[int, int, int]) -> Tensor:
        """Zero the pixels of masked tubelets (``mae_input: zero``)."""
        pt, ph, pw = self.video_encoder.patch_size  # type: ignore[union-attr]
        m = masked.view(-1, 1, *grid)
        m = m.repeat_interleave(pt, 2).repeat_interleave(ph, 3).repeat_interleave(pw, 4)
        return video.masked_fill(m, 0.0)

    def clr(self, source: Tensor, padding_mask: Tensor | None, video: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """-> L2-normalised ``(N, clr_dim)`` audio and video embeddings and the logit scale exp(s) (a scalar,
        the inverse temperature, at most 100 as CLIP clips it) to multiply their cosine similarities with."""
        if self.video_encoder is None or self.video_proj is None:
            raise ValueError("CLR needs the video encoder (use_video: true)")
        audio_emb = self.audio_embedding(source, padding_mask)
        return audio_emb, self.video_embedding(video), self.logit_scale.clamp(max=math.log(100.0)).exp()

    def video_embedding(self, video: Tensor) -> Tensor:
        """CLR's clip embedding of the video (uint8 frames or ``video_input``'s output): the ViT's tokens averaged
        over space and time (or frames), projected, L2-normalised, ``(N, clr_dim)``."""
        return F.normalize(self.video_proj(self.video_encoder(self._video(video)).mean(dim=1)), dim=-1)

    def audio_embedding(self, source: Tensor, padding_mask: Tensor | None) -> Tensor:
        """CLR's clip embedding of the audio: the Conformer's output averaged over the valid frames, projected,
        L2-normalised, ``(N, clr_dim)``."""
        out = self.audio_encoder.extract_features(source, padding_mask)
        if out.padding_mask is None:
            pooled = out.x.mean(dim=1)
        else:
            valid = (~out.padding_mask).unsqueeze(-1).to(out.x.dtype)
            pooled = (out.x * valid).sum(dim=1) / valid.sum(dim=1).clamp(min=1)
        return F.normalize(self.audio_proj(pooled), dim=-1)
