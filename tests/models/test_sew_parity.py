"""Numerical parity of asrkit's SEW / SEW-D with ``transformers`` ``SEWModel`` / ``SEWDModel``.

Small randomly initialised ``transformers`` models, every parameter perturbed (LayerNorms at 1/0 and
zero biases would hide swapped norms or a mis-laid up-sampling bias), are imported and both run in
eval mode, fp32, on a zero-padded batch. Valid frames are compared (padded ones are don't-care on
both sides). The lengths give 119 (the longest: its last frame is an uncovered tail, zero on both
sides), 79 (odd: its last squeezed frame half covers padding) and 94 frames, so the squeezed padding
mask (ceil(L / s) frames per utterance, at most floor(T / s)) is exercised.
"""
from __future__ import annotations

import pytest
import torch
import transformers
from transformers import SEWDForCTC, SEWDModel, SEWModel  # import time, not test time

from asrkit.models.checkpoint_import import hf_config_for, import_hf, import_hf_sew, import_hf_sew_d
from asrkit.models import wav2vec2_model
from asrkit.models.fast import prepare_for_inference
from asrkit.testing.parity import padded_batch, perturbed

TOL = 1e-4
LENGTHS = (2400, 1600, 1900)  # samples -> 119, 79, 94 frames

CONV = dict(conv_dim=(16, 32, 32, 48, 48), conv_kernel=(10, 3, 1, 2, 1), conv_stride=(5, 2, 1, 2, 1))  # WFE-C-like


def _sew_config(conv_pos: int = 31, conv_dim=CONV["conv_dim"]) -> transformers.SEWConfig:
    return transformers.SEWConfig(
        hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128, squeeze_factor=2,
        **{**CONV, "conv_dim": conv_dim}, num_conv_pos_embeddings=conv_pos, num_conv_pos_embedding_groups=4,
        attn_implementation="eager",
    )  # fmt: skip


def _sew_d_config(**deberta) -> transformers.SEWDConfig:
    return transformers.SEWDConfig(
        hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128, squeeze_factor=2,
        **CONV, num_conv_pos_embeddings=31, num_conv_pos_embedding_groups=4,
        position_buckets=16, max_position_embeddings=40, **deberta,
    )  # fmt: skip


def _compare(hf: torch.nn.Module, importer, implementation: str = "reference") -> float:
    """Max abs difference of the last hidden states on valid frames, with asrkit's reference modules or with
    the fast ones of ``prepare_for_inference``."""
    cfg, sd = importer(hf)
    model = wav2vec2_model(cfg)
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not unexpected
    assert all(k.startswith(("quantizer.", "final_proj.")) for k in missing), missing
    model = prepare_for_inference(model) if implementation == "fast" else model.eval()
    wav, attention_mask = padded_batch(LENGTHS)
    with torch.no_grad():
        ref = hf(wav, attention_mask=attention_mask).last_hidden_state
        out = model.extract_features(wav, padding_mask=~attention_mask)
    valid = ~out.padding_mask
    assert valid.sum(1).tolist() == [119, 79, 94]
    assert out.x.shape == ref.shape
    return (out.x - ref)[valid].abs().max().item()


@pytest.mark.parametrize("implementation", ["reference", "fast"])
@pytest.mark.parametrize("conv_pos", [31, 16], ids=["odd_kernel", "even_kernel"])
def test_sew_last_hidden_state_matches_transformers(conv_pos, implementation):
    torch.manual_seed(0)
    hf = perturbed(SEWModel(_sew_config(conv_pos)))
    diff = _compare(hf, import_hf_sew, implementation)
    print(f"SEW (conv_pos {conv_pos}) max abs diff on valid frames: {diff:.2e}")
    assert diff <= TOL


@pytest.mark.parametrize(
    "deberta",
    [{}, {"share_att_key": False}, {"pos_att_type": ("c2p",), "norm_rel_ebd": "none"}],
    ids=["shared_keys_c2p_p2c", "own_position_projections", "c2p_only_no_rel_norm"],
)
@pytest.mark.parametrize("implementation", ["reference", "fast"])
def test_sew_d_last_hidden_state_matches_transformers(deberta, implementation):
    torch.manual_seed(0)
    hf = perturbed(SEWDModel(_sew_d_config(**deberta)))
    diff = _compare(hf, import_hf_sew_d, implementation)
    print(f"SEW-D ({deberta or 'defaults'}) max abs diff on valid frames: {diff:.2e}")
    assert diff <= TOL


