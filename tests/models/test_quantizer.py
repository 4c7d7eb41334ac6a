"""Gumbel product quantizer (wav2vec 2.0 §2, eq. 1)."""
from __future__ import annotations

import pytest
import torch

from asrkit.models.quantizer import GumbelVectorQuantizer


def _quantizer(**kw) -> GumbelVectorQuantizer:
    torch.manual_seed(0)
    args = {"input_dim": 16, "num_groups": 2, "num_vars": 8, "codevector_dim": 12, "output_dim": 10}
    return GumbelVectorQuantizer(**{**args, **kw})


def _entries(q: GumbelVectorQuantizer, indices: torch.Tensor) -> torch.Tensor:
    """Concatenated codebook entries for ``(N, T, G)`` indices."""
    return torch.cat([q.codebooks[g][indices[..., g]] for g in range(q.num_groups)], dim=-1)


@pytest.mark.parametrize("training", [True, False])
def test_output_is_a_codebook_entry(training):
    q = _quantizer().train(training)
    out = q(torch.randn(3, 7, 16))
    assert out.codevectors.shape == (3, 7, 12) and out.quantized.shape == (3, 7, 10)
    assert out.indices.shape == (3, 7, 2)
    assert torch.allclose(out.codevectors, _entries(q, out.indices), atol=1e-6)
    assert torch.allclose(out.quantized, q.output_proj(out.codevectors))


def test_eval_takes_the_argmax_of_the_logits():
    q = _quantizer().eval()
    z = torch.randn(2, 5, 16)
    out = q(z)
    expected = q.logits_proj(z).view(2, 5, 2, 8).argmax(-1)
    assert torch.equal(out.indices, expected)
    assert torch.equal(out.codevectors, _entries(q, expected))


def test_straight_through_gradients_reach_the_logits():
    q = _quantizer().train()
    z = torch.randn(4, 6, 16, requires_grad=True)
    out = q(z)
    (out.quantized * torch.randn_like(out.quantized)).sum().backward()
    assert q.logits_proj.weight.grad is not None and q.logits_proj.weight.grad.abs().sum() > 0
    assert z.grad.abs().sum() > 0
    assert q.codebooks.grad.abs().sum() > 0


def test_temperature_annealing():
    q = _quantizer(temperature=(2.0, 0.5, 0.999995))
    assert q.temperature == 2.0
    for n in (0, 1, 1000, 100_000, 277_000, 300_000, 10**7):
        q.set_num_updates(n)
        assert q.temperature == pytest.approx(max(2.0 * 0.999995**n, 0.5))
    assert q.temperature == 0.5


def test_low_temperature_gumbel_follows_the_logits_and_generator_is_deterministic():
    q = _quantizer().train()
    z = torch.randn(2, 50, 16)
    a = q(z, generator=torch.Generator().manual_seed(3))
    b = q(z, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a.indices, b.indices)
    q.temperature = 1e-3  # noise still applies: argmax of (l + n), not of l
    c = q(z * 1e4, generator=torch.Generator().manual_seed(3))  # large logits dominate the noise
    assert torch.equal(c.indices, q.logits_proj(z * 1e4).view(2, 50, 2, 8).argmax(-1))


def test_perplexities_and_padding():
    q = _quantizer().eval()
    z = torch.randn(2, 30, 16)
    padding_mask = torch.zeros(2, 30, dtype=torch.bool)
    padding_mask[1, 12:] = True
    out = q(z, padding_mask)
    valid = torch.cat([z[0], z[1, :12]]).unsqueeze(0)
    ref = q(valid)
    assert torch.allclose(out.prob_perplexity, ref.prob_perplexity)
    assert torch.allclose(out.code_perplexity, ref.code_perplexity)
    assert 1.0 <= out.code_perplexity <= q.num_groups * q.num_vars and out.num_vars == 16
    # uniform soft distribution gives the maximal perplexity G * V
    with torch.no_grad():
        q.logits_proj.weight.zero_()
    assert torch.allclose(q(z).prob_perplexity, torch.tensor(16.0), atol=1e-4)


def test_batch_vs_single_consistency_in_eval():
    q = _quantizer().eval()
    z = torch.randn(3, 9, 16)
    batch = q(z)
    for i in range(3):
        single = q(z[i : i + 1])
        assert torch.equal(single.indices, batch.indices[i : i + 1])
        assert torch.allclose(single.quantized, batch.quantized[i : i + 1], atol=1e-6)


def test_empty_input():
    q = _quantizer().train()
    out = q(torch.randn(2, 0, 16))
    assert out.quantized.shape == (2, 0, 10)
    assert out.prob_perplexity == 0 and out.code_perplexity == 0


def test_sampled_codevectors_come_from_the_codebook():
    q = _quantizer()
    vectors = q.sample_codevectors(5, generator=torch.Generator().manual_seed(0))
    assert vectors.shape == (5, 10)
    every = torch.cartesian_prod(torch.arange(8), torch.arange(8))
    table = q.output_proj(_entries(q, every))
    assert all(torch.isclose(table, v, atol=1e-6).all(-1).any() for v in vectors)
