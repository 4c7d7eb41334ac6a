"""Import wav2vec 2.0 weights from fairseq checkpoints and Hugging Face ``transformers`` models,
and SEW / SEW-D weights from ``transformers`` (``SEWModel``, ``SEWDModel`` and their CTC models).

The importers return ``(Wav2Vec2Config, state_dict)`` for ``asrkit.models.wav2vec2``; load with
``model.load_state_dict(state_dict, strict=False)``: a model without pre-training heads (HF
``Wav2Vec2Model``, every HF SEW / SEW-D model, fairseq fine-tuned encoders) leaves the quantizer,
``final_proj`` and maybe ``mask_embedding`` at their initial values, which fine-tuning does not use.
The key maps are explicit ``{regex: replacement}`` tables, read top to bottom. ``hf_config_for`` goes
the other way: the ``transformers`` config of an asrkit config.
"""
from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from asrkit.models.sew_d import parse_pos_att_type
from asrkit.models.wav2vec2 import Wav2Vec2Config

POS_CONV = "encoder.pos_conv.conv"
LAYER = r"encoder.layers.\1"

# fairseq Wav2Vec2Model key -> asrkit key. Conv sub-module indices follow fairseq's nn.Sequential:
# (conv, dropout, norm, gelu), the LayerNorm wrapped as (TransposeLast, LayerNorm, TransposeLast).
FAIRSEQ_KEY_MAP: dict[str, str] = {
    r"^feature_extractor\.conv_layers\.(\d+)\.0\.(weight|bias)$": r"feature_encoder.conv_layers.\1.conv.\2",
    r"^feature_extractor\.conv_layers\.(\d+)\.2\.1\.(weight|bias)$": r"feature_encoder.conv_layers.\1.norm.\2",
    r"^feature_extractor\.conv_layers\.(\d+)\.2\.(weight|bias)$": r"feature_encoder.conv_layers.\1.norm.\2",
    r"^layer_norm\.(weight|bias)$": r"feature_projection.layer_norm.\1",
    r"^post_extract_proj\.(weight|bias)$": r"feature_projection.projection.\1",
    r"^mask_emb$": "mask_embedding",
    r"^encoder\.pos_conv\.0\.(weight_g|parametrizations\.weight\.original0)$": POS_CONV + ".parametrizations.weight.original0",
    r"^encoder\.pos_conv\.0\.(weight_v|parametrizations\.weight\.original1)$": POS_CONV + ".parametrizations.weight.original1",
    r"^encoder\.pos_conv\.0\.bias$": POS_CONV + ".bias",
    r"^encoder\.layer_norm\.(weight|bias)$": r"encoder.layer_norm.\1",
    r"^encoder\.layers\.(\d+)\.self_attn\.(q_proj|k_proj|v_proj|out_proj)\.(weight|bias)$": LAYER + r".attention.\2.\3",
    r"^encoder\.layers\.(\d+)\.self_attn_layer_norm\.(weight|bias)$": LAYER + r".attention_norm.\2",
    r"^encoder\.layers\.(\d+)\.fc1\.(weight|bias)$": LAYER + r".feed_forward.fc1.\2",
    r"^encoder\.layers\.(\d+)\.fc2\.(weight|bias)$": LAYER + r".feed_forward.fc2.\2",
    r"^encoder\.layers\.(\d+)\.final_layer_norm\.(weight|bias)$": LAYER + r".feed_forward_norm.\2",
    r"^quantizer\.vars$": "quantizer.codebooks",
    r"^quantizer\.weight_proj\.(weight|bias)$": r"quantizer.logits_proj.\1",
    r"^project_q\.(weight|bias)$": r"quantizer.output_proj.\1",
    r"^final_proj\.(weight|bias)$": r"final_proj.\1",
}

