"""The translation model: incremental decoding equals the full forward, padding of source and target changes
nothing, any asrkit encoder fits (Conformer, wav2vec 2.0 through an adapter), the config's checks."""
from __future__ import annotations

import pytest
import torch

from asrkit.config import ConfigError
from asrkit.models import Wav2Vec2Config, wav2vec2_model
from asrkit.models.conformer import conformer
from asrkit.models.seq2seq import (DECODER_CONFIGS, DecoderConfig, EncoderDecoderModel, TransformerDecoder,
                                   reorder_state)

V, PAD = 11, 0
TINY = DecoderConfig(embed_dim=32, layers=2, attention_heads=4, ffn_embed_dim=64, max_target_positions=64)


def _decoder(seed=0, **kw) -> TransformerDecoder:
    torch.manual_seed(seed)
    cfg_kw = {k: kw.pop(k) for k in list(kw) if k in DecoderConfig.__dataclass_fields__}
    return TransformerDecoder(DecoderConfig(**{**TINY.__dict__, **cfg_kw}), V, pad=PAD, **kw).eval()


def _memory(lengths, width=32, seed=1):
    g = torch.Generator().manual_seed(seed)
    s = max(lengths)
    memory = torch.randn(len(lengths), s, width, generator=g)
    padding = torch.arange(s)[None, :] >= torch.tensor(lengths)[:, None]
    return memory, padding


