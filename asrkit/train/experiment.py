"""The experiment directory of a training run, guarded: one run at a time, resumes that check what they resume.

``open_experiment`` is entered by ``run_pretrain``/``run_finetune`` before any work. On rank 0 it

- takes an exclusive lock on ``exp_dir/.lock`` (``fcntl.flock``; the file names the holder's pid, host,
  command and start time). A second run on the same directory stops with a message naming the holder; the
  lock of a process that died (``kill -9``, a crashed node) is released by the kernel, so a new run takes it
  over and says whose it was;
- removes the ``.checkpoint_N.pt.PID.tmp`` files of saves that were killed mid-write (only those whose
  writing process is gone: the directory is locked, so no other asrkit run writes there);
- picks the checkpoint to resume from: ``checkpoint_last.pt``, or, when that is unreadable (truncated,
  corrupt), the newest numbered checkpoint that reads, saying which it skipped and why;
- compares the run's settings with those the checkpoint was trained with, and refuses a resume that
  would silently train with other settings than asked (``--allow-changes`` names the ones to take over);
- writes the resolved config: ``config.yaml`` for a new run, ``config.resume_<update>.yaml`` for each
  resume, never overwriting the run's original.

Every rank reads the same checkpoint (the choice is deterministic); only rank 0 locks and writes.
"""
from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import os
import re
import socket
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ..checkpoint import KINDS, LAST, Checkpoint, CheckpointError, numbered_checkpoints, read_checkpoint
from ..config import ConfigError, save_config, to_dict

LOCK = ".lock"
_TEMPORARY = re.compile(r"^\.(checkpoint_(?:\d+|last|best)\.pt)\.(\d+)\.(?:tmp|lnk)$")

# Settings that never change what a run computes: they may differ on resume without notice.
IGNORED_ON_RESUME = ("trainer.log_every", "trainer.valid_every", "trainer.save_every", "trainer.keep_last",
                     "trainer.max_nonfinite", "trainer.tensorboard", "trainer.num_workers", "trainer.threads",
                     "trainer.device", "trainer.save_updates", "data.skip_bad", "data.video_cache_mb")
# Settings a resumed run takes over when named in --allow-changes (the resumed run uses the new value: the
# schedule is recomputed from optim.*_updates, the model is rebuilt from the config before its weights are
# loaded, validation reads data.valid_manifest; data.train_manifest: the same data moved, which the sampler checks
# by its number of batches). Everything else lives in
# the saved state (weights' shapes, optimizer hyper-parameters, the sampler's batches and position) and
# cannot change within one run.
ALLOWED_ON_RESUME = ("optim.max_updates", "optim.total_updates", "data.train_manifest", "data.valid_manifest",
                     "model.dropout", "model.attention_dropout", "model.activation_dropout", "model.dropout_input",
                     "model.dropout_features", "model.final_dropout", "model.encoder_layerdrop", "model.mask_prob",
                     "model.mask_channel_prob", "model.feature_grad_mult", "model.freeze_finetune_updates",
                     "loss.diversity_weight", "loss.feature_penalty_weight")


class ExperimentBusy(ConfigError):
    """Another live run holds the experiment directory."""


# ----------------------------------------------------------------------------------------------------
# the lock


def _lock_text() -> str:
    command = " ".join(["asrkit", *sys.argv[1:]]) if sys.argv else "asrkit"
    return (f"pid={os.getpid()}\nhost={socket.gethostname()}\nstarted={time.strftime('%Y-%m-%d %H:%M:%S')}\n"
            f"command={command}\n")


def _holder(text: str) -> str:
    info = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    if not info:
        return "an unknown process"
    return (f"pid {info.get('pid', '?')} on {info.get('host', '?')} (started {info.get('started', '?')}: "
            f"{info.get('command', '?')})")