# transformers Wav2Vec2Model / Wav2Vec2ForPreTraining key (without the "wav2vec2." prefix) -> asrkit key.
HF_KEY_MAP: dict[str, str] = {
    r"^feature_extractor\.conv_layers\.(\d+)\.conv\.(weight|bias)$": r"feature_encoder.conv_layers.\1.conv.\2",
    r"^feature_extractor\.conv_layers\.(\d+)\.layer_norm\.(weight|bias)$": r"feature_encoder.conv_layers.\1.norm.\2",
    r"^feature_projection\.layer_norm\.(weight|bias)$": r"feature_projection.layer_norm.\1",
    r"^feature_projection\.projection\.(weight|bias)$": r"feature_projection.projection.\1",
    r"^masked_spec_embed$": "mask_embedding",
    r"^encoder\.pos_conv_embed\.conv\.(weight_g|parametrizations\.weight\.original0)$": POS_CONV + ".parametrizations.weight.original0",
    r"^encoder\.pos_conv_embed\.conv\.(weight_v|parametrizations\.weight\.original1)$": POS_CONV + ".parametrizations.weight.original1",
    r"^encoder\.pos_conv_embed\.conv\.bias$": POS_CONV + ".bias",
    r"^encoder\.layer_norm\.(weight|bias)$": r"encoder.layer_norm.\1",
    r"^encoder\.layers\.(\d+)\.attention\.(q_proj|k_proj|v_proj|out_proj)\.(weight|bias)$": LAYER + r".attention.\2.\3",
    r"^encoder\.layers\.(\d+)\.layer_norm\.(weight|bias)$": LAYER + r".attention_norm.\2",
    r"^encoder\.layers\.(\d+)\.feed_forward\.intermediate_dense\.(weight|bias)$": LAYER + r".feed_forward.fc1.\2",
    r"^encoder\.layers\.(\d+)\.feed_forward\.output_dense\.(weight|bias)$": LAYER + r".feed_forward.fc2.\2",
    r"^encoder\.layers\.(\d+)\.final_layer_norm\.(weight|bias)$": LAYER + r".feed_forward_norm.\2",
    r"^quantizer\.codevectors$": "quantizer.codebooks",
    r"^quantizer\.weight_proj\.(weight|bias)$": r"quantizer.logits_proj.\1",
    r"^project_q\.(weight|bias)$": r"quantizer.output_proj.\1",
    r"^project_hid\.(weight|bias)$": r"final_proj.\1",
}

_HF_FEATURES: dict[str, str] = {
    r"^feature_extractor\.conv_layers\.(\d+)\.conv\.(weight|bias)$": r"feature_encoder.conv_layers.\1.conv.\2",
    r"^feature_extractor\.conv_layers\.(\d+)\.layer_norm\.(weight|bias)$": r"feature_encoder.conv_layers.\1.norm.\2",
    r"^layer_norm\.(weight|bias)$": r"feature_projection.layer_norm.\1",
    r"^feature_projection\.(weight|bias)$": r"feature_projection.projection.\1",  # absent when conv_dim[-1] == hidden_size
    r"^masked_spec_embed$": "mask_embedding",
    r"^encoder\.pos_conv_embed\.conv\.(weight_g|parametrizations\.weight\.original0)$": POS_CONV + ".parametrizations.weight.original0",
    r"^encoder\.pos_conv_embed\.conv\.(weight_v|parametrizations\.weight\.original1)$": POS_CONV + ".parametrizations.weight.original1",
    r"^encoder\.pos_conv_embed\.conv\.bias$": POS_CONV + ".bias",
    # Linear(D, s*D); reshaped into the transposed convolution by _upsample_to_transposed_conv
    r"^encoder\.upsample\.projection\.(weight|bias)$": r"encoder.upsample.\1",
}
SQUEEZED = r"encoder.transformer.layers.\1"

# transformers SEWModel key (without the "sew." prefix of SEWForCTC) -> asrkit key (model_type sew).
HF_SEW_KEY_MAP: dict[str, str] = {
    **_HF_FEATURES,
    r"^encoder\.layer_norm\.(weight|bias)$": r"encoder.transformer.layer_norm.\1",
    r"^encoder\.layers\.(\d+)\.attention\.(q_proj|k_proj|v_proj|out_proj)\.(weight|bias)$": SQUEEZED + r".attention.\2.\3",
    r"^encoder\.layers\.(\d+)\.layer_norm\.(weight|bias)$": SQUEEZED + r".attention_norm.\2",
    r"^encoder\.layers\.(\d+)\.feed_forward\.intermediate_dense\.(weight|bias)$": SQUEEZED + r".feed_forward.fc1.\2",
    r"^encoder\.layers\.(\d+)\.feed_forward\.output_dense\.(weight|bias)$": SQUEEZED + r".feed_forward.fc2.\2",
    r"^encoder\.layers\.(\d+)\.final_layer_norm\.(weight|bias)$": SQUEEZED + r".feed_forward_norm.\2",
}

