"""Atomic checkpoints: a SIGKILL in the middle of a save leaves the previous one loadable."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import torch

from asrkit.train.checkpoint import LAST, load_checkpoint, numbered_checkpoints, save_checkpoint

WRITER = textwrap.dedent("""
    import sys, torch
    from asrkit.train.checkpoint import save_checkpoint
    big = torch.zeros(64 * 1024 * 1024 // 4)  # 64 MB: the kill lands mid-write
    step = 0
    while True:
        step += 1
        big.fill_(step)
        save_checkpoint({"step": step, "big": big}, sys.argv[1], step, keep_last=2)
        print(step, flush=True)
""")


def test_sigkill_during_save_leaves_the_previous_checkpoint_loadable(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert int(proc.stdout.readline()) == 1  # one complete checkpoint exists
        deadline = time.time() + 60
        while not any(p.name.endswith(".tmp") for p in tmp_path.iterdir()):  # a save is under way
            assert time.time() < deadline
            time.sleep(0.001)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    state = load_checkpoint(tmp_path / LAST)
    assert state["step"] >= 1 and bool((state["big"] == state["step"]).all())
    newest = numbered_checkpoints(tmp_path)[-1]
    assert load_checkpoint(newest)["step"] == state["step"]


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    (tmp_path / "checkpoint_1.pt").write_bytes(b"not a checkpoint")
    try:
        load_checkpoint(tmp_path / "checkpoint_1.pt")
    except RuntimeError as e:
        assert "checkpoint_1.pt" in str(e) and "corrupt" in str(e)
    else:
        raise AssertionError("expected an error")


def test_best_survives_pruning_through_its_hard_link(tmp_path):
    save_checkpoint({"step": 1}, tmp_path, 1, is_best=True, keep_last=1)
    for step in (2, 3):
        save_checkpoint({"step": step}, tmp_path, step, keep_last=1)
    assert [p.name for p in numbered_checkpoints(tmp_path)] == ["checkpoint_3.pt"]
    assert torch.load(tmp_path / "checkpoint_best.pt")["step"] == 1
    assert torch.load(tmp_path / LAST)["step"] == 3
