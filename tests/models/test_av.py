"""The audio-visual pre-training model: configs, token bookkeeping, MAE and CLR passes, where gradients go."""
from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
import torch

from asrkit.config import ConfigError
from asrkit.models.av import AVConfig, AudioVisualModel, load_av_config
from asrkit.models.factory import ARCHS, MODEL_CONFIGS, av_model, model_config_from_dict, wav2vec2_model
from asrkit.models.wav2vec2 import Wav2Vec2Config

# a very small model: 2 s of audio (198 frames -> 49 tokens), 4 frames of 32 px video (2 x 2 x 2 = 8 tubelets)
SMALL = ["encoder_layers=1", "encoder_embed_dim=32", "encoder_ffn_embed_dim=64", "conv_kernel_size=7",
         "video_layers=1", "video_embed_dim=32", "video_mlp_dim=64", "decoder_layers=1", "decoder_embed_dim=32",
         "decoder_mlp_dim=64", "num_frames=4", "image_size=32", "clr_dim=16", "dropout=0.0",
         "attention_dropout=0.0", "max_frames=0"]


@dataclass
class Mask:
    """What ``objectives.mae.random_token_mask`` returns (the contract's ``TokenMask``)."""
    masked: torch.Tensor
    keep: torch.Tensor
    keep_padding: torch.Tensor


def token_mask(lengths: torch.Tensor, max_len: int, ratio: float, generator: torch.Generator) -> Mask:
    n = len(lengths)
    masked = torch.zeros(n, max_len, dtype=torch.bool)
    for i, length in enumerate(lengths.tolist()):
        count = min(round(ratio * length), length - 1)
        masked[i, torch.randperm(length, generator=generator)[:count]] = True
    visible = ~masked & (torch.arange(max_len)[None] < lengths[:, None])
    k = int(visible.sum(1).max())
    keep = torch.zeros(n, k, dtype=torch.long)
    keep_padding = torch.ones(n, k, dtype=torch.bool)
    for i in range(n):
        idx = visible[i].nonzero().squeeze(1)
        keep[i, : len(idx)], keep_padding[i, : len(idx)] = idx, False
    return Mask(masked, keep, keep_padding)


def _model(*overrides: str) -> AudioVisualModel:
    torch.manual_seed(0)
    return av_model(load_av_config("av_tiny", [*SMALL, *overrides]))


def _batch(model, n=2, samples=(32000, 24000)):
    g = torch.Generator().manual_seed(0)
    source = torch.randn(n, max(samples), generator=g)
    padding = torch.zeros(n, max(samples), dtype=torch.bool)
    for i, s in enumerate(samples):
        padding[i, s:] = True
        source[i, s:] = 0
    frames = torch.randint(0, 256, (n, model.cfg.num_frames, model.cfg.image_size, model.cfg.image_size, 3),
                           generator=g, dtype=torch.uint8)
    return source, padding, frames


def _masks(model, padding, ratio=0.6):
    g = torch.Generator().manual_seed(1)
    frame_lengths = model.audio_frame_lengths((~padding).sum(1))
    lengths = model.num_audio_tokens(frame_lengths)
    audio = token_mask(lengths, int(lengths.max()), ratio, g)
    n = padding.size(0)
    lv = model.num_video_tokens
    video = token_mask(torch.full((n,), lv), lv, ratio, g) if lv else None
    return audio, video


@pytest.mark.parametrize("name", ["av_tiny", "av_audio_tiny", "av_paper"])
def test_named_configs_build(name):
    cfg = load_av_config(name)
    with torch.device("meta"):
        model = av_model(cfg)
    assert model.cfg is cfg and (model.video_encoder is None) == (not cfg.use_video)
    assert model.audio_encoder.downsample_rate == 640


def test_the_factory_registers_av_and_rebuilds_either_config():
    assert "av" in ARCHS and MODEL_CONFIGS["av"] is AVConfig
    cfg = load_av_config("av_tiny")
    with torch.device("meta"):
        assert isinstance(ARCHS[cfg.model_type](cfg), AudioVisualModel)
        assert type(wav2vec2_model("tiny")).__name__ == "Wav2Vec2Model"
    from asrkit.config import to_dict
    assert model_config_from_dict(to_dict(cfg)) == cfg
    assert isinstance(model_config_from_dict({"encoder_layers": 2}), Wav2Vec2Config)
    with pytest.raises(ValueError, match="model_type"):
        model_config_from_dict({"model_type": "nope"})