@contextlib.contextmanager
def exp_dir_lock(exp_dir: Path, log=lambda msg: None) -> Iterator[None]:
    """Hold ``exp_dir/.lock`` exclusively for the block; ``ExperimentBusy`` when a live process holds it."""
    exp_dir.mkdir(parents=True, exist_ok=True)
    path = exp_dir / LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                raise
            holder = _holder(os.pread(fd, 4096, 0).decode("utf-8", "replace"))
            raise ExperimentBusy(f"{exp_dir}: in use by another run, {holder}; wait for it to finish, stop it, "
                                 "or give this run another --exp-dir") from None
        previous = os.pread(fd, 4096, 0).decode("utf-8", "replace")
        if previous.strip():  # written by a run that ended without removing it: killed, or its node died
            log(f"[yellow]{path}: taking over the lock of a run that is gone, {_holder(previous)}")
        os.ftruncate(fd, 0)
        os.pwrite(fd, _lock_text().encode(), 0)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                path.unlink()  # still ours: the flock keeps every other run out until the close below
    finally:
        os.close(fd)


# ----------------------------------------------------------------------------------------------------
# half-written checkpoints


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale_temporaries(exp_dir: Path, log=lambda msg: None) -> list[Path]:
    """Delete the temporary files of checkpoint saves whose writer is dead; returns them."""
    removed, size = [], 0
    for p in sorted(exp_dir.iterdir()) if exp_dir.is_dir() else ():
        m = _TEMPORARY.match(p.name)
        if not m or int(m.group(2)) == os.getpid() or _alive(int(m.group(2))):
            continue
        with contextlib.suppress(FileNotFoundError):
            size += p.stat().st_size
            p.unlink()
            removed.append(p)
    if removed:
        log(f"removed {len(removed)} half-written checkpoint file(s) ({size / 2**20:.1f} MiB) left by killed "
            f"runs: {', '.join(p.name for p in removed[:5])}")
    return removed


# ----------------------------------------------------------------------------------------------------
# what to resume from


def resume_candidates(exp_dir: Path) -> list[Path]:
    """``checkpoint_last.pt``, then the numbered checkpoints, newest first."""
    last = [exp_dir / LAST] if (exp_dir / LAST).exists() else []
    return last + numbered_checkpoints(exp_dir)[::-1]


def find_resume_checkpoint(exp_dir: Path, log=lambda msg: None) -> Checkpoint | None:
    """The newest checkpoint of ``exp_dir`` that reads; unreadable ones are skipped with a message.
    ``None`` when there is no checkpoint; ``CheckpointError`` when there are some and none reads."""
    candidates = resume_candidates(exp_dir)
    failures = []
    for path in candidates:
        try:
            ckpt = read_checkpoint(path, KINDS)
        except CheckpointError as e:
            failures.append(str(e))
            continue
        if ckpt.trainer is None:
            failures.append(f"{path}: holds no trainer state")
            continue
        for failure in failures:
            log(f"[yellow]cannot resume from {failure}")
        if failures:
            log(f"[yellow]resuming from {path.name} instead: the updates after it are trained again")
        return ckpt
    if failures:
        older = f" (and the {len(failures) - 1} older one(s))" if len(failures) > 1 else ""
        raise CheckpointError(f"{failures[0]}{older}; no checkpoint of {exp_dir} to resume from reads: move them "
                              "away to start over, or give the run another --exp-dir")
    return None


# ----------------------------------------------------------------------------------------------------
# what a resume may change


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, Mapping):
        out = {}
        for k, v in d.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: list(d) if isinstance(d, tuple) else d}


def _matches(key: str, patterns: Iterable[str]) -> bool:
    return any(key == p or key.startswith(p + ".") for p in patterns)


def settings_changes(old: Mapping, new: Mapping) -> dict[str, tuple[Any, Any]]:
    """``{dotted key: (old, new)}`` for every setting both have that differs (ignored ones left out)."""
    a, b = _flat(old), _flat(new)
    # keys on one side only are settings another asrkit version added or removed, not a change asked for
    return {key: (a[key], b[key]) for key in sorted(set(a) & set(b))
            if a[key] != b[key] and not _matches(key, IGNORED_ON_RESUME)}


