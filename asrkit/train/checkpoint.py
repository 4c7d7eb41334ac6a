"""Checkpoints that survive a crash at any instant.

A checkpoint is written to a temporary file in the same directory, flushed and fsync'ed,
then renamed over its final name (atomic on POSIX), and the directory is fsync'ed. The
``checkpoint_last.pt`` and ``checkpoint_best.pt`` names are hard links to a numbered
checkpoint, replaced by rename, never written by copying; only the ``keep_last`` newest
numbered checkpoints are kept (``best`` keeps its data through its own link). A process killed
mid-save leaves at most a stray ``*.tmp`` behind, and the previous checkpoint intact.
"""
from __future__ import annotations

import os
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

LAST, BEST = "checkpoint_last.pt", "checkpoint_best.pt"
_NUMBERED = re.compile(r"checkpoint_(\d+)\.pt$")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_save(obj: Any, path: str | Path) -> Path:
    """``torch.save`` to ``path`` so that readers only ever see a complete file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    _fsync_dir(path.parent)
    return path


def _link_atomic(target: Path, link: Path) -> None:
    """Point ``link`` at ``target``'s data: hard link under a temp name, then rename."""
    tmp = link.with_name(f".{link.name}.{os.getpid()}.lnk")
    if tmp.exists():
        tmp.unlink()
    os.link(target, tmp)
    os.replace(tmp, link)


def numbered_checkpoints(exp_dir: str | Path) -> list[Path]:
    """``checkpoint_<step>.pt`` files, oldest first."""
    found = [(int(m.group(1)), p) for p in Path(exp_dir).glob("checkpoint_*.pt") if (m := _NUMBERED.search(p.name))]
    return [p for _, p in sorted(found)]


def save_checkpoint(state: dict, exp_dir: str | Path, step: int, *, is_best: bool = False, keep_last: int = 3) -> Path:
    """Write ``checkpoint_<step>.pt``, point ``last`` (and ``best``) at it, prune old ones."""
    exp_dir = Path(exp_dir)
    path = atomic_save(state, exp_dir / f"checkpoint_{step}.pt")
    _link_atomic(path, exp_dir / LAST)
    if is_best:
        _link_atomic(path, exp_dir / BEST)
    _fsync_dir(exp_dir)
    for old in numbered_checkpoints(exp_dir)[:-keep_last] if keep_last > 0 else []:
        old.unlink()  # ``last``/``best`` are hard links: their data stays
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    path = Path(path)
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except Exception as e:  # noqa: BLE001 - any unpickling failure means the same thing here
        raise RuntimeError(f"{path}: cannot load checkpoint ({e}); it is corrupt or not an asrkit checkpoint") from e


def find_resume_checkpoint(exp_dir: str | Path) -> Path | None:
    """The checkpoint to resume from: ``last``, else the newest numbered one."""
    exp_dir = Path(exp_dir)
    if (exp_dir / LAST).exists():
        return exp_dir / LAST
    numbered = numbered_checkpoints(exp_dir)
    return numbered[-1] if numbered else None


def rng_state() -> dict:
    """Every RNG a training step draws from, so a resumed run continues bit for bit."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
