"""A recipe whose training stage is interrupted (Ctrl-C, SIGTERM from a scheduler) stops with a non-zero status and
leaves no marker: the stage is never taken for done. Real `asrkit pretrain` on tone data, stopped mid-run."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from asrkit.checkpoint import LAST, read_checkpoint
from asrkit.testing import make_tone_manifest

from ..train.conftest import MICRO_MODEL

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "synth" / "w2v2_tiny" / "run.sh"


@pytest.fixture
def stage3_inputs(tmp_path):
    data = tmp_path / "data"
    make_tone_manifest(data / "manifests", 10, seed=0, name="pretrain.tsv")
    make_tone_manifest(data / "manifests", 4, seed=1, name="dev.tsv")
    conf = tmp_path / "pretrain.yaml"
    conf.write_text(yaml.safe_dump({
        "model": MICRO_MODEL, "data": {"max_sample_size": 16000, "min_sample_size": 4000},
        "optim": {"lr": 1e-3, "max_updates": 100000},
        "trainer": {"max_tokens": 40000, "log_every": 1, "valid_every": 100000, "save_every": 100000,
                    "num_workers": 0, "tensorboard": False}}))
    return data, conf


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_training_stage_leaves_no_marker(stage3_inputs, tmp_path, sig):
    data, conf = stage3_inputs
    exp = tmp_path / "exp"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "nj": "1"}
    proc = subprocess.Popen(["bash", str(RECIPE), "--stage", "3", "--stop-stage", "3", "--data", str(data),
                             "--exp", str(exp), "--pretrain-config", str(conf)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as from a terminal
    metrics = exp / "pretrain" / "metrics.tsv"
    try:
        deadline = time.time() + 120
        while not (metrics.exists() and "\ntrain\t" in metrics.read_text()):  # training, past its first update
            assert proc.poll() is None, proc.stdout.read()
            assert time.time() < deadline, "no training update logged after 120 s"
            time.sleep(0.05)
        os.killpg(proc.pid, sig)  # to the whole process group, as a terminal's Ctrl-C or a batch scheduler does
        out, _ = proc.communicate(timeout=120)
        deadline = time.time() + 120
        while (exp / "pretrain" / ".lock").exists():  # asrkit may outlive a shell killed by SIGTERM: let it save
            assert time.time() < deadline
            time.sleep(0.05)
    finally:
        with_group = proc.poll() is None
        if with_group:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode != 0, out
    assert not list(exp.glob(".stage3*.done")), out  # not marked done: a re-run does the stage again (and resumes)
    assert read_checkpoint(exp / "pretrain" / LAST).num_updates >= 1  # the interrupted run saved its work
