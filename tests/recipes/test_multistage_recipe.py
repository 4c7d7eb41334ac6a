"""recipes/synth/multistage (make multistage, make reproduce-multistage, make reproduce-av): its configs, its option
checks, and the chain end to end in miniature (slow): AV pre-training, mid-training with its BLEU table, the ASR
models of Table 1 with a second seed for one cell, the report; finished stages skipped, changed settings refused, a
stage redone."""
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
from asrkit.train.midtrain import load_midtrain_config
from asrkit.train.pretrain import load_pretrain_config

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "synth" / "multistage"
TINY_AV = ("--lrs3-pretrain-clips 6 --lrs3-trainval-clips 4 --lrs3-test-clips 4 --lrs3-train-talks 2 "
           "--lrs3-test-talks 2")
TINY_SYNTH = ("--pretrain-hours 0.005 --finetune-folds 2 --fold-minutes 0.1 --dev-minutes 0.1 --test-minutes 0.1 "
              "--train-speakers 4 --dev-speakers 2 --test-speakers 2 --unseen-minutes 0.1")
TINY_MUSTC = "--train-talks 3 --dev-talks 1 --test-talks 1 --min-utterances 3 --max-utterances 4"
FEW = "--set trainer.valid_every=2 --set trainer.save_every=2 --set trainer.log_every=1 --set trainer.tensorboard=false"
SMALL_AV = "--set model.encoder_layers=1 --set model.video_layers=1 --set model.decoder_layers=1"
SMALL_HEAD = "--set model.head_dim=16 --set model.head_layers=1"


def run_recipe(*args):
    # nj 1: one worker to synthesise, prepare and validate (test_synth_recipe's mini_data has 2): fewer start-ups
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "nj": "1"}
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


def test_finetuning_config_is_the_papers_frozen_encoder_protocol():
    cfg = load_finetune_config(RECIPE / "conf" / "finetune_conformer.yaml")
    assert cfg.model.arch == "av_tiny" and cfg.model.freeze_finetune_updates == 0
    assert cfg.model.head == "lstm"  # a task decoder on the frozen encoder, not a linear classifier alone
    assert cfg.model.mask_channel_length < 80 // 4  # spans of a few of the 80 fbank bins
    assert cfg.data.tokenizer.endswith(".model")  # sentencepiece units: 40 ms frames are too few for characters


def test_midtraining_config_is_the_tiny_conformer_under_the_tiny_decoder():
    cfg = load_midtrain_config(RECIPE / "conf" / "midtrain.yaml")
    assert cfg.model.arch == "av_tiny" and cfg.model.decoder.embed_dim == 128 and cfg.model.decoder.layers == 2
    assert cfg.model.ctc_weight > 0 and cfg.data.source_tokenizer.endswith("st_en.model")


@pytest.mark.parametrize("option, value, message", [
    ("--pt-data", "lrs2", "is not lrs3, voxceleb2 or kinetics"),
    ("--objectives", "mae w2v2", "no conf/pretrain_w2v2.yaml"),
    ("--midtrain-pairs", "en-fr", "'en-fr' is not en-de, en-it or en-nl"),
    ("--asr-modes", "linear", "'linear' is not frozen or trained"),
    ("--repeat-seeds", "2", "--repeat-cell: '' is not"),
])
def test_recipe_refuses_unknown_objectives_sets_pairs_and_modes(tmp_path, option, value, message):
    res = run_recipe(option, value, "--data", tmp_path / "data", "--exp", tmp_path / "exp")
    assert res.returncode != 0 and message in res.stderr


def test_repeat_cell_must_be_in_the_grid(tmp_path):
    res = run_recipe("--repeat-cell", "clr kinetics en-it", "--repeat-seeds", "2", "--data", tmp_path / "d",
                     "--exp", tmp_path / "e")
    assert res.returncode != 0 and "set kinetics is not among --pt-data" in res.stderr


