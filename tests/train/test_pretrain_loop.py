"""The training loop: resume reproduces an uninterrupted run, checkpoints, skipping bad updates."""
import math

import pytest
import torch

from asrkit.checkpoint import LAST, numbered_checkpoints, read_checkpoint
from asrkit.train.loop import TrainingAborted, TrainingInterrupted
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

    with pytest.raises(TrainingInterrupted, match=f"interrupted by SIGINT at update {stop_at // 2}"):
        run_pretrain(cfg, tmp_path / "split", hooks=[stop_after(stop_at)])
    ckpt = read_checkpoint(tmp_path / "split" / LAST)
    assert ckpt.num_updates == stop_at // 2
    assert (ckpt.trainer["accum"] is not None) == (stop_at % 2 == 1)  # saved mid-window with its gradients
    run_pretrain(cfg, tmp_path / "split")  # resumes automatically
    resumed = per_update(tmp_path / "split")
    seen = [read_checkpoint(tmp_path / run / LAST).trainer["audio_seconds"] for run in ("full", "split")]
    assert seen[0] > 0 and seen[1] == pytest.approx(seen[0])  # the audio trained on, counted across the resume
    assert sorted(resumed) == sorted(full)
    for step in full:
        assert resumed[step] == pytest.approx(full[step], rel=1e-6, abs=1e-7), step
    a = read_checkpoint(tmp_path / "full" / LAST).model
    b = read_checkpoint(tmp_path / "split" / LAST).model
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_checkpoints_best_last_and_pruning(micro_config, tmp_path):
    cfg = load_pretrain_config(micro_config, ["trainer.keep_last=2"])
    run_pretrain(cfg, tmp_path)
    assert [p.name for p in numbered_checkpoints(tmp_path)] == ["checkpoint_4.pt", "checkpoint_6.pt"]
    last = tmp_path / "checkpoint_last.pt"
    assert last.stat().st_ino == (tmp_path / "checkpoint_6.pt").stat().st_ino  # a hard link, not a copy
    best = read_checkpoint(tmp_path / "checkpoint_best.pt")
    valid = dict(read_metrics(tmp_path / "metrics.tsv")["valid"]["contrastive"])
    assert best.trainer["best"] == pytest.approx(min(valid.values()), rel=1e-5)
    assert (tmp_path / "config.yaml").exists() and (tmp_path / "curves.png").stat().st_size > 1000


def test_audio_seen_is_counted_in_every_checkpoint(micro_config, tmp_path):
    """The seconds of (cropped) training audio in the updates so far: growing, within the token budget."""
    cfg = load_pretrain_config(micro_config, ["trainer.keep_last=0"])
    run_pretrain(cfg, tmp_path)
    seen = [read_checkpoint(p).trainer for p in numbered_checkpoints(tmp_path)]
    assert [t["num_updates"] for t in seen] == [2, 3, 4, 6]
    audio = [t["audio_seconds"] for t in seen]
    assert 0 < audio[0] < audio[1] < audio[2] < audio[3]
    budget = cfg.trainer.max_tokens * cfg.optim.update_freq / cfg.data.sample_rate  # at most per update
    assert all(a <= t["num_updates"] * budget for a, t in zip(audio, seen))


def test_save_updates_are_written_and_kept_whatever_keep_last_says(micro_config, tmp_path):
    cfg = load_pretrain_config(micro_config, ["trainer.keep_last=1", "trainer.save_updates=[1,3]"])
    run_pretrain(cfg, tmp_path)
    assert [p.name for p in numbered_checkpoints(tmp_path)] == ["checkpoint_1.pt", "checkpoint_3.pt",
                                                                "checkpoint_6.pt"]
    assert [read_checkpoint(tmp_path / f"checkpoint_{k}.pt").num_updates for k in (1, 3)] == [1, 3]


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


