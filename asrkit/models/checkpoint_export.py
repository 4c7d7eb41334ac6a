"""Export asrkit wav2vec 2.0, SEW and SEW-D weights as ``transformers`` models: the inverse of
``asrkit.models.checkpoint_import``.

``to_hf`` builds the ``transformers`` model of ``hf_config_for(cfg)`` and fills every one of its
tensors from the asrkit state dict. The key maps are the importer's own ``{regex: replacement}``
tables (transformers key -> asrkit key), read the other way: each transformers key is renamed to the
asrkit key it comes from, so import and export cannot drift apart. Three tensors change layout on the
way (``_to_hf_layout``): the codebooks, ``(G, V, d/G)`` here, ``(1, G*V, d/G)`` there; SEW's up-sampling,
a transposed convolution here (``Upsample``), ``Linear(D, s*D)`` there. The positional convolution's
weight norm is a parametrization on both sides (``original0`` = g, ``original1`` = v), so it is copied.

What a transformers class has no place for is left out and said so (``HFModel.dropped``): the
pre-training heads of SEW / SEW-D (transformers has no SEW pre-training model) and of a wav2vec 2.0 with
SEW's MLP predictors; the mask embedding when masking is off (transformers then keeps none, and asrkit
does not use it); the feature projection transformers' SEW leaves out when the feature encoder is as wide
as the Transformer, provided it is the identity the importer put there. A model transformers cannot
compute exactly (filter-bank front end, pre-LN SEW, a learned projection where SEW has none) is a
``NotExportable`` saying what and why. Training options transformers has no field for (``feature_grad_mult``,
``require_same_masks``, ``codebook_negatives``) change no output and are not carried over.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from asrkit.models.checkpoint_import import HF_KEY_MAP, HF_SEW_D_KEY_MAP, HF_SEW_KEY_MAP, hf_config_for
from asrkit.models.wav2vec2 import Wav2Vec2Config


class NotExportable(ValueError):
    """A model (or checkpoint) that no ``transformers`` class computes exactly; the message says what and why."""


# (model_type, what is exported) -> transformers class. "encoder": the context representations only;
# "pretrain": with wav2vec 2.0's quantizer and projections; "ctc": with the CTC classifier (lm_head)
HF_CLASSES: dict[tuple[str, str], str] = {
    ("wav2vec2", "encoder"): "Wav2Vec2Model",
    ("wav2vec2", "pretrain"): "Wav2Vec2ForPreTraining",
    ("wav2vec2", "ctc"): "Wav2Vec2ForCTC",
    ("sew", "encoder"): "SEWModel",
    ("sew", "ctc"): "SEWForCTC",
    ("sew_d", "encoder"): "SEWDModel",
    ("sew_d", "ctc"): "SEWDForCTC",
}
# the encoder's attribute in the transformers models with heads (the importer strips the same prefixes)
HF_PREFIX = {"wav2vec2": "wav2vec2.", "sew": "sew.", "sew_d": "sew_d."}
HF_KEY_MAPS = {"wav2vec2": HF_KEY_MAP, "sew": HF_SEW_KEY_MAP, "sew_d": HF_SEW_D_KEY_MAP}
NAMES = {"wav2vec2": "wav2vec 2.0", "sew": "SEW", "sew_d": "SEW-D"}
PRETRAINING_HEADS = ("quantizer.", "final_proj.")
PROJECTION = "feature_projection.projection."


@dataclass(frozen=True)
class HFModel:
    model: nn.Module  # the transformers model, in eval mode
    dropped: tuple[str, ...]  # what of the asrkit weights it has no place for, and why


def check_exportable(cfg: Any) -> None:
    """A ``NotExportable`` naming the first option of ``cfg`` that transformers' classes cannot express."""
    if not isinstance(cfg, Wav2Vec2Config):
        raise NotExportable(f"model_type {getattr(cfg, 'model_type', type(cfg).__name__)!r} (the audio-visual "
                            "model's filter-bank Conformer encoder): transformers has no class for it")
    if cfg.feature_extractor != "waveform":
        raise NotExportable(f"{NAMES[cfg.model_type]} with the filter-bank front end (feature_extractor: "
                            f"{cfg.feature_extractor}): transformers' wav2vec 2.0 / SEW / SEW-D read raw waveforms "
                            "only")
    if cfg.model_type != "wav2vec2" and cfg.layer_norm_first:
        raise NotExportable(f"pre-LN {NAMES[cfg.model_type]} (layer_norm_first: true): transformers' SEW and "
                            "SEW-D have post-LN blocks only")


def _part(cfg: Wav2Vec2Config, weights: Mapping[str, Tensor], ctc: bool) -> tuple[str, str]:
    """What is exported (a key of ``HF_CLASSES``' second part) and, when the pre-training heads are left out,
    why."""
    if ctc:
        return "ctc", "a CTC model uses none"
    if cfg.model_type != "wav2vec2":
        return "encoder", f"transformers has no {NAMES[cfg.model_type]} pre-training model"
    if cfg.predictor_layers != 1:
        return "encoder", (f"{cfg.predictor_layers}-layer MLP predictors (SEW §3.3) where Wav2Vec2ForPreTraining's "
                           "project_hid / project_q are linear")
    if not any(k.startswith(PRETRAINING_HEADS) for k in weights):
        return "encoder", "the checkpoint has none"
    return "pretrain", ""


