"""How long a training run takes on the machine at hand, and how many updates fit a time budget.

``time_pretraining`` (``time_finetuning``) runs a few updates of the real config (model, data, precision,
threads, batch size) in a temporary directory, after a warm-up (page cache, oneDNN kernels, allocator), and
times them, one validation pass and one checkpoint save; ``wall_time`` and ``updates_for_budget`` turn that into the length of a run, so
that a recipe can spend a budget (``--pretrain-updates auto``) where a GPU and 2 CPU cores differ ~100x and
CPU kinds ~2x. The arithmetic is plain: a run of N updates costs N x (seconds per update) plus one
validation every ``valid_every`` updates and at the end, and one save every ``save_every`` updates, at the end
and at each of ``save_updates``.
"""
from __future__ import annotations

import dataclasses
import math
import platform
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..config import ConfigError


@dataclass(frozen=True)
class Timing:
    """What a timed warm-up measured."""

    seconds_per_update: float
    audio_seconds_per_update: float  # of training audio, all processes together
    validation_seconds: float  # one pass over the validation set (0 without one)
    save_seconds: float  # one checkpoint
    timed_updates: int
    device: str
    precision: str
    cpu: str  # the processor's model name: timings of two CPU kinds are not comparable


def num_validations(updates: int, valid_every: int) -> int:
    """Validations in a run of ``updates``: every ``valid_every`` updates, and at the end."""
    return updates // valid_every + (updates % valid_every != 0)


def num_saves(updates: int, save_every: int, save_updates=()) -> int:
    """Checkpoints written in a run of ``updates`` (best-checkpoint saves aside): every ``save_every``, at the end
    and at each of ``save_updates`` that is not one of those."""
    regular = set(range(save_every, updates + 1, save_every)) | {updates}
    return len(regular | {u for u in save_updates if u <= updates})


def wall_time(updates: int, timing: Timing, *, valid_every: int, save_every: int, save_updates=()) -> float:
    """Seconds a run of ``updates`` takes, from ``timing``."""
    return (updates * timing.seconds_per_update
            + num_validations(updates, valid_every) * timing.validation_seconds
            + num_saves(updates, save_every, save_updates) * timing.save_seconds)


def updates_for_budget(budget_seconds: float, timing: Timing, *, valid_every: int, save_every: int,
                       save_updates=()) -> int:
    """The most updates whose ``wall_time`` fits ``budget_seconds``; 0 when not even one does."""
    per_update = (timing.seconds_per_update + timing.validation_seconds / valid_every
                  + timing.save_seconds / save_every)
    n = max(0, int(budget_seconds / per_update) + 1)
    kwargs = dict(valid_every=valid_every, save_every=save_every, save_updates=save_updates)
    while n > 0 and wall_time(n, timing, **kwargs) > budget_seconds:
        n -= 1
    return n


