"""Checkpoint writing and reading live in :mod:`asrkit.checkpoint`, below both training and decoding; the
names training code has imported from here stay importable."""
from ..checkpoint import (
    BEST,
    LAST,
    atomic_save,
    find_resume_checkpoint,
    load_checkpoint,
    numbered_checkpoints,
    rng_state,
    save_checkpoint,
    set_rng_state,
)

__all__ = ["BEST", "LAST", "atomic_save", "find_resume_checkpoint", "load_checkpoint", "numbered_checkpoints",
           "rng_state", "save_checkpoint", "set_rng_state"]