@pytest.mark.parametrize("normalize_before, tied", [(True, False), (False, True)])
def test_incremental_decoding_gives_the_full_forward_logits(normalize_before, tied):
    dec = _decoder(normalize_before=normalize_before, share_input_output_embed=tied)
    memory, padding = _memory([5, 8])
    tokens = torch.randint(1, V, (2, 7), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        full = dec(tokens, memory, padding)
        state = {}
        steps = torch.cat([dec(tokens[:, :t], memory, padding, state) for t in range(1, 8)], dim=1)
        chunked_state = {}
        first = dec(tokens[:, :3], memory, padding, chunked_state)  # several new positions at once, then the rest
        rest = dec(tokens, memory, padding, chunked_state)
    assert full.shape == (2, 7, V)
    torch.testing.assert_close(steps, full, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(torch.cat([first, rest], dim=1), full, atol=1e-5, rtol=1e-5)
    assert dec.cached_steps(state) == 7


def test_reordered_state_continues_the_selected_rows():
    dec = _decoder()
    memory, padding = _memory([4, 6])
    tokens = torch.randint(1, V, (2, 5), generator=torch.Generator().manual_seed(3))
    order = torch.tensor([1, 1, 0])
    with torch.no_grad():
        state = {}
        dec(tokens[:, :3], memory, padding, state)
        reorder_state(state, order)
        got = dec(tokens[order], memory[order], padding[order], state)
        expected = dec(tokens[order], memory[order], padding[order])[:, 3:]
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_source_and_target_padding_change_no_logit():
    dec = _decoder()
    memory, padding = _memory([4, 9])
    memory[0, 4:] = 1e3  # whatever sits in the padded frames must not matter
    tokens = torch.tensor([[1, 5, 6, PAD, PAD, PAD], [1, 4, 4, 7, 8, 9]])
    with torch.no_grad():
        batched = dec(tokens, memory, padding)
        alone = dec(tokens[:1, :3], memory[:1, :4], None)
    torch.testing.assert_close(batched[:1, :3], alone, atol=1e-5, rtol=1e-5)


def _conformer_model(ctc_vocab_size=7):
    torch.manual_seed(0)
    encoder = conformer(embed_dim=32, num_layers=2, num_heads=4, ffn_dim=64, kernel_size=7)
    return EncoderDecoderModel(encoder, 32, _decoder(), ctc_vocab_size=ctc_vocab_size).eval()


def test_an_utterance_gives_the_same_output_alone_and_padded_in_a_batch():
    model = _conformer_model()
    g = torch.Generator().manual_seed(4)
    short, long = torch.randn(3200, generator=g), torch.randn(6400, generator=g)
    source = torch.stack([torch.cat([short, torch.zeros(3200)]), long])
    padding = torch.zeros(2, 6400, dtype=torch.bool)
    padding[0, 3200:] = True
    prev = torch.tensor([[1, 5, 6, PAD, PAD], [1, 4, 4, 7, 8]])
    with torch.no_grad():
        batched = model(source, padding, prev)
        alone = model(short[None], None, prev[:1, :3])
    frames = int(model.output_lengths(torch.tensor([3200])))
    assert (~batched.encoder_padding_mask[0]).sum() == frames == alone.encoder_out.size(1)
    torch.testing.assert_close(batched.logits[:1, :3], alone.logits, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(batched.ctc_logits[:1, :frames], alone.ctc_logits, atol=1e-4, rtol=1e-4)
    assert batched.ctc_logits.shape == (2, batched.encoder_out.size(1), 7)


def test_a_wav2vec2_encoder_fits_through_an_adapter_without_its_pretraining_heads():
    torch.manual_seed(0)
    encoder = wav2vec2_model(Wav2Vec2Config(
        conv_feature_layers="[(32, 10, 5)] + [(32, 3, 2)] * 2 + [(32, 2, 2)]", encoder_layers=1, encoder_embed_dim=48,
        encoder_ffn_embed_dim=96, encoder_attention_heads=4, conv_pos=16, conv_pos_groups=4, latent_vars=16,
        final_dim=24))
    model = EncoderDecoderModel(encoder, 48, _decoder(), ctc_vocab_size=0)
    assert model.adapter is not None and model.adapter.in_features == 48 and model.adapter.out_features == 32
    assert encoder.quantizer is None and encoder.final_proj is None
    source = torch.randn(2, 1600)
    out = model.train()(source, None, torch.tensor([[1, 3, 4], [1, 5, 6]]))
    assert out.logits.shape == (2, 3, V) and out.ctc_logits is None
    assert out.encoder_out.shape == (2, int(model.output_lengths(torch.tensor([1600]))), 48)
    out.logits.sum().backward()
    assert encoder.encoder.layers[0].attention.q_proj.weight.grad is not None


def test_a_tied_output_projection_is_the_embedding():
    dec = _decoder(share_input_output_embed=True)
    assert dec.output_projection.weight is dec.embed_tokens.weight and dec.output_projection.bias is None
    assert _decoder().output_projection.weight is not _decoder().embed_tokens.weight


def test_the_pad_embedding_is_zero():
    assert _decoder().embed_tokens.weight[PAD].abs().sum() == 0


def test_named_configs_follow_the_espnet_recipe_and_fit_a_cpu():
    mustc = DECODER_CONFIGS["mustc_st"]
    assert (mustc.embed_dim, mustc.layers, mustc.attention_heads, mustc.ffn_embed_dim) == (256, 6, 4, 2048)
    assert mustc.dropout == 0.1 and mustc.normalize_before
    tiny = DECODER_CONFIGS["tiny"]
    assert (tiny.embed_dim, tiny.layers) == (128, 2)


@pytest.mark.parametrize("values, field", [
    ({"embed_dim": 30}, "embed_dim"),  # not a multiple of 4 heads
    ({"dropout": 1.0}, "dropout"),
    ({"layers": 0}, "layers"),
])
def test_config_rejects_bad_values(values, field):
    with pytest.raises(ConfigError, match=field):
        DecoderConfig(**values)


def test_config_from_dict_rejects_unknown_keys():
    assert DecoderConfig.from_dict({"layers": 3}).layers == 3
    with pytest.raises(ConfigError, match="decoder_layers"):
        DecoderConfig.from_dict({"decoder_layers": 3})


def test_too_long_input_and_wrong_memory_width_are_clear_errors():
    dec = _decoder(max_target_positions=4)
    memory, padding = _memory([3])
    with pytest.raises(ValueError, match="max_target_positions"):
        dec(torch.ones(1, 5, dtype=torch.long), memory, padding)
    with pytest.raises(ValueError, match="width 16"):
        dec(torch.ones(1, 2, dtype=torch.long), memory[..., :16], padding)
    with pytest.raises(ValueError, match="embed_dim is 32"):
        EncoderDecoderModel(conformer(embed_dim=32, num_layers=1, num_heads=4, ffn_dim=32), 48, _decoder())
