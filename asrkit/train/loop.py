"""The training loop shared by pre-training and fine-tuning.

One process per device; under ``torchrun`` the same code runs DDP (gloo on CPU, nccl on
GPU, multi-node through torchrun's rendezvous); every rank reads its own shard of the
length-bucketed batches and only rank 0 writes. Work is never lost:

- checkpoints (model, optimizer, scheduler, grad scaler, sampler position, RNG states,
  counters, in the format of :mod:`asrkit.checkpoint`) are written atomically every ``save_every``
  updates and when the run is interrupted (SIGINT/SIGTERM), including mid-way through a
  gradient-accumulation window; an interrupted run then raises ``TrainingInterrupted`` (the CLI
  exits 130 for SIGINT, 143 for SIGTERM), so that it is never taken for a finished one;
- a run started on an ``exp_dir`` that holds a checkpoint resumes from it and produces the
  same per-update losses as an uninterrupted run (CPU, fixed seed); :mod:`.experiment` guards the
  directory and checks what a resume changes.

Gradients follow fairseq: each micro-batch's loss is a *sum* over its ``sample_size``
targets; at the update the summed gradients are divided by the total sample size over the
accumulation window and all ranks, so accumulation and DDP equal one large batch.

The host waits for the device once per update, not per micro-batch: losses and statistics stay device
tensors (summed in float64, as the Python floats they replace were) until a row is logged, a validation
ends or a checkpoint is written, and whether an update is applied (finite losses and gradients, a
non-empty window, a stop request under DDP) is read in one small transfer after the gradient norm.
"""
from __future__ import annotations

import contextlib
import math
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader

from ..checkpoint import KINDS, LAST, Checkpoint, CheckpointError, read_checkpoint, rng_state, save_checkpoint, set_rng_state
from ..config import check_ranges, field_error
from ..data.samplers import BucketBatchSampler
from ..models.fast import prepare_for_training
from ..precision import Precision, autocast, resolve_precision
from .distributed import all_reduce, init_distributed, is_dist, world
from .optim import OptimConfig, build_optimizer, build_scheduler, load_optimizer_state
from .stats import Stats


@dataclass(frozen=True)
class TrainerConfig:
    seed: int = 1
    # autocast dtype on CPU and CUDA; fp16 adds a loss scaler; auto: bf16 where the hardware has native
    # bf16 arithmetic (CUDA Ampere+, CPUs with AVX-512 BF16 / AMX), else fp32 (asrkit.precision)
    precision: Precision = "fp32"
    device: str = "auto"  # auto: cuda:<LOCAL_RANK> when available, else cpu
    max_tokens: int = 1_400_000  # samples per batch per device (§4.2: 1.4M BASE, 1.2M LARGE)
    max_batch_size: int = 0  # most utterances per batch; 0 = no limit
    num_workers: int = -1  # DataLoader workers; -1: none on CPU (decoding would steal the cores' compute), 4 on GPU
    log_every: int = 10  # updates between progress/metrics rows
    valid_every: int = 500  # updates between validations (and at the end)
    save_every: int = 500  # updates between checkpoints (and at the end)
    keep_last: int = 3  # numbered checkpoints kept (0: all); last/best are extra links
    # updates whose checkpoints are also written and always kept (a sweep fine-tunes from each: how much
    # pre-training buys), e.g. [800, 1600, 3200]
    save_updates: tuple[int, ...] = ()
    max_nonfinite: int = 10  # consecutive skipped (non-finite) updates before aborting
    tensorboard: bool = True  # also write TensorBoard event files to exp_dir/tb
    threads: int = 0  # torch intra-op threads on CPU; 0 keeps torch's default

    def __post_init__(self) -> None:
        check_ranges(self, seed=">= 0", max_tokens=">= 1", max_batch_size=">= 0", num_workers=">= -1",
                     log_every=">= 1", valid_every=">= 1", save_every=">= 1", keep_last=">= 0",
                     max_nonfinite=">= 1", threads=">= 0", save_updates=">= 1")
        if self.device not in ("auto", "cuda", "cpu"):
            try:
                torch.device(self.device)
            except RuntimeError:
                raise field_error(self, "device", f"{self.device!r} is not a device: use auto, cpu, cuda "
                                                  "or cuda:<index>") from None


