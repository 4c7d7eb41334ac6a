"""The experiment directory is guarded: interrupted runs exit non-zero, one run per directory, resumes check
their settings and fall back past unreadable checkpoints, half-written checkpoints are cleaned up."""
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import yaml
from click.testing import CliRunner

from asrkit.checkpoint import LAST, numbered_checkpoints, read_checkpoint
from asrkit.cli import cli
from asrkit.train.experiment import LOCK, exp_dir_lock


def flat(output: str) -> str:
    """The console output as one line, without rich's log times and source locations (which wrap into it)."""
    return " ".join(re.sub(r"\[\d\d:\d\d:\d\d\]|\S+\.py:\d+", " ", output).split())


def pretrain(config, exp_dir, *args):
    return CliRunner().invoke(cli, ["pretrain", "--config", str(config), "--exp-dir", str(exp_dir), *map(str, args)])


def _wait_for(predicate, proc, what, timeout=120):
    deadline = time.time() + timeout
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"the run ended (status {proc.returncode}) before {what}: {proc.stdout.read()}")
        assert time.time() < deadline, f"no {what} after {timeout} s"
        time.sleep(0.05)


def _train_rows(exp_dir):
    path = exp_dir / "metrics.tsv"
    return path.exists() and "\ntrain\t" in path.read_text()


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_run_saves_exits_with_the_signal_status_and_resumes(micro_config, tmp_path, sig, code):
    exp = tmp_path / "exp"
    cmd = [sys.executable, "-m", "asrkit.cli", "pretrain", "--config", str(micro_config), "--exp-dir", str(exp),
           "--set", "optim.max_updates=100000", "--set", "trainer.save_every=100000"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for(lambda: _train_rows(exp), proc, "a logged update")  # training, its signal handlers installed
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == code, out
    assert f"interrupted by {sig.name}" in out and "run the same command again to resume" in out
    assert "Traceback" not in out
    saved = read_checkpoint(exp / LAST).num_updates
    assert 1 <= saved < 100000
    # the resumed run (told to stop sooner) continues from the saved update and finishes with status 0
    res = pretrain(micro_config, exp, "--set", f"optim.max_updates={saved + 2}", "--set", "trainer.save_every=100000",
                   "--allow-changes", "optim.max_updates")
    assert res.exit_code == 0, res.output
    assert f"resumed from {exp / LAST} at update {saved}" in flat(res.output)
    assert read_checkpoint(exp / LAST).num_updates == saved + 2


def test_a_second_run_on_a_busy_exp_dir_is_refused_naming_the_holder(micro_config, tmp_path):
    with exp_dir_lock(tmp_path):  # another run holds it (flock conflicts between open files, in one process too)
        res = pretrain(micro_config, tmp_path)
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert f"in use by another run, pid {os.getpid()}" in flat(res.output)
    assert not numbered_checkpoints(tmp_path)
    assert pretrain(micro_config, tmp_path, "--set", "optim.max_updates=2").exit_code == 0  # free again
    assert not (tmp_path / LOCK).exists()


def test_the_lock_and_half_written_checkpoints_of_a_killed_run_are_taken_over_and_removed(micro_config, tmp_path):
    exp = tmp_path / "exp"
    cmd = [sys.executable, "-m", "asrkit.cli", "pretrain", "--config", str(micro_config), "--exp-dir", str(exp),
           "--set", "optim.max_updates=100000", "--set", "trainer.save_every=1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for(lambda: (exp / LAST).exists(), proc, "a checkpoint")
        proc.kill()  # SIGKILL: no handler runs, the lock file stays behind
        proc.wait(timeout=60)
    finally:
        proc.kill()
    dead = proc.pid
    assert f"pid={dead}" in (exp / LOCK).read_text()
    own = list(exp.glob(f".checkpoint_*.{dead}.*"))  # the kill may land mid-save: the run's own temporaries
    sleeper = subprocess.Popen(["sleep", "60"])  # a live process whose save must not be touched
    try:
        (exp / f".checkpoint_99.pt.{dead}.tmp").write_bytes(b"x" * 1000)  # a save killed mid-write
        (exp / f".checkpoint_last.pt.{dead}.lnk").write_bytes(b"")
        alive = exp / f".checkpoint_98.pt.{sleeper.pid}.tmp"
        alive.write_bytes(b"y")
        saved = read_checkpoint(exp / LAST).num_updates
        res = pretrain(micro_config, exp, "--set", f"optim.max_updates={saved + 1}", "--set", "trainer.save_every=1",
                       "--allow-changes", "optim.max_updates")
        out = flat(res.output)
        assert res.exit_code == 0, res.output
        assert f"taking over the lock of a run that is gone, pid {dead}" in out
        assert f"removed {2 + len(own)} half-written checkpoint file(s)" in out
        assert sorted(p.name for p in exp.glob(".checkpoint_*")) == [alive.name]
    finally:
        sleeper.kill()


def test_a_resume_with_other_settings_is_refused_unless_allowed(micro_config, tmp_path):
    assert pretrain(micro_config, tmp_path).exit_code == 0
    original = (tmp_path / "config.yaml").read_text()
    res = pretrain(micro_config, tmp_path, "--set", "optim.lr=1e-4", "--set", "model.encoder_layers=3")
    out = flat(res.output)
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "model.encoder_layers: 2 -> 3; optim.lr: 0.001 -> 0.0001" in out and "new --exp-dir" in out
    res = pretrain(micro_config, tmp_path, "--set", "optim.max_updates=8")
    assert res.exit_code == 1 and "pass --allow-changes optim.max_updates" in flat(res.output)
    res = pretrain(micro_config, tmp_path, "--set", "optim.lr=1e-4", "--allow-changes", "optim.lr")
    assert res.exit_code == 1 and "--allow-changes optim.lr: a resume cannot take over" in flat(res.output)
    assert (tmp_path / "config.yaml").read_text() == original and read_checkpoint(tmp_path / LAST).num_updates == 6
    # allowed: the resumed run trains on to the new end, its config kept beside the original's
    res = pretrain(micro_config, tmp_path, "--set", "optim.max_updates=8", "--set", "trainer.log_every=2",
                   "--allow-changes", "optim.max_updates")
    assert res.exit_code == 0, res.output
    assert "resuming with optim.max_updates = 8 (was 6)" in flat(res.output)
    assert read_checkpoint(tmp_path / LAST).num_updates == 8
    assert (tmp_path / "config.yaml").read_text() == original
    assert yaml.safe_load((tmp_path / "config.resume_6.yaml").read_text())["optim"]["max_updates"] == 8


def test_no_resume_refuses_to_overwrite_an_earlier_run(micro_config, tmp_path):
    assert pretrain(micro_config, tmp_path, "--set", "optim.max_updates=2").exit_code == 0
    res = pretrain(micro_config, tmp_path, "--no-resume")
    assert res.exit_code == 1 and "--no-resume would overwrite" in flat(res.output)
    assert read_checkpoint(tmp_path / LAST).num_updates == 2


def test_resume_falls_back_to_the_newest_readable_checkpoint(micro_config, tmp_path):
    assert pretrain(micro_config, tmp_path, "--set", "optim.max_updates=4", "--set", "trainer.keep_last=3").exit_code == 0
    last = tmp_path / LAST  # a hard link to checkpoint_4.pt: truncating it truncates both names
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    res = pretrain(micro_config, tmp_path, "--set", "optim.max_updates=6", "--set", "trainer.keep_last=3",
                   "--allow-changes", "optim.max_updates")
    out = flat(res.output)
    assert res.exit_code == 0, res.output
    assert f"cannot resume from {last}: cannot load checkpoint: it is corrupt" in out
    # checkpoints 2 (save_every), 3 (the best validation), 4 (the end): 4 is unreadable, 3 is next
    assert "resuming from checkpoint_3.pt instead" in out and "checkpoint_3.pt at update 3" in out
    assert read_checkpoint(tmp_path / LAST).num_updates == 6
    for p in numbered_checkpoints(tmp_path):
        p.write_bytes(b"garbage")
    res = pretrain(micro_config, tmp_path, "--set", "optim.max_updates=6", "--set", "trainer.keep_last=3")
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert flat(res.output).startswith(f"error: {last}: cannot load checkpoint")
    assert "older one(s)); no checkpoint of" in flat(res.output) and len(res.output.strip().splitlines()) <= 3


def test_resuming_on_other_data_is_a_clear_error(micro_config, tone_data, tmp_path):
    assert pretrain(micro_config, tmp_path, "--set", "optim.max_updates=2").exit_code == 0
    res = pretrain(micro_config, tmp_path, "--set", "optim.max_updates=2", "--set",
                   f"data.train_manifest={tone_data[1]}", "--allow-changes", "data.train_manifest")
    out = flat(res.output)
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert f"{tmp_path / LAST}: cannot resume the batch order" in out


def test_a_signal_delivered_twice_at_once_still_saves(micro_config, tmp_path):
    """torchrun forwards the SIGTERM a scheduler already sent every process: the copy must not abort the save."""
    exp = tmp_path / "exp"
    cmd = [sys.executable, "-m", "asrkit.cli", "pretrain", "--config", str(micro_config), "--exp-dir", str(exp),
           "--set", "optim.max_updates=100000", "--set", "trainer.save_every=100000"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for(lambda: _train_rows(exp), proc, "a logged update")
        proc.send_signal(signal.SIGTERM)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 143, out
    assert "interrupted by SIGTERM" in out and read_checkpoint(exp / LAST).num_updates >= 1