# transformers SEWDModel key (without the "sew_d." prefix of SEWDForCTC) -> asrkit key (model_type sew_d).
# DeBERTa names: attention.self.* are the projections, attention.output.* the output Linear and its
# LayerNorm, intermediate/output the FFN; encoder.encoder.LayerNorm normalises the relative embeddings.
DEBERTA = r"^encoder\.encoder\.layer\.(\d+)\."
HF_SEW_D_KEY_MAP: dict[str, str] = {
    **_HF_FEATURES,
    r"^encoder\.encoder\.rel_embeddings\.weight$": "encoder.transformer.rel_embeddings.weight",
    r"^encoder\.encoder\.LayerNorm\.(weight|bias)$": r"encoder.transformer.rel_norm.\1",
    DEBERTA + r"attention\.self\.query_proj\.(weight|bias)$": SQUEEZED + r".attention.q_proj.\2",
    DEBERTA + r"attention\.self\.key_proj\.(weight|bias)$": SQUEEZED + r".attention.k_proj.\2",
    DEBERTA + r"attention\.self\.value_proj\.(weight|bias)$": SQUEEZED + r".attention.v_proj.\2",
    DEBERTA + r"attention\.self\.pos_query_proj\.(weight|bias)$": SQUEEZED + r".attention.pos_q_proj.\2",
    DEBERTA + r"attention\.self\.pos_key_proj\.(weight|bias)$": SQUEEZED + r".attention.pos_k_proj.\2",
    DEBERTA + r"attention\.output\.dense\.(weight|bias)$": SQUEEZED + r".attention.out_proj.\2",
    DEBERTA + r"attention\.output\.LayerNorm\.(weight|bias)$": SQUEEZED + r".attention_norm.\2",
    DEBERTA + r"intermediate\.dense\.(weight|bias)$": SQUEEZED + r".feed_forward.fc1.\2",
    DEBERTA + r"output\.dense\.(weight|bias)$": SQUEEZED + r".feed_forward.fc2.\2",
    DEBERTA + r"output\.LayerNorm\.(weight|bias)$": SQUEEZED + r".feed_forward_norm.\2",
}

# Keys of fine-tuning heads, which have no counterpart here; any other unmapped key is an error.
FAIRSEQ_IGNORED = (r"^_float_tensor$", r"^w2v_encoder\.proj\.")
HF_IGNORED = (r"^lm_head\.", r"^projector\.", r"^classifier\.", r"^layer_weights$")

# Wav2Vec2Config field -> transformers.Wav2Vec2Config attribute of the same meaning.
HF_CONFIG_MAP: dict[str, str] = {
    "conv_bias": "conv_bias",
    "encoder_layers": "num_hidden_layers",
    "encoder_embed_dim": "hidden_size",
    "encoder_ffn_embed_dim": "intermediate_size",
    "encoder_attention_heads": "num_attention_heads",
    "layer_norm_first": "do_stable_layer_norm",
    "conv_pos": "num_conv_pos_embeddings",
    "conv_pos_groups": "num_conv_pos_embedding_groups",
    "dropout": "hidden_dropout",
    "attention_dropout": "attention_dropout",
    "activation_dropout": "activation_dropout",
    "encoder_layerdrop": "layerdrop",
    "dropout_input": "feat_proj_dropout",
    "dropout_features": "feat_quantizer_dropout",
    "latent_vars": "num_codevectors_per_group",
    "latent_groups": "num_codevector_groups",
    "latent_dim": "codevector_dim",
    "final_dim": "proj_codevector_dim",
    "mask_prob": "mask_time_prob",
    "mask_length": "mask_time_length",
    "mask_min_masks": "mask_time_min_masks",
    "mask_channel_prob": "mask_feature_prob",
    "mask_channel_length": "mask_feature_length",
    "num_negatives": "num_negatives",
    "logit_temp": "contrastive_logits_temperature",
}

