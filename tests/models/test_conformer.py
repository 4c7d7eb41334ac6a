"""The Conformer audio encoder: parity of a block with torchaudio's, lengths, padding, hidden states, MAE tokens."""
from __future__ import annotations

import pytest
import torch

from asrkit.models.conformer import ConformerBlock, EncoderOutput, conformer, subsampled_lengths


def _tiny(**kw):
    torch.manual_seed(0)
    args = dict(embed_dim=32, num_layers=2, num_heads=4, ffn_dim=64, kernel_size=7, dropout=0.0, attention_dropout=0.0)
    return conformer(**{**args, **kw}).eval()


def _copy_from_torchaudio(ours: ConformerBlock, theirs) -> None:
    """torchaudio ``ConformerLayer`` weights -> our block (same functions, other names)."""
    d = theirs.final_layer_norm.normalized_shape[0]
    with torch.no_grad():
        for mine, ref in ((ours.ffn1, theirs.ffn1.sequential), (ours.ffn2, theirs.ffn2.sequential)):
            mine.layer_norm.load_state_dict(ref[0].state_dict())
            mine.fc1.load_state_dict(ref[1].state_dict())
            mine.fc2.load_state_dict(ref[4].state_dict())
        ours.attention_norm.load_state_dict(theirs.self_attn_layer_norm.state_dict())
        w, b = theirs.self_attn.in_proj_weight, theirs.self_attn.in_proj_bias
        for i, proj in enumerate((ours.attention.q_proj, ours.attention.k_proj, ours.attention.v_proj)):
            proj.weight.copy_(w[i * d:(i + 1) * d])
            proj.bias.copy_(b[i * d:(i + 1) * d])
        ours.attention.out_proj.load_state_dict(theirs.self_attn.out_proj.state_dict())
        conv = theirs.conv_module.sequential
        ours.conv.layer_norm.load_state_dict(theirs.conv_module.layer_norm.state_dict())
        ours.conv.pointwise1.load_state_dict(conv[0].state_dict())
        ours.conv.depthwise.load_state_dict(conv[2].state_dict())
        ours.conv.norm.load_state_dict(conv[3].state_dict())
        ours.conv.pointwise2.load_state_dict(conv[5].state_dict())
        ours.final_norm.load_state_dict(theirs.final_layer_norm.state_dict())


def test_a_block_matches_torchaudio_conformer_layer_on_the_same_weights():
    from torchaudio.models import Conformer

    torch.manual_seed(1)
    ref = Conformer(input_dim=32, num_heads=4, ffn_dim=64, num_layers=1, depthwise_conv_kernel_size=7)
    layer = ref.conformer_layers[0]
    with torch.no_grad():  # non-trivial BatchNorm statistics, so the eval-mode norm is exercised
        bn = layer.conv_module.sequential[3]
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.normal_()
        bn.bias.normal_()
    ref.eval()
    ours = _tiny(embed_dim=32, num_layers=1, kernel_size=7, conv_norm="batch").blocks[0].eval()
    _copy_from_torchaudio(ours, layer)
    x = torch.randn(3, 20, 32)
    with torch.no_grad():
        expected, _ = ref(x, torch.full((3,), 20))
        got = ours(x)
    assert (got - expected).abs().max() < 1e-5


