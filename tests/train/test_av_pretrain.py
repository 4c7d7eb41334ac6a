"""Audio-visual pre-training through ``asrkit pretrain``: each objective trains, resumes exactly and writes
checkpoints whose Conformer ``asrkit finetune`` takes with no conversion, frozen or trained."""
from __future__ import annotations

import math

import pytest
import torch
import yaml

from asrkit.checkpoint import LAST, load_model, read_checkpoint
from asrkit.config import ConfigError
from asrkit.models.av import AudioVisualModel, AVConfig
from asrkit.models.heads import CTCModel
from asrkit.testing import make_tone_manifest
from asrkit.testing.av import write_av_manifest, write_clip
from asrkit.train.av_pretrain import AVPretrainConfig
from asrkit.train.finetune import load_finetune_config, run_finetune
from asrkit.train.loop import TrainingInterrupted
from asrkit.train.metrics import read_metrics
from asrkit.train.pretrain import PretrainConfig, load_pretrain_config, run_pretrain

MICRO_AV = {  # av_tiny's design at a size that trains in seconds
    "max_frames": 96, "encoder_layers": 2, "encoder_embed_dim": 32, "encoder_ffn_embed_dim": 64,
    "encoder_attention_heads": 2, "conv_kernel_size": 7, "image_size": 32, "num_frames": 4,
    "video_patch_time": 2, "video_patch_size": 16, "video_layers": 1, "video_embed_dim": 32,
    "video_attention_heads": 2, "video_mlp_dim": 64, "decoder_layers": 1, "decoder_embed_dim": 32,
    "decoder_attention_heads": 2, "decoder_mlp_dim": 64, "clr_dim": 16,
}


@pytest.fixture(scope="module")
def av_manifests(tmp_path_factory):
    d = tmp_path_factory.mktemp("av")
    train = {f"c{i}": write_clip(d / f"c{i}.mp4", seconds=1.2, seed=i) for i in range(6)}
    valid = {f"v{i}": write_clip(d / f"v{i}.mp4", seconds=1.0, seed=10 + i) for i in range(3)}
    return write_av_manifest(d / "train.tsv", train), write_av_manifest(d / "valid.tsv", valid)


def av_config(tmp_path, manifests, objective: str, **sections) -> str:
    train, valid = manifests
    cfg = {
        "objective": objective,
        "model": {**MICRO_AV, **sections.pop("model", {})},
        "data": {"train_manifest": str(train), "valid_manifest": str(valid), "frame_stride": 2},
        "optim": {"lr": 2e-3, "max_updates": 4, "update_freq": 2},
        "trainer": {"max_tokens": 3 * 16000, "log_every": 1, "valid_every": 2, "save_every": 2, "num_workers": 0,
                    "tensorboard": False, "seed": 5},
    }
    for k, v in sections.items():
        cfg[k] = {**cfg.get(k, {}), **v}
    path = tmp_path / f"{objective}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return str(path)


def train_losses(exp_dir, metric="loss"):
    return dict(read_metrics(exp_dir / "metrics.tsv")["train"][metric])


def test_the_objective_key_selects_the_config():
    assert isinstance(load_pretrain_config(None), PretrainConfig)
    cfg = load_pretrain_config(None, ["objective=mae_clr", "model=av_tiny"])
    assert isinstance(cfg, AVPretrainConfig) and cfg.model.image_size == 64
    assert cfg.loss.mae_weight == cfg.loss.clr_weight == 1.0  # the paper's 1 : 1
    with pytest.raises(ConfigError, match="objective: 'hubert'"):
        load_pretrain_config(None, ["objective=hubert"])
    with pytest.raises(ConfigError, match="use_video is false"):
        load_pretrain_config(None, ["objective=clr", "model=av_audio_tiny"])
    with pytest.raises(ConfigError, match="tubelet"):
        load_pretrain_config(None, ["objective=mae", "model.video_tokens=frame"])
    with pytest.raises(ConfigError, match="batching: 'talk'.*shuffle, speaker, length"):
        load_pretrain_config(None, ["objective=clr", "data.batching=talk"])


@pytest.mark.parametrize("objective", ["mae", "clr", "mae_clr"])
def test_each_objective_trains_and_logs_its_terms(objective, av_manifests, tmp_path):
    extra = {"model": {"video_tokens": "frame"}} if objective == "clr" else {}
    if objective == "mae_clr":
        extra["loss"] = {"clr_shift_negatives": 0.08}  # 2 frames: 1.2 s clips hold a 0.97 s window and 2 shifts
    cfg = load_pretrain_config(av_config(tmp_path, av_manifests, objective, **extra))
    run_pretrain(cfg, tmp_path / "exp")
    metrics = read_metrics(tmp_path / "exp" / "metrics.tsv")
    train, valid = metrics["train"], metrics["valid"]
    expected = {"mae": ["mae_audio", "mae_video"], "clr": ["clr", "a2v_top1", "v2a_top1"],
                "mae_clr": ["mae_audio", "mae_video", "clr", "mae_weighted", "clr_weighted", "sync_top1"]}[objective]
    for name in expected + ["loss"]:
        assert name in train and all(math.isfinite(v) for _, v in train[name]), name
    if "mae" in objective:  # validation also reports the mean-of-visible-tokens reference
        assert "mae_audio_baseline" in valid and "mae_video_baseline" in valid
    ckpt = read_checkpoint(tmp_path / "exp" / LAST)
    assert ckpt.kind == "pretrain" and isinstance(ckpt.model_config, AVConfig) and ckpt.num_updates == 4
    model, _ = load_model(tmp_path / "exp" / LAST)
    assert isinstance(model, AudioVisualModel)