@pytest.mark.slow
def test_recipe_runs_the_chain_end_to_end_in_miniature(tmp_path):
    data, exp = tmp_path / "data", tmp_path / "exp"

    def chain(finetune_updates=2):
        return ["--data", data, "--exp", exp, "--av-opts", TINY_AV, "--synth-opts", TINY_SYNTH,
                "--mustc-opts", TINY_MUSTC, "--nbpe", 40, "--st-nbpe", 40, "--objectives", "mae",
                "--pretrain-updates", 2, "--pretrain-opts", f"{FEW} {SMALL_AV}", "--midtrain-updates", 2,
                "--midtrain-opts", FEW, "--st-beam", 2, "--repeat-cell", "mae lrs3 en-it", "--repeat-seeds", 2,
                "--finetune-updates", finetune_updates, "--finetune-opts", f"{FEW} {SMALL_HEAD}"]

    args = chain()
    res = run_recipe(*args)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert all((data / f".stage{n}.done").exists() for n in (0, 1, 2))
    assert all((exp / f".stage{n}.done").exists() for n in (3, 4, 5, 6, 7))
    assert sorted(p.name for p in (data / "av").iterdir() if p.is_dir()) == ["lrs3"]  # only the sets pre-trained on
    assert {p.name for p in (data / "manifests" / "mustc" / "en-it").glob("*.tsv")} == {"train.tsv", "dev.tsv",
                                                                                     "tst-COMMON.tsv"}
    assert {p.name for p in (data / "tokenizer").glob("*.model")} == {"spm.model", "st_en.model", "st_it.model"}
    assert {r["run"] for r in read_tsv(exp / "av_eval.tsv")} == {"pretrain_mae_lrs3"}

    bleu = read_tsv(exp / "bleu.tsv")  # tst-COMMON, the configured seed and the repeat
    assert [(r["run"], r["pair"], r["seed"]) for r in bleu] == [("midtrain_mae_lrs3_en-it", "en-it", "-"),
                                                               ("midtrain_mae_lrs3_en-it_s2", "en-it", "2")]
    assert all(0 <= float(r["bleu"]) <= 100 and r["bleu_signature"].startswith("nrefs:1") for r in bleu)
    assert "seed: 2" in (exp / "midtrain_mae_lrs3_en-it_s2" / "config.yaml").read_text()

    runs = read_tsv(exp / "runs_frozen.tsv")
    assert [(r["exp"], r["objective"], r["data"], r["pair"], r["seed"]) for r in runs] == [
        ("asr_mae_lrs3_frozen", "mae", "lrs3", "none", "-"), ("asr_mae_lrs3_frozen_s2", "mae", "lrs3", "none", "2"),
        ("asr_mae_lrs3_en-it_frozen", "mae", "lrs3", "en-it", "-"),
        ("asr_mae_lrs3_en-it_frozen_s2", "mae", "lrs3", "en-it", "2"),
        ("asr_scratch", "none", "none", "none", "-"), ("asr_scratch_s2", "none", "none", "none", "2")]
    results = read_tsv(exp / "results.tsv")
    sets = ("test", "test_unseen_engine", "test_unseen_engine_tel")  # the held-out-engine sets scored too
    assert sorted((r["exp"], r["split"]) for r in results) == sorted((r["exp"], s) for r in runs for s in sets)
    assert all(r["decoder"] == "greedy" and float(r["wer"]) >= 0 for r in results)
    frozen = (exp / "asr_mae_lrs3_en-it_frozen" / "config.yaml").read_text()
    assert "freeze_encoder: true" in frozen and "midtrain_mae_lrs3_en-it/checkpoint_best.pt" in frozen
    scratch = (exp / "asr_scratch" / "config.yaml").read_text()
    assert "freeze_encoder: false" in scratch and "init_checkpoint: ''" in scratch  # end to end, from scratch
    table = read_tsv(exp / "report_frozen" / "table1.tsv")
    assert [(r["objective"], r["pair"], r["seeds"]) for r in table] == [("none", "none", "2"), ("mae", "none", "2"),
                                                                        ("mae", "en-it", "2")]
    assert all(math.isfinite(float(r["wer"])) for r in table)
    assert "| MAE | LRS3 |" in (exp / "report_frozen" / "table1.md").read_text()
    assert (exp / "report_frozen" / "figure3.png").stat().st_size > 0

    again = run_recipe(*args)  # finished: every stage skipped
    assert again.returncode == 0 and again.stdout.count("done already") == 8, again.stdout[-2000:]
    changed = run_recipe(*chain(finetune_updates=3))
    assert changed.returncode != 0 and "finetune_updates: '2' -> '3'" in changed.stderr
    (exp / "report_frozen" / "table1.md").unlink()
    redo = run_recipe(*args, "--stage", 7, "--force", "true")  # one stage again, from its inputs
    assert redo.returncode == 0 and (exp / "report_frozen" / "table1.md").exists(), redo.stderr[-2000:]
    assert len(read_tsv(exp / "results.tsv")) == 3 * len(runs)  # rewritten, not appended to
