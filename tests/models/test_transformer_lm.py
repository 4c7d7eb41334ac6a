"""The Transformer LM (wav2vec 2.0 §4.4): causal, and its key/value cache gives the full forward's results."""
import pytest
import torch

from asrkit.config import ConfigError
from asrkit.models.transformer_lm import LM_CONFIGS, TransformerLM, TransformerLMConfig, lm_config


def _model(positions="sinusoidal", vocab=23):
    torch.manual_seed(0)
    cfg = TransformerLMConfig(vocab_size=vocab, embed_dim=32, ffn_dim=64, num_layers=3, num_heads=4, dropout=0.0,
                              positions=positions, max_positions=64)
    return TransformerLM(cfg).eval()


@pytest.mark.parametrize("positions", ["sinusoidal", "learned"])
def test_incremental_forward_with_the_cache_equals_one_full_forward(positions):
    model = _model(positions)
    seq = torch.tensor([[0, 5, 7, 3, 9, 12, 4]])
    with torch.no_grad():
        full, _ = model(seq)
        cache, rows = None, []
        for i in range(seq.size(1)):
            out, cache = model(seq[:, i:i + 1], cache)
            rows.append(out[:, 0])
        # a chunk of several units over a cache too (a sentencepiece word)
        head, head_cache = model(seq[:, :3])
        tail, _ = model(seq[:, 3:], head_cache)
    torch.testing.assert_close(torch.stack(rows, 1).log_softmax(-1), full.log_softmax(-1), atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.cat([head, tail], 1).log_softmax(-1), full.log_softmax(-1), atol=1e-5, rtol=0)


def test_branches_sharing_a_prefix_cache_reuse_it_unchanged():
    model = _model()
    with torch.no_grad():
        _, prefix = model(torch.tensor([[0, 5, 7]]))
        left, _ = model(torch.tensor([[3]]), prefix)
        right, _ = model(torch.tensor([[11]]), prefix)
        again, _ = model(torch.tensor([[3]]), prefix)
        full_left, _ = model(torch.tensor([[0, 5, 7, 3]]))
        full_right, _ = model(torch.tensor([[0, 5, 7, 11]]))
    torch.testing.assert_close(left[0, -1].log_softmax(-1), full_left[0, -1].log_softmax(-1), atol=1e-5, rtol=0)
    torch.testing.assert_close(right[0, -1].log_softmax(-1), full_right[0, -1].log_softmax(-1), atol=1e-5, rtol=0)
    torch.testing.assert_close(again, left, atol=0, rtol=0)


def test_the_model_is_causal_and_batch_equals_single():
    model = _model()
    a, b = torch.tensor([[0, 5, 7, 3, 9]]), torch.tensor([[0, 5, 7, 1, 2]])
    with torch.no_grad():
        out_a, _ = model(a)
        out_b, _ = model(b)
        both, _ = model(torch.cat([a, b]))
    torch.testing.assert_close(out_a[0, :3], out_b[0, :3], atol=1e-6, rtol=0)  # the future does not leak back
    torch.testing.assert_close(both, torch.cat([out_a, out_b]), atol=1e-5, rtol=0)


def test_output_projection_is_tied_to_the_embedding():
    model = _model()
    assert not any(name.startswith("out") for name, _ in model.named_parameters())
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in model.state_dict().values())


def test_named_configs_and_bad_values():
    assert (LM_CONFIGS["paper"].num_layers, LM_CONFIGS["paper"].embed_dim, LM_CONFIGS["paper"].ffn_dim,
            LM_CONFIGS["paper"].num_heads) == (20, 1280, 6144, 16)  # Synnaeve et al. (2020)
    assert lm_config("tiny").num_layers <= 4
    with pytest.raises(ConfigError, match="no Transformer LM config 'huge'"):
        lm_config("huge")
    with pytest.raises(ConfigError, match="does not divide"):
        TransformerLMConfig(embed_dim=30, num_heads=4)
    with pytest.raises(ValueError, match="learned positions stop"):
        _model("learned")(torch.zeros(1, 65, dtype=torch.long))