def test_bad_config_values_are_errors():
    with pytest.raises(ConfigError, match="image_size"):
        load_av_config("av_tiny", ["image_size=60"])
    with pytest.raises(ConfigError, match="conv_kernel_size"):
        load_av_config("av_tiny", ["conv_kernel_size=30"])


def test_video_input_and_targets_follow_the_contract_s_order():
    model = _model()
    frames = torch.randint(0, 256, (1, 4, 32, 32, 3), dtype=torch.uint8)
    video = model.video_input(frames)
    assert video.shape == (1, 3, 4, 32, 32) and video.dtype == torch.float32
    assert torch.allclose(video[0, 1, 2, 3, 4], (frames[0, 2, 3, 4, 1] / 255 - 0.456) / 0.224)
    targets = model.video_targets(video)
    assert targets.shape == (1, 8, 2 * 16 * 16 * 3) and model.num_video_tokens == 8
    # token (t=1, h=0, w=1): frames 2-3, rows 0-15, columns 16-31, values in (pt, ph, pw, C) order
    expected = video[0, :, 2:4, 0:16, 16:32].permute(1, 2, 3, 0).flatten()
    assert torch.equal(targets[0, 1 * 4 + 0 * 2 + 1], expected)


def test_audio_targets_are_four_frames_of_each_token():
    model = _model()
    source, padding, _ = _batch(model)
    fbank, frame_padding = model.audio_encoder.features(source, padding)
    targets, token_padding = model.audio_targets(fbank, frame_padding)
    assert fbank.shape[1] == 198 and targets.shape == (2, 49, 320)
    assert torch.equal(targets[0, 3], fbank[0, 12:16].flatten())
    assert torch.equal((~token_padding).sum(1), model.num_audio_tokens(model.audio_frame_lengths(
        torch.tensor([32000, 24000]))))


@pytest.mark.parametrize("mode", ["sequential", "joint"])
@pytest.mark.parametrize("mae_input", ["drop", "zero"])
def test_mae_reconstructs_every_token_of_both_modalities(mode, mae_input):
    model = _model(f"decoder_mode={mode}", f"mae_input={mae_input}")
    source, padding, frames = _batch(model)
    audio_mask, video_mask = _masks(model, padding)
    out = model.mae(source, padding, frames, audio_mask, video_mask)
    assert out.audio_pred.shape == out.audio_target.shape == (2, 49, 320)
    assert out.video_pred.shape == out.video_target.shape == (2, 8, 1536)
    assert out.audio_valid.sum(1).tolist() == [49, 37] and torch.equal(out.audio_masked, audio_mask.masked)
    assert not (out.audio_masked & ~out.audio_valid).any()
    assert out.audio_masked.sum(1).tolist() == [round(0.6 * 49), round(0.6 * 37)]
    assert torch.isfinite(out.audio_pred).all() and torch.isfinite(out.video_pred).all()


def test_padding_does_not_change_an_utterance_s_reconstruction():
    model = _model().eval()
    source, padding, frames = _batch(model)
    audio_mask, video_mask = _masks(model, padding)
    with torch.no_grad():
        out = model.mae(source, padding, frames, audio_mask, video_mask)
        one = Mask(audio_mask.masked[1:, :37], audio_mask.keep[1:], audio_mask.keep_padding[1:])
        k = int((~one.keep_padding).sum())
        one = Mask(one.masked, one.keep[:, :k], one.keep_padding[:, :k])
        vone = Mask(video_mask.masked[1:], video_mask.keep[1:], video_mask.keep_padding[1:])
        alone = model.mae(source[1:, :24000], None, frames[1:], one, vone)
    assert torch.allclose(out.audio_pred[1, :37], alone.audio_pred[0], atol=1e-4)
    assert torch.allclose(out.video_pred[1], alone.video_pred[0], atol=1e-4)


def test_a_batch_padded_past_its_longest_utterance_takes_masks_up_to_that_one():
    model = _model().eval()
    source, padding, frames = _batch(model)
    audio_mask, video_mask = _masks(model, padding)
    longer = torch.nn.functional.pad(source, (0, 3000))
    longer_padding = torch.nn.functional.pad(padding, (0, 3000), value=True)
    with torch.no_grad():
        a = model.mae(source, padding, frames, audio_mask, video_mask)
        b = model.mae(longer, longer_padding, frames, audio_mask, video_mask)
    assert torch.allclose(a.audio_pred, b.audio_pred, atol=1e-5)


