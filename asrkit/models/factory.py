"""The architectures asrkit builds, by name: ``ARCHS`` maps a config's ``model_type`` to its builder.

wav2vec 2.0 (Baevski et al., 2020), SEW and SEW-D (Wu et al., 2021) are one pre-training model,
``Wav2Vec2Model``, with other parts: the front end (``feature_extractor``: raw-waveform convolutions or
SEW's filter banks), the context network (``model_type``: wav2vec 2.0's Transformer, or SEW's squeezed one
around multi-head or disentangled attention blocks) and the heads (``predictor_layers``: a linear layer or
SEW's MLP). The base model receives them built; this module composes them, so ``wav2vec2.py`` never imports
the models that extend it.

The audio-visual model of multi-stage multi-modal pre-training (Jain et al., 2024, ``model_type: av``) is
composed here too: ``conformer_encoder`` (the audio encoder later stages keep), ``video_encoder``, the shared
decoder and the CLR projections, built from an ``AVConfig`` by ``av_model``.

Registering an architecture is one entry in ``ARCHS``: its name and a function building the model from its
config. ``wav2vec2_model`` builds whichever ``model_type`` a config names. ``MODEL_CONFIGS`` gives each
``model_type`` its config class, and ``model_config_from_dict`` rebuilds either kind of config (a checkpoint's).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from torch import nn

from asrkit.models.av import AudioVisualModel, AVConfig, SharedDecoder, load_av_config
from asrkit.models.components import FeatureProjection, feature_encoder, parse_conv_layers, transformer_encoder
from asrkit.models.conformer import ConformerEncoder, FbankMasking, conformer
from asrkit.models.heads import CTCModel, Wav2Vec2ForCTC
from asrkit.models.quantizer import GumbelVectorQuantizer
from asrkit.models.sew import fbank_feature_encoder, predictor_head, squeezed_context_network
from asrkit.models.sew_d import disentangled_transformer
from asrkit.models.transformer_lm import TransformerLMConfig
from asrkit.models.vit import VideoEncoder, init_vit_params, vit_block
from asrkit.models.vit import video_encoder as vision_transformer
from asrkit.models.wav2vec2 import Wav2Vec2Config, Wav2Vec2Model, load_wav2vec2_config


def _transformer(cfg: Wav2Vec2Config, conv_pos: int) -> nn.Module:
    """wav2vec 2.0's Transformer (§2); SEW passes ``conv_pos = 0``, its positional convolution being in the squeeze."""
    return transformer_encoder(
        cfg.encoder_embed_dim, cfg.encoder_layers, cfg.encoder_attention_heads, cfg.encoder_ffn_embed_dim,
        conv_pos=conv_pos, conv_pos_groups=cfg.conv_pos_groups, dropout=cfg.dropout,
        attention_dropout=cfg.attention_dropout, activation_dropout=cfg.activation_dropout,
        layer_norm_first=cfg.layer_norm_first, layerdrop=cfg.encoder_layerdrop,
    )


def _squeezed(cfg: Wav2Vec2Config, transformer: nn.Module) -> nn.Module:
    """SEW's squeezed context network (§3.1) around ``transformer``."""
    return squeezed_context_network(transformer, cfg.encoder_embed_dim, cfg.squeeze_factor, cfg.conv_pos,
                                    cfg.conv_pos_groups)


def wav2vec2_context_network(cfg: Wav2Vec2Config) -> nn.Module:
    """g of wav2vec 2.0 (§2): the Transformer with its convolutional positional embedding."""
    return _transformer(cfg, cfg.conv_pos)


def sew_context_network(cfg: Wav2Vec2Config) -> nn.Module:
    """g of SEW (§3.1): the wav2vec 2.0 Transformer, squeezed."""
    return _squeezed(cfg, _transformer(cfg, conv_pos=0))