def check_resume_settings(ckpt: Checkpoint, new: Mapping, allow_changes: Iterable[str] = ()) -> dict:
    """The changes ``new`` makes to the settings ``ckpt``'s run was trained with, when each is allowed;
    else a ``ConfigError`` listing them and what to do."""
    old = ckpt.task
    if not old or "imported_from" in old:
        return {}  # an imported model or a checkpoint without its run config: nothing to compare
    allow = tuple(allow_changes)
    changes = settings_changes({k: v for k, v in old.items() if k in new}, new)
    unknown = [k for k in allow if not _matches(k, ALLOWED_ON_RESUME)]
    if unknown:
        raise ConfigError(f"--allow-changes {','.join(unknown)}: a resume cannot take over "
                          f"{'this setting' if len(unknown) == 1 else 'these settings'}; those it can: "
                          f"{', '.join(ALLOWED_ON_RESUME)}")
    refused = {k: v for k, v in changes.items() if not _matches(k, allow)}
    if refused:
        listed = "; ".join(f"{k}: {old_!r} -> {new_!r}" for k, (old_, new_) in list(refused.items())[:8])
        more = f" (and {len(refused) - 8} more)" if len(refused) > 8 else ""
        takeable = [k for k in refused if _matches(k, ALLOWED_ON_RESUME)]
        hint = (f"to resume with the new value of {', '.join(takeable)}, pass --allow-changes {','.join(takeable)}; "
                if takeable else "")
        raise ConfigError(f"{ckpt.path}: this run was trained with other settings than given now: {listed}{more}; "
                          f"{hint}to keep the run's settings drop the changes; to train with other settings, "
                          "start a new --exp-dir (fine-tuning: --init this checkpoint)")
    return changes


# ----------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Experiment:
    exp_dir: Path
    resume_from: Checkpoint | None  # None: a new run


def _rank() -> int:
    return int(os.environ.get("RANK", 0))


@contextlib.contextmanager
def open_experiment(exp_dir: str | Path, cfg: Any, *, resume: bool | str | Path = True,
                    allow_changes: Iterable[str] = (), console=None) -> Iterator[Experiment]:
    """Guard ``exp_dir`` for the run of ``cfg`` (a config dataclass) and say what to resume from.

    ``resume``: True resumes from ``exp_dir``'s newest readable checkpoint when there is one; a path
    resumes from that checkpoint; False starts a new run, refused when ``exp_dir`` holds checkpoints
    already (they would be overwritten)."""
    exp_dir = Path(exp_dir)
    rank0 = _rank() == 0

    def log(msg: str) -> None:
        if rank0 and console is not None:
            console.log(msg)

    with exp_dir_lock(exp_dir, log) if rank0 else contextlib.nullcontext():
        if rank0:
            remove_stale_temporaries(exp_dir, log)
        if resume is False:
            existing = resume_candidates(exp_dir)
            if existing:
                raise ConfigError(f"{exp_dir}: holds checkpoints of an earlier run ({existing[0].name}), which "
                                  "--no-resume would overwrite; resume it (drop --no-resume), or give the new run "
                                  "another --exp-dir")
            ckpt = None
        elif resume is True:
            ckpt = find_resume_checkpoint(exp_dir, log)
        else:
            ckpt = read_checkpoint(resume, KINDS)
        settings = to_dict(cfg)
        if ckpt is not None:
            changes = check_resume_settings(ckpt, settings, allow_changes)
            for key, (old, new) in changes.items():
                log(f"[yellow]resuming with {key} = {new!r} (was {old!r}), as --allow-changes allows")
        if rank0:
            save_config(cfg, exp_dir / ("config.yaml" if ckpt is None else f"config.resume_{ckpt.num_updates}.yaml"))
        yield Experiment(exp_dir, ckpt)
