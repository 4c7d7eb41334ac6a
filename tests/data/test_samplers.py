"""BucketBatchSampler: token budget, coverage, epoch shuffling, resume, rank balance; ShuffledBatchSampler: new
batches every epoch, optionally of a few speakers each."""
from __future__ import annotations

import numpy as np
import pytest

from asrkit.data.samplers import BucketBatchSampler, ShuffledBatchSampler

MAX_TOKENS = 4000


@pytest.fixture
def lengths() -> list[int]:
    return np.random.default_rng(0).integers(100, 1500, size=103).tolist()


def _epoch(sampler: BucketBatchSampler, epoch: int) -> list[list[int]]:
    sampler.set_epoch(epoch)
    return list(sampler)


def test_budget_and_batch_size_respected(lengths):
    sampler = BucketBatchSampler(lengths, MAX_TOKENS, seed=1, max_batch_size=3)
    for batch in sampler:
        assert len(batch) <= 3
        assert len(batch) * max(lengths[i] for i in batch) <= MAX_TOKENS


def test_similar_lengths_share_a_batch(lengths):
    batches = BucketBatchSampler(lengths, MAX_TOKENS, shuffle=False).batches
    longest = [max(lengths[i] for i in b) for b in batches]
    shortest = [min(lengths[i] for i in b) for b in batches]
    assert longest == sorted(longest, reverse=True)
    assert all(s >= nxt for s, nxt in zip(shortest, longest[1:]))  # batches do not overlap in length


def test_every_index_once_per_epoch(lengths):
    sampler = BucketBatchSampler(lengths, MAX_TOKENS, seed=3)
    for epoch in range(3):
        flat = [i for b in _epoch(sampler, epoch) for i in b]
        assert sorted(flat) == list(range(len(lengths)))
        assert len(_epoch(sampler, epoch)) == len(sampler)


def test_epoch_changes_order_seed_reproduces_it(lengths):
    a = BucketBatchSampler(lengths, MAX_TOKENS, seed=5)
    b = BucketBatchSampler(lengths, MAX_TOKENS, seed=5)
    assert _epoch(a, 0) != _epoch(a, 1)
    assert _epoch(a, 1) == _epoch(b, 1)
    assert _epoch(a, 0) == _epoch(b, 0)


def test_no_shuffle_is_length_ordered_every_epoch(lengths):
    sampler = BucketBatchSampler(lengths, MAX_TOKENS, shuffle=False)
    assert _epoch(sampler, 0) == _epoch(sampler, 7) == sampler.batches


def test_reiterating_without_set_epoch_repeats_the_epoch(lengths):
    sampler = BucketBatchSampler(lengths, MAX_TOKENS, seed=2)
    assert list(sampler) == list(sampler)
    iter(sampler)
    assert sampler.state_dict()["consumed"] == 0


@pytest.mark.parametrize("k", [0, 1, 4, "all"])
def test_resume_yields_the_remaining_batches(lengths, k):
    first = BucketBatchSampler(lengths, MAX_TOKENS, seed=9)
    full = _epoch(first, 2)
    k = len(full) if k == "all" else k
    it = iter(first)
    taken = [next(it) for _ in range(k)]
    state = first.state_dict()
    assert state["consumed"] == k and state["epoch"] == 2

    resumed = BucketBatchSampler(lengths, MAX_TOKENS, seed=9)
    resumed.load_state_dict(state)
    resumed.set_epoch(2)  # a training loop re-entering the epoch keeps the position
    assert taken + list(resumed) == full
    assert _epoch(resumed, 3) == _epoch(BucketBatchSampler(lengths, MAX_TOKENS, seed=9), 3)


def test_resume_with_prefetch_uses_the_consumed_count(lengths):
    first = BucketBatchSampler(lengths, MAX_TOKENS, seed=4)
    full = _epoch(first, 1)
    it = iter(first)
    for _ in range(6):  # a DataLoader's workers ran ahead of the training loop
        next(it)
    state = first.state_dict(consumed=3)
    resumed = BucketBatchSampler(lengths, MAX_TOKENS, seed=4)
    resumed.load_state_dict(state)
    assert list(resumed) == full[3:]


def test_exhausted_epoch_resets_on_next_epoch(lengths):
    sampler = BucketBatchSampler(lengths, MAX_TOKENS, seed=4)
    list(sampler)
    assert sampler.state_dict()["consumed"] == len(sampler)
    sampler.set_epoch(1)
    assert sampler.state_dict()["consumed"] == 0