# Wav2Vec2Config field -> transformers.SEWConfig / SEWDConfig attribute of the same meaning. transformers
# has no pre-training heads for SEW / SEW-D: quantizer and predictor options have no counterpart.
HF_SEW_CONFIG_MAP: dict[str, str] = {
    "conv_bias": "conv_bias",
    "encoder_layers": "num_hidden_layers",
    "encoder_embed_dim": "hidden_size",
    "encoder_ffn_embed_dim": "intermediate_size",
    "encoder_attention_heads": "num_attention_heads",
    "conv_pos": "num_conv_pos_embeddings",
    "conv_pos_groups": "num_conv_pos_embedding_groups",
    "squeeze_factor": "squeeze_factor",
    "dropout": "hidden_dropout",  # SEW: the Transformer's dropout; SEW-D: unused (as in asapp)
    "attention_dropout": "attention_dropout",
    "activation_dropout": "activation_dropout",  # SEW-D: DeBERTa hidden_dropout_prob (asapp, transformers)
    "dropout_input": "feat_proj_dropout",
    "mask_prob": "mask_time_prob",
    "mask_length": "mask_time_length",
    "mask_min_masks": "mask_time_min_masks",
    "mask_channel_prob": "mask_feature_prob",
    "mask_channel_length": "mask_feature_length",
}
HF_SEW_D_CONFIG_MAP: dict[str, str] = {
    **HF_SEW_CONFIG_MAP,
    "position_buckets": "position_buckets",
    "share_att_key": "share_att_key",
    "deberta_layer_norm_eps": "layer_norm_eps",
}

_FAIRSEQ_EXTRACTOR_MODE = {"default": "group_norm", "layer_norm": "layer_norm"}


def rename_state_dict(
    state_dict: Mapping[str, Tensor], key_map: Mapping[str, str], ignored: tuple[str, ...] = ()
) -> dict[str, Tensor]:
    """Apply the first matching ``{regex: replacement}``; unknown keys that are not ``ignored`` are errors."""
    out, unknown = {}, []
    for key, value in state_dict.items():
        for pattern, repl in key_map.items():
            new_key, hits = re.subn(pattern, repl, key)
            if hits:
                out[new_key] = value
                break
        else:
            if not any(re.search(p, key) for p in ignored):
                unknown.append(key)
    if unknown:
        raise KeyError(f"no mapping for checkpoint keys: {unknown[:10]}{' ...' if len(unknown) > 10 else ''}")
    return out


def _reshape_codebooks(state_dict: dict[str, Tensor], cfg: Wav2Vec2Config) -> None:
    """fairseq/HF store codebooks as ``(1, G*V, d/G)``; asrkit as ``(G, V, d/G)``."""
    if "quantizer.codebooks" in state_dict:
        state_dict["quantizer.codebooks"] = state_dict["quantizer.codebooks"].reshape(
            cfg.latent_groups, cfg.latent_vars, -1
        )


def _identity_projection(state_dict: dict[str, Tensor], cfg: Wav2Vec2Config) -> None:
    """fairseq has no ``post_extract_proj`` when the encoder channels equal the model width."""
    if "feature_projection.projection.weight" not in state_dict:
        dim = cfg.encoder_embed_dim
        state_dict["feature_projection.projection.weight"] = torch.eye(dim)
        state_dict["feature_projection.projection.bias"] = torch.zeros(dim)


