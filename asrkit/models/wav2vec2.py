"""wav2vec 2.0 for self-supervised pre-training (Baevski et al., 2020, §2-§3, §4.2).

raw waveform X -> feature encoder f -> latents Z -> (mask spans, §3.1) -> Transformer g -> C;
Z -> quantizer -> targets Q. ``Wav2Vec2Model.forward`` returns, for the masked frames, the projected
c_t and the quantized targets q_t with their codebook entries; the objective
(``asrkit.objectives.contrastive``) samples the distractors and computes the logits of eq. 3 and the losses.

``Wav2Vec2Config`` mirrors the fairseq ``Wav2Vec2Config`` field names; its defaults are BASE
pre-trained on LibriSpeech (fairseq ``wav2vec2_base_librispeech.yaml``). Named configs live
in ``asrkit/conf/model/*.yaml``.

SEW and SEW-D (Wu et al., 2021) are pre-trained the same way and are the same model with other
parts: ``model_type`` picks the context network (wav2vec 2.0's, or the squeezed one of
``asrkit.models.sew`` with multi-head or disentangled attention, ``asrkit.models.sew_d``),
``predictor_layers`` the heads, ``feature_extractor`` the front end; ``Wav2Vec2Model`` receives them
built, and ``asrkit.models.factory`` composes them.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor, nn

from asrkit.config import ConfigError, check_ranges, field_error, from_dict, load_config
from asrkit.data.audio import SAMPLE_RATE
from asrkit.models.components import (FeatureProjection, lengths_to_padding_mask, parse_conv_layers,
                                      parse_pos_att_type, scale_grad)
from asrkit.models.quantizer import GumbelVectorQuantizer
from asrkit.objectives.masking import compute_mask_indices

CONFIG_DIR = Path(__file__).resolve().parent.parent / "conf" / "model"

DROPOUT = "[0, 1)"
PROBABILITY = "[0, 1]"
# The allowed values of every numeric field of Wav2Vec2Config (config.check_ranges); the fine-tuning
# config takes those of the fields it lays over the encoder from here.
MODEL_RANGES = dict(
    sample_rate=">= 1", feature_grad_mult=">= 0", encoder_layers=">= 1", encoder_embed_dim=">= 1",
    encoder_ffn_embed_dim=">= 1", encoder_attention_heads=">= 1", conv_pos=">= 1", conv_pos_groups=">= 1",
    dropout=DROPOUT, attention_dropout=DROPOUT, activation_dropout=DROPOUT, encoder_layerdrop=PROBABILITY,
    dropout_input=DROPOUT, dropout_features=DROPOUT, latent_vars=">= 1", latent_groups=">= 1", latent_dim=">= 0",
    latent_temp=("> 0", "> 0", "(0, 1]"), final_dim=">= 1", mask_prob=PROBABILITY, mask_length=">= 1",
    mask_min_masks=">= 0", mask_channel_prob=PROBABILITY, mask_channel_length=">= 1", num_negatives=">= 1",
    codebook_negatives=">= 0", logit_temp="> 0", squeeze_factor=">= 1", predictor_layers=">= 1",
    predictor_hidden_dim=">= 1", position_buckets=">= 0", max_relative_positions=">= 1",
    deberta_layer_norm_eps="> 0", fbank_dim=">= 1",
)


@dataclass(frozen=True)
class Wav2Vec2Config:
    # the input the model was trained on: training writes the data config's values here, so a checkpoint
    # tells decode and benchmark how to read audio for it (fairseq keeps both in its task config)
    sample_rate: int = SAMPLE_RATE  # Hz of the waveform (fairseq task.sample_rate)
    normalize: bool = False  # zero mean, unit variance per utterance (§2; fairseq task.normalize: LARGE true, BASE false)
    # feature encoder f: X -> Z (§2, §4.2)
    # GroupNorm after the first conv only (BASE on LibriSpeech; fairseq "default") or LayerNorm in every block (LARGE)
    extractor_mode: Literal["group_norm", "layer_norm"] = "group_norm"
    # (channels, kernel, stride) per block: 7 blocks of 512, strides (5,2,2,2,2,2,2), kernels (10,3,3,3,3,2,2)
    conv_feature_layers: str = "[(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512, 2, 2)] * 2"
    conv_bias: bool = False  # bias in the encoder convolutions (fairseq conv_bias; True for LARGE)
    feature_grad_mult: float = 0.1  # gradients into f scaled by 1/10 for LibriSpeech (§4.2); 0 freezes f
    # context network g: Z -> C (§2)
    encoder_layers: int = 12  # Transformer blocks (BASE 12, LARGE 24)
    encoder_embed_dim: int = 768  # model dimension (BASE 768, LARGE 1024)
    encoder_ffn_embed_dim: int = 3072  # FFN inner dimension (BASE 3072, LARGE 4096)
    encoder_attention_heads: int = 8  # heads: 8 for BASE (§4.2); fairseq and the released BASE use 12
    layer_norm_first: bool = False  # pre-LN blocks (LARGE); BASE is post-LN
    conv_pos: int = 128  # kernel of the convolutional relative positional embedding (§4.2)
    conv_pos_groups: int = 16  # groups of that convolution (§4.2)
    dropout: float = 0.1  # dropout in the Transformer (§4.2)
    attention_dropout: float = 0.1  # dropout on attention weights
    activation_dropout: float = 0.0  # dropout after the FFN activation
    encoder_layerdrop: float = 0.05  # LayerDrop rate (BASE 0.05, LARGE 0.2, none on LV-60k; §4.2)
    dropout_input: float = 0.1  # dropout at the output of the feature encoder (§4.2)
    dropout_features: float = 0.1  # dropout at the input to the quantization module (§4.2)
    # quantization module, eq. 1
    latent_vars: int = 320  # V, entries per codebook (§4.2)
    latent_groups: int = 2  # G, codebooks (§4.2)
    latent_dim: int = 0  # d, concatenated entry size (d/G = 128 BASE, 384 LARGE); 0 means final_dim
    latent_temp: tuple[float, float, float] = (2.0, 0.5, 0.999995)  # tau from 2 to 0.5 (BASE) / 0.1 (LARGE), x0.999995 per update
    final_dim: int = 256  # f: size of q and of the projected c_t compared in eq. 3 (BASE 256, LARGE 768)
    # masking (§3.1)
    mask_prob: float = 0.65  # p * M; the paper's p = 0.065 of time steps start a span (§4.2)
    mask_length: int = 10  # M, span length (§4.2)
    mask_min_masks: int = 2  # at least this many spans per utterance (fairseq hard-codes 2)
    require_same_masks: bool = True  # same number of masked frames per utterance (fairseq)
    mask_channel_prob: float = 0.0  # channel masking, fine-tuning only (Appendix B); p * span
    mask_channel_length: int = 10  # channel span length (64 when fine-tuning, Appendix B)
    # contrastive task (§3.2)
    num_negatives: int = 100  # K distractors from other masked steps of the same utterance
    codebook_negatives: int = 0  # extra distractors drawn from the codebook (fairseq; unused in the paper)
    logit_temp: float = 0.1  # kappa, temperature of the contrastive loss (eq. 3)
    # SEW / SEW-D (Wu et al., 2021, §3); the defaults are plain wav2vec 2.0
    # context network: wav2vec2; sew = squeezed (§3.1) with multi-head attention; sew_d = squeezed with
    # disentangled attention (§3.4). HF model_type (sew-d); asapp model._name squeeze_wav2vec2(_deberta)
    model_type: Literal["wav2vec2", "sew", "sew_d"] = "wav2vec2"
    squeeze_factor: int = 1  # s (§3.1; asapp/HF squeeze_factor): 2 in the paper; needs model_type sew or sew_d
    predictor_layers: int = 1  # final_proj and project_q: 1 linear (W2V2), 2 MLP with BatchNorm (§3.3; asapp mlp_num_layers)
    predictor_hidden_dim: int = 4096  # hidden size of the MLP heads (§3.3; asapp mlp_hidden_size)
    # disentangled attention (model_type sew_d; DeBERTa-v2 options as asapp sets them, HF SEWDConfig)
    position_buckets: int = 256  # log-bucketed relative positions, 2 x 256 embeddings (position_buckets); 0: none
    max_relative_positions: int = 512  # m, farthest offset given its own bucket; asapp -1 = max_position_embeddings = 512
    pos_att_type: str = "p2c|c2p"  # position terms added to content-to-content (pos_att_type)
    share_att_key: bool = True  # project positions with the content query/key projections (share_att_key)
    norm_rel_ebd: bool = True  # LayerNorm on the shared relative embeddings (norm_rel_ebd="layer_norm")
    deberta_layer_norm_eps: float = 1e-7  # eps of the disentangled blocks' LayerNorms (asapp 1e-7; HF layer_norm_eps)
    # front end: raw-waveform convolutions (conv_feature_layers; WFE-O or WFE-C, §3.2) or FBFE filter banks
    feature_extractor: Literal["waveform", "fbank"] = "waveform"  # SEW-D Table 6 row 9 uses fbank
    fbank_dim: int = 80  # Kaldi log-mel bins (asapp fbank_dim)
    fbank_conv_layers: str = "[(160, 3, 1), (160, 3, 2)]"  # FBFE-c160 2-D convolutions (channels, kernel, stride)
    # FBFE's filter banks normalised per utterance and bin (zero mean, unit variance; "none": as the paper gives)
    fbank_norm: Literal["none", "utterance"] = "none"

    def __post_init__(self) -> None:
        check_ranges(self, **MODEL_RANGES)
        if self.extractor_mode not in ("group_norm", "layer_norm"):
            raise field_error(self, "extractor_mode",
                              f"{self.extractor_mode!r} is not one of 'group_norm', 'layer_norm'")
        for key in ("conv_feature_layers", "fbank_conv_layers"):
            _check_conv_layers(self, key)
        if self.squeeze_factor > 1 and self.model_type == "wav2vec2":
            raise field_error(self, "squeeze_factor", f"{self.squeeze_factor} needs model_type 'sew' or 'sew_d'")
        if self.model_type == "sew_d" and self.layer_norm_first:
            raise field_error(self, "layer_norm_first", "model_type 'sew_d' has post-LN (DeBERTa) blocks; set it false")
        for key, divisor in (("encoder_attention_heads", self.encoder_attention_heads),
                             ("conv_pos_groups", self.conv_pos_groups)):
            if self.encoder_embed_dim % divisor:
                raise field_error(self, "encoder_embed_dim", f"{self.encoder_embed_dim} is not a multiple of "
                                                             f"{key} ({divisor})")
        if self.codevector_dim % self.latent_groups:
            name = "latent_dim" if self.latent_dim > 0 else "final_dim"
            raise field_error(self, name, f"{self.codevector_dim} (the codebook entries' size) is not a multiple of "
                                          f"latent_groups ({self.latent_groups})")
        start, end, _ = self.latent_temp
        if end > start:
            raise field_error(self, "latent_temp", f"{list(self.latent_temp)}: the final temperature {end} is above "
                                                   f"the start {start}; expected [start, end <= start, decay]")
        if self.model_type == "sew_d" and self.position_buckets > 0 \
                and self.max_relative_positions - 1 <= self.position_buckets // 2:
            raise field_error(self, "max_relative_positions", f"{self.max_relative_positions} must be above "
                              f"position_buckets / 2 + 1 ({self.position_buckets // 2 + 1}) for log buckets")
        try:
            parse_pos_att_type(self.pos_att_type)
        except ValueError as e:
            raise field_error(self, "pos_att_type", str(e).removeprefix("pos_att_type ")) from None
        object.__setattr__(self, "latent_temp", tuple(float(t) for t in self.latent_temp))

    @property
    def conv_layers(self) -> list[tuple[int, int, int]]:
        return parse_conv_layers(self.conv_feature_layers)

    @property
    def codevector_dim(self) -> int:
        return self.latent_dim if self.latent_dim > 0 else self.final_dim

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Wav2Vec2Config:
        """Build from a mapping, type-checked; unknown keys are errors."""
        return from_dict(cls, dict(values), "Wav2Vec2Config")


def _check_conv_layers(cfg: Wav2Vec2Config, key: str) -> None:
    """``(channels, kernel, stride)`` triples of positive integers."""
    try:
        layers = parse_conv_layers(getattr(cfg, key))
    except (ValueError, SyntaxError) as e:
        raise field_error(cfg, key, str(e).removeprefix("conv_feature_layers: ")) from None
    if not layers:
        raise field_error(cfg, key, "no layers: give at least one (channels, kernel, stride)")
    bad = [t for t in layers if min(t) < 1]
    if bad:
        raise field_error(cfg, key, f"{bad[0]}: channels, kernel and stride must be >= 1")


def load_wav2vec2_config(name_or_path: str | Path, overrides: Iterable[str] = ()) -> Wav2Vec2Config:
    """A named config (``base``, ``large``, ``tiny``, ``small``, ``mid``, ``demo``, ``sew_tiny``,
    ``sew_d_tiny`` ... ``sew_d_base_plus``) or a YAML path, with dotted ``key=value`` overrides;
    fields missing from the file keep the BASE defaults."""
    path = Path(name_or_path)
    if not path.suffix:
        path = CONFIG_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        named = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))
        raise ConfigError(f"no model config {str(name_or_path)!r}; named configs: {', '.join(named)}")
    return load_config(Wav2Vec2Config, path, overrides)


@dataclass
class Wav2Vec2Output:
    x: Tensor  # (N, T, D) context representations C (all frames)
    padding_mask: Tensor | None  # (N, T) True at padding frames
    features: Tensor  # (N, T, C) normalised latents Z, unmasked: the quantizer input
    mask_indices: Tensor | None  # (N, T) True at masked time steps
    features_pen: Tensor  # () feature encoder output .pow(2).mean(), the L2 penalty of §4.2
    # filled by forward() only; M = number of target frames (masked frames)
    target_mask: Tensor | None = None  # (N, T) True at the M target frames, taken in row-major order
    predictions: Tensor | None = None  # (M, F) projected c_t (fairseq final_proj)
    targets: Tensor | None = None  # (M, F) quantized q_t
    codes: Tensor | None = None  # (M, G) codebook entry of each group behind q_t
    prob_perplexity: Tensor | None = None  # () feeds the diversity loss
    code_perplexity: Tensor | None = None  # () codebook usage of the hard choices
    num_vars: int | None = None  # G * V
    temperature: float | None = None  # current Gumbel tau


class Wav2Vec2Model(nn.Module):
    """wav2vec 2.0 with its pre-training heads: mask embedding, quantizer, final projection.

    Also SEW / SEW-D, built from other parts (``asrkit.models.factory``): the squeezed context network
    returns full-rate frames, so masking, targets and the contrastive task are unchanged (§3.1).

    Args:
        cfg: scalar options (dropouts, masking, negatives, kappa).
        feature_encoder: f, ``(N, L)`` -> ``(N, T, C)`` (waveform convolutions, or SEW's filter-bank encoder).
        feature_projection: LayerNorm + Linear(C, D) + dropout.
        encoder: g, the context network ``(N, T, D)`` -> ``(N, T, D)``: a ``TransformerEncoder`` or
            SEW's ``SqueezedContextNetwork``.
        quantizer: the Gumbel product quantizer including ``project_q``.
        final_proj: maps c_t to the size of q (fairseq ``final_proj``); None builds the linear one,
            SEW passes an MLP predictor head (§3.3).
    """

    def __init__(
        self,
        cfg: Wav2Vec2Config,
        feature_encoder: nn.Module,
        feature_projection: FeatureProjection,
        encoder: nn.Module,
        quantizer: GumbelVectorQuantizer,
        final_proj: nn.Module | None = None,
    ):
        super().__init__()
        self.cfg = cfg
        self.feature_encoder = feature_encoder
        self.feature_projection = feature_projection
        self.feature_dropout = nn.Dropout(cfg.dropout_features)
        self.mask_embedding = nn.Parameter(torch.empty(cfg.encoder_embed_dim).uniform_())
        self.encoder = encoder
        self.quantizer = quantizer
        self.final_proj = final_proj if final_proj is not None else nn.Linear(cfg.encoder_embed_dim, cfg.final_dim)

    @property
    def embed_dim(self) -> int:
        """D, the width of the context representations."""
        return self.cfg.encoder_embed_dim

    @property
    def min_samples(self) -> int:
        """The shortest input giving one frame: the feature encoder's receptive field."""
        return self.feature_encoder.receptive_field

    def output_lengths(self, num_samples: Tensor) -> Tensor:
        """Frames for ``(N,)`` sample counts."""
        return self.feature_encoder.output_lengths(num_samples)

    @property
    def downsample_rate(self) -> int:
        """Input samples per frame of the context representations (320 at 16 kHz: 20 ms)."""
        return self.feature_encoder.downsample_rate

    @property
    def num_layers(self) -> int:
        """Transformer blocks of the context network."""
        encoder = getattr(self.encoder, "transformer", self.encoder)  # SEW's squeezed network wraps its blocks
        return len(encoder.layers)

    def hidden_states(self, source: Tensor, padding_mask: Tensor | None = None) -> tuple[list[Tensor], Tensor | None]:
        """Waveform ``(N, L)`` with padding ``(N, L)`` -> the context network's L + 1 hidden states ``(N, T, D)``
        (its blocks' input, then every block's output; ``TransformerEncoder.hidden_states``) and the ``(N, T)``
        frame padding. No masking, every block run: what a frozen upstream gives SUPERB's weighted sum."""
        z, _ = self.feature_encoder(source, _sample_lengths(padding_mask))
        frame_padding = self.feature_padding_mask(padding_mask, z.size(1))
        x, _ = self.feature_projection(z)
        return self.encoder.hidden_states(x, frame_padding), frame_padding

    def set_num_updates(self, num_updates: int) -> None:
        """Anneal the Gumbel temperature; call once per optimizer update."""
        self.quantizer.set_num_updates(num_updates)

    def feature_padding_mask(self, padding_mask: Tensor | None, num_frames: int) -> Tensor | None:
        """Waveform padding mask ``(N, L)`` -> frame padding mask ``(N, T)`` (True at padding)."""
        if padding_mask is None:
            return None
        lengths = self.feature_encoder.output_lengths((~padding_mask).sum(dim=-1))
        return lengths_to_padding_mask(lengths, num_frames)

    def apply_mask(
        self,
        x: Tensor,
        padding_mask: Tensor | None,
        mask_indices: Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, Tensor | None]:
        """Replace masked time steps of ``(N, T, D)`` by the learned mask embedding (§3.1) and zero
        masked channel spans (fine-tuning). ``mask_indices`` given by the caller are used as is."""
        cfg = self.cfg
        n, t, d = x.shape
        rng = None
        if mask_indices is None and cfg.mask_prob > 0:
            rng = _numpy_rng(generator)
            mask_indices = compute_mask_indices(
                (n, t), padding_mask, cfg.mask_prob, cfg.mask_length, rng,
                min_masks=cfg.mask_min_masks, require_same_masks=cfg.require_same_masks,
            )  # fmt: skip
        if mask_indices is not None:
            mask_indices = mask_indices.to(x.device)
            x = torch.where(mask_indices.unsqueeze(-1), self.mask_embedding.to(x.dtype), x)
        if cfg.mask_channel_prob > 0:
            rng = rng or _numpy_rng(generator)
            channels = compute_mask_indices((n, d), None, cfg.mask_channel_prob, cfg.mask_channel_length, rng)
            x = x.masked_fill(channels.to(x.device).unsqueeze(1), 0.0)
        return x, mask_indices

    def extract_features(
        self,
        source: Tensor,
        padding_mask: Tensor | None = None,
        mask: bool = False,
        mask_indices: Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> Wav2Vec2Output:
        """Waveform ``(N, L)`` with padding mask ``(N, L)`` (True at padding) -> context representations.

        With ``mask`` the latents are span-masked first (§3.1), as in pre-training and fine-tuning.
        """
        lengths = _sample_lengths(padding_mask)  # what a front end normalising per utterance counts
        if self.cfg.feature_grad_mult > 0:
            z, _ = self.feature_encoder(source, lengths)
            z = scale_grad(z, self.cfg.feature_grad_mult)
        else:
            with torch.no_grad():
                z, _ = self.feature_encoder(source, lengths)
        features_pen = z.float().pow(2).mean()
        frame_padding = self.feature_padding_mask(padding_mask, z.size(1))
        x, features = self.feature_projection(z)
        features = self.feature_dropout(features)
        if mask:
            x, mask_indices = self.apply_mask(x, frame_padding, mask_indices, generator)
        else:
            mask_indices = None
        x = self.encoder(x, frame_padding)
        return Wav2Vec2Output(x, frame_padding, features, mask_indices, features_pen)

    def forward(
        self,
        source: Tensor,
        padding_mask: Tensor | None = None,
        mask: bool = True,
        mask_indices: Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> Wav2Vec2Output:
        """Pre-training forward pass: ``Wav2Vec2Output`` with what the contrastive objective needs.

        Targets are the masked frames (all valid frames when ``mask`` is False). Only they are
        quantized, so the perplexities describe them, as in fairseq. ``generator`` drives masking and
        Gumbel noise (default: torch's global RNG), and then the objective's distractor sampling;
        dropout and LayerDrop always use torch's global RNG.
        """
        out = self.extract_features(source, padding_mask, mask, mask_indices, generator)
        if out.mask_indices is not None:
            target_mask = out.mask_indices
        elif out.padding_mask is not None:
            target_mask = ~out.padding_mask
        else:
            target_mask = torch.ones(out.x.shape[:2], dtype=torch.bool, device=out.x.device)

        q = self.quantizer(out.features[target_mask].unsqueeze(0), generator=generator)
        out.target_mask = target_mask
        out.predictions = self.final_proj(out.x[target_mask])
        out.targets, out.codes = q.quantized.squeeze(0), q.indices.squeeze(0)
        out.prob_perplexity, out.code_perplexity = q.prob_perplexity, q.code_perplexity
        out.num_vars, out.temperature = q.num_vars, q.temperature
        return out


def _sample_lengths(padding_mask: Tensor | None) -> Tensor | None:
    """``(N, L)`` waveform padding mask -> ``(N,)`` valid samples (None without a mask)."""
    return None if padding_mask is None else (~padding_mask).sum(dim=-1)


def _numpy_rng(generator: torch.Generator | None) -> np.random.Generator:
    """A numpy generator seeded from ``generator`` (or torch's global RNG), so seeding torch suffices."""
    device = generator.device if generator is not None else "cpu"
    seed = int(torch.randint(2**62, (), generator=generator, device=device))
    return np.random.default_rng(seed)

