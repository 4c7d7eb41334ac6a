"""wav2vec 2.0 model behaviour: shapes, padding, masking, negatives, gradients, configs."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from asrkit.config import ConfigError
from asrkit.models import ARCHS, Wav2Vec2Config, load_wav2vec2_config, wav2vec2_model
from asrkit.models.components import parse_conv_layers
from asrkit.objectives.contrastive import wav2vec2_logits, wav2vec2_objective

SMALL = {
    "conv_feature_layers": "[(32, 10, 5)] + [(32, 3, 2)] * 2 + [(32, 2, 2)]",  # stride 40, field 90 samples
    "encoder_layers": 2,
    "encoder_embed_dim": 48,
    "encoder_ffn_embed_dim": 96,
    "encoder_attention_heads": 4,
    "conv_pos": 16,
    "conv_pos_groups": 4,
    "latent_vars": 16,
    "final_dim": 24,
    "num_negatives": 10,
}


def _model(**overrides) -> torch.nn.Module:
    torch.manual_seed(0)
    return wav2vec2_model(Wav2Vec2Config(**{**SMALL, **overrides}))


def _padded(lengths, seed=0):
    gen = torch.Generator().manual_seed(seed)
    wav = torch.randn(len(lengths), max(lengths), generator=gen)
    padding_mask = torch.arange(max(lengths))[None, :] >= torch.tensor(lengths)[:, None]
    return wav.masked_fill(padding_mask, 0.0), padding_mask


def test_forward_shapes_and_targets_are_masked_frames():
    model = _model().train()
    wav, padding_mask = _padded([4000, 3000, 2500])
    gen = torch.Generator().manual_seed(0)
    out = model(wav, padding_mask, generator=gen)
    n, t = out.mask_indices.shape
    assert out.x.shape == (n, t, 48) and out.features.shape == (n, t, 32)
    assert t == 99  # (10, 5), (3, 2), (3, 2), (2, 2) over 4000 samples: 799, 399, 199, 99 frames
    assert not (out.mask_indices & out.padding_mask).any()
    num_masked = int(out.mask_indices.sum())
    assert torch.equal(out.target_mask, out.mask_indices)
    assert out.predictions.shape == out.targets.shape == (num_masked, 24) and out.codes.shape == (num_masked, 2)
    assert out.num_vars == 32 and out.temperature == 2.0
    assert wav2vec2_logits(model, out, gen).shape == (num_masked, 1 + 10)
    loss, stats = wav2vec2_objective(model, out, gen)
    loss.backward()
    assert torch.isfinite(loss) and set(stats) >= {"contrastive", "diversity", "feature_penalty", "accuracy"}
    assert model.mask_embedding.grad.abs().sum() > 0
    assert model.quantizer.logits_proj.weight.grad.abs().sum() > 0


def test_masked_frames_get_the_mask_embedding():
    model = _model(dropout_input=0.0).eval()
    wav, _ = _padded([3000, 3000])
    x, _ = model.feature_projection(model.feature_encoder(wav)[0])
    mask_indices = torch.zeros(x.shape[:2], dtype=torch.bool)
    mask_indices[:, 5:15] = True
    masked, _ = model.apply_mask(x, None, mask_indices)
    assert torch.equal(masked[mask_indices], model.mask_embedding.expand(20, -1))
    assert torch.equal(masked[~mask_indices], x[~mask_indices])


def test_generator_makes_forward_deterministic():
    """The generator drives masks, Gumbel noise and (in the objective) distractors; dropout uses torch's global RNG."""
    model = _model(dropout=0.0, attention_dropout=0.0, encoder_layerdrop=0.0, dropout_input=0.0,
                   dropout_features=0.0).train()  # fmt: skip
    wav, padding_mask = _padded([3000, 2000])
    logits = []
    for _ in range(2):
        gen = torch.Generator().manual_seed(5)
        out = model(wav, padding_mask, generator=gen)
        logits.append((out.mask_indices, wav2vec2_logits(model, out, gen)))
    (mask_a, a), (mask_b, b) = logits
    assert torch.equal(mask_a, mask_b) and torch.equal(a, b)
    c = model(wav, padding_mask, generator=torch.Generator().manual_seed(6))
    assert not torch.equal(mask_a, c.mask_indices)


def test_batch_vs_single_consistency_layer_norm_model():
    """LayerNorm encoders are padding invariant (GroupNorm ones are not: see the parity test)."""
    model = _model(extractor_mode="layer_norm", layer_norm_first=True, conv_bias=True).eval()
    lengths = [4000, 2600, 1210]
    wav, padding_mask = _padded(lengths)
    with torch.no_grad():
        batch = model.extract_features(wav, padding_mask)
        for i, n in enumerate(lengths):
            single = model.extract_features(wav[i : i + 1, :n])
            frames = single.x.size(1)
            assert (~batch.padding_mask[i]).sum() == frames
            assert torch.allclose(batch.x[i, :frames], single.x[0], atol=1e-5)


