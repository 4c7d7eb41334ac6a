"""recipes/synth/sewd_ablation/run.sh end to end in miniature, on w2v2_tiny's data (conftest's mini_data): a row
pre-trained, fine-tuned and decoded as the demo trains, timed, tabled; a re-run with another row trains only that
row and adds it to the one results table."""
import pandas as pd
import pytest
import yaml

from asrkit.config import to_dict
from asrkit.models import load_wav2vec2_config
from asrkit.train.finetune import load_finetune_config
from asrkit.train.pretrain import load_pretrain_config

from .conftest import RECIPES, run_recipe

FEW = "--set trainer.valid_every=2 --set trainer.save_every=2 --set trainer.log_every=1"


@pytest.mark.slow
def test_ablation_recipe_adds_rows_to_one_table_without_training_finished_ones(mini_data, tmp_path):
    exp = tmp_path / "exp"
    common = ["--data", mini_data, "--exp", exp, "--repeat-row", "none", "--finetune-updates", 2, "--trials", 2,
              "--pretrain-opts", FEW + " --set optim.max_updates=2", "--bench-utterances", 2, "--bench-repeats", 1,
              "--finetune-opts", FEW + " --set model.freeze_finetune_updates=1"]
    res = run_recipe("--rows", "2", *common, recipe="sewd_ablation", nj=1)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    run = exp / "row2_s1"
    pretrained = yaml.safe_load((run / "pretrain" / "config.yaml").read_text())
    demo = to_dict(load_pretrain_config(RECIPES / "w2v2_tiny" / "conf" / "pretrain.yaml"))
    assert pretrained["model"] == to_dict(load_wav2vec2_config("sew_ablation_2_w2v2_tiny_mini"))  # the row's model
    # the demo's settings, at wav2vec 2.0 BASE's LR for the rows' 12 post-LN layers (run.sh's --pretrain-lr)
    assert pretrained["optim"] == {**demo["optim"], "max_updates": 2, "lr": 5e-4} and pretrained["loss"] == demo["loss"]
    assert pretrained["data"]["max_sample_size"] == demo["data"]["max_sample_size"]
    assert pretrained["trainer"]["seed"] == 1  # every row the demo's seed and data order
    finetuned = yaml.safe_load((run / "pretrained_10m" / "config.yaml").read_text())
    assert finetuned["model"]["init_checkpoint"] == str(run / "pretrain" / "checkpoint_best.pt")
    assert finetuned["optim"]["max_updates"] == 2 and finetuned["data"]["train_manifest"].endswith("10m.tsv")
    demo = to_dict(load_finetune_config(RECIPES / "w2v2_tiny" / "conf" / "finetune_10m.yaml"))
    assert {**finetuned["optim"], "max_updates": 600} == {**demo["optim"], "lr": 3e-4}  # the demo's at --finetune-lr
    assert {k: v for k, v in finetuned["model"].items() if k != "init_checkpoint"} == {
        k: v for k, v in demo["model"].items() if k not in ("init_checkpoint", "arch")} | {
        "arch": "sew_ablation_2_w2v2_tiny_mini", "freeze_finetune_updates": 1}
    assert finetuned["data"]["speed_perturb"] == demo["data"]["speed_perturb"]
    for n in (3, 5, 6, 7):
        assert (exp / f".stage{n}.row2_s1.done").exists()
    table = pd.read_csv(exp / "ablation.tsv", sep="\t", dtype={"row": str})
    assert list(table["run"]) == ["row2_s1"] and table.loc[0, "time_ratio"] == pytest.approx(1.0)
    assert table.loc[0, "utterances"] == 2 and table.loc[0, "wer_greedy"] >= 0 and table.loc[0, "wer_4gram"] >= 0
    assert (exp / "report" / "figure1.png").stat().st_size > 0 and "Table 6 in miniature" in res.stdout
    assert (exp / "report" / "table6.txt").read_text().count("W2V2-tiny") == 1

    # more rows: row 2 is not trained again, row 9 (filter banks, on row 7) is, and both are timed together
    res = run_recipe("--rows", "2 9", *common, recipe="sewd_ablation", nj=1)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    for n in (3, 5, 6, 7):
        assert f"Stage {n}: done already ({exp}/.stage{n}.row2_s1.done)" in res.stdout
    assert "Stage 3: pre-training (conf/pretrain.yaml), 1 run(s): row9_s1" in res.stdout
    table = pd.read_csv(exp / "ablation.tsv", sep="\t", dtype={"row": str})
    assert list(table["run"]) == ["row2_s1", "row9_s1"] and len(set(table["timed"])) == 1
    assert list(pd.read_csv(exp / "runs.tsv", sep="\t")["run"]) == ["row2_s1", "row9_s1"]

    res = run_recipe("--rows", "2 9", *common, recipe="sewd_ablation", nj=1)  # nothing new: nothing trained or timed
    assert res.returncode == 0 and "Stage 7: no run scored now" in res.stdout
    assert pd.read_csv(exp / "ablation.tsv", sep="\t", dtype={"row": str}).equals(table)

    # another LR is another setting: the finished run is refused, not silently kept as if trained with it
    res = run_recipe("--rows", "2", *common, "--pretrain-lr", "1e-3", recipe="sewd_ablation", nj=1)
    assert res.returncode != 0 and "pretrain_lr" in res.stdout + res.stderr
