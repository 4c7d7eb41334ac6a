"""recipes/synth/superb (make reproduce-superb) in miniature (slow): the analogs prepared through the real corpora's
preparation, every task on two upstreams laid where the multi-stage recipe leaves them (tiny random encoders),
PR's random-upstream baseline, the results table and Figure 2; finished stages skipped."""
import csv
import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from asrkit.checkpoint import checkpoint_header
from asrkit.models.factory import build_model, load_model_config

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "synth" / "superb"
TINY_SYNTH = ("--pretrain-hours 0.005 --finetune-folds 1 --fold-minutes 0.3 --dev-minutes 0.2 --test-minutes 0.2 "
              "--train-speakers 4 --dev-speakers 2 --test-speakers 2 --unseen-minutes 0.1")
TINY_SUPERB = ("--train-speakers 4 --dev-speakers 2 --test-speakers 2 --ks-train-per-keyword 3 "
               "--ks-train-per-unknown 1 --ks-eval-per-keyword 1 --ks-eval-per-unknown 1 --ks-test-set-per-class 1 "
               "--ic-train 20 --ic-valid 6 --ic-test 6 --sd-train 4 --sd-dev 2 --sd-test 2")
FEW = "--set optim.max_updates=4 --set trainer.valid_every=2 --set trainer.save_every=2 --set trainer.tensorboard=false"
TINY_CONFORMER = dict(encoder_layers=1, encoder_embed_dim=32, encoder_ffn_embed_dim=64, encoder_attention_heads=2,
                      video_layers=1, video_embed_dim=32, video_mlp_dim=64, video_attention_heads=2, decoder_layers=1,
                      decoder_embed_dim=32, decoder_mlp_dim=64, decoder_attention_heads=2, clr_dim=32)


def run_recipe(*args):
    # nj 1: one worker to synthesise, prepare and validate (test_synth_recipe's mini_data has 2): fewer start-ups
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "nj": "1"}
    return subprocess.run(["bash", str(RECIPE / "run.sh"), *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=900)


def read_tsv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def write_upstreams(ms_exp: Path) -> None:
    """Where ../multistage leaves MAE+CLR on the LRS3-like set, pre-trained and mid-trained (two seeds here)."""
    cfg = dataclasses.replace(load_model_config("av_tiny"), **TINY_CONFORMER)
    for seed, path in enumerate(("pretrain_mae_clr_lrs3/checkpoint_last.pt",
                                 "midtrain_mae_clr_lrs3_en-it/checkpoint_best.pt")):
        torch.manual_seed(seed)
        (ms_exp / path).parent.mkdir(parents=True)
        torch.save({**checkpoint_header("pretrain", cfg), "model": build_model(cfg).state_dict()}, ms_exp / path)


def test_recipe_refuses_an_unknown_task(tmp_path):
    res = run_recipe("--tasks", "ks asr", "--data", tmp_path / "d", "--exp", tmp_path / "e")
    assert res.returncode != 0 and "--tasks: 'asr' is not ks, ic, pr or sd" in res.stderr + res.stdout


@pytest.mark.slow
def test_recipe_runs_every_task_and_figure2_in_miniature(tmp_path):
    ms_exp = tmp_path / "ms_exp"
    write_upstreams(ms_exp)
    common = ["--data", tmp_path / "data", "--exp", tmp_path / "exp", "--ms-exp", ms_exp, "--pt-data", "lrs3"]
    res = run_recipe(*common, "--stage", 0, "--stop-stage", 1, "--synth-opts", TINY_SYNTH,
                     "--superb-synth-opts", TINY_SUPERB)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    for task in ("ks", "ic", "pr", "sd"):
        for split in ("train", "dev", "test"):
            assert len(read_tsv(tmp_path / "data" / "superb" / task / f"{split}.tsv")) > 0, (task, split)
    assert (tmp_path / "data" / "superb" / "sd" / "test.rttm").stat().st_size > 0
    res = run_recipe(*common, "--stage", 5, "--superb-opts", FEW)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    rows = read_tsv(tmp_path / "exp" / "superb_results.tsv")
    assert sorted((r["task"], Path(r["exp_dir"]).name) for r in rows) == sorted(
        [(t, f"{t}_{u}") for t in ("ks", "ic", "pr", "sd") for u in ("mae_clr_lrs3", "mae_clr_lrs3_en-it")]
        + [("pr", "pr_random")])
    assert {r["metric"] for r in rows} == {"accuracy", "per", "der"}
    figure = read_tsv(tmp_path / "exp" / "report" / "figure2.tsv")
    assert [r["task"] for r in figure] == ["ks", "ic", "pr", "sd"]
    assert (tmp_path / "exp" / "report" / "figure2.png").stat().st_size > 0
    again = run_recipe(*common, "--stage", 5, "--superb-opts", FEW)  # finished: skipped
    assert again.returncode == 0 and "Stage 5: done already" in again.stdout and "Stage 5: SUPERB" not in again.stdout
