"""Length-bucketed batches under a token budget, resumable mid-epoch and rank-balanced.

Batches follow fairseq's ``batch_by_size``: utterances are ordered by length (longest
first; ties broken by a permutation seeded from ``seed`` when shuffling) and grouped
greedily while ``len(batch) * longest <= max_tokens`` (fairseq ``max_tokens``; the budget
counts padded samples), so similar lengths share a batch and little is padding. The batches
are formed once; each epoch only their order is shuffled, with a generator seeded from
``seed + epoch`` (fairseq ``EpochBatchIterator``).

Under DDP every rank builds the same global list, pads it by repeating batches from its
start to a multiple of ``num_replicas`` and takes every ``num_replicas``-th batch, so all
ranks step the same number of times and none waits forever in an all-reduce.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Sampler


class BucketBatchSampler(Sampler[list[int]]):
    """Yield lists of dataset indices whose padded size stays under ``max_tokens``.

    Args:
        lengths: samples per utterance, already capped by any crop (``AudioDataset.sizes``).
        max_tokens: budget per batch counted as ``len(batch) * max(lengths in batch)``
            (fairseq ``dataset.max_tokens``).
        seed: seeds the tie-break permutation and, with ``epoch``, the batch order.
        shuffle: False keeps length order and no tie-break shuffling (validation).
        num_replicas, rank: data-parallel world size and this process's rank.
        ids: utterance ids, only used to name an utterance in error messages.
        max_batch_size: most utterances per batch (fairseq ``dataset.batch_size``).

    Resuming: ``state_dict(consumed=k)`` after the training loop has taken ``k`` batches of
    the epoch, then ``load_state_dict`` on a fresh sampler; its next ``__iter__`` yields the
    remaining batches in the same order. ``consumed`` counts this rank's batches, which is
    the same number on every rank, so rank 0's state serves all of them.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        max_tokens: int,
        seed: int = 0,
        *,
        shuffle: bool = True,
        num_replicas: int = 1,
        rank: int = 0,
        ids: Sequence[str] | None = None,
        max_batch_size: int | None = None,
    ) -> None:
        if max_tokens <= 0:
            raise ValueError(f"max_tokens must be positive, got {max_tokens}")
        if num_replicas < 1 or not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} is not in [0, num_replicas={num_replicas})")
        if max_batch_size is not None and max_batch_size < 1:
            raise ValueError(f"max_batch_size must be at least 1, got {max_batch_size}")
        self.lengths = np.asarray(lengths, dtype=np.int64).reshape(-1)
        if ids is not None and len(ids) != len(self.lengths):
            raise ValueError(f"got {len(ids)} ids for {len(self.lengths)} lengths")
        if (self.lengths < 0).any():
            worst = int(np.argmin(self.lengths))
            raise ValueError(f"utterance {self._name(ids, worst)} has a negative length")
        self._check_budget(max_tokens, ids)
        self.max_tokens = max_tokens
        self.seed = seed
        self.shuffle = shuffle
        self.num_replicas = num_replicas
        self.rank = rank
        self.max_batch_size = max_batch_size
        self.batches = self._form_batches()  # global, in length order; fixed across epochs
        self.epoch = 0
        self._consumed = 0  # batches of this epoch handed to the consumer
        self._resume = False  # next __iter__ starts at _consumed (set by load_state_dict)

    @staticmethod
    def _name(ids: Sequence[str] | None, i: int) -> str:
        return repr(str(ids[i])) if ids is not None else f"at index {i}"

    def _check_budget(self, max_tokens: int, ids: Sequence[str] | None) -> None:
        over = np.flatnonzero(self.lengths > max_tokens)
        if len(over):
            worst = int(over[np.argmax(self.lengths[over])])
            raise ValueError(
                f"utterance {self._name(ids, worst)} has {int(self.lengths[worst])} samples, more than "
                f"max_tokens={max_tokens} ({len(over)} utterance(s) over the budget); raise max_tokens "
                "or crop long utterances (max_sample_size)"
            )

    def _form_batches(self) -> list[list[int]]:
        n = len(self.lengths)
        if self.shuffle:
            tie = torch.randperm(n, generator=torch.Generator().manual_seed(self.seed)).numpy()
        else:
            tie = np.arange(n)
        order = np.lexsort((tie, -self.lengths))  # longest first, then by tie-break
        batches: list[list[int]] = []
        batch: list[int] = []
        longest = 0
        cap = self.max_batch_size or n + 1
        for i in order.tolist():
            size = int(self.lengths[i])
            grown = max(longest, size)
            if batch and ((len(batch) + 1) * grown > self.max_tokens or len(batch) >= cap):
                batches.append(batch)
                batch, grown = [], size
            batch.append(i)
            longest = grown
        if batch:
            batches.append(batch)
        return batches

    def set_epoch(self, epoch: int) -> None:
        """Pick the epoch's batch order; a new epoch starts from its first batch."""
        if epoch != self.epoch:
            self.epoch = epoch
            self._consumed = 0
            self._resume = False

    def _epoch_batches(self) -> list[list[int]]:
        """This rank's batches for ``self.epoch``, in the order they are yielded."""
        batches = self.batches
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed + self.epoch)
            batches = [batches[j] for j in torch.randperm(len(batches), generator=g).tolist()]
        n = len(batches)
        total = -(-n // self.num_replicas) * self.num_replicas
        padded = [batches[i % n] for i in range(total)]
        return padded[self.rank :: self.num_replicas]

    def __iter__(self) -> Iterator[list[int]]:
        start = self._consumed if self._resume else 0
        self._resume = False
        self._consumed = start  # now, not at the first next(): state_dict may come first
        return self._count(self._epoch_batches()[start:])

    def _count(self, batches: list[list[int]]) -> Iterator[list[int]]:
        for batch in batches:
            self._consumed += 1
            yield list(batch)

    def __len__(self) -> int:
        return -(-len(self.batches) // self.num_replicas)

    def state_dict(self, consumed: int | None = None) -> dict:
        """Position in the epoch. ``consumed``: batches the training loop really took, which
        is fewer than this sampler has yielded when a DataLoader's workers prefetch."""
        if consumed is None:
            consumed = self._consumed
        if not 0 <= consumed <= len(self):
            raise ValueError(f"consumed={consumed} is outside [0, {len(self)}] batches of this epoch")
        return {
            "epoch": self.epoch,
            "consumed": consumed,
            "seed": self.seed,
            "num_batches": len(self.batches),
            "num_replicas": self.num_replicas,
        }

    def load_state_dict(self, state: dict) -> None:
        """Continue an epoch; the next ``__iter__`` yields only the batches not yet consumed."""
        changed = []
        if state["seed"] != self.seed:
            changed.append(f"seed {state['seed']} -> {self.seed}")
        if state["num_batches"] != len(self.batches):
            changed.append(f"{state['num_batches']} -> {len(self.batches)} batches")
        if state.get("num_replicas", self.num_replicas) != self.num_replicas:
            changed.append(f"num_replicas {state['num_replicas']} -> {self.num_replicas}")
        if changed:
            raise ValueError(
                f"cannot resume the batch order: {', '.join(changed)} since the checkpoint; the data "
                "(manifest, crop/filter settings) or the config (max_tokens, max_batch_size, seed, "
                "world size) changed. Restore them, or skip loading this state to start the epoch over"
            )
        if not 0 <= state["consumed"] <= len(self):
            raise ValueError(f"consumed={state['consumed']} is outside [0, {len(self)}] batches")
        self.epoch = state["epoch"]
        self._consumed = state["consumed"]
        self._resume = True


class ShuffledBatchSampler(BucketBatchSampler):
    """Batches drawn anew every epoch, for contrastive objectives, whose negatives are the other clips of the batch.

    ``BucketBatchSampler`` forms its batches once, by length: with clips cropped to one window, the same clips
    would meet as each other's negatives in every epoch. Here each epoch (seeded from ``seed + epoch``) deals
    the utterances into new batches of ``batch_size`` (CLIP's and CAV-MAE's shuffled DataLoader), capped so
    that ``len(batch) * longest <= max_tokens``.

    With ``groups`` (one label per utterance, e.g. its speaker) and ``groups_per_batch = k > 0``, every batch
    holds the clips of about ``k`` groups, ``batch_size // k`` from each (the last piece of a group may be
    smaller): the other clips of the same speaker become hard negatives, which face and voice identity cannot
    tell apart. The number of batches is the same in every epoch, so resuming works as for the base class.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        max_tokens: int,
        seed: int = 0,
        *,
        batch_size: int,
        groups: Sequence[str] | None = None,
        groups_per_batch: int = 0,
        num_replicas: int = 1,
        rank: int = 0,
        ids: Sequence[str] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if groups_per_batch < 0 or (groups_per_batch and groups is None):
            raise ValueError(f"groups_per_batch={groups_per_batch} needs a group label per utterance")
        if groups is not None and len(groups) != len(lengths):
            raise ValueError(f"got {len(groups)} group labels for {len(lengths)} utterances")
        longest = max((int(n) for n in lengths), default=1)
        self.batch_size = max(1, min(batch_size, max_tokens // max(longest, 1)))
        self.groups_per_batch = groups_per_batch if groups is not None else 0
        if self.groups_per_batch:
            _, self._group_of = np.unique(np.asarray(groups, dtype=str), return_inverse=True)
        super().__init__(lengths, max_tokens, seed, shuffle=True, num_replicas=num_replicas, rank=rank, ids=ids,
                         max_batch_size=self.batch_size)

    def _form_batches(self, epoch: int = 0) -> list[list[int]]:
        n = len(self.lengths)
        rng = np.random.default_rng((self.seed, epoch))
        if not self.groups_per_batch:
            order = rng.permutation(n).tolist()
            return [order[i:i + self.batch_size] for i in range(0, n, self.batch_size)]
        per = max(1, self.batch_size // self.groups_per_batch)
        pieces = []  # each group's clips, shuffled and cut into pieces of `per`; groups in a random order
        for g in rng.permutation(int(self._group_of.max(initial=-1)) + 1):
            members = rng.permutation(np.flatnonzero(self._group_of == g)).tolist()
            pieces += [members[i:i + per] for i in range(0, len(members), per)]
        # batch j takes pieces j, j + B, j + 2B, ...: a group's consecutive pieces go to different batches
        # whenever it has no more than B pieces, so a batch holds groups_per_batch groups
        num = -(-len(pieces) // self.groups_per_batch)
        batches = [sum(pieces[j::num], []) for j in range(num)]
        return [batches[j] for j in rng.permutation(num)]

    def _epoch_batches(self) -> list[list[int]]:
        batches = self._form_batches(self.epoch)  # already in a random order
        n = len(batches)
        total = -(-n // self.num_replicas) * self.num_replicas
        padded = [batches[i % n] for i in range(total)]
        return padded[self.rank :: self.num_replicas]
