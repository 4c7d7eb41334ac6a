"""recipes/timit/w2v2_base: stage 0 says where TIMIT comes from, stage 1 prepares a miniature corpus in LDC's layout,
stages 6-7 decode an untrained phone model greedily and score PER; the config is the paper's."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from asrkit.data.manifest import read_manifest
from asrkit.data.tokenizer import PhoneTokenizer, load_tokenizer
from asrkit.score import PHONE_RESULT_COLUMNS
from asrkit.testing.ctc import write_ctc_checkpoint
from asrkit.testing.timit import EXPECTED, PHN_39, write_timit
from asrkit.train.finetune import load_finetune_config

from ..train.conftest import MICRO_MODEL

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "timit" / "w2v2_base"


def run_recipe(tmp_path, *args):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "nj": "1", "ngpu": "1"}
    dirs = ["--corpus", tmp_path / "corpus", "--data", tmp_path / "data", "--exp", tmp_path / "exp"]
    return subprocess.run(["bash", str(RECIPE / "run.sh"), *map(str, args), *map(str, dirs)],
                          env=env, capture_output=True, text=True, timeout=600)


def test_finetuning_is_libri_light_10h_with_table_6_s_timit_column():
    cfg = load_finetune_config(RECIPE / "conf" / "finetune.yaml")
    ten_h = load_finetune_config(RECIPE.parents[1] / "librispeech" / "w2v2_base" / "conf" / "finetune_10h.yaml")
    assert (cfg.model.mask_prob, cfg.model.mask_channel_prob, cfg.optim.max_updates) == (0.65, 0.012 * 64, 40_000)
    assert (cfg.optim.lr, cfg.model.freeze_finetune_updates, cfg.trainer.max_tokens) == (
        ten_h.optim.lr, ten_h.model.freeze_finetune_updates, ten_h.trainer.max_tokens)
    assert isinstance(load_tokenizer(cfg.data.tokenizer), PhoneTokenizer) and not cfg.data.normalize


@pytest.mark.slow
def test_timit_recipe_prepares_decodes_and_scores_per(tmp_path):
    missing = run_recipe(tmp_path, "--stage", 0, "--stop-stage", 1)
    assert missing.returncode != 0 and "LDC93S1" in missing.stderr and "not downloadable" in missing.stderr

    write_timit(tmp_path / "corpus", upper=False)
    res = run_recipe(tmp_path, "--stage", 0, "--stop-stage", 1)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    for split, ids in EXPECTED.items():
        df = read_manifest(tmp_path / "data" / "manifests" / f"{split}.tsv")
        assert df["id"].tolist() == ids and set(df["text"]) == {" ".join(PHN_39)}

    # an untrained phone model stands in for stage 5's
    write_ctc_checkpoint(tmp_path / "exp" / "finetune" / "checkpoint_best.pt", MICRO_MODEL,
                         tokens=PhoneTokenizer().tokens)
    res = run_recipe(tmp_path, "--stage", 6, "--stop-stage", 7)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    header, *rows = (tmp_path / "exp" / "results.tsv").read_text().splitlines()
    assert header.split("\t") == ["exp", "decoder", "split", *PHONE_RESULT_COLUMNS]
    assert [r.split("\t")[:3] for r in rows] == [["finetune", "greedy", "dev"], ["finetune", "greedy", "test"]]
    assert int(rows[1].split("\t")[7]) == len(EXPECTED["test"]) * len(PHN_39)  # the reference phones
