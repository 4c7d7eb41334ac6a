"""recipes/librispeech/*: data prep (stage 1) on a miniature corpus in the official layout; every config loads and
the SEW-D recipes keep the paper's settings."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from asrkit.config import to_dict
from asrkit.data.manifest import read_manifest
from asrkit.models.wav2vec2 import load_wav2vec2_config
from asrkit.testing import make_librispeech_fixture
from asrkit.train.finetune import load_finetune_config
from asrkit.train.pretrain import load_pretrain_config

RECIPES = Path(__file__).resolve().parents[2] / "recipes" / "librispeech"
VARIANTS = ["w2v2_base", "w2v2_large", "sewd_mid", "sewd_base_plus"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_librispeech_manifest_stage_on_the_official_layout(tmp_path, variant):
    expected = make_librispeech_fixture(tmp_path / "corpus")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "nj": "1", "ngpu": "1"}
    res = subprocess.run(["bash", str(RECIPES / variant / "run.sh"), "--stage", "1", "--stop-stage", "1",
                          "--corpus", str(tmp_path / "corpus"), "--data", str(tmp_path / "data"),
                          "--exp", str(tmp_path / "exp")], env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    manifests = tmp_path / "data" / "manifests"
    for split, ids in expected.items():
        assert sorted(read_manifest(manifests / f"{split}.tsv")["id"]) == sorted(ids), split
    train = set(read_manifest(manifests / "train-960.tsv")["id"])
    assert train == set(expected["train-clean-100"]) | set(expected["train-clean-360"]) | set(expected["train-other-500"])


def subsets(variant):
    return sorted(p.stem.removeprefix("finetune_") for p in (RECIPES / variant / "conf").glob("finetune_*.yaml"))


@pytest.mark.parametrize("variant", VARIANTS)
def test_librispeech_configs_load(variant):
    conf = RECIPES / variant / "conf"
    load_pretrain_config(conf / "pretrain.yaml")
    decode = yaml.safe_load((conf / "decode.yaml").read_text())
    assert subsets(variant) in (["100h", "10h", "10m", "1h", "960h"], ["100h", "10h", "10m", "1h"])
    for subset in subsets(variant):
        cfg = load_finetune_config(conf / f"finetune_{subset}.yaml")
        assert Path(cfg.data.train_manifest).stem in (subset, "train-clean-100", "train-960")
        for key in ("beam_size", "beam_threshold", "lm_weight", "word_score"):  # run.sh's dec()
            assert not isinstance(decode[key], dict) or subset in decode[key]


@pytest.mark.parametrize("variant, model", [("sewd_mid", "sew_d_mid"), ("sewd_base_plus", "sew_d_base_plus")])
def test_sewd_recipes_pretrain_as_w2v2_base_for_100k_of_its_400k_updates(variant, model):
    """Wu et al., 2021, §4.1: W2V2-base's pre-training hyper-parameters, 100k updates (asapp pt-sew-d.sh)."""
    sewd = to_dict(load_pretrain_config(RECIPES / variant / "conf" / "pretrain.yaml"))
    base = to_dict(load_pretrain_config(RECIPES / "w2v2_base" / "conf" / "pretrain.yaml"))
    assert sewd["model"] == to_dict(load_wav2vec2_config(model)) and sewd["model"]["model_type"] == "sew_d"
    assert (sewd["optim"].pop("max_updates"), sewd["optim"].pop("total_updates")) == (100_000, 400_000)
    assert base["optim"].pop("max_updates") == 400_000 and base["optim"].pop("total_updates") == 0
    for section in ("data", "loss", "optim", "trainer"):
        assert sewd[section] == base[section], section


def test_sewd_fine_tuning_is_w2v2_base_s_and_base_plus_is_stabilised():
    """§4.1: 100h for 80k updates; §4.2: SEW-D-base+ with a 5x lower LR (Libri-light subsets), the
    pre-training dropouts and no frozen Transformer (asapp ft-model-stable.sh)."""
    for subset in subsets("sewd_mid"):
        mid = load_finetune_config(RECIPES / "sewd_mid" / "conf" / f"finetune_{subset}.yaml")
        plus = load_finetune_config(RECIPES / "sewd_base_plus" / "conf" / f"finetune_{subset}.yaml")
        assert mid.optim.max_updates == plus.optim.max_updates == {"10m": 13_000, "1h": 13_000, "10h": 20_000,
                                                                     "100h": 80_000}[subset]
        assert mid.optim.lr == (3e-5 if subset == "100h" else 5e-5)
        assert plus.optim.lr == (3e-5 if subset == "100h" else 1e-5) and plus.model.freeze_finetune_updates == 0
        pretrained = load_wav2vec2_config("sew_d_base_plus")
        for key in ("dropout", "attention_dropout", "activation_dropout", "dropout_input"):
            assert getattr(plus.model, key) == getattr(pretrained, key), key
        mid, plus = to_dict(mid), to_dict(plus)
        assert mid["data"] == plus["data"] and mid["trainer"] == plus["trainer"]
        assert {k: v for k, v in mid["optim"].items() if k != "lr"} == {k: v for k, v in plus["optim"].items() if k != "lr"}