def test_output_lengths_are_the_frames_the_encoder_returns():
    enc = _tiny()
    for n in (400, 401, 559, 560, 1999, 4000, 16000):
        out = enc.extract_features(torch.randn(1, n))
        assert out.x.size(1) == int(enc.output_lengths(torch.tensor([n]))), n
    assert enc.downsample_rate == 640
    frames = torch.arange(0, 50)
    assert torch.equal(subsampled_lengths(frames), (frames + 3) // 4)  # ceil(T / 4)


def test_max_frames_caps_the_input():
    enc = _tiny(max_frames=40)
    out = enc.extract_features(torch.randn(2, 16000))
    assert out.x.size(1) == 10 and int(enc.output_lengths(torch.tensor([16000]))) == 10


def test_input_shorter_than_one_output_frame_is_a_clear_error():
    with pytest.raises(ValueError, match="shorter than one filter-bank window"):
        _tiny().extract_features(torch.randn(1, 399))


def test_hidden_states_are_the_input_and_every_block():
    enc = _tiny(num_layers=3)
    out = enc.extract_features(torch.randn(2, 8000))
    assert isinstance(out, EncoderOutput) and len(out.hidden_states) == 1 + enc.num_layers == 4
    assert out.hidden_states[-1] is out.x and out.padding_mask is None


@pytest.mark.parametrize("norm", ["batch", "layer"])
def test_a_padded_utterance_gives_what_it_gives_alone(norm):
    enc = _tiny(conv_norm=norm)
    short, long = torch.randn(5000), torch.randn(8000)
    batch = torch.zeros(2, 8000)
    batch[0, :5000], batch[1] = short, long
    padding = torch.zeros(2, 8000, dtype=torch.bool)
    padding[0, 5000:] = True
    with torch.no_grad():
        out = enc.extract_features(batch, padding)
        alone = enc.extract_features(short[None])
    t = alone.x.size(1)
    assert t == int(enc.output_lengths(torch.tensor([5000]))) == int((~out.padding_mask[0]).sum())
    for h_batch, h_alone in zip(out.hidden_states, alone.hidden_states):
        assert torch.allclose(h_batch[0, :t], h_alone[0], atol=1e-4)


def test_batch_norm_statistics_count_valid_frames_only():
    from asrkit.models.conformer import MaskedBatchNorm1d

    norm = MaskedBatchNorm1d(3).train()
    ref = torch.nn.BatchNorm1d(3).train()
    x = torch.randn(2, 3, 6)
    padding = torch.tensor([[False] * 6, [False] * 4 + [True] * 2])
    x[1, :, 4:] = 100.0  # padding content must not matter
    out = norm(x, padding)
    valid = torch.cat([x[0].t(), x[1, :, :4].t()])  # (10, 3)
    expected = ref(valid)
    assert torch.allclose(out[0].t(), expected[:6], atol=1e-5)
    assert torch.allclose(out[1, :, :4].t(), expected[6:], atol=1e-5)
    assert torch.allclose(norm.running_mean, ref.running_mean) and torch.allclose(norm.running_var, ref.running_var)
    assert (out[1, :, 4:] == 0).all()


def test_fine_tuning_masks_change_the_input_only_when_asked():
    enc = _tiny()
    enc.masking.mask_prob, enc.masking.mask_channel_prob = 0.5, 0.5
    wav = torch.randn(2, 8000)
    with torch.no_grad():
        plain = enc.extract_features(wav).x
        again = enc.extract_features(wav).x
        masked = enc.extract_features(wav, mask=True, generator=torch.Generator().manual_seed(0)).x
    assert torch.equal(plain, again) and not torch.allclose(plain, masked)


def test_encode_tokens_runs_the_kept_tokens_at_their_positions():
    enc = _tiny()
    fbank, frame_padding = enc.features(torch.randn(2, 16000), None)  # 98 frames -> 24 tokens
    n, L = 2, 24
    keep = torch.tensor([[0, 3, 5, 20], [1, 2, 7, 0]])
    keep_padding = torch.tensor([[False] * 4, [False, False, False, True]])
    masked = torch.ones(n, L, dtype=torch.bool)
    masked.scatter_(1, keep, False)
    masked[1, 0] = True
    out = enc.encode_tokens(fbank, frame_padding, masked, keep, keep_padding)
    assert out.x.shape == (2, 4, 32) and torch.equal(out.padding_mask, keep_padding)
    full = enc.encode_tokens(fbank, frame_padding, masked)  # zero-filled: every token runs
    assert full.x.shape == (2, L, 32)


def test_masked_frames_do_not_reach_the_visible_tokens():
    enc = _tiny()
    fbank, _ = enc.features(torch.randn(1, 16000), None)
    keep = torch.tensor([[2, 10]])
    masked = torch.ones(1, 24, dtype=torch.bool)
    masked[0, [2, 10]] = False
    other = fbank.clone()
    other[:, 16:20] += 5.0  # frames of token 4, masked
    a = enc.encode_tokens(fbank, None, masked, keep, None).x
    b = enc.encode_tokens(other, None, masked, keep, None).x
    assert torch.equal(a, b)


def test_bf16_autocast_forward_runs_with_fp32_features():
    enc = _tiny()
    wav = torch.randn(2, 8000)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        fbank, _ = enc.features(wav)
        out = enc.extract_features(wav)
    assert fbank.dtype == torch.float32 and out.x.dtype == torch.bfloat16 and torch.isfinite(out.x.float()).all()


def test_the_same_seed_gives_the_same_encoder():
    a, b = _tiny().state_dict(), _tiny().state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