def sew_d_context_network(cfg: Wav2Vec2Config) -> nn.Module:
    """g of SEW-D (§3.4): disentangled-attention blocks, squeezed."""
    # asapp feeds fairseq activation_dropout to DeBERTa's hidden_dropout_prob (block outputs, relative
    # embeddings); fairseq dropout has no place in this encoder (transformers alike)
    transformer = disentangled_transformer(
        cfg.encoder_embed_dim, cfg.encoder_layers, cfg.encoder_attention_heads, cfg.encoder_ffn_embed_dim,
        position_buckets=cfg.position_buckets, max_relative_positions=cfg.max_relative_positions,
        pos_att_type=cfg.pos_att_type, share_att_key=cfg.share_att_key, norm_rel_ebd=cfg.norm_rel_ebd,
        attention_dropout=cfg.attention_dropout, hidden_dropout=cfg.activation_dropout,
        layer_norm_eps=cfg.deberta_layer_norm_eps, layerdrop=cfg.encoder_layerdrop,
    )
    return _squeezed(cfg, transformer)


def pretraining_model(cfg: Wav2Vec2Config, context_network: Callable[[Wav2Vec2Config], nn.Module]) -> Wav2Vec2Model:
    """``Wav2Vec2Model`` with ``cfg``'s front end, quantizer and heads around ``context_network(cfg)``.

    The parts are built in a fixed order (front end, quantizer, projection, context network, head, mask
    embedding): each draws its initial weights from torch's RNG, so the order decides the weights of a seed.
    """
    if cfg.feature_extractor == "fbank":  # FBFE projects to the Transformer width (asapp conv_flatten_dim)
        encoder_dim = cfg.encoder_embed_dim
        features = fbank_feature_encoder(encoder_dim, parse_conv_layers(cfg.fbank_conv_layers), cfg.fbank_dim,
                                         cfg.sample_rate, cfg.fbank_norm)
    else:
        conv_layers = cfg.conv_layers
        encoder_dim = conv_layers[-1][0]
        features = feature_encoder(conv_layers, cfg.extractor_mode, cfg.conv_bias)
    heads = dict(num_layers=cfg.predictor_layers, hidden_dim=cfg.predictor_hidden_dim)
    quantizer = GumbelVectorQuantizer(
        encoder_dim,
        cfg.latent_groups,
        cfg.latent_vars,
        cfg.codevector_dim,
        cfg.final_dim,
        cfg.latent_temp,
        output_proj=predictor_head(cfg.codevector_dim, cfg.final_dim, **heads),
    )
    return Wav2Vec2Model(
        cfg,
        features,
        FeatureProjection(encoder_dim, cfg.encoder_embed_dim, cfg.dropout_input),
        context_network(cfg),
        quantizer,
        predictor_head(cfg.encoder_embed_dim, cfg.final_dim, **heads),
    )


def _wav2vec2(cfg: Wav2Vec2Config) -> Wav2Vec2Model:
    return pretraining_model(cfg, wav2vec2_context_network)


def _sew(cfg: Wav2Vec2Config) -> Wav2Vec2Model:
    return pretraining_model(cfg, sew_context_network)


def _sew_d(cfg: Wav2Vec2Config) -> Wav2Vec2Model:
    return pretraining_model(cfg, sew_d_context_network)


def conformer_encoder(cfg: AVConfig) -> ConformerEncoder:
    """The audio encoder of ``cfg`` (§3.4 of Jain et al.): fbank front end, 4x sub-sampling, Conformer."""
    masking = FbankMasking(cfg.mask_prob, cfg.mask_length, cfg.mask_channel_prob, cfg.mask_channel_length)
    return conformer(
        cfg.encoder_embed_dim, cfg.encoder_layers, cfg.encoder_attention_heads, cfg.encoder_ffn_embed_dim,
        cfg.conv_kernel_size, conv_norm=cfg.conv_norm, dropout=cfg.dropout, attention_dropout=cfg.attention_dropout,
        num_mel_bins=cfg.fbank_dim, sample_rate=cfg.sample_rate, feature_norm=cfg.feature_norm,
        max_frames=cfg.max_frames, masking=masking,
    )