class Task(Protocol):
    """What the loop needs from a training objective."""

    def loss(self, model: nn.Module, batch: dict, generator: torch.Generator | None = None
             ) -> tuple[torch.Tensor, int, dict[str, torch.Tensor | float | tuple[float, float]]]:
        """``(loss summed over targets, number of targets, stats)``: each stat a mean over the targets (a 0-dim
        tensor, best left on the device: the loop sums it there, or a float), or a ``(value, weight)`` pair."""

    def on_update(self, model: nn.Module, num_updates: int) -> None:
        """Called before each update's forward passes (e.g. Gumbel temperature annealing)."""

    def valid_metric(self, stats: dict[str, float]) -> float:
        """Lower is better; picks the ``best`` checkpoint."""


class TrainingAborted(RuntimeError):
    pass


class TrainingInterrupted(RuntimeError):
    """The run stopped on a signal (or a hook's request) before ``max_updates``, after saving a checkpoint.
    ``exit_code``: the shell's code for death by that signal (130 SIGINT, 143 SIGTERM)."""

    def __init__(self, message: str, signum: int = signal.SIGINT):
        super().__init__(message)
        self.signum = int(signum)
        self.exit_code = 128 + self.signum


class Trainer:
    """Runs ``task`` on ``model`` over ``train_set`` until ``optim.max_updates``.

    ``train_set``/``valid_set`` are :class:`asrkit.data.datasets.AudioDataset`-like: ``sizes``,
    ``ids``, ``collate`` and ``set_epoch``. ``checkpoint_header`` (``asrkit.checkpoint.checkpoint_header``)
    describes the model in every checkpoint. ``hooks`` are called after every micro-batch with
    the trainer (tests use them to interrupt a run at a chosen point). ``make_sampler(world_size, rank)``
    replaces the length-bucketed training batches (:class:`~asrkit.data.samplers.BucketBatchSampler`) with
    another resumable sampler of the same interface.
    """

    def __init__(self, task: Task, model: nn.Module, train_set, valid_set, exp_dir: str | Path,
                 cfg: TrainerConfig, optim: OptimConfig, *, checkpoint_header: dict,
                 console=None, hooks: list[Callable[[Trainer], None]] | None = None,
                 param_groups: Callable[[nn.Module], Any] | None = None,
                 make_sampler: Callable[[int, int], BucketBatchSampler] | None = None):
        self.task, self.cfg, self.optim_cfg = task, cfg, optim
        self.exp_dir = Path(exp_dir)
        self.device = init_distributed(cfg.device)
        self.rank, self.world_size = world()
        if cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        self.model = prepare_for_training(model).to(self.device)  # fast modules, same weights and results
        self.ddp_model: nn.Module = self.model
        if is_dist():
            self.ddp_model = nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=True,  # LayerDrop skips whole layers
            )
        params = param_groups(self.model) if param_groups else [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = build_optimizer(params, optim)
        self.scheduler = build_scheduler(self.optimizer, optim)
        self.precision = resolve_precision(cfg.precision, self.device)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.precision == "fp16")
        self.train_set, self.valid_set = train_set, valid_set
        if make_sampler is not None:
            self.sampler = make_sampler(self.world_size, self.rank)
        else:
            self.sampler = BucketBatchSampler(
                train_set.sizes, cfg.max_tokens, cfg.seed, num_replicas=self.world_size, rank=self.rank,
                ids=list(train_set.ids), max_batch_size=cfg.max_batch_size or None,
            )
        self.checkpoint_header = checkpoint_header
        self.console = console
        self.hooks = hooks or []
        self.num_updates = 0
        self.epoch = 0
        # seconds of training audio in the applied updates, all processes together (as cropped and batched);
        # None when resumed from a checkpoint written before it was counted
        self.audio_seconds: float | None = 0.0
        self.best: float | None = None
        self.nonfinite_in_a_row = 0
        self.stop_requested = False
        self.stop_signal: int = signal.SIGINT  # the signal that asked to stop (hooks stop like a Ctrl-C)
        self._stop_agreed = False  # DDP: some rank asked to stop, as of the last update (all stop there)
        self._accum: dict | None = None  # partial accumulation window (restored on resume)

    # ----------------------------------------------------------------------------------
    # checkpoints
    def state_dict(self, consumed: int) -> dict:
        trainer = {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "sampler": self.sampler.state_dict(consumed=consumed),
            "rng": rng_state(),
            "num_updates": self.num_updates,
            "epoch": self.epoch,
            "audio_seconds": self.audio_seconds,
            "best": self.best,
            "nonfinite_in_a_row": self.nonfinite_in_a_row,
            "accum": self._accum_state(),
        }
        return {**self.checkpoint_header, "model": self.model.state_dict(), "trainer": trainer}

    def _accum_state(self) -> dict | None:
        if not self._accum or self._accum["micro"] == 0:
            return None
        window = self._accum
        self._check_losses(window)
        grads = [None if p.grad is None else p.grad.detach().cpu().clone() for p in self.model.parameters()]
        # plain data (floats, lists, dicts), so that the checkpoint loads with weights_only
        return {"micro": window["micro"], "loss": float(window["loss"]), "sample_size": window["sample_size"],
                "finite": window["finite"], "bad_ids": list(window["bad_ids"]), "grads": grads,
                "stats": window["stats"].state(), "audio": window.get("audio", 0.0)}

    def save(self, consumed: int, is_best: bool = False) -> None:
        """Rank 0 writes the checkpoint; under DDP every rank waits for it and stops when it failed (a full
        disk), instead of waiting forever for a rank that is gone."""
        error: CheckpointError | None = None
        if self.rank == 0:
            try:
                save_checkpoint(self.state_dict(consumed), self.exp_dir, self.num_updates,
                                is_best=is_best, keep_last=self.cfg.keep_last, keep_steps=self.cfg.save_updates)
            except CheckpointError as e:
                error = e
        if is_dist() and all_reduce([float(error is not None)], self.device)[0] and error is None:
            raise TrainingAborted(f"rank 0 could not write the checkpoint of update {self.num_updates} to "
                                  f"{self.exp_dir}; its message says why")
        if error is not None:
            raise error

    def load(self, checkpoint: Checkpoint | Path) -> None:
        ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else read_checkpoint(checkpoint, KINDS)
        path = ckpt.path
        if ckpt.trainer is None:
            raise CheckpointError(f"{path}: holds no trainer state to resume from; start a new run from it "
                                  "(e.g. as model.init_checkpoint)")
        state = ckpt.trainer
        self.model.load_state_dict(ckpt.model)
        load_optimizer_state(self.optimizer, state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        try:
            self.sampler.load_state_dict(state["sampler"])
        except ValueError as e:
            raise CheckpointError(f"{path}: {e}") from None
        self.num_updates, self.epoch = state["num_updates"], state["epoch"]
        self.audio_seconds = state.get("audio_seconds") if self.num_updates else 0.0
        self.best, self.nonfinite_in_a_row = state["best"], state["nonfinite_in_a_row"]
        accum = state.get("accum")
        if accum:
            for p, g in zip(self.model.parameters(), accum["grads"]):
                p.grad = None if g is None else g.to(self.device)
            self._accum = {**self._new_window(), **{k: v for k, v in accum.items() if k != "grads"},
                           "stats": Stats.from_state(accum["stats"])}
        set_rng_state(state["rng"])
        self._log(f"resumed from {path} at update {self.num_updates} "
                  f"(epoch {self.epoch}, batch {state['sampler']['consumed']}"
                  + (f", {accum['micro']} micro-batches into an update" if accum else "") + ")")

    # ----------------------------------------------------------------------------------
    def _log(self, msg: str) -> None:
        if self.rank == 0 and self.console is not None:
            self.console.log(msg)

    def _loader(self) -> DataLoader:
        workers = self._num_workers()
        self.train_set.set_epoch(self.epoch)
        self.sampler.set_epoch(self.epoch)
        return DataLoader(
            self.train_set, batch_sampler=self.sampler, collate_fn=self.train_set.collate,
            num_workers=workers, generator=torch.Generator(),  # keeps the global RNG untouched
            # not persistent: a worker's copy of the dataset would keep the first epoch's crops (set_epoch)
            persistent_workers=False, pin_memory=self.device.type == "cuda",
            # each worker keeps 4 batches ready (torch's default 2): a slow batch to decode (a long
            # utterance, speed perturbation) is absorbed before the device runs out of work
            prefetch_factor=4 if workers > 0 else None,
        )

    def _num_workers(self) -> int:
        if self.cfg.num_workers >= 0:
            return self.cfg.num_workers
        return 4 if self.device.type == "cuda" else 0

    def _to_device(self, batch: dict) -> dict:
        return {k: v.to(self.device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}

    def _micro_step(self, batch: dict, last_in_window: bool) -> tuple[torch.Tensor, int, dict]:
        """Forward and backward of one micro-batch, without waiting for the device: ``(loss, sample size,
        stats)``, the loss (detached) and the task's tensor stats still on the device. A non-finite loss is
        back-propagated too (every rank runs the same backward, so DDP's all-reduce stays in step); its
        gradients are discarded with the update, which ``_update`` skips."""
        sync = contextlib.nullcontext() if last_in_window or not is_dist() else self.ddp_model.no_sync()
        with sync:
            with autocast(self.precision, self.device):
                loss, sample_size, stats = self.task.loss(self.ddp_model, batch)
            self.scaler.scale(loss).backward()
        return loss.detach(), sample_size, stats

    def _update(self, window: dict) -> bool:
        """Apply the accumulated gradients; False when the update was skipped (a non-finite loss or gradient,
        no targets). The host waits for the device once, for one small vector: the gradient norm, the
        window's non-finite losses and, under DDP, the all-reduced sample size and stop requests."""
        params = [p for p in self.model.parameters() if p.grad is not None]
        checks = [finite for _, finite in window["checks"]]
        bad = (~torch.stack(checks).all()).to(torch.float64).reshape(1) if checks else None
        if is_dist():
            counts = torch.tensor([float(not window["finite"]), float(window["sample_size"]),
                                   float(self.stop_requested), window.get("audio", 0.0)], dtype=torch.float64)
            if self.device.type == "cuda":
                counts = counts.pin_memory()
            counts = counts.to(self.device, non_blocking=True)  # a device tensor: no host wait
            if bad is not None:
                counts[:1] += bad
            dist.all_reduce(counts)
            # DDP averaged over ranks; we want the mean per target. Rounded to the gradients' dtype as a
            # Python scale would be
            scale = (self.world_size / counts[1]).to(params[0].grad.dtype)
        else:
            if not window["finite"] or window["sample_size"] == 0:  # known here (a resumed window): no device work
                self.optimizer.zero_grad(set_to_none=True)
                return False
            counts = bad if bad is not None else torch.zeros(1, dtype=torch.float64, device=self.device)
            scale = 1 / window["sample_size"]
        self.scaler.unscale_(self.optimizer)
        torch._foreach_mul_([p.grad for p in params], scale)
        if self.optim_cfg.clip_norm > 0:
            grad_norm = torch.nn.utils.clip_grad_norm_(params, self.optim_cfg.clip_norm)
        else:
            grad_norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params]))
        # the update's one host synchronisation
        grad_norm, *counts = torch.cat([grad_norm.detach().to(torch.float64).reshape(1), counts]).tolist()
        if is_dist():
            nonfinite, sample_size, stop, audio = counts
            self._stop_agreed = stop > 0
        else:
            (nonfinite,), sample_size, audio = counts, window["sample_size"], window.get("audio", 0.0)
        if nonfinite > 0 or sample_size == 0:
            if self.precision == "fp16":  # forget the unscale_ above, leaving the scale as it was
                self.scaler.update(self.scaler.get_scale())
            self.optimizer.zero_grad(set_to_none=True)
            return False
        window["grad_norm"] = grad_norm
        if not math.isfinite(grad_norm):
            if self.precision == "fp16":
                self.scaler.step(self.optimizer)  # skips the step; update() lowers the scale
                self.scaler.update()
            self.optimizer.zero_grad(set_to_none=True)
            return False
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.audio_seconds is not None:
            self.audio_seconds += audio
        return True

    # ----------------------------------------------------------------------------------
    def fit(self, resume: bool | Path | Checkpoint = True) -> dict:
        """Train until ``max_updates``; returns the last logged metrics. ``resume``: a checkpoint (or its path)
        to continue from; True: ``exp_dir``'s newest readable one, if any. A run stopped by a signal (or
        ``stop_requested``) before ``max_updates`` saves a checkpoint, then raises ``TrainingInterrupted``."""
        from .experiment import find_resume_checkpoint
        from .metrics import MetricsLogger, progress_bar

        if resume is True:
            resume = find_resume_checkpoint(self.exp_dir, self._log) or False
        if resume is not False:
            self.load(resume)
        metrics = MetricsLogger(self.exp_dir, enabled=self.rank == 0, tensorboard=self.cfg.tensorboard)
        update_freq = self.optim_cfg.update_freq
        max_updates = self.optim_cfg.max_updates
        consumed = self.sampler.state_dict()["consumed"]
        window = self._accum or self._new_window()
        self._accum = window
        self.model.train()
        self.task.on_update(self.model, self.num_updates)
        last_row: dict = {}
        t_log, audio_s, log_stats = time.perf_counter(), 0.0, Stats()
        old_handlers = self._install_signal_handlers()
        try:
            with progress_bar(self.console, enabled=self.rank == 0, total=max_updates,
                              completed=self.num_updates) as bar:
                while self.num_updates < max_updates and not self._stopping():
                    whole_epoch, used = consumed == 0, 0  # an epoch from its start that uses no batch: abort
                    for batch in self._loader():
                        for utt, why in batch.get("skipped", ()):
                            self._log(f"[yellow]skipped unreadable utterance {utt}: {why}")
                        if len(batch["ids"]) == 0:  # every utterance of the batch was unreadable
                            consumed += 1
                            continue
                        used += 1
                        seconds = float(batch["lengths"].sum()) / self.train_set.sample_rate \
                            if "lengths" in batch else 0.0  # on the host, before the copy
                        audio_s += seconds
                        window["audio"] = window.get("audio", 0.0) + seconds
                        batch = self._to_device(batch)
                        window["micro"] += 1
                        loss, n, stats = self._micro_step(batch, window["micro"] == update_freq)
                        consumed += 1
                        # all on the device: _update reads the flags, a logged row the sums
                        window["checks"].append((list(batch["ids"]), torch.isfinite(loss)))
                        window["loss"] = window["loss"] + loss.to(torch.float64)
                        window["sample_size"] += n
                        window["stats"].add(stats, n)
                        if window["micro"] == update_freq:
                            if self._update(window):
                                self.num_updates += 1
                                self.nonfinite_in_a_row = 0
                                bar.update(completed=self.num_updates)
                                log_stats.merge(window["stats"])
                                if self.num_updates % self.cfg.log_every == 0:
                                    elapsed = time.perf_counter() - t_log
                                    last_row = self._log_row(log_stats, window, audio_s / elapsed, metrics, bar)
                                    t_log, audio_s, log_stats = time.perf_counter(), 0.0, Stats()
                            else:
                                self._skipped(window)
                            window = self._accum = self._new_window()
                            self.task.on_update(self.model, self.num_updates)
                            done = self.num_updates >= max_updates
                            is_best = False
                            if self.num_updates % self.cfg.valid_every == 0 or done:
                                is_best = self._validate(metrics)
                            if (self.num_updates % self.cfg.save_every == 0 or done or is_best
                                    or self.num_updates in self.cfg.save_updates):
                                self.save(consumed, is_best=is_best)
                        for hook in self.hooks:
                            hook(self)
                        if self._stopping() or self.num_updates >= max_updates:
                            break
                    else:  # epoch exhausted
                        if whole_epoch and not used:
                            raise TrainingAborted(
                                f"epoch {self.epoch}: no training utterance could be read (--skip-bad skipped them "
                                "all, see the messages above); fix the audio or the manifest")
                        self.epoch += 1
                        consumed = 0
                        continue
                    if self._stopping() and self.num_updates < max_updates:
                        where = f"update {self.num_updates}" + (
                            f" (+{window['micro']} micro-batches)" if window["micro"] else "")
                        self._log(f"interrupted: saving a checkpoint at {where}")
                        self.save(consumed)
                        raise TrainingInterrupted(
                            f"interrupted by {signal.Signals(self.stop_signal).name} at {where} of {max_updates}: "
                            f"saved {self.exp_dir / LAST}; run the same command again to resume",
                            self.stop_signal)
                    break
        finally:
            self._restore_signal_handlers(old_handlers)
            with contextlib.suppress(OSError):  # TensorBoard's flush on a full disk must not hide the real error
                metrics.close(plot=True)
        return last_row

    def _stopping(self) -> bool:
        """A stop was asked for. Under DDP the ranks agree at each update (its all-reduce carries the
        requests), so that every rank stops after the same micro-batch and saves the same state."""
        return self._stop_agreed if is_dist() else self.stop_requested

    @staticmethod
    def _new_window() -> dict:
        """The accumulation window. ``checks``: ``(utterance ids, finite-loss flag on the device)`` per micro-batch
        not yet looked at; ``finite``/``bad_ids``: what was (``_check_losses``, or a resumed checkpoint)."""
        return {"micro": 0, "loss": 0.0, "sample_size": 0, "finite": True, "bad_ids": [], "stats": Stats(),
                "checks": [], "audio": 0.0}

    @staticmethod
    def _check_losses(window: dict) -> None:
        """Read the window's finite-loss flags (a host synchronisation): ``finite`` and the ``bad_ids`` of
        the micro-batches whose loss was not finite."""
        if not window["checks"]:
            return
        flags = torch.stack([finite for _, finite in window["checks"]]).tolist()
        for (ids, _), finite in zip(window["checks"], flags):
            if not finite:
                window["finite"] = False
                window["bad_ids"] += ids
        window["checks"] = []

    def _skipped(self, window: dict) -> None:
        self._check_losses(window)
        self.nonfinite_in_a_row += 1
        ids = ", ".join(window["bad_ids"][:20]) or "(non-finite gradients)"
        self._log(f"[yellow]skipped update {self.num_updates + 1}: non-finite loss/gradients; utterances: {ids}")
        if self.nonfinite_in_a_row >= self.cfg.max_nonfinite:
            raise TrainingAborted(
                f"{self.nonfinite_in_a_row} updates in a row had non-finite losses or gradients "
                f"(last utterances: {ids}); lower the learning rate, use fp32/bf16, or check the data")

    def _log_row(self, stats: Stats, window: dict, throughput: float, metrics, bar) -> dict:
        stats.all_reduce(self.device)
        row = {"update": self.num_updates, "epoch": self.epoch, **stats.means(),
               "lr": self.scheduler.get_last_lr()[0], "grad_norm": window.get("grad_norm", math.nan),
               "audio_s_per_s": throughput * self.world_size}
        if self.precision == "fp16":
            row["loss_scale"] = self.scaler.get_scale()
        row.update(getattr(self.task, "extra_metrics", lambda m: {})(self.model))
        metrics.log("train", row)
        bar.show(row)
        return row

    @torch.no_grad()
    def _validate(self, metrics) -> bool:
        """Validation loss on the held-out set; True when it is the best so far."""
        if self.valid_set is None:
            return False
        self.model.eval()
        sampler = BucketBatchSampler(self.valid_set.sizes, self.cfg.max_tokens, 0, shuffle=False,
                                     num_replicas=self.world_size, rank=self.rank,
                                     ids=list(self.valid_set.ids), max_batch_size=self.cfg.max_batch_size or None)
        loader = DataLoader(self.valid_set, batch_sampler=sampler, collate_fn=self.valid_set.collate,
                            num_workers=0)
        stats = Stats()
        with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
            gen = torch.Generator(device=self.device).manual_seed(self.cfg.seed)  # same masks every time
            for batch in loader:
                with autocast(self.precision, self.device):
                    _, n, s = self.task.loss(self.model, self._to_device(batch), generator=gen)
                stats.add(s, n)
        self.model.train()
        stats.all_reduce(self.device)
        row = {"update": self.num_updates, **stats.means()}
        metric = self.task.valid_metric(row)
        is_best = self.best is None or metric < self.best
        if is_best:
            self.best = metric
        row["best"] = self.best
        metrics.log("valid", row)
        self._log("valid " + " ".join(f"{k}={v:.4g}" for k, v in row.items() if isinstance(v, float)))
        return is_best

    # ----------------------------------------------------------------------------------
    def _install_signal_handlers(self):
        first = {}

        def handler(signum, frame):
            if self.stop_requested:
                # A second signal a second or more later stops now. One within the second is the same request
                # delivered twice: torchrun forwards the SIGTERM/SIGINT that a scheduler or a terminal's Ctrl-C
                # already sent every process of the job, and the save must still happen.
                if time.monotonic() - first["t"] >= 1.0:
                    raise KeyboardInterrupt
                return
            first["t"] = time.monotonic()
            self.stop_requested, self.stop_signal = True, signum
            self._log(f"[yellow]{signal.Signals(signum).name}: finishing the current micro-batch, then saving "
                      "(another signal a second later stops at once, without saving)")

        old = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                old[sig] = signal.signal(sig, handler)
            except ValueError:  # not the main thread
                pass
        return old

    @staticmethod
    def _restore_signal_handlers(old) -> None:
        for sig, h in old.items():
            signal.signal(sig, h)