def hf_to_asrkit_key(hf_key: str, key_map: Mapping[str, str]) -> str | None:
    """The asrkit key the importer's ``key_map`` renames ``hf_key`` to (None: no entry)."""
    for pattern, repl in key_map.items():
        key, hits = re.subn(pattern, repl, hf_key)
        if hits:
            return key
    return None


def _to_hf_layout(key: str, value: Tensor) -> Tensor:
    """An asrkit tensor in the layout of the transformers tensor it becomes (the importer's reshapes, inverted)."""
    if key == "quantizer.codebooks":  # (G, V, d/G) -> (1, G*V, d/G)
        return value.reshape(1, -1, value.size(-1))
    # (D_in, D_out, s) -> the Linear's (s*D_out, D_in), row j*D_out + c, as Upsample.linear_weights
    if key == "encoder.upsample.weight":
        return value.permute(2, 1, 0).flatten(0, 1)
    if key == "encoder.upsample.bias":  # (D_out, s) -> (s*D_out,)
        return value.t().flatten()
    return value


def _is_identity(weights: Mapping[str, Tensor]) -> bool:
    weight, bias = weights[PROJECTION + "weight"], weights[PROJECTION + "bias"]
    return weight.size(0) == weight.size(1) and torch.equal(weight, torch.eye(len(weight), dtype=weight.dtype)) \
        and not bias.any()


def to_hf(cfg: Wav2Vec2Config, weights: Mapping[str, Tensor], classifier: Mapping[str, Tensor] | None = None,
          **config_values: Any) -> HFModel:
    """asrkit weights -> the ``transformers`` model holding them.

    Args:
        cfg: the model config (a checkpoint's ``model_config``).
        weights: a ``Wav2Vec2Model`` state dict (with or without its pre-training heads).
        classifier: the CTC classifier's ``{"weight", "bias"}`` (``Wav2Vec2ForCTC.classifier``), which becomes
            ``lm_head``; None exports the encoder, with wav2vec 2.0's pre-training heads where it has them.
        config_values: set on the transformers config (``vocab_size``, ``pad_token_id`` of a CTC model ...).
    """
    import transformers

    check_exportable(cfg)
    try:
        hf_config = hf_config_for(cfg)
    except ValueError as e:
        raise NotExportable(str(e)) from e
    for name, value in config_values.items():
        setattr(hf_config, name, value)
    part, heads_reason = _part(cfg, weights, classifier is not None)
    class_name = HF_CLASSES[cfg.model_type, part]
    model = getattr(transformers, class_name)(hf_config)
    prefix, key_map = HF_PREFIX[cfg.model_type], HF_KEY_MAPS[cfg.model_type]

    state, used = {}, set()
    for hf_key, target in model.state_dict().items():
        if hf_key.startswith("lm_head."):
            value = classifier[hf_key.removeprefix("lm_head.")]
        else:
            key = hf_to_asrkit_key(hf_key.removeprefix(prefix), key_map)
            if key is None or key not in weights:
                raise NotExportable(f"{class_name}'s {hf_key} has no counterpart in the checkpoint "
                                    f"({key or 'no key map entry'})")
            value = _to_hf_layout(key, weights[key])
            used.add(key)
        if value.shape != target.shape:
            raise NotExportable(f"{class_name}'s {hf_key} is {tuple(target.shape)}, the checkpoint's "
                                f"{tuple(value.shape)}")
        state[hf_key] = value.to(target.dtype).contiguous()
    model.load_state_dict(state, strict=True)
    return HFModel(model.eval(), _left_out(cfg, weights, used, class_name, heads_reason))


def _left_out(cfg: Wav2Vec2Config, weights: Mapping[str, Tensor], used: set[str], class_name: str,
              heads_reason: str) -> tuple[str, ...]:
    """What of ``weights`` the transformers model has no place for, and why; a ``NotExportable`` for what
    changes the model's outputs."""
    rest = set(weights) - used
    dropped = []
    heads = sorted({k.split(".")[0] for k in rest if k.startswith(PRETRAINING_HEADS)})
    if heads:
        dropped.append(f"pre-training heads ({', '.join(heads)}): {heads_reason}")
    if "mask_embedding" in rest:
        dropped.append("mask_embedding: masking is off (mask_prob and mask_channel_prob 0), so transformers keeps "
                       "none and asrkit uses none")
    if PROJECTION + "weight" in rest:
        if not _is_identity(weights):
            raise NotExportable(f"{NAMES[cfg.model_type]} with a learned feature projection from the feature "
                                f"encoder's {cfg.conv_layers[-1][0]} channels to the Transformer's "
                                f"{cfg.encoder_embed_dim}: transformers' {class_name} has none when the two are equal")
        dropped.append("feature_projection.projection: the identity, which transformers leaves out")
    other = sorted(k for k in rest if not k.startswith((*PRETRAINING_HEADS, PROJECTION)) and k != "mask_embedding")
    if other:
        raise NotExportable(f"weights with no place in transformers' {class_name}: {', '.join(other[:5])}")
    return tuple(dropped)
