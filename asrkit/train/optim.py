"""Optimizer and learning-rate schedules of wav2vec 2.0.

- pre-training (§4.2): Adam, LR warmed up over the first 8 % of updates to its peak, then
  decayed linearly to zero (fairseq ``polynomial_decay`` with power 1);
- fine-tuning (§4.3, App. B): tri-state, 10 % warm-up, 40 % constant, 50 % linear decay
  (fairseq ``tri_stage`` with ``final_lr_scale``).

A run can stop before its schedule ends (``total_updates`` > ``max_updates``): SEW-D pre-trains for the
first 100k updates of W2V2-base's 400k-update schedule (Wu et al., 2021, §4.1; asapp ``pt-sew-d.sh``:
``max_update=100000``, ``lr_scheduler.total_num_update=400000``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from ..config import check_ranges, field_error


@dataclass(frozen=True)
class OptimConfig:
    lr: float = 5e-4  # peak LR: 5e-4 BASE, 3e-4 LARGE (§4.2)
    betas: tuple[float, float] = (0.9, 0.98)  # fairseq adam_betas for wav2vec 2.0
    eps: float = 1e-6  # fairseq adam_eps
    weight_decay: float = 0.01  # fairseq wav2vec2 pre-training configs
    max_updates: int = 400_000  # BASE 400k, LARGE 250k (§4.2)
    total_updates: int = 0  # length of the LR schedule; 0 = max_updates (fairseq lr_scheduler.total_num_update)
    schedule: Literal["linear", "tri_stage"] = "linear"
    warmup_ratio: float = 0.08  # first 8 % of updates (§4.2); tri_stage: 0.1
    hold_ratio: float = 0.4  # tri_stage only: constant phase (App. B)
    final_lr_scale: float = 0.05  # tri_stage only: LR at the end relative to the peak (fairseq)
    clip_norm: float = 10.0  # max gradient norm; 0 disables clipping (not stated in the paper)
    update_freq: int = 1  # gradient accumulation: micro-batches per update (fairseq update_freq)

    def __post_init__(self) -> None:
        check_ranges(self, lr="> 0", betas="[0, 1)", eps="> 0", weight_decay=">= 0", max_updates=">= 1",
                     total_updates=">= 0", warmup_ratio="[0, 1]", hold_ratio="[0, 1]", final_lr_scale="[0, 1]",
                     clip_norm=">= 0", update_freq=">= 1")
        if self.total_updates and self.total_updates < self.max_updates:
            raise field_error(self, "total_updates", f"{self.total_updates} is shorter than max_updates "
                              f"({self.max_updates}): the LR would be zero for the last updates; 0 = max_updates")
        if self.schedule == "tri_stage" and self.warmup_ratio + self.hold_ratio > 1:
            total = self.warmup_ratio + self.hold_ratio
            raise field_error(self, "hold_ratio", f"warmup_ratio + hold_ratio is {total:g}, must be <= 1 "
                                                  "(the tri-stage phases share the schedule)")


def build_optimizer(params, cfg: OptimConfig) -> torch.optim.Optimizer:
    """AdamW over ``params`` (tensors or param groups): torch's fused implementation (one kernel) where every
    parameter is on a GPU, torch's default (``foreach``) elsewhere.

    Not fused on the CPU: there its kernel updates the parameters in place without bumping their version
    counters, and oneDNN keeps the bf16 weights it made for a convolution under autocast keyed by them, so the
    next forward reads the weights of an earlier update. Measured on the demo's fine-tuning (bf16, a 2-core AMD
    EPYC): after 12 updates the live model's dev loss was 202 where a copy of the same weights gave 119; the
    in-training validation picked the wrong checkpoints and training itself ran on stale feature-encoder
    weights. ``load_optimizer_state`` keeps a state saved by a fused CPU optimizer unfused."""
    params = list(params)
    tensors = [p for g in params for p in (g["params"] if isinstance(g, dict) else [g])]
    fused = bool(tensors) and all(p.is_floating_point() and p.device.type == "cuda" for p in tensors)
    return torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, weight_decay=cfg.weight_decay,
                             fused=fused or None)


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: dict) -> None:
    """``optimizer.load_state_dict(state)``, keeping the optimizer's own choice of kernel (fused or not): a state
    saved by another build (a GPU run's fused AdamW resumed on a CPU, or a CPU run before fused was left off
    there) carries its ``fused``/``foreach`` flags in its param groups, which ``load_state_dict`` would adopt."""
    kernels = [{k: g.get(k) for k in ("fused", "foreach")} for g in optimizer.param_groups]
    optimizer.load_state_dict(state)
    for group, kernel in zip(optimizer.param_groups, kernels):
        group.update(kernel)


def lr_multiplier(step: int, cfg: OptimConfig) -> float:
    """LR at update ``step`` relative to the peak."""
    total = max(1, cfg.total_updates or cfg.max_updates)
    warmup = int(round(cfg.warmup_ratio * total))
    if step < warmup:
        return (step + 1) / warmup
    if cfg.schedule == "linear":
        return max(0.0, (total - step) / max(1, total - warmup))
    hold = int(round(cfg.hold_ratio * total))
    if step < warmup + hold:
        return 1.0
    decay = max(1, total - warmup - hold)
    frac = min(1.0, (step - warmup - hold) / decay)
    return 1.0 + frac * (cfg.final_lr_scale - 1.0)


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: OptimConfig) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_multiplier(step, cfg))