def _grads(model):
    return {name: p.grad is not None and bool(p.grad.abs().sum() > 0) for name, p in model.named_parameters()}


def test_mae_without_video_leaves_the_video_encoder_and_clr_without_gradients():
    model = _model()
    source, padding, _ = _batch(model)
    audio_mask, _ = _masks(model, padding)
    out = model.mae(source, padding, None, audio_mask, None)
    assert out.video_pred is None
    out.audio_pred.pow(2).mean().backward()
    grads = _grads(model)
    assert not any(v for k, v in grads.items() if k.startswith(("video_encoder.", "audio_proj", "video_proj",
                                                                 "logit_scale", "decoder.video")))
    assert grads["decoder.mask_token"] and grads["audio_encoder.blocks.0.conv.depthwise.weight"]
    assert grads["decoder.audio_head.weight"] and grads["audio_encoder.subsampling.conv1.weight"]


def test_audio_only_model_runs_mae():
    model = _model("use_video=false")
    source, padding, frames = _batch(model)
    audio_mask, video_mask = _masks(model, padding)
    assert model.video_encoder is None and video_mask is None and model.num_video_tokens == 0
    out = model.mae(source, padding, frames, audio_mask, None)
    assert out.video_pred is None and out.audio_pred.shape == (2, 49, 320)
    with pytest.raises(ValueError, match="CLR needs the video encoder"):
        model.clr(source, padding, frames)


@pytest.mark.parametrize("tokens", ["tubelet", "frame"])
def test_clr_gives_unit_embeddings_and_leaves_the_decoder_without_gradients(tokens):
    model = _model(f"video_tokens={tokens}")
    source, padding, frames = _batch(model)
    a, v, scale = model.clr(source, padding, frames)
    assert a.shape == v.shape == (2, 16)
    assert torch.allclose(a.norm(dim=-1), torch.ones(2)) and torch.allclose(v.norm(dim=-1), torch.ones(2))
    assert math.isclose(float(scale.detach()), 1 / 0.07, rel_tol=1e-5)
    (scale * a @ v.t()).logsumexp(0).sum().backward()
    grads = _grads(model)
    assert not any(v for k, v in grads.items() if k.startswith("decoder."))
    assert grads["logit_scale"] and grads["video_encoder.patch_embed.weight"] and grads["audio_proj.weight"]


def test_a_fixed_temperature_is_a_buffer():
    model = _model("clr_learn_temperature=false", "clr_temperature=0.1")
    assert "logit_scale" not in dict(model.named_parameters())
    assert math.isclose(float(model.clr(*_batch(model))[2].detach()), 10.0, rel_tol=1e-5)


def test_mae_on_frame_tokens_is_an_error():
    model = _model("video_tokens=frame")
    source, padding, frames = _batch(model)
    audio_mask, _ = _masks(model, padding)
    video_mask = token_mask(torch.full((2,), 4), 4, 0.5, torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="tubelet"):
        model.mae(source, padding, frames, audio_mask, video_mask)


def test_the_same_seed_and_masks_give_the_same_outputs():
    outs = []
    for _ in range(2):
        model = _model().eval()
        source, padding, frames = _batch(model)
        with torch.no_grad():
            outs.append(model.mae(source, padding, frames, *_masks(model, padding)))
    assert torch.equal(outs[0].audio_pred, outs[1].audio_pred) and torch.equal(outs[0].video_pred, outs[1].video_pred)


def test_bf16_autocast_forward_runs_on_cpu():
    model = _model()
    source, padding, frames = _batch(model)
    audio_mask, video_mask = _masks(model, padding)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model.mae(source, padding, frames, audio_mask, video_mask)
        a, v, _ = model.clr(source, padding, frames)
    assert out.audio_target.dtype == torch.float32 and out.audio_pred.dtype == torch.bfloat16
    loss = (out.audio_pred.float() - out.audio_target).pow(2).mean() \
        + (out.video_pred.float() - out.video_target).pow(2).mean()
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(a.float()).all() and torch.isfinite(v.float()).all()
