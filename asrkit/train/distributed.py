"""What the trainer needs of torch.distributed: joining torchrun's process group, this process's rank, and sums
of host numbers over the processes. Nothing home-made: torchrun's environment, gloo on CPU, nccl on GPU."""
from __future__ import annotations

import os

import torch
import torch.distributed as dist


def is_dist() -> bool:
    """Inside a torchrun process group."""
    return dist.is_available() and dist.is_initialized()


def world() -> tuple[int, int]:
    """``(rank, world size)``; ``(0, 1)`` outside a process group."""
    return (dist.get_rank(), dist.get_world_size()) if is_dist() else (0, 1)


def init_distributed(device_pref: str) -> torch.device:
    """Join the process group torchrun describes in the environment (if any); pick the device."""
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    use_cuda = torch.cuda.is_available() and device_pref in ("auto", "cuda")
    if device_pref not in ("auto", "cuda", "cpu"):
        device = torch.device(device_pref)
    else:
        device = torch.device(f"cuda:{local_rank}" if use_cuda else "cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if int(os.environ.get("WORLD_SIZE", 1)) > 1 and not is_dist():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


def all_reduce(values: list[float], device: torch.device) -> list[float]:
    """The sums of ``values`` over all processes (float64, one collective); ``values`` outside a group."""
    if not is_dist():
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()