@pytest.mark.parametrize("batching", ["shuffle", "speaker", "length"])
def test_interrupted_av_run_resumes_to_the_same_result(av_manifests, tmp_path, batching):
    cfg = load_pretrain_config(av_config(tmp_path, av_manifests, "mae_clr", data={"batching": batching,
                                                                                 "speakers_per_batch": 2}))
    run_pretrain(cfg, tmp_path / "full")
    seen = {"n": 0}

    def stop_after_three(trainer):  # inside the second update's accumulation window
        seen["n"] += 1
        if seen["n"] == 3:
            trainer.stop_requested = True

    with pytest.raises(TrainingInterrupted):
        run_pretrain(cfg, tmp_path / "split", hooks=[stop_after_three])
    run_pretrain(cfg, tmp_path / "split")
    full, split = train_losses(tmp_path / "full"), train_losses(tmp_path / "split")
    assert sorted(full) == sorted(split) == [1, 2, 3, 4]
    for step in full:
        assert split[step] == pytest.approx(full[step], rel=1e-5, abs=1e-6), step
    a, b = (read_checkpoint(tmp_path / run / LAST).model for run in ("full", "split"))
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)


def test_audio_only_mae_reads_a_plain_audio_manifest(tmp_path):
    train = make_tone_manifest(tmp_path, 6, seed=0, name="train.tsv")
    valid = make_tone_manifest(tmp_path, 2, seed=1, name="valid.tsv")
    cfg = load_pretrain_config(av_config(tmp_path, (train, valid), "mae", model={"use_video": False}))
    run_pretrain(cfg, tmp_path / "exp")
    train_metrics = read_metrics(tmp_path / "exp" / "metrics.tsv")["train"]
    assert "mae_audio" in train_metrics and "mae_video" not in train_metrics
    model, ckpt = load_model(tmp_path / "exp" / LAST)
    assert model.video_encoder is None and not ckpt.model_config.use_video


@pytest.fixture(scope="module")
def av_checkpoint(av_manifests, tmp_path_factory):
    d = tmp_path_factory.mktemp("avckpt")
    run_pretrain(load_pretrain_config(av_config(d, av_manifests, "mae")), d / "exp")
    return d / "exp" / LAST


@pytest.mark.parametrize("frozen", [True, False])
def test_finetune_takes_the_conformer_of_an_av_checkpoint(av_checkpoint, tmp_path, frozen):
    train = make_tone_manifest(tmp_path, 6, seed=2, name="train.tsv")
    valid = make_tone_manifest(tmp_path, 2, seed=3, name="valid.tsv")
    cfg = load_finetune_config(None, [
        f"model.init_checkpoint={av_checkpoint}", f"model.freeze_encoder={str(frozen).lower()}",
        "model.freeze_finetune_updates=0", "model.mask_prob=0.2", "model.mask_channel_length=8",
        f"data.train_manifest={train}", f"data.valid_manifest={valid}", "optim.max_updates=3", "optim.lr=1e-2",
        "trainer.max_tokens=64000", "trainer.valid_every=3", "trainer.save_every=3", "trainer.tensorboard=false"])
    run_finetune(cfg, tmp_path / "ctc")
    pretrained = read_checkpoint(av_checkpoint).model
    tuned = read_checkpoint(tmp_path / "ctc" / LAST)
    assert tuned.kind == "ctc" and isinstance(tuned.model_config, AVConfig)
    assert tuned.model_config.max_frames == 0  # fine-tuning reads whole utterances
    changed = [k for k, v in tuned.model.items() if k.startswith("encoder.") and v.is_floating_point()
               and not torch.equal(v, pretrained["audio_" + k])]
    if frozen:  # not one encoder weight, nor a batch-norm statistic, moves
        assert changed == []
    else:
        assert any(".blocks." in k for k in changed)
    model, _ = load_model(tmp_path / "ctc" / LAST)
    assert isinstance(model, CTCModel) and model.encoder.downsample_rate == 640
    log_probs, lengths = model(torch.randn(1, 16000))
    assert log_probs.shape[1] == int(lengths[0]) == 25  # 100 fbank frames -> 25 at 40 ms


def test_a_frozen_encoder_needs_a_pretrained_one(tmp_path):
    train = make_tone_manifest(tmp_path, 2, seed=0, name="train.tsv")
    cfg = load_finetune_config(None, ["model.arch=av_tiny", "model.freeze_encoder=true",
                                      f"data.train_manifest={train}", "data.valid_manifest="])
    with pytest.raises(ConfigError, match="random encoder"):
        run_finetune(cfg, tmp_path / "ctc")


@pytest.mark.slow
def test_two_process_torchrun_mae_clr_completes(av_manifests, tmp_path):
    import os
    import subprocess
    import sys

    exp = tmp_path / "exp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "asrkit.cli", "pretrain", "--config", av_config(tmp_path, av_manifests, "mae_clr"),
           "--exp-dir", str(exp), "--set", "optim.max_updates=2", "--set", "trainer.threads=1"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    ckpt = read_checkpoint(exp / LAST)
    assert ckpt.num_updates == 2 and ckpt.trainer["sampler"]["num_replicas"] == 2
    assert [u for u, _ in read_metrics(exp / "metrics.tsv")["train"]["clr"]] == [1, 2]