def hf_config_to_asrkit(hf_config: Any) -> Wav2Vec2Config:
    """Translate a ``transformers.Wav2Vec2Config`` to ``Wav2Vec2Config``.

    Masking options come from the HF config as they are (``mask_time_prob`` defaults to 0.05 there,
    SpecAugment for fine-tuning); set ``mask_prob=0.65`` to continue pre-training.
    """
    c = hf_config
    if c.feat_extract_activation != "gelu" or c.hidden_act != "gelu":
        raise ValueError("only GELU wav2vec 2.0 models are supported")
    if getattr(c, "add_adapter", False) or getattr(c, "conv_pos_batch_norm", False):
        raise ValueError("adapters and batch-norm positional convolutions are not supported")
    layers = " + ".join(f"[({d}, {k}, {s})]" for d, k, s in zip(c.conv_dim, c.conv_kernel, c.conv_stride))
    values = {ours: getattr(c, theirs) for ours, theirs in HF_CONFIG_MAP.items()}
    values.update(
        extractor_mode={"group": "group_norm", "layer": "layer_norm"}[c.feat_extract_norm],
        conv_feature_layers=layers,
        feature_grad_mult=1.0,  # transformers has no such option
    )
    return Wav2Vec2Config.from_dict(values)


def _hf_state_dict(
    hf_model_or_state_dict: torch.nn.Module | Mapping[str, Tensor], hf_config: Any, prefix: str
) -> tuple[dict[str, Tensor], Any]:
    """A transformers model (or state dict plus config) -> (state dict without ``prefix``, config)."""
    if isinstance(hf_model_or_state_dict, torch.nn.Module):
        hf_config = hf_config or hf_model_or_state_dict.config
        state_dict = hf_model_or_state_dict.state_dict()
    else:
        state_dict = dict(hf_model_or_state_dict)
    if hf_config is None:
        raise ValueError("a state dict needs its transformers config")
    return {k.removeprefix(prefix): v for k, v in state_dict.items()}, hf_config


def import_hf_wav2vec2(
    hf_model_or_state_dict: torch.nn.Module | Mapping[str, Tensor], hf_config: Any = None
) -> tuple[Wav2Vec2Config, dict[str, Tensor]]:
    """``transformers`` ``Wav2Vec2Model`` / ``Wav2Vec2ForPreTraining`` (or its state dict plus config)
    -> ``(Wav2Vec2Config, state_dict)``. Fine-tuning heads (``lm_head`` ...) are dropped."""
    state_dict, hf_config = _hf_state_dict(hf_model_or_state_dict, hf_config, "wav2vec2.")
    cfg = hf_config_to_asrkit(hf_config)
    out = rename_state_dict(state_dict, HF_KEY_MAP, HF_IGNORED)
    _reshape_codebooks(out, cfg)
    return cfg, out


def _hf_sew_common(c: Any) -> dict[str, Any]:
    """The options transformers' SEW and SEW-D configs share, as ``Wav2Vec2Config`` values."""
    if getattr(c, "feat_extract_activation", "gelu") != "gelu" or c.hidden_act not in ("gelu", "gelu_python"):
        raise ValueError("only GELU SEW / SEW-D models are supported")
    layers = " + ".join(f"[({d}, {k}, {s})]" for d, k, s in zip(c.conv_dim, c.conv_kernel, c.conv_stride))
    return dict(
        extractor_mode={"group": "group_norm", "layer": "layer_norm"}[c.feat_extract_norm],
        conv_feature_layers=layers,
        feature_grad_mult=1.0,  # transformers has no such option
        encoder_layerdrop=getattr(c, "layerdrop", 0.0),  # SEWDConfig has none; the conversion script sets it
        predictor_layers=2,  # transformers keeps no pre-training heads; SEW pre-trains with MLP heads (§3.3)
    )


def hf_sew_config_to_asrkit(hf_config: Any) -> Wav2Vec2Config:
    """Translate a ``transformers.SEWConfig`` (model_type ``sew``) to ``Wav2Vec2Config`` (model_type ``sew``)."""
    c = hf_config
    if getattr(c, "layer_norm_eps", 1e-5) != 1e-5:
        raise ValueError(f"SEW layer_norm_eps {c.layer_norm_eps}: asrkit's wav2vec 2.0 blocks use 1e-5")
    values = {ours: getattr(c, theirs) for ours, theirs in HF_SEW_CONFIG_MAP.items()}
    return Wav2Vec2Config.from_dict({**values, **_hf_sew_common(c), "model_type": "sew"})