def test_unreadable_audio_stops_with_its_name_or_is_skipped_with_skip_bad(micro_config, tone_data, tmp_path):
    import shutil

    from click.testing import CliRunner

    from asrkit.cli import cli
    from asrkit.data.manifest import read_manifest, write_manifest

    df = read_manifest(tone_data[0])
    broken = tmp_path / "broken.flac"
    shutil.copy(df["audio"].iloc[3], broken)
    broken.write_bytes(broken.read_bytes()[:200])  # truncated after its header
    df.loc[3, "audio"] = str(broken)
    bad_manifest = write_manifest(df, tmp_path / "bad.tsv")
    args = ["pretrain", "--config", str(micro_config), "--set", f"data.train_manifest={bad_manifest}",
            "--set", "optim.max_updates=6"]
    res = CliRunner().invoke(cli, [*args, "--exp-dir", str(tmp_path / "strict")])
    assert res.exit_code == 1 and "broken.flac" in res.output
    res = CliRunner().invoke(cli, [*args, "--exp-dir", str(tmp_path / "lenient"), "--skip-bad"])
    assert res.exit_code == 0, res.output
    assert "skipped unreadable utterance utt0-003" in res.output
    assert read_checkpoint(tmp_path / "lenient" / LAST).num_updates == 6


def test_skip_bad_with_no_readable_utterance_stops_instead_of_looping_forever(micro_config, tone_data, tmp_path):
    from click.testing import CliRunner

    from asrkit.cli import cli
    from asrkit.data.manifest import read_manifest, write_manifest
    from asrkit.testing import time_limit

    df = read_manifest(tone_data[0])
    for i, path in enumerate(df["audio"]):
        broken = tmp_path / f"broken{i}.flac"
        broken.write_bytes(open(path, "rb").read()[:200])  # each truncated after its header
        df.loc[i, "audio"] = str(broken)
    bad_manifest = write_manifest(df, tmp_path / "bad.tsv")
    with time_limit(120):  # empty epochs ran forever before
        res = CliRunner().invoke(cli, ["pretrain", "--config", str(micro_config), "--set",
                                       f"data.train_manifest={bad_manifest}", "--exp-dir", str(tmp_path / "exp"),
                                       "--skip-bad"])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "epoch 0: no training utterance could be read" in " ".join(res.output.split())


def test_precision_auto_trains_in_what_the_hardware_supports(micro_config, tmp_path, monkeypatch):
    from asrkit import precision

    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
    cpu = ["optim.max_updates=2", "optim.update_freq=1", "trainer.device=cpu"]  # the CPU's rule, also where CUDA is
    run_pretrain(load_pretrain_config(micro_config, cpu), tmp_path / "fp32")
    run_pretrain(load_pretrain_config(micro_config, [*cpu, "trainer.precision=auto"]), tmp_path / "auto")
    assert per_update(tmp_path / "auto") == per_update(tmp_path / "fp32")  # auto -> fp32 here
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)
    run_pretrain(load_pretrain_config(micro_config, [*cpu, "trainer.precision=auto"]), tmp_path / "auto_bf16")
    assert per_update(tmp_path / "auto_bf16") != per_update(tmp_path / "fp32")  # bf16 rounding shows


def test_speed_perturbation_copies_the_training_pool_only(micro_config, tone_data, tmp_path):
    from click.testing import CliRunner

    from asrkit.cli import cli
    from asrkit.data.manifest import read_manifest

    cfg = load_pretrain_config(micro_config, ["data.speed_perturb=[0.9,1.0,1.1]", "optim.max_updates=2"])
    seen = {}
    run_pretrain(cfg, tmp_path / "sp", hooks=[lambda t: seen.update(train=t.train_set, valid=t.valid_set)])
    ids = read_manifest(tone_data[0])["id"].tolist()
    assert sorted(seen["train"].ids) == sorted(ids + [f"sp{f}-{i}" for f in ("0.9", "1.1") for i in ids])
    assert sorted(seen["valid"].ids) == sorted(read_manifest(tone_data[1])["id"])
    res = CliRunner().invoke(cli, ["pretrain", "--config", str(micro_config), "--set", "data.speed_perturb=[3.0]",
                                   "--exp-dir", str(tmp_path / "bad")])
    assert res.exit_code != 0 and "data.speed_perturb" in res.output and "[0.5, 2]" in res.output