def video_encoder(cfg: AVConfig) -> VideoEncoder:
    """The video ViT of ``cfg`` (§3.4): tubelets (MAE) or one token per frame (CLR)."""
    return vision_transformer(
        cfg.video_embed_dim, cfg.video_layers, cfg.video_attention_heads, cfg.video_mlp_dim,
        (cfg.video_patch_time, cfg.video_patch_size, cfg.video_patch_size), video_tokens=cfg.video_tokens,
        pos_embed=cfg.video_pos_embed, input_size=(cfg.num_frames, cfg.image_size, cfg.image_size),
    )


def shared_decoder(cfg: AVConfig) -> SharedDecoder:
    """The MAE decoder shared by both modalities (§3.4: ViT, 512 wide, 4 blocks)."""
    d = cfg.decoder_embed_dim
    blocks = [vit_block(d, cfg.decoder_attention_heads, cfg.decoder_mlp_dim) for _ in range(cfg.decoder_layers)]
    video = cfg.use_video
    decoder = SharedDecoder(
        nn.Linear(cfg.encoder_embed_dim, d), nn.Linear(cfg.video_embed_dim, d) if video else None, blocks, d,
        nn.Linear(d, cfg.audio_patch_dim), nn.Linear(d, cfg.video_patch_dim) if video else None, cfg.decoder_mode,
    )
    for module in (decoder.audio_embed, decoder.video_embed, decoder.blocks, decoder.audio_head, decoder.video_head):
        if module is not None:
            module.apply(init_vit_params)
    return decoder


def _av(cfg: AVConfig) -> AudioVisualModel:
    """Built in a fixed order (audio encoder, video encoder, decoder, projections), so a seed fixes the weights."""
    audio = conformer_encoder(cfg)
    video = video_encoder(cfg) if cfg.use_video else None
    decoder = shared_decoder(cfg)
    audio_proj = nn.Linear(cfg.encoder_embed_dim, cfg.clr_dim)
    video_proj = nn.Linear(cfg.video_embed_dim, cfg.clr_dim) if cfg.use_video else None
    return AudioVisualModel(cfg, audio, video, decoder, audio_proj, video_proj)


ARCHS: dict[str, Callable[[Any], nn.Module]] = {
    "wav2vec2": _wav2vec2,  # Baevski et al., 2020
    "sew": _sew,  # Wu et al., 2021, §3.1-§3.3
    "sew_d": _sew_d,  # Wu et al., 2021, §3.4
    "av": _av,  # Jain et al., 2024, §3.4: Conformer + ViT encoders, shared MAE decoder, CLR projections
}

# the config class of every model_type, so that a checkpoint can hold either kind of config
MODEL_CONFIGS: dict[str, type] = {
    "wav2vec2": Wav2Vec2Config,
    "sew": Wav2Vec2Config,
    "sew_d": Wav2Vec2Config,
    "av": AVConfig,
    "transformer_lm": TransformerLMConfig,  # the LM of beam search (wav2vec 2.0 §4.4), no encoder
}


def model_config_from_dict(values: Mapping[str, Any]) -> Wav2Vec2Config | AVConfig:
    """The config of ``values["model_type"]`` (wav2vec 2.0's family when absent, as older checkpoints hold),
    type-checked; unknown keys are errors."""
    model_type = values.get("model_type", "wav2vec2")
    if model_type not in MODEL_CONFIGS:
        raise ValueError(f"unknown model_type {model_type!r}; known: {', '.join(MODEL_CONFIGS)}")
    return MODEL_CONFIGS[model_type].from_dict(values)


def load_model_config(name_or_path: str, overrides=()) -> Wav2Vec2Config | AVConfig:
    """A named model config (any of ``asrkit/conf/model``) or a YAML path, of whichever ``model_type`` it names."""
    import yaml

    from asrkit.models.wav2vec2 import CONFIG_DIR

    path = Path(name_or_path)
    if not path.suffix:
        path = CONFIG_DIR / f"{name_or_path}.yaml"
    try:
        model_type = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("model_type", "wav2vec2")
    except (OSError, yaml.YAMLError, AttributeError, UnicodeDecodeError):
        model_type = "wav2vec2"  # the loader says what is wrong with the file
    if MODEL_CONFIGS.get(model_type) is AVConfig:
        return load_av_config(name_or_path, overrides)
    return load_wav2vec2_config(name_or_path, overrides)


