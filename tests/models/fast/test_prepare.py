"""``prepare_for_training`` / ``prepare_for_inference`` on whole models: the swap keeps every parameter
and draws nothing from the RNG, leaves no reference module with a fast version behind, and the prepared
model computes what the reference model computes, in fp32 and bf16, with and without gradients, and
after its weights change (optimizer steps, ``load_state_dict``)."""
from __future__ import annotations

import copy

import pytest
import torch

from asrkit.models.fast import FAST_MODULES, prepare_for_inference, prepare_for_training
from asrkit.models.heads import Wav2Vec2ForCTC
from asrkit.models import Wav2Vec2Config, wav2vec2_model
from asrkit.objectives.contrastive import wav2vec2_objective

SEW_D_POINTWISE = {"model_type": "sew_d", "squeeze_factor": 2, "position_buckets": 8, "max_relative_positions": 16,
                   "conv_feature_layers": "[(16, 10, 5)] + [(16, 3, 2), (16, 1, 1)] * 2 + [(16, 2, 2)]"}
VARIANTS = {"group_norm": {}, "layer_norm": {"extractor_mode": "layer_norm", "conv_bias": True, "layer_norm_first": True},
            "sew": {"model_type": "sew", "squeeze_factor": 2}, "sew_d_pointwise": SEW_D_POINTWISE}


def micro(**kw) -> torch.nn.Module:
    torch.manual_seed(0)
    kw = {"conv_feature_layers": "[(16, 10, 5)] + [(16, 3, 2)] * 2 + [(16, 2, 2)]", **kw}
    cfg = Wav2Vec2Config(encoder_layers=2, encoder_embed_dim=32, encoder_ffn_embed_dim=64, encoder_attention_heads=4,
                         conv_pos=16, conv_pos_groups=4, latent_vars=8, final_dim=16, num_negatives=5, **kw)
    return wav2vec2_model(cfg).eval()


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_swap_keeps_every_parameter_and_draws_nothing(variant):
    reference = micro(**VARIANTS[variant])
    model = copy.deepcopy(reference)
    params = list(model.named_parameters())
    state = torch.get_rng_state()
    assert prepare_for_training(model) is model
    assert torch.equal(state, torch.get_rng_state())
    assert [(n, id(p)) for n, p in model.named_parameters()] == [(n, id(p)) for n, p in params]
    assert list(model.state_dict()) == list(reference.state_dict())
    assert not [m for m in model.modules() if type(m) in FAST_MODULES]  # every reference module swapped
    swapped = [type(m).__name__ for m in model.modules() if type(m).__name__.startswith("Fast")]
    assert prepare_for_inference(model) is model and not model.training  # idempotent
    assert [type(m).__name__ for m in model.modules() if type(m).__name__.startswith("Fast")] == swapped
    reference.load_state_dict(model.state_dict())  # the checkpoints are interchangeable
    model.load_state_dict(reference.state_dict())


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_prepared_model_computes_the_reference_model(variant, precision):
    reference = micro(**VARIANTS[variant])
    fast = prepare_for_inference(copy.deepcopy(reference))
    wav = torch.randn(2, 3000)
    padding = torch.zeros(2, 3000, dtype=torch.bool)
    padding[1, 2000:] = True
    bf16 = precision == "bf16"
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        with torch.inference_mode():
            ref = reference.extract_features(wav, padding).x.float()
            out = fast.extract_features(wav, padding).x.float()
            again = fast.extract_features(wav, padding).x.float()
        grad = fast.train().extract_features(wav, padding).x.float()  # dropout is random: only finite here
    assert torch.equal(out, again)
    assert (out - ref).abs().max() < (0.1 if bf16 else 2e-5)
    grad.square().mean().backward()
    assert all(p.grad is not None for p in fast.feature_encoder.parameters())


def test_a_training_step_computes_the_reference_loss_and_gradients():
    """The contrastive loss of the prepared model (GEMM feature encoder, fused projections) equals the
    reference model's for the same masks and distractors (the same generator), and so do the gradients."""
    reference = micro(**SEW_D_POINTWISE, dropout=0.0, attention_dropout=0.0, activation_dropout=0.0,
                      dropout_input=0.0, dropout_features=0.0, encoder_layerdrop=0.0).train()
    fast = prepare_for_training(copy.deepcopy(reference))
    wav = torch.randn(2, 4000)
    grads = []
    for model in (reference, fast):
        generator = torch.Generator().manual_seed(0)
        loss, _ = wav2vec2_objective(model, model(wav, generator=generator), generator)
        loss.backward()
        grads.append((float(loss.detach()), {n: p.grad for n, p in model.named_parameters() if p.grad is not None}))
    (ref_loss, ref_grads), (fast_loss, fast_grads) = grads
    assert abs(ref_loss - fast_loss) < 1e-4 * abs(ref_loss)
    # the first convolution's bias cancels in its GroupNorm: the fold leaves it unused (no gradient)
    assert set(fast_grads) <= set(ref_grads) and set(ref_grads) - set(fast_grads) <= {"feature_encoder.conv_layers.0.conv.bias"}
    for name, grad in fast_grads.items():
        assert (grad - ref_grads[name]).abs().max() <= 1e-3 * ref_grads[name].abs().max() + 1e-7, name


@pytest.mark.parametrize("variant", ["group_norm", "sew_d_pointwise"])
def test_kept_weights_follow_optimizer_steps_and_loads(variant):
    model = prepare_for_inference(micro(**VARIANTS[variant]))
    wav = torch.randn(1, 3000)
    with torch.inference_mode():
        before = model.extract_features(wav).x
        with torch.autocast("cpu", dtype=torch.bfloat16):
            before_bf16 = model.extract_features(wav).x
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    model.extract_features(wav).x.square().mean().backward()
    opt.step()
    fresh = copy.deepcopy(model)  # a copy starts with empty caches
    with torch.inference_mode():
        cached = model.extract_features(wav).x
        assert torch.allclose(cached, fresh.extract_features(wav).x, atol=1e-6)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            cached_bf16 = model.extract_features(wav).x
            assert torch.equal(cached_bf16, fresh.extract_features(wav).x)
    assert not torch.allclose(cached, before, atol=1e-3)
    assert not torch.allclose(cached_bf16.float(), before_bf16.float(), atol=1e-2)
    with torch.inference_mode():
        model.load_state_dict(micro(**VARIANTS[variant]).state_dict())
        assert torch.allclose(model.extract_features(wav).x, before, atol=1e-6)


def test_a_ctc_model_prepares_its_encoder():
    ctc = prepare_for_inference(Wav2Vec2ForCTC(micro(), vocab_size=7))
    assert type(ctc.encoder.encoder).__name__ == "FastTransformerEncoder"
    with torch.inference_mode():
        log_probs, lengths = ctc(torch.randn(2, 3000))
    assert log_probs.shape[-1] == 7 and torch.isfinite(log_probs).all()
