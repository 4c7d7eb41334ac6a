"""Beam search over an encoder-decoder: a hand-built model whose best output is known and is not the greedy one,
the length penalty, the maximum length, batches against one-by-one, and the cached decoder against recomputation."""
from __future__ import annotations

import math

import pytest
import torch

from asrkit.decode.seq2seq import Hypothesis, beam_search, greedy_search, translate
from asrkit.models.conformer import conformer
from asrkit.models.seq2seq import DecoderConfig, EncoderDecoderModel, TransformerDecoder

PAD, BOS, EOS, A, B, C = range(6)
V = 6
SPECIALS = dict(bos=BOS, eos=EOS, pad=PAD)

# next-token probabilities after each output prefix; any other prefix ends (EOS 1)
TABLE = {
    (): {A: 0.5, B: 0.4, C: 0.1},
    (A,): {C: 0.4, B: 0.35, EOS: 0.25},
    (A, C): {EOS: 1.0},
    (B,): {EOS: 0.9, C: 0.1},
}
# greedy: A (0.5), C (0.4), EOS: p = 0.2 over 3 tokens; the best by score/len is B EOS: p = 0.36 over 2


class TableDecoder:
    """A hand-built decoder: log-probabilities looked up by prefix, ignoring the memory and the state."""

    def __init__(self, table, never_eos=False):
        self.table, self.never_eos = table, never_eos

    def __call__(self, prev_tokens, memory, padding_mask, state):
        rows = []
        for prefix in prev_tokens.tolist():
            probs = torch.full((V,), 1e-3 if self.never_eos else 0.0)
            for token, p in self.table.get(tuple(prefix[1:]), {EOS: 1.0}).items():
                probs[token] = p
            if self.never_eos:
                probs[EOS] = 1e-6
            rows.append(probs / probs.sum())
        return torch.stack(rows).log().unsqueeze(1)


def _run(decoder=None, lengths=(4,), **kwargs):
    memory = torch.zeros(len(lengths), max(lengths), 8)
    padding = torch.arange(max(lengths))[None, :] >= torch.tensor(lengths)[:, None]
    kwargs = {"max_len_b": 10, **kwargs}
    return beam_search(decoder or TableDecoder(TABLE), memory, padding, **SPECIALS, **kwargs)


def test_beam_finds_the_best_sequence_that_greedy_misses():
    (greedy,), = [_run(beam=1)]
    assert [h.tokens for h in greedy] == [(A, C)]
    assert greedy[0].log_prob == pytest.approx(math.log(0.2))
    (best, second), = _run(beam=2)
    assert best.tokens == (B,) and best.log_prob == pytest.approx(math.log(0.36))
    assert best.score == pytest.approx(math.log(0.36) / 2)  # fairseq: / (tokens + EOS) ** 1
    assert second.tokens == (A, C) and second.score == pytest.approx(math.log(0.2) / 3)
    assert greedy_search(TableDecoder(TABLE), torch.zeros(1, 4, 8), None, **SPECIALS)[0].tokens == (A, C)


@pytest.mark.parametrize("len_penalty, expected", [(0.0, (B,)), (1.0, (B,)), (2.0, (A, C))])
def test_the_length_penalty_changes_the_choice(len_penalty, expected):
    # log 0.36 / 2**lp vs log 0.2 / 3**lp: 0 -> -1.02 vs -1.61; 2 -> -0.255 vs -0.179
    (hyps,) = _run(beam=2, len_penalty=len_penalty)
    assert hyps[0].tokens == expected
    assert all(h.score == pytest.approx(h.log_prob / (len(h.tokens) + 1) ** len_penalty) for h in hyps)


def test_the_maximum_length_forces_eos():
    (greedy,) = _run(beam=1, max_len_b=1)
    assert greedy == [Hypothesis((A,), pytest.approx(math.log(0.125) / 2), pytest.approx(math.log(0.125)))]
    (hyps,) = _run(beam=2, max_len_b=1)
    assert [h.tokens for h in hyps] == [(B,), (A,)]


def test_the_maximum_length_scales_with_each_utterances_source_length():
    # max_len_a * S + max_len_b tokens before the EOS, S the valid frames of each utterance
    results = _run(TableDecoder({}, never_eos=True), lengths=(2, 6, 4), beam=3, max_len_a=0.5, max_len_b=1)
    assert [[len(h.tokens) for h in hyps] for hyps in results] == [[2] * 3, [4] * 3, [3] * 3]
    assert _run(TableDecoder({}, never_eos=True), beam=2, max_len_b=3, max_len=2)[0][0].tokens.__len__() == 2