@pytest.mark.parametrize("changed", [{"max_tokens": 3000}, {"seed": 8}])
def test_resume_rejects_changed_data_or_config(lengths, changed):
    state = BucketBatchSampler(lengths, MAX_TOKENS, seed=9).state_dict()
    other = BucketBatchSampler(lengths, **{"max_tokens": MAX_TOKENS, "seed": 9, **changed})
    with pytest.raises(ValueError, match="data .* or the config .* changed"):
        other.load_state_dict(state)


@pytest.mark.parametrize("num_replicas", [2, 3])
@pytest.mark.parametrize("n", [103, 2])  # 2 utterances: fewer batches than ranks
def test_ranks_get_equal_batches_covering_all(num_replicas, n):
    lengths = np.random.default_rng(1).integers(100, 1500, size=n).tolist()
    ranks = [
        BucketBatchSampler(lengths, MAX_TOKENS, seed=6, num_replicas=num_replicas, rank=r)
        for r in range(num_replicas)
    ]
    epochs = [_epoch(s, 1) for s in ranks]
    assert {len(e) for e in epochs} == {len(ranks[0])}
    assert {i for e in epochs for b in e for i in b} == set(range(n))


def test_oversize_utterance_error_names_it():
    with pytest.raises(ValueError, match=r"'utt-b' has 5000 samples.*raise max_tokens or crop"):
        BucketBatchSampler([100, 5000], MAX_TOKENS, ids=["utt-a", "utt-b"])


def test_empty_dataset_gives_no_batches():
    sampler = BucketBatchSampler([], MAX_TOKENS, num_replicas=2, rank=1)
    assert len(sampler) == 0 and list(sampler) == []


SPEAKERS = [f"spk{i % 7}" for i in range(103)]  # 7 speakers of 14-15 clips


def _pairs(batches: list[list[int]]) -> set[frozenset]:
    return {frozenset((a, b)) for batch in batches for a in batch for b in batch if a < b}


def test_shuffled_batches_change_every_epoch_and_cover_all(lengths):
    sampler = ShuffledBatchSampler(lengths, MAX_TOKENS, seed=3, batch_size=8)
    epochs = [_epoch(sampler, e) for e in range(3)]
    for batches in epochs:
        assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
        assert len(batches) == len(sampler)
        assert all(len(b) * max(lengths[i] for i in b) <= MAX_TOKENS for b in batches)
    # other clips meet: most pairs of one epoch's batches are apart in the next (the bucketed ones never are)
    assert len(_pairs(epochs[0]) & _pairs(epochs[1])) < len(_pairs(epochs[0])) / 2
    bucket = BucketBatchSampler(lengths, MAX_TOKENS, seed=3, max_batch_size=8)
    assert _pairs(_epoch(bucket, 0)) == _pairs(_epoch(bucket, 1))
    assert _epoch(ShuffledBatchSampler(lengths, MAX_TOKENS, seed=3, batch_size=8), 1) == epochs[1]


@pytest.mark.parametrize("k", [1, 2])
def test_speaker_batches_hold_k_speakers(k):
    lengths = [1000] * len(SPEAKERS)
    sampler = ShuffledBatchSampler(lengths, 10**6, seed=2, batch_size=8, groups=SPEAKERS, groups_per_batch=k)
    for epoch in range(3):
        batches = _epoch(sampler, epoch)
        assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
        assert all(len({SPEAKERS[i] for i in b}) <= k for b in batches)
        full = [b for b in batches if len(b) == 8]
        assert len(full) >= len(batches) // 2
        assert all(sum(SPEAKERS[i] == s for i in b) == 8 // k for b in full for s in {SPEAKERS[i] for i in b})


def test_shuffled_sampler_resumes_mid_epoch(lengths):
    first = ShuffledBatchSampler(lengths, MAX_TOKENS, seed=9, batch_size=6, groups=SPEAKERS, groups_per_batch=2)
    full = _epoch(first, 4)
    it = iter(first)
    taken = [next(it) for _ in range(5)]
    resumed = ShuffledBatchSampler(lengths, MAX_TOKENS, seed=9, batch_size=6, groups=SPEAKERS, groups_per_batch=2)
    resumed.load_state_dict(first.state_dict())
    resumed.set_epoch(4)
    assert taken + list(resumed) == full


def test_shuffled_batch_size_obeys_the_token_budget():
    sampler = ShuffledBatchSampler([1000] * 20, 3000, batch_size=8)
    assert max(len(b) for b in sampler) == 3
    with pytest.raises(ValueError, match="group label per utterance"):
        ShuffledBatchSampler([1000] * 20, 3000, batch_size=8, groups_per_batch=2)
