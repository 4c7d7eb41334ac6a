"""recipes/librispeech/*: data prep (stage 1) on a miniature corpus in the official layout, LM, decoding and
scoring (stages 2, 6, 7) with an untrained model; every config loads and the recipes keep the papers' settings."""
import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from asrkit.config import to_dict
from asrkit.data.manifest import read_manifest
from asrkit.decode.lm import train_ngram
from asrkit.decode.run import load_decode_options
from asrkit.models.wav2vec2 import load_wav2vec2_config
from asrkit.testing import make_librispeech_fixture
from asrkit.testing.ctc import write_ctc_checkpoint
from asrkit.train.finetune import load_finetune_config
from asrkit.train.pretrain import load_pretrain_config

from ..decode.test_lm import tools_or_skip
from ..train.conftest import MICRO_MODEL

RECIPES = Path(__file__).resolve().parents[2] / "recipes" / "librispeech"
VARIANTS = ["w2v2_base", "w2v2_large", "sewd_mid", "sewd_base_plus"]


def run_recipe(variant, tmp_path, *args):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "nj": "1", "ngpu": "1"}
    dirs = ["--corpus", tmp_path / "corpus", "--data", tmp_path / "data", "--exp", tmp_path / "exp"]
    return subprocess.run(["bash", str(RECIPES / variant / "run.sh"), *map(str, args), *map(str, dirs)],
                          env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS)
def test_librispeech_manifest_stage_on_the_official_layout(tmp_path, variant):
    expected = make_librispeech_fixture(tmp_path / "corpus")
    res = run_recipe(variant, tmp_path, "--stage", 1, "--stop-stage", 1)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    manifests = tmp_path / "data" / "manifests"
    for split, ids in expected.items():
        assert sorted(read_manifest(manifests / f"{split}.tsv")["id"]) == sorted(ids), split
    train = set(read_manifest(manifests / "train-960.tsv")["id"])
    assert train == set(expected["train-clean-100"]) | set(expected["train-clean-360"]) | set(expected["train-other-500"])


def subsets(variant):
    return sorted(p.stem.removeprefix("finetune_") for p in (RECIPES / variant / "conf").glob("finetune_*.yaml"))


def decode_config(variant, subset):
    """The `asrkit decode --config` file of run.sh's stage 6: conf/decode_<subset>.yaml, else conf/decode.yaml."""
    conf = RECIPES / variant / "conf"
    return conf / f"decode_{subset}.yaml" if (conf / f"decode_{subset}.yaml").is_file() else conf / "decode.yaml"


@pytest.mark.parametrize("variant", VARIANTS)
def test_librispeech_configs_load(variant):
    conf = RECIPES / variant / "conf"
    load_pretrain_config(conf / "pretrain.yaml")
    assert subsets(variant) in (["100h", "10h", "10m", "1h", "960h"], ["100h", "10h", "10m", "1h"])
    for subset in subsets(variant):
        cfg = load_finetune_config(conf / f"finetune_{subset}.yaml")
        assert Path(cfg.data.train_manifest).stem in (subset, "train-clean-100", "train-960")
        load_decode_options(decode_config(variant, subset))


# wav2vec 2.0 Table 7 (LibriSpeech LM weight, word score per labelled subset); SEW-D §4.1: untuned defaults
W2V2_DECODING = {"10m": (3.23, -0.26), "1h": (2.90, -1.62), "10h": (2.46, -0.59), "100h": (2.15, -0.52),
                 "960h": (1.74, 0.52)}


@pytest.mark.parametrize("variant", VARIANTS)
def test_librispeech_decoding_is_the_paper_s(variant):
    for subset in subsets(variant):
        opts = load_decode_options(decode_config(variant, subset))
        if variant.startswith("w2v2"):
            assert (opts.beam_size, opts.beam_threshold) == (1500, 100.0)
            assert (opts.lm_weight, opts.word_score) == W2V2_DECODING[subset]
        else:
            assert (opts.beam_size, opts.beam_threshold, opts.lm_weight, opts.word_score) == (50, 25.0, 2.0, -1.0)


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


@pytest.mark.slow
@pytest.mark.parametrize("variant, subset, beam_size, lm_weight, word_score", [
    ("w2v2_base", "1h", 1500, 2.90, -1.62), ("sewd_mid", "10m", 50, 2.0, -1.0)])
def test_librispeech_decode_stage_reads_the_subset_s_decode_config(tmp_path, variant, subset, beam_size, lm_weight,
                                                                     word_score):
    """Stages 1-2 on the miniature corpus with a 4-gram of its own transcripts as "the official LM", then stages 6-7
    for an untrained model standing in for stage 5's: `asrkit decode --config` gets the recipe's settings."""
    tools_or_skip()
    make_librispeech_fixture(tmp_path / "corpus")
    transcripts = [line.split(" ", 1)[1] for f in (tmp_path / "corpus").rglob("*.trans.txt")
                   for line in f.read_text().splitlines()]
    (tmp_path / "text.txt").write_text("\n".join(transcripts) + "\n")
    arpa, _ = train_ngram(tmp_path / "text.txt", tmp_path / "lm", order=4, memory="64M")
    (tmp_path / "corpus" / "4-gram.arpa.gz").write_bytes(gzip.compress(arpa.read_bytes()))
    res = run_recipe(variant, tmp_path, "--stage", 1, "--stop-stage", 2)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    # blanks only: the beam search (1500 wide for 1h) prunes at once; its settings, not its output, are tested here
    write_ctc_checkpoint(tmp_path / "exp" / f"finetune_{subset}" / "checkpoint_best.pt", MICRO_MODEL, blank_logit=1e3)

    res = run_recipe(variant, tmp_path, "--stage", 6, "--stop-stage", 7, "--subset", subset)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    exp = tmp_path / "exp" / f"finetune_{subset}"
    for split in ("dev-clean", "dev-other", "test-clean", "test-other"):
        used = yaml.safe_load((exp / f"{split}_4gram" / "decode.yaml").read_text())
        assert (used["decoder"], used["beam_size"], used["lm_weight"], used["word_score"]) == (
            "lexicon", beam_size, lm_weight, word_score), split
        assert yaml.safe_load((exp / f"{split}_viterbi" / "decode.yaml").read_text())["decoder"] == "greedy"
    rows = (tmp_path / "exp" / "results.tsv").read_text().splitlines()
    assert len(rows) == 1 + 8 and all(r.startswith(f"finetune_{subset}\t") for r in rows[1:])
    assert all((tmp_path / "exp" / f".stage{n}.{subset}.done").exists() for n in (6, 7))  # markers per subset
    again = run_recipe(variant, tmp_path, "--stage", 6, "--stop-stage", 7, "--subset", subset)
    assert again.returncode == 0 and "Stage 6: done already" in again.stdout and "Stage 7: done already" in again.stdout