def hf_sew_d_config_to_asrkit(hf_config: Any) -> Wav2Vec2Config:
    """Translate a ``transformers.SEWDConfig`` (model_type ``sew-d``) to ``Wav2Vec2Config`` (model_type ``sew_d``)."""
    c = hf_config
    if not getattr(c, "relative_attention", True):
        raise ValueError("SEW-D without relative attention is not supported")
    if getattr(c, "feature_layer_norm_eps", 1e-5) != 1e-5:
        raise ValueError(f"SEW-D feature_layer_norm_eps {c.feature_layer_norm_eps}: asrkit's feature LayerNorm uses 1e-5")
    max_relative = getattr(c, "max_relative_positions", -1)  # DeBERTa: < 1 means max_position_embeddings
    pos_att_type = c.pos_att_type.split("|") if isinstance(c.pos_att_type, str) else list(c.pos_att_type)
    values = {ours: getattr(c, theirs) for ours, theirs in HF_SEW_D_CONFIG_MAP.items()}
    values.update(
        _hf_sew_common(c),
        model_type="sew_d",
        max_relative_positions=max_relative if max_relative >= 1 else c.max_position_embeddings,
        pos_att_type="|".join(parse_pos_att_type(pos_att_type)),
        norm_rel_ebd="layer_norm" in [t.strip() for t in c.norm_rel_ebd.lower().split("|")],
    )
    return Wav2Vec2Config.from_dict(values)


def _upsample_to_transposed_conv(state_dict: dict[str, Tensor], cfg: Wav2Vec2Config) -> None:
    """``Linear(D, s*D)`` weight ``(s*D, D)`` and bias ``(s*D)``, row j*D + c giving channel c of
    output frame t*s + j -> ``Upsample``'s transposed-convolution weight ``(D_in, D_out, s)`` and bias ``(D_out, s)``."""
    s = cfg.squeeze_factor
    if "encoder.upsample.weight" in state_dict:
        w = state_dict["encoder.upsample.weight"]
        state_dict["encoder.upsample.weight"] = w.view(s, -1, w.size(1)).permute(2, 1, 0).contiguous()
        state_dict["encoder.upsample.bias"] = state_dict["encoder.upsample.bias"].view(s, -1).t().contiguous()


def _import_hf_squeezed(hf_model_or_state_dict, hf_config, prefix, to_config, key_map):
    state_dict, hf_config = _hf_state_dict(hf_model_or_state_dict, hf_config, prefix)
    cfg = to_config(hf_config)
    out = rename_state_dict(state_dict, key_map, HF_IGNORED)
    _upsample_to_transposed_conv(out, cfg)
    _identity_projection(out, cfg)
    return cfg, out


def import_hf_sew(
    hf_model_or_state_dict: torch.nn.Module | Mapping[str, Tensor], hf_config: Any = None
) -> tuple[Wav2Vec2Config, dict[str, Tensor]]:
    """``transformers`` ``SEWModel`` / ``SEWForCTC`` (or its state dict plus config) -> ``(Wav2Vec2Config,
    state_dict)`` of model_type ``sew``; the up-sampling Linear becomes the transposed convolution of §3.1."""
    return _import_hf_squeezed(hf_model_or_state_dict, hf_config, "sew.", hf_sew_config_to_asrkit, HF_SEW_KEY_MAP)


def import_hf_sew_d(
    hf_model_or_state_dict: torch.nn.Module | Mapping[str, Tensor], hf_config: Any = None
) -> tuple[Wav2Vec2Config, dict[str, Tensor]]:
    """``transformers`` ``SEWDModel`` / ``SEWDForCTC`` (or its state dict plus config) -> ``(Wav2Vec2Config,
    state_dict)`` of model_type ``sew_d``."""
    return _import_hf_squeezed(hf_model_or_state_dict, hf_config, "sew_d.", hf_sew_d_config_to_asrkit,
                               HF_SEW_D_KEY_MAP)


HF_IMPORTERS = {"wav2vec2": import_hf_wav2vec2, "sew": import_hf_sew, "sew-d": import_hf_sew_d}


