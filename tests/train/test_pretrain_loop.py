"""The training loop: resume reproduces an uninterrupted run, checkpoints, skipping bad updates."""
import math

import pytest
import torch

from asrkit.train.checkpoint import LAST, load_checkpoint, numbered_checkpoints
from asrkit.train.loop import TrainingAborted
from asrkit.train.metrics import read_metrics
from asrkit.train.pretrain import PretrainTask, load_pretrain_config, run_pretrain


def per_update(exp_dir, metric="loss"):
    return dict(read_metrics(exp_dir / "metrics.tsv")["train"][metric])


def stop_after(micro_batches):
    seen = {"n": 0}

    def hook(trainer):
        seen["n"] += 1
        if seen["n"] == micro_batches:
            trainer.stop_requested = True

    return hook


@pytest.mark.parametrize("stop_at", [3, 8])  # inside an accumulation window (update_freq 2), and mid-epoch
def test_interrupted_then_resumed_run_reproduces_the_uninterrupted_losses(micro_config, tmp_path, stop_at):
    cfg = load_pretrain_config(micro_config)
    run_pretrain(cfg, tmp_path / "full")
    full = per_update(tmp_path / "full")
    assert sorted(full) == [1, 2, 3, 4, 5, 6]

    run_pretrain(cfg, tmp_path / "split", hooks=[stop_after(stop_at)])
    ckpt = load_checkpoint(tmp_path / "split" / LAST)
    assert ckpt["num_updates"] == stop_at // 2
    assert (ckpt["accum"] is not None) == (stop_at % 2 == 1)  # saved mid-window with its gradients
    run_pretrain(cfg, tmp_path / "split")  # resumes automatically
    resumed = per_update(tmp_path / "split")
    assert sorted(resumed) == sorted(full)
    for step in full:
        assert resumed[step] == pytest.approx(full[step], rel=1e-6, abs=1e-7), step
    a = load_checkpoint(tmp_path / "full" / LAST)["model"]
    b = load_checkpoint(tmp_path / "split" / LAST)["model"]
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_checkpoints_best_last_and_pruning(micro_config, tmp_path):
    cfg = load_pretrain_config(micro_config, ["trainer.keep_last=2"])
    run_pretrain(cfg, tmp_path)
    assert [p.name for p in numbered_checkpoints(tmp_path)] == ["checkpoint_4.pt", "checkpoint_6.pt"]
    last = tmp_path / "checkpoint_last.pt"
    assert last.stat().st_ino == (tmp_path / "checkpoint_6.pt").stat().st_ino  # a hard link, not a copy
    best = load_checkpoint(tmp_path / "checkpoint_best.pt")
    valid = dict(read_metrics(tmp_path / "metrics.tsv")["valid"]["contrastive"])
    assert best["best"] == pytest.approx(min(valid.values()), rel=1e-5)
    assert (tmp_path / "config.yaml").exists() and (tmp_path / "curves.png").stat().st_size > 1000


def test_learning_makes_progress(micro_config, tmp_path):
    cfg = load_pretrain_config(micro_config, ["optim.max_updates=30", "optim.update_freq=1", "trainer.valid_every=30",
                                              "trainer.save_every=30", "model.encoder_layerdrop=0.0"])
    run_pretrain(cfg, tmp_path)
    loss = per_update(tmp_path, "contrastive")
    first, last = sum(loss[s] for s in range(1, 6)) / 5, sum(loss[s] for s in range(26, 31)) / 5
    assert last < first - 0.1


def test_non_finite_losses_are_skipped_then_abort_naming_utterances(micro_config, tmp_path, monkeypatch):
    original = PretrainTask.loss

    def poisoned(self, model, batch, generator=None):
        loss, n, stats = original(self, model, batch, generator)
        return loss * math.nan, n, stats

    monkeypatch.setattr(PretrainTask, "loss", poisoned)
    cfg = load_pretrain_config(micro_config, ["trainer.max_nonfinite=3"])
    with pytest.raises(TrainingAborted, match=r"3 updates in a row.*utt0-0"):
        run_pretrain(cfg, tmp_path)