def cpu_name() -> str:
    """The processor's model name (``/proc/cpuinfo``), else what ``platform`` says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def time_pretraining(cfg, *, updates: int = 20, warmup: int = 5, console=None) -> Timing:
    """Time ``updates`` pre-training updates of ``cfg`` (a ``PretrainConfig``) after ``warmup`` untimed ones,
    then one validation pass and one checkpoint save, in a temporary directory that is removed after."""
    from .pretrain import run_pretrain

    return _time_run(cfg, run_pretrain, updates, warmup, console)


def time_finetuning(cfg, *, updates: int = 20, warmup: int = 5, console=None) -> Timing:
    """``time_pretraining`` for CTC fine-tuning (a ``FinetuneConfig``; validation: greedy WER on the dev set).
    The timed updates train the whole model (``freeze_finetune_updates`` 0): the frozen first updates are
    cheaper, so the estimate of a run errs long, by little."""
    from .finetune import run_finetune

    cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, freeze_finetune_updates=0))
    return _time_run(cfg, run_finetune, updates, warmup, console)


def _time_run(cfg, run, updates: int, warmup: int, console) -> Timing:
    if updates < 2 or warmup < 1:
        raise ConfigError(f"a timed warm-up needs >= 1 warm-up update and >= 2 timed ones (got {warmup}, {updates})")
    total = warmup + updates + 1  # the last update of a run also validates and saves: one more, not timed
    trainer_cfg = dataclasses.replace(cfg.trainer, valid_every=10**9, save_every=10**9, save_updates=(),
                                      log_every=10**9, tensorboard=False)
    optim = dataclasses.replace(cfg.optim, max_updates=total, total_updates=max(cfg.optim.total_updates,
                                                                                cfg.optim.max_updates, total))
    run_cfg = dataclasses.replace(cfg, trainer=trainer_cfg, optim=optim)
    times: dict[int, float] = {}  # update -> when its first hook call came (just after the update)
    trainers = []

    def hook(trainer) -> None:
        times.setdefault(trainer.num_updates, time.perf_counter())
        if not trainers:
            trainers.append(trainer)

    with tempfile.TemporaryDirectory(prefix="asrkit-timing-") as tmp:
        run(run_cfg, Path(tmp) / "exp", console=None, hooks=[hook])
        trainer = trainers[0]
        # the last update also validates and saves (the end of a run): leave it out of the per-update time
        first, last = warmup, max((u for u in times if u < total), default=0)
        if last - first < 1:
            raise ConfigError("the timed warm-up ended before its timed updates; give more training data")
        seconds_per_update = (times[last] - times[first]) / (last - first)
        t = time.perf_counter()
        trainer._validate(_NoMetrics())
        validation = time.perf_counter() - t if trainer.valid_set is not None else 0.0
        t = time.perf_counter()
        trainer.save(trainer.sampler.state_dict()["consumed"])
        save = time.perf_counter() - t
    audio = _audio_per_update(run_cfg)
    timing = Timing(seconds_per_update, audio, validation, save, last - first, str(trainer.device),
                    trainer.precision, cpu_name())
    if console is not None:
        console.log(f"timed {timing.timed_updates} updates on {timing.device} ({timing.cpu}, {timing.precision}): "
                    f"{timing.seconds_per_update:.3f} s per update, validation {timing.validation_seconds:.1f} s, "
                    f"save {timing.save_seconds:.2f} s")
    return timing


def _audio_per_update(cfg) -> float:
    """Seconds of audio in one update: the token budget (samples per batch) x micro-batches x processes, as an
    upper bound (batches are filled up to ``max_tokens``)."""
    import os

    world = int(os.environ.get("WORLD_SIZE", 1))
    return cfg.trainer.max_tokens * cfg.optim.update_freq * world / cfg.data.sample_rate


class _NoMetrics:
    def log(self, split: str, row: dict) -> None:
        pass


def format_minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds < 3600 else f"{seconds / 3600:.2f} h"


def estimate_table(timing: Timing, cfg, budget_minutes: float | None = None) -> dict:
    """The estimate of ``cfg``'s run (and the updates fitting ``budget_minutes``), as plain data for a table,
    ``estimate.yaml`` and recipes."""
    kwargs = dict(valid_every=cfg.trainer.valid_every, save_every=cfg.trainer.save_every,
                  save_updates=cfg.trainer.save_updates)
    out = {"cpu": timing.cpu, "device": timing.device, "precision": timing.precision,
           "timed_updates": timing.timed_updates, "seconds_per_update": timing.seconds_per_update,
           "audio_seconds_per_update": timing.audio_seconds_per_update,
           "validation_seconds": timing.validation_seconds, "save_seconds": timing.save_seconds,
           "max_updates": cfg.optim.max_updates, "estimated_seconds": wall_time(cfg.optim.max_updates, timing, **kwargs),
           "max_tokens": cfg.trainer.max_tokens, "update_freq": cfg.optim.update_freq,
           **{k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()}}
    if budget_minutes is not None:
        if not math.isfinite(budget_minutes) or budget_minutes <= 0:
            raise ConfigError(f"--budget-minutes {budget_minutes}: must be > 0")
        n = updates_for_budget(budget_minutes * 60, timing, **kwargs)
        out.update(budget_minutes=budget_minutes, updates_for_budget=n,
                   audio_hours_for_budget=n * timing.audio_seconds_per_update / 3600)
    return out