def import_hf(
    hf_model_or_state_dict: torch.nn.Module | Mapping[str, Tensor], hf_config: Any = None
) -> tuple[Wav2Vec2Config, dict[str, Tensor]]:
    """Any supported ``transformers`` model, routed by its config's ``model_type`` (``wav2vec2``, ``sew``, ``sew-d``)."""
    config = hf_config or getattr(hf_model_or_state_dict, "config", None)
    model_type = getattr(config, "model_type", "wav2vec2")
    if model_type not in HF_IMPORTERS:
        raise ValueError(f"transformers model_type {model_type!r} is not supported; use one of {sorted(HF_IMPORTERS)}")
    return HF_IMPORTERS[model_type](hf_model_or_state_dict, hf_config)


def hf_config_for(cfg: Wav2Vec2Config):
    """The ``transformers`` config of the same architecture: ``Wav2Vec2Config`` (model_type ``wav2vec2``),
    ``SEWConfig`` (``sew``) or ``SEWDConfig`` (``sew_d``). transformers has no SEW / SEW-D pre-training
    model, so their quantizer and predictor options have no counterpart there."""
    import transformers

    if cfg.feature_extractor != "waveform":
        raise ValueError("transformers has no filter-bank front end (feature_extractor: fbank)")
    layers = cfg.conv_layers
    common = dict(
        conv_dim=[c for c, _, _ in layers], conv_kernel=[k for _, k, _ in layers], conv_stride=[s for _, _, s in layers],
        feat_extract_norm="group" if cfg.extractor_mode == "group_norm" else "layer", feat_extract_activation="gelu",
    )  # fmt: skip
    if cfg.model_type == "wav2vec2":
        values = {theirs: getattr(cfg, ours) for ours, theirs in HF_CONFIG_MAP.items()}
        values["codevector_dim"] = cfg.codevector_dim
        return transformers.Wav2Vec2Config(
            **values, **common, max_gumbel_temperature=cfg.latent_temp[0], min_gumbel_temperature=cfg.latent_temp[1],
            gumbel_temperature_decay=cfg.latent_temp[2],
        )  # fmt: skip
    if cfg.layer_norm_first:
        raise ValueError("transformers' SEW and SEW-D have post-LN blocks only (layer_norm_first: false)")
    if cfg.model_type == "sew":
        values = {theirs: getattr(cfg, ours) for ours, theirs in HF_SEW_CONFIG_MAP.items()}
        return transformers.SEWConfig(**values, **common, layerdrop=cfg.encoder_layerdrop, hidden_act="gelu")
    values = {theirs: getattr(cfg, ours) for ours, theirs in HF_SEW_D_CONFIG_MAP.items()}
    return transformers.SEWDConfig(
        **values, **common, hidden_act="gelu", relative_attention=True,
        max_position_embeddings=cfg.max_relative_positions, pos_att_type=parse_pos_att_type(cfg.pos_att_type),
        norm_rel_ebd="layer_norm" if cfg.norm_rel_ebd else "none",
    )  # fmt: skip


def _fairseq_model_cfg(checkpoint: Mapping[str, Any]) -> dict[str, Any]:
    """The model options of a fairseq checkpoint (hydra ``cfg`` or legacy ``args``), unwrapping fine-tuned ones."""
    if checkpoint.get("cfg") is not None:
        model_cfg = checkpoint["cfg"]["model"]
    elif checkpoint.get("args") is not None:
        model_cfg = vars(checkpoint["args"])
    else:
        raise KeyError("fairseq checkpoint has neither 'cfg' nor 'args'")
    model_cfg = dict(model_cfg)
    w2v_args = model_cfg.get("w2v_args")
    if w2v_args is not None:  # fine-tuned (Wav2VecCtc): the encoder's own config is nested
        inner = w2v_args["model"] if "model" in w2v_args else vars(w2v_args)
        model_cfg = dict(inner)
    return model_cfg


