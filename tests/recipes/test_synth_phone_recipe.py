"""recipes/synth/w2v2_phone end to end on a miniature corpus: stage 0 makes w2v2_tiny's corpus where it is missing,
phone manifests, pre-training (no w2v2_tiny checkpoint), CTC on phones from the pre-trained model and from scratch,
greedy decoding, PER; a re-run skips what is done."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from asrkit.checkpoint import read_checkpoint
from asrkit.data.manifest import read_manifest
from asrkit.data.phones import PHONES
from asrkit.data.tokenizer import PhoneTokenizer
from asrkit.score import PHONE_RESULT_COLUMNS, read_trn

RECIPES = Path(__file__).resolve().parents[2] / "recipes" / "synth"
TINY = ("--pretrain-hours 0.005 --finetune-folds 2 --fold-minutes 0.1 --dev-minutes 0.1 "
        "--test-minutes 0.1 --train-speakers 4 --dev-speakers 2 --test-speakers 2 --unseen-minutes 0.1")


def run_recipe(*args):
    # nj 1: one worker to synthesise, prepare and validate (test_synth_recipe's mini_data has 2): fewer start-ups
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "nj": "1"}
    return subprocess.run(["bash", str(RECIPES / "w2v2_phone" / "run.sh"), *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_phone_recipe_runs_every_stage_in_miniature(tmp_path):
    corpus, data, exp = tmp_path / "tiny_data", tmp_path / "data", tmp_path / "exp"
    few = "--set trainer.valid_every=2 --set trainer.save_every=2 --set trainer.log_every=1"
    args = ["--corpus", corpus, "--data", data, "--exp", exp, "--pretrained", "", "--synth-opts", TINY,
            "--pretrain-opts", few + " --set optim.max_updates=2 --set model.encoder_layers=1",
            "--finetune-opts", few + " --set model.freeze_finetune_updates=1", "--finetune-updates", 2]
    res = run_recipe(*args)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert (corpus / ".stage1.done").exists()  # w2v2_tiny's stages 0-1 made its corpus there
    sets = ("test", "test_unseen_engine", "test_unseen_engine_tel")
    for split in ("10m", "dev", *sets):
        df = read_manifest(data / "manifests" / f"{split}.tsv")
        assert len(df) and all(p in PHONES for text in df["text"] for p in text.split()), split
        assert df["id"].tolist() == read_manifest(corpus / "manifests" / f"{split}.tsv")["id"].tolist()

    for model in ("pretrained", "scratch"):
        cfg = yaml.safe_load((exp / f"{model}_10m" / "config.yaml").read_text())
        assert cfg["data"]["tokenizer"] == "phones" and cfg["optim"]["max_updates"] == 2
        assert cfg["model"]["init_checkpoint"] == (str(exp / "pretrain" / "checkpoint_best.pt")
                                                   if model == "pretrained" else "")
        assert list(read_checkpoint(exp / f"{model}_10m" / "checkpoint_best.pt").tokens) == PhoneTokenizer().tokens
        hyps = read_trn(exp / f"{model}_10m" / "test_greedy" / "hyp.trn")
        assert all(p in PHONES for h in hyps.values() for p in h.split())
    header, *rows = (exp / "results.tsv").read_text().splitlines()
    assert header.split("\t") == ["exp", "decoder", "split", *PHONE_RESULT_COLUMNS]
    assert sorted("/".join(r.split("\t")[:3]) for r in rows) == sorted(
        f"{model}_10m/greedy/{split}" for model in ("pretrained", "scratch") for split in sets)

    again = run_recipe(*args)
    assert again.returncode == 0, again.stderr[-2000:]
    assert all(f"Stage {n}: done already" in again.stdout for n in (0, 1, 3, 5, 6, 7))

