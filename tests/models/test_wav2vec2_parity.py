"""Numerical parity of asrkit's wav2vec 2.0 with ``transformers`` (and, through renamed keys, fairseq).

A small randomly initialised ``transformers`` model is imported into asrkit and both run in
eval mode, fp32, on a zero-padded batch with an attention mask.

Padding: both implementations zero padded frames before the positional convolution and mask
padded keys in attention, so valid frames agree. Padded frames are don't-care (their queries
still attend to valid keys, and neither side defines their value), so only valid frames are
compared. For group-norm models (BASE, ``feat_extract_norm="group"``) the first encoder block's
GroupNorm takes its statistics over the whole padded waveform, in fairseq, HF and here alike:
valid frames depend on how much padding follows (HF therefore advises not passing an
attention mask to those models and batching unpadded audio). Parity holds because both sides
see the same padded batch; padding invariance is tested for layer-norm models only.
"""
from __future__ import annotations

import pytest
import torch
import transformers

from asrkit.models.checkpoint_import import import_fairseq_wav2vec2, import_hf_wav2vec2
from asrkit.models import wav2vec2_model
from asrkit.models.fast import prepare_for_inference
from asrkit.testing.parity import padded_batch, perturbed

TOL = 1e-4
LENGTHS = (2400, 1500)  # samples; the second utterance is padded


def _hf_config(stable: bool) -> transformers.Wav2Vec2Config:
    return transformers.Wav2Vec2Config(
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        conv_dim=(32, 32, 32),
        conv_kernel=(10, 3, 2),
        conv_stride=(5, 2, 2),
        conv_bias=stable,
        feat_extract_norm="layer" if stable else "group",
        do_stable_layer_norm=stable,
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4,
        num_codevectors_per_group=8,
        num_codevector_groups=2,
        codevector_dim=16,
        proj_codevector_dim=12,
        mask_time_prob=0.05,
        attn_implementation="eager",  # reference path independent of SDPA
    )


def _asrkit_from(cfg, state_dict):
    model = wav2vec2_model(cfg)
    missing, unexpected = model.load_state_dict(state_dict, strict=False)
    assert not unexpected
    return model.eval(), missing


def _valid_max_diff(a: torch.Tensor, b: torch.Tensor, valid: torch.Tensor) -> float:
    return (a - b)[valid].abs().max().item()


@pytest.mark.parametrize("implementation", ["reference", "fast"])
@pytest.mark.parametrize("stable", [False, True], ids=["group_norm_post_ln", "layer_norm_pre_ln"])
def test_last_hidden_state_matches_transformers(stable, implementation):
    """asrkit's reference modules, and the fast ones of ``prepare_for_inference``, against transformers."""
    torch.manual_seed(0)
    hf = perturbed(transformers.Wav2Vec2Model(_hf_config(stable)))
    cfg, sd = import_hf_wav2vec2(hf)
    assert cfg.extractor_mode == ("layer_norm" if stable else "group_norm") and cfg.layer_norm_first == stable
    model, missing = _asrkit_from(cfg, sd)
    if implementation == "fast":
        model = prepare_for_inference(model)
    assert all(k.startswith(("quantizer.", "final_proj.")) for k in missing), missing

    wav, attention_mask = padded_batch(LENGTHS)
    with torch.no_grad():
        ref = hf(wav, attention_mask=attention_mask)
        out = model.extract_features(wav, padding_mask=~attention_mask)
    valid = ~out.padding_mask
    assert valid.sum(1).tolist() == hf._get_feat_extract_output_lengths(torch.tensor(LENGTHS)).tolist()
    diff = _valid_max_diff(out.x, ref.last_hidden_state, valid)
    print(f"max abs diff last hidden state ({'layer' if stable else 'group'}): {diff:.2e}")
    assert diff <= TOL
    # the quantizer input (normalised latents) agrees on every frame, padding included
    assert torch.allclose(out.features, ref.extract_features, atol=TOL)


@pytest.mark.parametrize("stable", [False, True], ids=["group_norm_post_ln", "layer_norm_pre_ln"])
def test_pretraining_heads_match_transformers(stable):
    torch.manual_seed(0)
    hf = perturbed(transformers.Wav2Vec2ForPreTraining(_hf_config(stable)))
    cfg, sd = import_hf_wav2vec2(hf)
    model, missing = _asrkit_from(cfg, sd)
    assert missing == []

    wav, attention_mask = padded_batch(LENGTHS)
    with torch.no_grad():
        ref = hf(wav, attention_mask=attention_mask)  # eval: no masking, argmax quantization
        out = model.extract_features(wav, padding_mask=~attention_mask)
        q = model.quantizer(out.features)
        predictions = model.final_proj(out.x)
        hf_codevectors, _ = hf.quantizer(hf.wav2vec2(wav, attention_mask=attention_mask).extract_features)
    valid = ~out.padding_mask
    print(
        "max abs diff quantized / projected states:",
        f"{(q.quantized - ref.projected_quantized_states).abs().max().item():.2e}",
        f"{_valid_max_diff(predictions, ref.projected_states, valid):.2e}",
    )
    assert torch.allclose(q.codevectors, hf_codevectors, atol=TOL)
    assert torch.allclose(q.quantized, ref.projected_quantized_states, atol=TOL)
    assert _valid_max_diff(predictions, ref.projected_states, valid) <= TOL
    # HF's eval-mode perplexity is fairseq's code perplexity (hard choices over all frames)
    assert torch.allclose(q.code_perplexity, ref.codevector_perplexity, atol=1e-3)