def test_ctc_model_imports_its_encoder_and_identity_projection():
    """``SEWDForCTC`` keys carry a ``sew_d.`` prefix and an ``lm_head``; with conv_dim[-1] equal to the
    width transformers has no feature projection, and the importer supplies an identity."""
    torch.manual_seed(0)
    hf_cfg = _sew_d_config()
    hf_cfg.conv_dim, hf_cfg.vocab_size = CONV["conv_dim"][:-1] + (64,), 7
    hf = perturbed(SEWDForCTC(hf_cfg))
    cfg, sd = import_hf(hf)
    assert cfg.model_type == "sew_d" and torch.equal(sd["feature_projection.projection.weight"], torch.eye(64))
    model = wav2vec2_model(cfg)
    model.load_state_dict(sd, strict=False)
    model.eval()
    wav, attention_mask = padded_batch(LENGTHS)
    with torch.no_grad():
        ref = hf.sew_d(wav, attention_mask=attention_mask).last_hidden_state
        out = model.extract_features(wav, padding_mask=~attention_mask)
    assert (out.x - ref)[~out.padding_mask].abs().max() <= TOL


@pytest.mark.parametrize("arch", ["sew", "sew_d"])
def test_hf_config_for_round_trips(arch):
    hf_cfg = _sew_config() if arch == "sew" else _sew_d_config(share_att_key=False)
    cfg, _ = import_hf(SEWModel(hf_cfg) if arch == "sew" else SEWDModel(hf_cfg))
    back = hf_config_for(cfg)
    assert type(back) is type(hf_cfg)
    for name in ("hidden_size", "num_hidden_layers", "squeeze_factor", "conv_dim", "conv_kernel", "conv_stride",
                 "num_conv_pos_embeddings", "mask_time_prob"):
        assert list(getattr(back, name)) == list(getattr(hf_cfg, name)) if isinstance(getattr(back, name), (list, tuple)) \
            else getattr(back, name) == getattr(hf_cfg, name), name
    if arch == "sew_d":
        assert (back.position_buckets, back.max_position_embeddings, back.share_att_key) == (16, 40, False)
        assert set(back.pos_att_type) == {"c2p", "p2c"} and back.layer_norm_eps == hf_cfg.layer_norm_eps


def test_import_checkpoint_cli_routes_by_model_type(tmp_path):
    from click.testing import CliRunner

    from asrkit.checkpoint import load_encoder
    from asrkit.cli import cli

    torch.manual_seed(0)
    hf = perturbed(SEWDModel(_sew_d_config()))
    hf.save_pretrained(tmp_path / "hf")
    res = CliRunner().invoke(cli, ["import-checkpoint", "--from", "hf", str(tmp_path / "hf"), str(tmp_path / "o.pt")])
    assert res.exit_code == 0, res.output
    model, ckpt = load_encoder(tmp_path / "o.pt")
    x = torch.randn(2, 3000)
    with torch.no_grad():
        ref = hf(x).last_hidden_state
        ours = model.eval().extract_features(x).x
    assert ckpt.model_config.model_type == "sew_d" and (ours - ref).abs().max() < TOL


@pytest.mark.parametrize("name", ["tiny", "small", "mid", "base", "large", "sew_tiny", "sew_d_tiny", "sew_d_small",
                                  "sew_d_mid", "sew_d_base", "sew_d_base_plus"])
def test_hf_config_for_builds_the_same_model_in_transformers(name):
    """The benchmark's transformers counterpart of each Table 2 row has our parameters, less the
    pre-training heads (transformers' SEW / SEW-D have none) and the feature projection transformers
    leaves out when the encoder's width equals the Transformer's (asrkit always has it)."""
    from asrkit.models.wav2vec2 import load_wav2vec2_config

    cfg = load_wav2vec2_config(name)
    hf_cfg = hf_config_for(cfg)
    hf_model = {"wav2vec2": transformers.Wav2Vec2Model, "sew": SEWModel, "sew_d": SEWDModel}[cfg.model_type]
    with torch.device("meta"):
        ours, theirs = wav2vec2_model(cfg), hf_model(hf_cfg)
    counted = sum(p.numel() for n, p in ours.named_parameters() if not n.startswith(("quantizer.", "final_proj.")))
    proj = ours.feature_projection.projection
    if cfg.model_type != "wav2vec2" and proj.in_features == proj.out_features:
        counted -= proj.weight.numel() + proj.bias.numel()
    assert counted == sum(p.numel() for p in theirs.parameters())
