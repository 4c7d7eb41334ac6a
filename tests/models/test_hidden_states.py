"""Every encoder family's hidden states for SUPERB's weighted sum: L + 1 of them in a fixed order (the blocks'
input, then every block's output), whatever LayerDrop, at the rate the encoder declares."""
import dataclasses

import pytest
import torch

from asrkit.models.factory import encoder_model, load_model_config
from asrkit.models.superb import WeightedSum

FAMILIES = {  # config -> (blocks, samples per frame)
    "demo": (4, 320),  # wav2vec 2.0, post-LN
    "sew_tiny": (12, 320),  # SEW: squeezed Transformer
    "sew_d_tiny": (12, 320),  # SEW-D: squeezed disentangled attention
    "sew_tiny_fbank": (12, 320),  # FBFE-c160 front end: 10 ms hop x stride 2
    "av_tiny": (4, 640),  # the AV model's Conformer audio encoder: 10 ms x 4
}


def _encoder(name: str, **changes):
    cfg = load_model_config(name)
    torch.manual_seed(0)
    return encoder_model(dataclasses.replace(cfg, **changes)).eval()


def _batch():
    torch.manual_seed(1)
    x = torch.randn(2, 16000)
    padding = torch.zeros(2, 16000, dtype=torch.bool)
    padding[1, 11000:] = True
    return x, padding


@pytest.mark.parametrize("name", FAMILIES)
def test_hidden_states_are_the_blocks_input_and_every_blocks_output(name):
    blocks, rate = FAMILIES[name]
    model = _encoder(name)
    x, padding = _batch()
    with torch.no_grad():
        states, frame_padding = model.hidden_states(x, padding)
        out = model.extract_features(x, padding)
    assert model.num_layers == blocks and len(states) == blocks + 1
    assert model.downsample_rate == rate
    # the last state is the encoder's output, as fine-tuning reads it
    torch.testing.assert_close(states[-1], out.x)
    # frames follow the declared rate: output_lengths of the sample counts, the padding mask's valid frames
    lengths = model.output_lengths(torch.tensor([16000, 11000]))
    assert ((~frame_padding).sum(dim=1) == lengths).all()
    assert 16000 // rate - 3 <= int(lengths[0]) <= 16000 // rate  # less a receptive field at most
    assert all(s.shape == states[0].shape for s in states)


def test_a_wav2vec2_state_is_its_blocks_own_output():
    model = _encoder("demo")
    x, _ = _batch()
    with torch.no_grad():
        states, _ = model.hidden_states(x)
        z, _ = model.feature_encoder(x)
        h, _ = model.feature_projection(z)
        h = model.encoder.embed(h, None)
        torch.testing.assert_close(states[0], h)
        for i, layer in enumerate(model.encoder.layers):
            h = layer(h, None)
            torch.testing.assert_close(states[i + 1], h)


def test_a_pre_ln_encoders_last_state_has_its_final_layer_norm():
    model = _encoder("demo", layer_norm_first=True)
    x, _ = _batch()
    with torch.no_grad():
        states, _ = model.hidden_states(x)
        torch.testing.assert_close(states[-1], model.extract_features(x).x)
        # the block's raw output differs from the normalised last state
        assert not torch.allclose(states[-1], model.encoder.layers[-1](states[-2], None))


@pytest.mark.parametrize("name", ["demo", "sew_d_tiny"])
def test_layerdrop_never_shifts_or_drops_a_state(name):
    # LayerDrop 1.0 skips every block of a training forward; the hidden states still run all of them
    model = _encoder(name, encoder_layerdrop=1.0, dropout=0.0, attention_dropout=0.0, activation_dropout=0.0,
                     dropout_input=0.0, dropout_features=0.0)
    x, padding = _batch()
    with torch.no_grad():
        reference, _ = model.hidden_states(x, padding)
        model.train()
        states, _ = model.hidden_states(x, padding)
    assert len(states) == len(reference) == model.num_layers + 1
    for a, b in zip(states, reference):
        torch.testing.assert_close(a, b)


def test_the_weighted_sum_starts_uniform_and_weights_states_in_order():
    ws = WeightedSum(3)
    states = torch.stack([torch.full((2, 4, 5), float(v)) for v in (1.0, 2.0, 6.0)], dim=1)  # (N, S, T, D)
    torch.testing.assert_close(ws(states), torch.full((2, 4, 5), 3.0))  # mean of 1, 2, 6
    with torch.no_grad():
        ws.weights.copy_(torch.tensor([0.0, 0.0, 100.0]))
    torch.testing.assert_close(ws(states), torch.full((2, 4, 5), 6.0))
    assert ws.layer_weights()[2] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="4 hidden states, but the weighted sum was built for 3"):
        ws(torch.zeros(1, 4, 2, 5))


@pytest.mark.parametrize("stable", [False, True], ids=["post-LN", "pre-LN"])
def test_wav2vec2_hidden_states_equal_transformers_of_an_imported_checkpoint(tmp_path, stable):
    """The states a transformers ``Wav2Vec2Model(output_hidden_states=True)`` gives, from the same weights through
    ``asrkit import-checkpoint``: the encoder's input, then each layer's output; the last is the encoder's output,
    ``last_hidden_state`` (a pre-LN encoder's after its final LayerNorm: transformers 4 put that one in
    ``hidden_states``, transformers 5 puts the last layer's raw output there)."""
    transformers = pytest.importorskip("transformers")
    from asrkit.checkpoint import load_encoder, write_imported_checkpoint
    from asrkit.testing.parity import perturbed

    from .test_wav2vec2_parity import _hf_config

    torch.manual_seed(0)
    hf = perturbed(transformers.Wav2Vec2ForPreTraining(_hf_config(stable=stable))).eval()
    hf.save_pretrained(tmp_path / "hf")
    write_imported_checkpoint(tmp_path / "hf", "hf", tmp_path / "imported.pt")
    ours, _ = load_encoder(tmp_path / "imported.pt")
    x = torch.randn(2, 8000)
    with torch.no_grad():
        reference = hf.wav2vec2(x, output_hidden_states=True).hidden_states
        states, _ = ours.eval().hidden_states(x)
        last = hf.wav2vec2(x).last_hidden_state
    assert len(states) == len(reference) == 3
    for a, b in zip(states[:-1], reference[:-1]):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(states[-1], last, atol=1e-4, rtol=1e-4)
