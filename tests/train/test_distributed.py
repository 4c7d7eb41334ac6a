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
