"""recipes/synth/multistage (make reproduce-av): its configs, its option checks, and every stage end to end in
miniature (slow): AV pre-training runs, their eval-av table, and the CTC models' results table."""
import csv
import dataclasses
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from asrkit.models.av import load_av_config
from asrkit.train.finetune import load_finetune_config
from asrkit.train.pretrain import load_pretrain_config

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "synth" / "multistage"
TINY_AV = ("--lrs3-pretrain-clips 6 --lrs3-trainval-clips 4 --lrs3-test-clips 4 --lrs3-train-talks 2 "
           "--lrs3-test-talks 2 --vox-dev-clips 4 --vox-test-clips 4 --vox-dev-speakers 2 --vox-test-speakers 2 "
           "--kinetics-train-clips 6 --kinetics-val-clips 4 --kinetics-no-audio 1 --kinetics-silent 1 "
           "--kinetics-missing 1")
TINY_SYNTH = ("--pretrain-hours 0.005 --finetune-folds 2 --fold-minutes 0.1 --dev-minutes 0.1 --test-minutes 0.1 "
              "--train-speakers 4 --dev-speakers 2 --test-speakers 2")
FEW = "--set trainer.valid_every=2 --set trainer.save_every=2 --set trainer.log_every=1 --set trainer.tensorboard=false"
SMALL_AV = "--set model.encoder_layers=1 --set model.video_layers=1 --set model.decoder_layers=1"


def run_recipe(*args):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "nj": "2"}
    return subprocess.run(["bash", str(RECIPE / "run.sh"), *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=900)


def read_tsv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def test_pretraining_configs_are_av_tiny_with_clr_on_frame_tokens():
    """The three objectives train one model: av_tiny, CLR embedding each video frame (§3.4) instead of tubelets."""
    tiny = load_av_config("av_tiny")
    for objective in ("mae", "clr", "mae_clr"):
        cfg = load_pretrain_config(RECIPE / "conf" / f"pretrain_{objective}.yaml")
        assert cfg.objective == objective
        assert cfg.model.video_tokens == ("frame" if objective == "clr" else "tubelet")
        assert dataclasses.replace(cfg.model, video_tokens="tubelet") == tiny
        assert cfg.trainer.max_batch_size == 32  # eval-av's retrieval batches
    assert cfg.loss.mae_weight == cfg.loss.clr_weight == 1.0  # the paper's 1 : 1, not CAV-MAE's 0.01


def test_finetuning_config_suits_the_conformer_on_fbank():
    cfg = load_finetune_config(RECIPE / "conf" / "finetune_conformer.yaml")
    assert cfg.model.arch == "av_tiny" and cfg.model.freeze_finetune_updates == 0
    assert cfg.model.mask_channel_length < 80 // 4  # spans of a few of the 80 fbank bins
    assert cfg.data.tokenizer.endswith(".model")  # sentencepiece units: 40 ms frames are too few for characters


@pytest.mark.parametrize("option, value, message", [("--pt-data", "lrs2", "is not lrs3, voxceleb2 or kinetics"),
                                                    ("--objectives", "mae w2v2", "no conf/pretrain_w2v2.yaml")])
def test_recipe_refuses_unknown_objectives_and_sets(tmp_path, option, value, message):
    res = run_recipe(option, value, "--data", tmp_path / "data", "--exp", tmp_path / "exp")
    assert res.returncode != 0 and message in res.stderr


@pytest.mark.slow
def test_recipe_runs_every_stage_end_to_end_in_miniature(tmp_path):
    data, exp = tmp_path / "data", tmp_path / "exp"
    args = ["--data", data, "--exp", exp, "--av-opts", TINY_AV, "--synth-opts", TINY_SYNTH, "--nbpe", 40,
            "--lm-sentences", 2000, "--objectives", "mae clr", "--pretrain-updates", 2,
            "--pretrain-opts", f"{FEW} {SMALL_AV}", "--finetune-updates", 2, "--finetune-opts", FEW]
    res = run_recipe(*args)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert all((data / f".stage{n}.done").exists() for n in (0, 1, 2))
    assert all((exp / f".stage{n}.done").exists() for n in (3, 5, 6, 7))
    assert not (exp / ".stage4.done").exists()  # mid-training: none yet
    assert (data / "tokenizer" / "spm.model").exists()
    assert {p.name for p in (data / "manifests" / "lrs3").glob("*.tsv")} == {"pretrain.tsv", "trainval.tsv",
                                                                           "test.tsv"}

    rows = read_tsv(exp / "av_eval.tsv")
    assert {r["run"] for r in rows} == {"pretrain_mae_lrs3", "pretrain_clr_lrs3"}
    assert {r["split"] for r in rows} == {"trainval", "test"}  # LRS3: seen talks, unseen talks
    assert all(math.isfinite(float(r["value"])) for r in rows)
    by_run = {run: {r["measure"] for r in rows if r["run"] == run} for run in ("pretrain_mae_lrs3", "pretrain_clr_lrs3")}
    assert "MAE audio loss (masked tokens)" in by_run["pretrain_mae_lrs3"]
    assert "MAE video loss (masked tokens)" in by_run["pretrain_mae_lrs3"]
    assert {"audio->video top-1", "sync: true alignment beats +-shift"} <= by_run["pretrain_clr_lrs3"]
    assert not any(m.startswith("MAE") for m in by_run["pretrain_clr_lrs3"])
    assert all(r["reference"] for r in rows)  # each measure next to its reference (mean of visible, chance)

    results = read_tsv(exp / "results.tsv")
    assert sorted(r["exp"] for r in results) == sorted(
        ["asr_mae_lrs3_frozen", "asr_mae_lrs3_trained", "asr_clr_lrs3_frozen", "asr_clr_lrs3_trained", "asr_scratch"])
    assert all(r["decoder"] == "greedy" and r["split"] == "test" and float(r["wer"]) >= 0 for r in results)
    frozen = (exp / "asr_mae_lrs3_frozen" / "config.yaml").read_text()
    assert "freeze_encoder: true" in frozen and "spm.model" in frozen

    again = run_recipe(*args)  # finished: every stage skipped
    assert again.returncode == 0 and again.stdout.count("done already") == 7, again.stdout[-2000:]