def fairseq_config_to_asrkit(model_cfg: Mapping[str, Any]) -> Wav2Vec2Config:
    """Translate fairseq ``Wav2Vec2Config`` options; the field names agree, missing ones take fairseq defaults."""
    fairseq_defaults = {
        "extractor_mode": "default", "conv_bias": False, "feature_grad_mult": 1.0, "encoder_layerdrop": 0.0,
        "dropout_input": 0.0, "dropout_features": 0.0, "final_dim": 0, "layer_norm_first": False,
        "latent_temp": (2.0, 0.5, 0.999995), "encoder_attention_heads": 12,
    }  # fmt: skip
    values = {**fairseq_defaults, **{k: v for k, v in model_cfg.items() if v is not None}}
    names = {f.name for f in dataclasses.fields(Wav2Vec2Config)}
    values = {k: v for k, v in values.items() if k in names}
    values["extractor_mode"] = _FAIRSEQ_EXTRACTOR_MODE[values["extractor_mode"]]
    if isinstance(values["latent_temp"], str):
        values["latent_temp"] = ast.literal_eval(values["latent_temp"])
    if not values["final_dim"]:
        values["final_dim"] = values.get("encoder_embed_dim", Wav2Vec2Config.encoder_embed_dim)
    return Wav2Vec2Config.from_dict(values)


def import_fairseq_wav2vec2(checkpoint: Mapping[str, Any]) -> tuple[Wav2Vec2Config, dict[str, Tensor]]:
    """A loaded fairseq checkpoint (``torch.load(path)``: ``{"cfg" | "args", "model"}``) ->
    ``(Wav2Vec2Config, state_dict)``. Fine-tuned checkpoints give their encoder (``w2v_encoder.w2v_model.*``)."""
    cfg = fairseq_config_to_asrkit(_fairseq_model_cfg(checkpoint))
    state_dict = {k.removeprefix("w2v_encoder.w2v_model."): v for k, v in checkpoint["model"].items()}
    out = rename_state_dict(state_dict, FAIRSEQ_KEY_MAP, FAIRSEQ_IGNORED)
    _reshape_codebooks(out, cfg)
    _identity_projection(out, cfg)
    return cfg, out


def load_hf_directory(path) -> tuple[Wav2Vec2Config, dict[str, Tensor]]:
    """A ``save_pretrained`` directory (``config.json`` + ``model.safetensors`` or
    ``pytorch_model.bin``) of a wav2vec 2.0, SEW or SEW-D model (``model_type``), read from disk
    only: no hub, no ``transformers`` needed."""
    import json
    import types
    from pathlib import Path

    path = Path(path)
    config_file = path / "config.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"{path}: no config.json; expected a transformers save_pretrained directory")
    try:
        values = json.loads(config_file.read_text())
    except (UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"{config_file}: not valid JSON ({e}); save the model again with save_pretrained") from e
    if not isinstance(values, dict):
        raise ValueError(f"{config_file}: holds a JSON {type(values).__name__}, not the object of a transformers "
                         "config; save the model again with save_pretrained")
    hf_config = types.SimpleNamespace(**values)
    weights = path / "model.safetensors"
    if weights.is_file():
        try:
            from safetensors.torch import load_file
        except ImportError as e:
            raise RuntimeError(f"{weights}: reading it needs `pip install safetensors`") from e
        load = lambda: load_file(str(weights))  # noqa: E731
    elif (weights := path / "pytorch_model.bin").is_file():  # weights_only: a pickled callable is refused, not run
        load = lambda: torch.load(weights, map_location="cpu", weights_only=True)  # noqa: E731
    else:
        raise FileNotFoundError(f"{path}: neither model.safetensors nor pytorch_model.bin")
    try:
        state_dict = load()
    except Exception as e:  # noqa: BLE001 - safetensors and torch raise their own kinds for a bad file
        raise ValueError(f"{weights}: cannot read the weights: the file is corrupt, or holds Python objects that "
                         f"could run code when unpickled ({type(e).__name__}); save the model again with "
                         "save_pretrained(safe_serialization=True)") from e
    if not isinstance(state_dict, Mapping) or not all(isinstance(v, Tensor) for v in state_dict.values()):
        raise ValueError(f"{weights}: not a state dict of tensors; save the model again with save_pretrained")
    return import_hf(state_dict, hf_config)