def _fairseq_checkpoint(hf: transformers.Wav2Vec2ForPreTraining) -> dict:
    """Rename an HF model into a fairseq ``Wav2Vec2Model`` checkpoint, following the naming of
    ``transformers``' fairseq conversion script (written independently of asrkit's key map)."""
    c = hf.config
    layer_norm = c.feat_extract_norm == "layer"
    renames = [
        ("wav2vec2.feature_projection.projection", "post_extract_proj"),
        ("wav2vec2.feature_projection.layer_norm", "layer_norm"),
        ("wav2vec2.masked_spec_embed", "mask_emb"),
        ("wav2vec2.encoder.pos_conv_embed.conv.parametrizations.weight.original0", "encoder.pos_conv.0.weight_g"),
        ("wav2vec2.encoder.pos_conv_embed.conv.parametrizations.weight.original1", "encoder.pos_conv.0.weight_v"),
        ("wav2vec2.encoder.pos_conv_embed.conv", "encoder.pos_conv.0"),
        ("wav2vec2.encoder.", "encoder."),
        (".attention.", ".self_attn."),
        (".feed_forward.intermediate_dense", ".fc1"),
        (".feed_forward.output_dense", ".fc2"),
        ("quantizer.codevectors", "quantizer.vars"),
        ("project_hid", "final_proj"),
    ]
    model = {}
    for key, value in hf.state_dict().items():
        if key.startswith("wav2vec2.feature_extractor.conv_layers."):
            i, kind, what = key.split(".")[3:6]
            norm = "2.1" if layer_norm else "2"
            key = f"feature_extractor.conv_layers.{i}.{'0' if kind == 'conv' else norm}.{what}"
        elif ".layer_norm." in key and "encoder.layers." in key:
            key = key.replace("wav2vec2.", "").replace(".layer_norm.", ".self_attn_layer_norm.")
        for old, new in renames:
            key = key.replace(old, new)
        model[key] = value
    conv = " + ".join(f"[({d}, {k}, {s})]" for d, k, s in zip(c.conv_dim, c.conv_kernel, c.conv_stride))
    model_cfg = {
        "_name": "wav2vec2", "extractor_mode": "layer_norm" if layer_norm else "default",
        "conv_feature_layers": conv, "conv_bias": c.conv_bias, "encoder_layers": c.num_hidden_layers,
        "encoder_embed_dim": c.hidden_size, "encoder_ffn_embed_dim": c.intermediate_size,
        "encoder_attention_heads": c.num_attention_heads, "layer_norm_first": c.do_stable_layer_norm,
        "conv_pos": c.num_conv_pos_embeddings, "conv_pos_groups": c.num_conv_pos_embedding_groups,
        "latent_vars": c.num_codevectors_per_group, "latent_groups": c.num_codevector_groups,
        "latent_dim": c.codevector_dim, "final_dim": c.proj_codevector_dim, "quantize_targets": True,
        "latent_temp": "(2.0, 0.5, 0.999995)", "mask_selection": "static", "activation_fn": "gelu",
    }  # fmt: skip
    return {"cfg": {"model": model_cfg}, "model": model}


@pytest.mark.parametrize("stable", [False, True], ids=["group_norm_post_ln", "layer_norm_pre_ln"])
def test_fairseq_checkpoint_import_matches_transformers(stable):
    torch.manual_seed(0)
    hf = perturbed(transformers.Wav2Vec2ForPreTraining(_hf_config(stable)))
    cfg, sd = import_fairseq_wav2vec2(_fairseq_checkpoint(hf))
    assert cfg.latent_temp == (2.0, 0.5, 0.999995) and cfg.final_dim == 12
    model = wav2vec2_model(cfg)
    model.load_state_dict(sd, strict=True)
    model.eval()
    wav, attention_mask = padded_batch(LENGTHS)
    with torch.no_grad():
        ref = hf(wav, attention_mask=attention_mask)
        out = model.extract_features(wav, padding_mask=~attention_mask)
        q = model.quantizer(out.features)
    assert _valid_max_diff(model.final_proj(out.x), ref.projected_states, ~out.padding_mask) <= TOL
    assert torch.allclose(q.quantized, ref.projected_quantized_states, atol=TOL)


def test_fairseq_import_rejects_unknown_keys():
    hf = transformers.Wav2Vec2ForPreTraining(_hf_config(False))
    ckpt = _fairseq_checkpoint(hf)
    ckpt["model"]["encoder.layers.0.mystery.weight"] = torch.zeros(1)
    with pytest.raises(KeyError, match="mystery"):
        import_fairseq_wav2vec2(ckpt)


def test_hf_state_dict_import_needs_config():
    hf = transformers.Wav2Vec2Model(_hf_config(True))
    with pytest.raises(ValueError, match="config"):
        import_hf_wav2vec2(hf.state_dict())
    cfg, sd = import_hf_wav2vec2(hf.state_dict(), hf.config)
    assert cfg.encoder_layers == 2 and "encoder.layers.1.feed_forward.fc2.weight" in sd
