"""SEW / SEW-D pieces: WFE-C specs, squeezing with odd frame counts, the transposed-convolution
up-sampling, BatchNorm in fp32 under autocast, relative-position buckets, disentangled scores against a
direct formula, short and zero-length inputs and batch-vs-single consistency (reference and fast modules),
FBFE, configs and sizes. The fast SEW-D attention: ``tests/models/fast/test_disentangled.py``."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
import transformers

from asrkit.config import ConfigError
from asrkit.models import ARCHS, Wav2Vec2Config, load_wav2vec2_config, sew_d_model, sew_model, wav2vec2_model
from asrkit.models.components import ConvolutionalPositionalEmbedding, parse_conv_layers, transformer_encoder
from asrkit.models.heads import Wav2Vec2ForCTC
from asrkit.models.sew import (
    Fp32BatchNorm1d,
    MLPPredictor,
    SqueezedContextNetwork,
    Upsample,
    fbank_feature_encoder,
    wfe_c_layers,
)
from asrkit.models.fast import prepare_for_inference
from asrkit.models.sew_d import DisentangledSelfAttention, disentangled_transformer, relative_position_index

MICRO = dict(
    conv_feature_layers="[(16, 10, 5)] + [(32, 3, 2), (32, 1, 1)] + [(32, 2, 2)]", encoder_layers=2,
    encoder_embed_dim=32, encoder_ffn_embed_dim=64, encoder_attention_heads=4, conv_pos=7, conv_pos_groups=4,
    latent_vars=8, final_dim=16, num_negatives=5, squeeze_factor=2, predictor_layers=2, predictor_hidden_dim=24,
    position_buckets=8, max_relative_positions=16,
)  # fmt: skip


def _micro(model_type: str = "sew_d", **changes) -> Wav2Vec2Config:
    return Wav2Vec2Config.from_dict({**MICRO, "model_type": model_type, **changes})


def test_wfe_c_layers_are_transformers_default_and_the_papers_progression():
    hf = transformers.SEWDConfig()
    assert parse_conv_layers(wfe_c_layers(64)) == list(zip(hf.conv_dim, hf.conv_kernel, hf.conv_stride))
    plain = parse_conv_layers(wfe_c_layers(48, pointwise=False, first_kernel=7))  # the paper's text
    assert [c for c, _, _ in plain] == [48, 96, 96, 192, 192, 384, 384]
    assert [k for _, k, _ in plain] == [7, 3, 3, 3, 3, 2, 2] and [s for _, _, s in plain] == [5, 2, 2, 2, 2, 2, 2]
    eleven = parse_conv_layers(wfe_c_layers(128))
    assert len(eleven) == 13 and [k for _, k, _ in eleven] == [10, 3, 1, 3, 1, 3, 1, 3, 1, 2, 1, 2, 1]
    assert load_wav2vec2_config("sew_d_tiny").conv_feature_layers == wfe_c_layers(64)
    assert load_wav2vec2_config("sew_d_base_plus").conv_feature_layers == wfe_c_layers(96)


def _squeezer(d: int = 8, s: int = 2) -> SqueezedContextNetwork:
    pos_conv = ConvolutionalPositionalEmbedding(d, 5, 2, stride=s)
    transformer = transformer_encoder(d, 1, 2, 16, conv_pos=0, dropout=0.0, attention_dropout=0.0)
    return SqueezedContextNetwork(pos_conv, transformer, Upsample(d, s), s).eval()


@pytest.mark.parametrize("num_frames", [7, 8])
def test_squeezing_odd_and_even_frame_counts(num_frames):
    net = _squeezer()
    x = torch.randn(3, num_frames, 8)
    lengths = torch.tensor([num_frames, 5, 0])
    padding = torch.arange(num_frames)[None] >= lengths[:, None]
    # a squeezed frame is padding when both its frames are: ceil(L / 2) frames, at most floor(T / 2)
    assert (~net.squeeze_padding_mask(padding)).sum(1).tolist() == [num_frames // 2, 3, 0]
    with torch.no_grad():
        y = net(x, padding)
    assert y.shape == x.shape and torch.isfinite(y).all()
    assert (y[:, num_frames // 2 * 2 :] == 0).all()  # an odd T leaves one uncovered tail frame (HF, asapp)
    assert (y[0, : num_frames // 2 * 2] != 0).any()


def test_fewer_frames_than_the_squeeze_factor_give_zeros():
    y = _squeezer()(torch.randn(2, 1, 8), torch.tensor([[False], [True]]))
    assert y.shape == (2, 1, 8) and (y == 0).all()


def test_upsample_is_a_transposed_convolution_with_per_tap_bias():
    up = Upsample(6, 3)
    with torch.no_grad():
        up.bias.normal_()
    x = torch.randn(2, 5, 6)
    ref = F.conv_transpose1d(x.transpose(1, 2), up.weight, stride=3)  # (N, D, 15)
    ref = ref + up.bias.repeat(1, 5)  # bias of output frame t*s + j is bias[:, j]
    assert torch.allclose(up(x), F.gelu(ref).transpose(1, 2), atol=1e-6)


def test_batchnorm_stays_fp32_under_bf16_autocast():
    torch.manual_seed(0)
    bn = Fp32BatchNorm1d(16)
    x = (torch.randn(300, 16) * 50 + 1000).bfloat16()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = bn(x)
    ref = F.batch_norm(x.float(), None, None, bn.weight, bn.bias, training=True, eps=bn.eps)
    assert y.dtype == torch.bfloat16 and bn.running_mean.dtype == torch.float32
    assert torch.allclose(y.float(), ref.bfloat16().float())
    assert torch.allclose(bn.running_mean, 0.1 * x.float().mean(0))
    # statistics taken in bf16 itself would be off: its mean of ~1000 has 3 significant digits
    bf16_centred = x - x.mean(0)
    assert (bf16_centred.float() - (x.float() - x.float().mean(0))).abs().max() > 1.0

    mlp = MLPPredictor(16, 8, hidden_dim=32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = mlp(torch.randn(2, 50, 16))
    assert out.shape == (2, 50, 8) and torch.isfinite(out.float()).all()
    assert mlp.net[1].running_var.dtype == torch.float32


def _direct_bucket(delta: int, buckets: int, max_rel: int) -> int:
    mid = buckets // 2
    if abs(delta) <= mid:
        return delta
    far = mid + math.ceil(math.log(abs(delta) / mid) / math.log((max_rel - 1) / mid) * (mid - 1))
    return far if delta > 0 else -far


@pytest.mark.parametrize("buckets, max_rel", [(256, 512), (16, 40), (8, 16), (0, 12)])
def test_relative_position_index_matches_direct_formula(buckets, max_rel):
    t = 700 if buckets == 256 else 60
    index = relative_position_index(t, buckets, max_rel)
    span = buckets if buckets > 0 else max_rel
    for i in range(0, t, 7):
        for j in range(0, t, 5):
            rel = _direct_bucket(i - j, buckets, max_rel) if buckets > 0 else i - j
            assert index[i, j] == min(max(rel + span, 0), 2 * span - 1), (i, j)
    if buckets > 0:  # offsets up to m - 1 use b - 1 buckets on each side of 0
        assert index.max() == 2 * span - 1 if t >= max_rel else index.max() < 2 * span - 1


def test_disentangled_scores_follow_the_three_term_formula():
    """A_ij = (q_i.k_j + q_i.K^r[d(i,j)] + k_j.Q^r[d(i,j)]) / sqrt(3 d), written out per (i, j)."""
    torch.manual_seed(0)
    att = DisentangledSelfAttention(8, 2, ("c2p", "p2c"), share_att_key=False).eval()
    n, t, h, dh = 2, 6, 2, 4
    x, rel = torch.randn(n, t, 8), torch.randn(8, 8)  # 2k = 8 table rows
    index = relative_position_index(t, 4, 6)
    padding = torch.tensor([[False] * 6, [False] * 4 + [True] * 2])
    q = att.q_proj(x).view(n, t, h, dh)
    k = att.k_proj(x).view(n, t, h, dh)
    v = att.v_proj(x).view(n, t, h, dh)
    pos_k, pos_q = att.pos_k_proj(rel).view(8, h, dh), att.pos_q_proj(rel).view(8, h, dh)
    scores = torch.empty(n, h, t, t)
    for i in range(t):
        for j in range(t):
            r = index[i, j]
            scores[:, :, i, j] = (q[:, i] * k[:, j]).sum(-1) + (q[:, i] * pos_k[r]).sum(-1) + (k[:, j] * pos_q[r]).sum(-1)
    scores = (scores / math.sqrt(3 * dh)).masked_fill(padding[:, None, None, :], float("-inf"))
    ref = torch.einsum("nhij,njhd->nihd", scores.softmax(-1), v).reshape(n, t, 8)
    with torch.no_grad():
        assert torch.allclose(att(x, padding, rel, index), att.out_proj(ref), atol=1e-5)


def _built(cfg: Wav2Vec2Config, implementation: str) -> torch.nn.Module:
    model = wav2vec2_model(cfg).eval()
    return prepare_for_inference(model) if implementation == "fast" else model


@pytest.mark.parametrize("implementation", ["reference", "fast"])
@pytest.mark.parametrize("arch", ["sew", "sew_d"])
def test_batch_matches_single_utterances(arch, implementation):
    """Layer-norm feature encoder (GroupNorm statistics span the padded waveform) and even frame counts
    (an odd-length utterance alone ends in an uncovered zero frame, see SqueezedContextNetwork)."""
    torch.manual_seed(0)
    model = _built(_micro(arch, extractor_mode="layer_norm"), implementation)
    lengths = [4000, 3060, 2420]  # 199 frames (the longest: its tail frame is zero alone and in the batch), 152, 120
    wav = torch.randn(len(lengths), max(lengths))
    padding = torch.arange(max(lengths))[None] >= torch.tensor(lengths)[:, None]
    with torch.no_grad():
        batch = model.extract_features(wav * ~padding, padding)
        for b, n in enumerate(lengths):
            single = model.extract_features(wav[b : b + 1, :n]).x[0]
            valid = int((~batch.padding_mask[b]).sum())
            assert valid == single.size(0)
            assert torch.allclose(batch.x[b, :valid], single, atol=1e-5), (arch, n)


@pytest.mark.parametrize("implementation", ["reference", "fast"])
def test_zero_length_utterances_and_short_inputs(implementation):
    torch.manual_seed(0)
    model = _built(_micro(), implementation)
    wav = torch.randn(2, 1200)
    padding = torch.zeros(2, 1200, dtype=torch.bool)
    padding[1] = True  # a zero-length utterance in the batch
    with torch.no_grad():
        out = model.extract_features(wav, padding)
        assert torch.isfinite(out.x).all() and out.padding_mask[1].all()
        one_frame = model.extract_features(torch.randn(1, 30))  # one frame: nothing to squeeze
    assert one_frame.x.shape == (1, 1, 32) and (one_frame.x == 0).all()
    with pytest.raises(ValueError, match="receptive field"):
        model.extract_features(torch.randn(1, 29))
    fbank = wav2vec2_model(_micro(feature_extractor="fbank", fbank_conv_layers="[(4, 3, 1), (4, 3, 2)]"))
    with pytest.raises(ValueError, match="receptive field"):
        fbank.extract_features(torch.randn(1, 700))


def test_fbank_encoder_frames_and_padding():
    from torchaudio.compliance import kaldi

    torch.manual_seed(0)
    enc = fbank_feature_encoder(12, [(4, 3, 1), (4, 3, 2)]).eval()
    assert enc.projection.in_features == 4 * 38  # 80 bins -> 78 -> 38
    wav = torch.randn(2, 8000) * 0.1
    wav[1, 5000:] = 0
    with torch.no_grad():
        feats = enc.filter_banks(wav[:1])
        y, lengths = enc(wav, torch.tensor([8000, 5000]))
        alone, _ = enc(wav[1:, :5000])
    ref = kaldi.fbank(wav[:1] * 32768, num_mel_bins=80, sample_frequency=16000, dither=0.0)
    assert torch.allclose(feats[0], ref, atol=1e-4)
    assert lengths.tolist() == [y.size(1), alone.size(1)] == [22, 13]  # 48 -> 46 -> 22 and 29 -> 27 -> 13 frames
    assert torch.allclose(y[1, :13], alone[0], atol=1e-5)  # valid frames never see the padding


def test_fbank_encoder_normalises_each_utterance_over_its_valid_frames():
    """fbank_norm utterance: each bin zero mean, unit variance over the utterance's frames; the valid frames of a
    padded utterance come out as they do alone (the padding's frames are not counted), through the whole model too."""
    torch.manual_seed(0)
    enc = fbank_feature_encoder(12, [(4, 3, 1), (4, 3, 2)], feature_norm="utterance").eval()
    wav = torch.randn(2, 8000) * 0.1
    wav[1, 5000:] = 0
    with torch.no_grad():
        y, lengths = enc(wav, torch.tensor([8000, 5000]))
        alone, _ = enc(wav[1:, :5000])
        plain, _ = fbank_feature_encoder(12, [(4, 3, 1), (4, 3, 2)]).eval()(wav[1:, :5000])
    assert lengths.tolist() == [22, 13] and torch.allclose(y[1, :13], alone[0], atol=1e-5)
    assert not torch.allclose(alone, plain, atol=1e-2)
    captured = []
    enc.convs[0].register_forward_hook(lambda m, inputs, out: captured.append(inputs[0]))
    with torch.no_grad():
        enc(wav[:1])
    bins = captured[0][0, 0]  # (T, F): the normalised filter banks
    assert torch.allclose(bins.mean(dim=0), torch.zeros(80), atol=1e-4)
    assert torch.allclose(bins.std(dim=0, unbiased=False), torch.ones(80), atol=1e-3)
    with pytest.raises(ValueError, match="feature_norm"):
        fbank_feature_encoder(12, feature_norm="global")
    cfg = _micro("sew", feature_extractor="fbank", fbank_conv_layers="[(4, 3, 1), (4, 3, 2)]", fbank_norm="utterance")
    model = wav2vec2_model(cfg).eval()
    padding = torch.zeros(2, 8000, dtype=torch.bool)
    padding[1, 5000:] = True
    with torch.no_grad():  # the latents the model takes from its front end: the padding's lengths reach it
        batch = model.extract_features(wav, padding).features
        single = model.extract_features(wav[1:, :5000]).features
    assert torch.allclose(batch[1, :13], single[0], atol=1e-4)
    assert load_wav2vec2_config("sew_tiny_fbank").fbank_norm == "none"  # Table 6 row 9 at the paper's size


def test_configs_are_validated_and_model_types_dispatch():
    with pytest.raises(ValueError, match="squeeze_factor"):
        _micro("wav2vec2")
    with pytest.raises(ValueError, match="post-LN"):
        _micro("sew_d", layer_norm_first=True)
    with pytest.raises(ValueError, match="pos_att_type"):
        _micro("sew_d", pos_att_type="c2c")
    with pytest.raises(ConfigError):
        _micro("sew_e")
    assert {"wav2vec2", "sew", "sew_d"} <= set(ARCHS)  # and the audio-visual model (tests/models/test_av.py)
    with torch.device("meta"):  # wav2vec2_model builds whichever model_type the config names, through ARCHS
        assert type(wav2vec2_model(_micro("sew")).encoder.transformer).__name__ == "TransformerEncoder"
        assert type(sew_model(_micro("sew")).encoder).__name__ == "SqueezedContextNetwork"
        assert type(ARCHS["wav2vec2"](load_wav2vec2_config("tiny")).encoder).__name__ == "TransformerEncoder"
    with pytest.raises(ValueError, match="not 'sew_d'"):
        sew_d_model("sew_tiny")
    with torch.device("meta"):
        assert type(sew_d_model().encoder.transformer).__name__ == "DisentangledTransformer"
    plain = load_wav2vec2_config("base")
    assert plain.model_type == "wav2vec2" and plain.squeeze_factor == 1 and plain.predictor_layers == 1


@pytest.mark.parametrize(
    "name, table, params_m",
    [("sew_d_tiny", 1, 24.1), ("sew_d_small", 1, 41.0), ("sew_d_mid", 1, 78.8), ("sew_d_base", 1, 175.1),
     ("sew_d_base_plus", 1, 177.0), ("sew_tiny", 6, 40.7), ("sew_tiny_fbank", 6, 42.2)],
)  # fmt: skip
def test_named_configs_have_the_papers_sizes(name, table, params_m):
    """Counted as the tables do: no pre-training heads, and no feature projection when the encoder and
    Transformer widths are equal (fairseq/asapp have none then; asrkit always has that Linear)."""
    cfg = load_wav2vec2_config(name)
    with torch.device("meta"):
        model = wav2vec2_model(cfg)
    counted = sum(p.numel() for n, p in model.named_parameters() if not n.startswith(("quantizer.", "final_proj.")))
    proj = model.feature_projection.projection
    if proj.in_features == proj.out_features:
        counted -= proj.weight.numel() + proj.bias.numel()
    assert round(counted / 1e6, 1) == params_m


def test_ctc_head_drops_the_mlp_heads_and_keeps_full_rate_frames():
    torch.manual_seed(0)
    pretrained = wav2vec2_model(_micro())
    ctc = Wav2Vec2ForCTC(wav2vec2_model(_micro(feature_grad_mult=0.0)), vocab_size=5)
    missing, unexpected = ctc.encoder.load_state_dict(pretrained.state_dict(), strict=False)
    assert not missing and all(k.startswith(("quantizer.", "final_proj.")) for k in unexpected)
    assert not any("running_mean" in k for k in ctc.state_dict())
    wav = torch.randn(2, 4000)
    padding = torch.zeros(2, 4000, dtype=torch.bool)
    padding[1, 3000:] = True
    log_probs, lengths = ctc.eval()(wav, padding)
    assert log_probs.shape == (2, 199, 5)
    assert lengths.tolist() == ctc.output_lengths(torch.tensor([4000, 3000])).tolist() == [199, 149]