def test_zero_length_utterance_in_batch():
    model = _model(extractor_mode="layer_norm").eval()
    wav, padding_mask = _padded([3000, 0])
    with torch.no_grad():
        out = model.extract_features(wav, padding_mask)
        single = model.extract_features(wav[:1])
        gen = torch.Generator().manual_seed(0)
        pretrain = model(wav, padding_mask, generator=gen)
        logits = wav2vec2_logits(model, pretrain, gen)
    assert out.padding_mask[1].all() and torch.isfinite(out.x).all()
    assert torch.allclose(out.x[0], single.x[0], atol=1e-5)
    assert not pretrain.mask_indices[1].any() and pretrain.mask_indices[0].any()
    assert torch.isfinite(logits[:, 0]).all()


def test_input_shorter_than_receptive_field_is_an_error():
    model = _model()
    with pytest.raises(ValueError, match="receptive field"):
        model.extract_features(torch.randn(1, 50))


def test_unmasked_forward_uses_all_valid_frames():
    model = _model().eval()
    wav, padding_mask = _padded([3000, 2000])
    out = model(wav, padding_mask, mask=False, generator=torch.Generator().manual_seed(0))
    assert out.mask_indices is None and torch.equal(out.target_mask, ~out.padding_mask)
    assert out.targets.size(0) == int((~out.padding_mask).sum())


def test_feature_grad_mult_scales_and_freezes_encoder_gradients():
    wav, _ = _padded([3000])
    grads = {}
    for mult in (1.0, 0.1, 0.0):
        model = _model(feature_grad_mult=mult).eval()
        model.extract_features(wav).x.sum().backward()
        grads[mult] = model.feature_encoder.conv_layers[0].conv.weight.grad
    assert torch.allclose(grads[0.1], 0.1 * grads[1.0], rtol=1e-4, atol=1e-8)
    assert grads[0.0] is None


def test_layerdrop_skips_layers_in_training_only():
    model = _model(encoder_layerdrop=1.0, dropout=0.0, attention_dropout=0.0, dropout_input=0.0)
    encoder = model.encoder
    x = torch.randn(1, 20, 48)
    no_layers = encoder.layer_norm(x + encoder.pos_conv(x))
    assert torch.allclose(encoder.train()(x), no_layers, atol=1e-6)
    assert not torch.allclose(encoder.eval()(x), no_layers, atol=1e-3)


def test_codebook_negatives_are_appended():
    model = _model(codebook_negatives=3).train()
    wav, padding_mask = _padded([3000, 3000])
    gen = torch.Generator().manual_seed(0)
    assert wav2vec2_logits(model, model(wav, padding_mask, generator=gen), gen).size(1) == 1 + 10 + 3


def test_loss_decreases_on_a_fixed_batch():
    model = _model(dropout=0.0, attention_dropout=0.0, encoder_layerdrop=0.0, dropout_input=0.0,
                   dropout_features=0.0, feature_grad_mult=1.0).train()  # fmt: skip
    wav, padding_mask = _padded([4000, 4000, 4000, 4000], seed=3)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    losses = []
    for step in range(25):
        gen = torch.Generator().manual_seed(step)
        loss, _ = wav2vec2_objective(model, model(wav, padding_mask, generator=gen), gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
        model.set_num_updates(step + 1)
        losses.append(loss.item())
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.3, losses
    assert model.quantizer.temperature < 2.0


@pytest.mark.parametrize(
    "name, params_m",
    # SEW-D Table 1 (W2V2-tiny/small/mid) and wav2vec 2.0 §4.2 / Table 1 (BASE 95M, LARGE 317M)
    [("tiny", 11.1), ("small", 24.8), ("mid", 44.1), ("base", 95.0), ("large", 317.0)],
)
def test_named_configs_have_the_papers_sizes(name, params_m):
    cfg = load_wav2vec2_config(name)
    with torch.device("meta"):
        model = wav2vec2_model(cfg)
    total = sum(p.numel() for p in model.parameters())
    heads = sum(p.numel() for n, p in model.named_parameters() if n.startswith(("quantizer.", "final_proj.")))
    # fine-tuning drops the pre-training heads; SEW-D counts the fine-tuned model
    counted = total - heads if name in ("tiny", "small", "mid") else total
    assert counted / 1e6 == pytest.approx(params_m, rel=0.015)


def test_config_files_and_defaults():
    base = load_wav2vec2_config("base")
    assert base == Wav2Vec2Config()  # dataclass defaults are BASE
    demo = load_wav2vec2_config("demo", ["encoder_layers=2"])
    assert demo.encoder_layers == 2 and demo.conv_layers[0] == (32, 10, 5)  # WFE-C-c32
    large = load_wav2vec2_config("large")
    assert large.codevector_dim // large.latent_groups == 384 and large.latent_temp == (2.0, 0.1, 0.999995)
    with pytest.raises(ConfigError, match="unknown key"):
        Wav2Vec2Config.from_dict({**dataclasses.asdict(base), "mask_probability": 0.5})
    with pytest.raises(ConfigError, match="named configs"):
        load_wav2vec2_config("huge")
    assert {"wav2vec2", "sew", "sew_d"} <= set(ARCHS)


def test_parse_conv_layers():
    assert parse_conv_layers("[(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512,2,2)] + [(512,2,2)]") == (
        [(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512, 2, 2)] * 2
    )
    assert parse_conv_layers([[8, 3, 1]]) == [(8, 3, 1)]
    with pytest.raises(ValueError):
        parse_conv_layers("__import__('os')")