def build_model(cfg: Wav2Vec2Config | AVConfig) -> nn.Module:
    """A randomly initialised pre-training model of any ``model_type`` (``ARCHS``)."""
    return ARCHS[cfg.model_type](cfg)


def encoder_model(cfg: Wav2Vec2Config | AVConfig) -> nn.Module:
    """The encoder that fine-tuning builds on: the ``Wav2Vec2Model`` (with its pre-training heads) of the
    wav2vec 2.0 family, the Conformer audio encoder of the AV model (the part that later stages keep, §3.4)."""
    return conformer_encoder(cfg) if isinstance(cfg, AVConfig) else wav2vec2_model(cfg)


# where a pre-training model keeps its encoder (the part fine-tuning takes), by model config class
ENCODER_PREFIX: dict[type, str] = {Wav2Vec2Config: "", AVConfig: "audio_encoder."}


def ctc_model(encoder: nn.Module, cfg: Wav2Vec2Config | AVConfig, vocab_size: int, **options: Any) -> CTCModel:
    """The CTC model over ``encoder`` (of ``encoder_model(cfg)``); ``options``: ``CTCModel``'s."""
    if isinstance(encoder, Wav2Vec2Model):
        return Wav2Vec2ForCTC(encoder, vocab_size, **options)
    return CTCModel(encoder, cfg, vocab_size, **options)


def _config(cfg: Wav2Vec2Config | str) -> Wav2Vec2Config:
    return cfg if isinstance(cfg, Wav2Vec2Config) else load_wav2vec2_config(cfg)


def wav2vec2_model(cfg: Wav2Vec2Config | str = "base") -> Wav2Vec2Model:
    """A randomly initialised model of ``cfg.model_type`` (any entry of ``ARCHS``) from a config or a named config."""
    cfg = _config(cfg)
    return ARCHS[cfg.model_type](cfg)


def _checked(cfg: Wav2Vec2Config | str, model_type: str) -> Wav2Vec2Config:
    cfg = _config(cfg)
    if cfg.model_type != model_type:
        raise ValueError(f"config has model_type {cfg.model_type!r}, not {model_type!r}")
    return cfg


def sew_model(cfg: Wav2Vec2Config | str = "sew_tiny") -> Wav2Vec2Model:
    """SEW (Wu et al., 2021, §3.1-§3.3): squeezed context network with multi-head attention."""
    return _sew(_checked(cfg, "sew"))


def sew_d_model(cfg: Wav2Vec2Config | str = "sew_d_tiny") -> Wav2Vec2Model:
    """SEW-D (Wu et al., 2021, §3): SEW with disentangled attention; Table 2 configs ``sew_d_tiny`` ...
    ``sew_d_base_plus``."""
    return _sew_d(_checked(cfg, "sew_d"))


def av_model(cfg: AVConfig | str = "av_tiny") -> AudioVisualModel:
    """The audio-visual pre-training model (Jain et al., 2024) from an ``AVConfig`` or a named one
    (``av_tiny``, ``av_audio_tiny``, ``av_paper``)."""
    cfg = cfg if isinstance(cfg, AVConfig) else load_av_config(cfg)
    return _av(cfg)


def wav2vec2_base() -> Wav2Vec2Model:
    """BASE (§4.2): 12 x 768, FFN 3072, GroupNorm feature encoder, post-LN."""
    return wav2vec2_model("base")


def wav2vec2_large() -> Wav2Vec2Model:
    """LARGE (§4.2): 24 x 1024, FFN 4096, 16 heads, LayerNorm feature encoder, pre-LN."""
    return wav2vec2_model("large")