def test_no_empty_output_and_never_pad():
    # EOS is the most likely first token, but min_len 1 bars it; PAD is likelier than anything else after
    table = {(): {EOS: 0.7, PAD: 0.2, A: 0.1}, (A,): {PAD: 0.8, EOS: 0.2}}
    (hyps,) = _run(TableDecoder(table), beam=2)
    assert hyps[0].tokens == (A,) and all(PAD not in h.tokens and h.tokens for h in hyps)
    (hyps,) = _run(TableDecoder(table), beam=1, min_len=0)
    assert hyps[0].tokens == ()


def _random_decoder(seed=0, vocab=13):
    torch.manual_seed(seed)
    cfg = DecoderConfig(embed_dim=32, layers=2, attention_heads=4, ffn_embed_dim=64, dropout=0.0,
                        max_target_positions=32)
    return TransformerDecoder(cfg, vocab, pad=PAD).eval()


def _random_memory(lengths, seed=1):
    g = torch.Generator().manual_seed(seed)
    memory = torch.randn(len(lengths), max(lengths), 32, generator=g)
    padding = torch.arange(max(lengths))[None, :] >= torch.tensor(lengths)[:, None]
    return memory, padding


def _assert_same(got, expected):
    assert [[h.tokens for h in hyps] for hyps in got] == [[h.tokens for h in hyps] for hyps in expected]
    for g, e in zip(got, expected):
        assert [h.score for h in g] == pytest.approx([h.score for h in e], abs=1e-4)


def test_a_batch_decodes_as_its_utterances_one_by_one():
    decoder = _random_decoder()
    lengths = [5, 11, 3, 8]
    memory, padding = _random_memory(lengths)
    opts = dict(beam=4, max_len_a=0.5, max_len_b=3, len_penalty=1.0, **SPECIALS)
    batched = beam_search(decoder, memory, padding, **opts)
    alone = [beam_search(decoder, memory[i:i + 1, :n], None, **opts)[0] for i, n in enumerate(lengths)]
    _assert_same(batched, alone)
    assert all(len(hyps) == 4 for hyps in batched)
    assert len({len(hyps[0].tokens) for hyps in batched}) > 1  # utterances finish at different steps


def test_the_cached_decoder_searches_as_recomputing_every_prefix():
    decoder = _random_decoder(seed=3)
    memory, padding = _random_memory([6, 9, 4], seed=4)
    opts = dict(beam=3, max_len_b=8, **SPECIALS)
    recompute = lambda tokens, mem, mask, state: decoder(tokens, mem, mask)  # noqa: E731
    _assert_same(beam_search(decoder, memory, padding, **opts), beam_search(recompute, memory, padding, **opts))


def test_greedy_is_the_argmax_at_every_step():
    decoder = _random_decoder(seed=5)
    memory, padding = _random_memory([7], seed=6)
    (hyp,) = greedy_search(decoder, memory, padding, max_len_b=6, **SPECIALS)
    tokens, log_prob = [BOS], 0.0
    with torch.no_grad():
        for step in range(7):
            lprobs = torch.log_softmax(decoder(torch.tensor([tokens]), memory, padding)[0, -1], dim=-1)
            lprobs[PAD] = -math.inf
            if step == 0:
                lprobs[EOS] = -math.inf
            if step == 6:
                lprobs[torch.arange(len(lprobs)) != EOS] = -math.inf
            token = int(lprobs.argmax())
            log_prob += float(lprobs[token])
            if token == EOS:
                break
            tokens.append(token)
    assert hyp.tokens == tuple(tokens[1:]) and hyp.log_prob == pytest.approx(log_prob, abs=1e-4)


def test_translate_runs_the_model_end_to_end():
    torch.manual_seed(0)
    encoder = conformer(embed_dim=48, num_layers=1, num_heads=4, ffn_dim=64, kernel_size=7)
    model = EncoderDecoderModel(encoder, 48, _random_decoder()).eval()
    source = torch.randn(2, 4000)
    padding = torch.zeros(2, 4000, dtype=torch.bool)
    padding[1, 2400:] = True
    results = translate(model, source, padding, beam=2, max_len_a=0.2, max_len_b=2, **SPECIALS)
    frames = model.output_lengths(torch.tensor([4000, 2400])).tolist()
    assert [len(r) for r in results] == [2, 2]
    assert all(len(h.tokens) <= int(0.2 * f + 2) for r, f in zip(results, frames) for h in r)


def test_bad_options_are_errors():
    with pytest.raises(ValueError, match="beam"):
        _run(beam=0)
    with pytest.raises(ValueError, match="utterance 0: maximum length 0"):
        _run(beam=2, max_len_b=0)
