"""`asrkit pretrain` under torchrun with 2 CPU processes (DDP over gloo)."""
import os
import subprocess
import sys

import pytest

from asrkit.checkpoint import LAST, read_checkpoint
from asrkit.train.metrics import read_metrics


@pytest.mark.slow
def test_two_process_torchrun_pretraining_completes(micro_config, tmp_path):
    exp = tmp_path / "exp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "asrkit.cli", "pretrain", "--config", str(micro_config), "--exp-dir", str(exp),
           "--set", "optim.max_updates=4", "--set", "trainer.threads=1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    ckpt = read_checkpoint(exp / LAST)
    assert ckpt.num_updates == 4
    assert ckpt.trainer["sampler"]["num_replicas"] == 2
    train = read_metrics(exp / "metrics.tsv")["train"]
    assert [u for u, _ in train["loss"]] == [1, 2, 3, 4]  # rank 0 alone wrote, once per update


@pytest.mark.slow
def test_sigterm_to_a_torchrun_job_saves_once_every_rank_has_stopped(micro_config, tmp_path):
    """As a batch scheduler stops a job: SIGTERM to every process. The ranks agree at an update boundary (no
    hang in a collective), rank 0 saves, every rank exits non-zero."""
    import signal
    import time

    exp = tmp_path / "exp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "asrkit.cli", "pretrain", "--config", str(micro_config), "--exp-dir", str(exp),
           "--set", "optim.max_updates=100000", "--set", "trainer.save_every=100000", "--set", "trainer.threads=1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        deadline = time.time() + 240
        while not ((exp / "metrics.tsv").exists() and "\ntrain\t" in (exp / "metrics.tsv").read_text()):
            assert proc.poll() is None and time.time() < deadline, "no update logged"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode != 0
    assert out.count("interrupted by SIGTERM at update") == 2, out[-3000:]  # both ranks, at the same update
    ckpt = read_checkpoint(exp / LAST)
    assert 1 <= ckpt.num_updates < 100000 and ckpt.trainer["accum"] is None  # stopped at an update boundary
    assert f"at update {ckpt.num_updates} of 100000" in out
