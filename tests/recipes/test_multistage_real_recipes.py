"""The multi-stage paper's real-corpus recipes (GPU clusters): recipes/{lrs3,voxceleb2,kinetics}/av_pretrain,
recipes/mustc/midtrain and recipes/librispeech/multistage. Every config loads and keeps the paper's settings and
the named sources' defaults; the data and manifest stages run on miniature corpora in the official layouts
(slow); mid-training, translation and the BLEU table run in miniature (slow); nothing is downloaded."""
import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from asrkit.data.manifest import read_manifest
from asrkit.data.tokenizer import load_tokenizer
from asrkit.decode.run import load_decode_options
from asrkit.models.av import load_av_config
from asrkit.testing import make_librispeech_fixture
from asrkit.testing.av import write_kinetics_fixture, write_lrs3_fixture, write_voxceleb2_fixture
from asrkit.testing.mustc import EXPECTED as MUSTC_EXPECTED
from asrkit.testing.mustc import write_mustc_fixture
from asrkit.train.finetune import load_finetune_config
from asrkit.train.midtrain import load_midtrain_config
from asrkit.train.pretrain import load_pretrain_config

REPO = Path(__file__).resolve().parents[2]
RECIPES = REPO / "recipes"
AV = {"lrs3": write_lrs3_fixture, "voxceleb2": write_voxceleb2_fixture, "kinetics": write_kinetics_fixture}
MUSTC = RECIPES / "mustc" / "midtrain"
LIBRI = RECIPES / "librispeech" / "multistage"
FEW = "--set trainer.valid_every=2 --set trainer.save_every=2 --set trainer.log_every=1 --set trainer.tensorboard=false"


def run_recipe(recipe: Path, tmp_path: Path, *args, corpus: Path | None = None):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "nj": "1", "ngpu": "1",
           "PYTHONPATH": f"{REPO}:{os.environ.get('PYTHONPATH', '')}"}
    dirs = ["--corpus", corpus or tmp_path / "corpus", "--data", tmp_path / "data", "--exp", tmp_path / "exp"]
    return subprocess.run(["bash", str(recipe / "run.sh"), *map(str, args), *map(str, dirs)], env=env,
                          capture_output=True, text=True, timeout=600)


def ok(res) -> str:
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res.stdout + res.stderr


def default(recipe: Path, name: str) -> str:
    """A run.sh variable's default (``name=value`` at the start of a line)."""
    return re.search(rf'^{name}=("[^"]*"|\S*)', (recipe / "run.sh").read_text(), re.M).group(1).strip('"')


# --- AV pre-training on LRS3, VoxCeleb2, Kinetics-600 ---------------------------------------------------------


def test_av_recipes_share_one_set_of_configs_the_paper_s_model_and_losses():
    """§3.4: av_paper for every objective, CLR on per-frame tokens; 60 % masks; MAE+CLR 1 : 1 (not CAV-MAE's 0.01)."""
    confs = {corpus: (RECIPES / corpus / "av_pretrain" / "conf").resolve() for corpus in AV}
    assert len(set(confs.values())) == 1  # the three sets differ in data only
    paper = load_av_config("av_paper")
    for objective in ("mae", "clr", "mae_clr"):
        cfg = load_pretrain_config(confs["lrs3"] / f"pretrain_{objective}.yaml")
        assert cfg.objective == objective
        assert cfg.model.video_tokens == ("frame" if objective == "clr" else "tubelet")
        assert dataclasses.replace(cfg.model, video_tokens="tubelet") == paper
        assert (cfg.loss.audio_mask_ratio, cfg.loss.video_mask_ratio) == (0.6, 0.6)
        assert (cfg.loss.mae_weight, cfg.loss.clr_weight, cfg.loss.clr_symmetric) == (1.0, 1.0, True)
        # MAE-ST: frame stride 4, crop scale [0.5, 1], AdamW (0.9, 0.95), wd 0.05, lr 1.6e-3 x 256 / 256
        assert (cfg.data.frame_stride, cfg.data.crop_scale, cfg.data.flip) == (4, (0.5, 1.0), True)
        assert (cfg.optim.betas, cfg.optim.weight_decay, cfg.optim.lr) == ((0.9, 0.95), 0.05, 1.6e-3)
        # 32 whole 1000-frame windows a GPU, 256 clips an update on 8 GPUs
        assert cfg.trainer.max_batch_size == 32 and cfg.trainer.max_tokens == 32 * (999 * 160 + 400)
        assert cfg.optim.update_freq == 1 and cfg.trainer.precision == "bf16"


@pytest.mark.parametrize("corpus", list(AV))
def test_av_recipe_stops_at_stage_0_without_the_corpus(tmp_path, corpus):
    """Nothing is downloaded: a missing corpus is one error saying where it comes from."""
    (tmp_path / "corpus").mkdir()
    res = run_recipe(RECIPES / corpus / "av_pretrain", tmp_path, "--stop-stage", 0)
    assert res.returncode == 1 and "not downloaded by this recipe" in res.stderr
    assert not (tmp_path / "data" / ".stage0.done").exists()


@pytest.mark.slow
@pytest.mark.parametrize("corpus", list(AV))
def test_av_recipe_prepares_and_validates_the_official_layout(tmp_path, corpus):
    """Stages 0-1 on a miniature corpus (32 px clips): the clips prep keeps, validated; a re-run skips them."""
    expected = AV[corpus](tmp_path / "corpus")
    size = [] if corpus == "kinetics" else ["--frame-size", "32x32"]
    ok(run_recipe(RECIPES / corpus / "av_pretrain", tmp_path, "--stop-stage", 1, *size))
    for split, want in expected.items():
        got = read_manifest(tmp_path / "data" / "manifests" / f"{split}.tsv")
        assert sorted(got["id"]) == sorted(want["ids"]), split
        assert all(Path(a).suffix == ".flac" for a in got["audio"])  # --extract-audio (AV-HuBERT)
    again = ok(run_recipe(RECIPES / corpus / "av_pretrain", tmp_path, "--stop-stage", 1, *size))
    assert "Stage 0: done already" in again and "Stage 1: done already" in again


def test_av_recipe_refuses_an_unknown_objective(tmp_path):
    res = run_recipe(RECIPES / "lrs3" / "av_pretrain", tmp_path, "--objectives", "mae w2v2")
    assert res.returncode == 1 and "no conf/pretrain_w2v2.yaml" in res.stderr


# --- ST mid-training on MuST-C ----------------------------------------------------------------------------------


def test_mustc_midtraining_is_espnet_s_and_fairseq_s_mustc_st():
    cfg = load_midtrain_config(MUSTC / "conf" / "midtrain.yaml")
    m = cfg.model
    assert (m.arch, m.init_checkpoint) == ("av_paper", "")
    assert (m.decoder.embed_dim, m.decoder.layers, m.decoder.attention_heads, m.decoder.ffn_embed_dim) == (
        256, 6, 4, 2048)  # ESPnet MuST-C decoder_conf
    assert (m.ctc_weight, m.label_smoothing) == (0.3, 0.1)  # mtlalpha, lsm_weight
    assert cfg.data.speed_perturb == (0.9, 1.0, 1.1)
    assert (cfg.optim.lr, cfg.optim.max_updates, cfg.optim.update_freq) == (2e-3, 100_000, 2)
    assert cfg.optim.warmup_ratio * cfg.optim.max_updates == 25_000  # ESPnet warmup_steps
    # 3200 s of audio an update on 8 GPUs, fairseq's 8 x 40000 frames of 10 ms
    assert cfg.trainer.max_tokens * 8 * cfg.optim.update_freq == 3200 * 16000
    opts = load_decode_options(MUSTC / "conf" / "decode_st.yaml")
    assert (opts.beam_size, opts.len_penalty, opts.max_len_a, opts.max_len_b) == (5, 1.0, 0.0, 200)
    assert (default(MUSTC, "nbpe_st"), default(MUSTC, "nbpe_src"), default(MUSTC, "bpemode")) == (
        "8000", "5000", "unigram")
    assert default(MUSTC, "pairs") == "en-de en-it en-nl"


def test_mustc_recipe_names_its_runs(tmp_path):
    res = run_recipe(MUSTC, tmp_path, "--stage", 4, "--init", tmp_path / "none.pt")
    assert res.returncode == 1 and "needs --tag NAME" in res.stderr
    res = run_recipe(MUSTC, tmp_path, "--stage", 4, "--init", tmp_path / "none.pt", "--tag", "x")
    assert res.returncode == 1 and "no such checkpoint" in res.stderr


@pytest.mark.slow
def test_mustc_recipe_in_miniature(tmp_path):
    """Stages 0-2 for two pairs on the miniature MuST-C, then 4-7 for en-de with a tiny model from scratch: the
    manifests, a target and an English tokenizer per pair, a checkpoint, tst-COMMON translated, the BLEU table."""
    write_mustc_fixture(tmp_path / "corpus", pairs=("en-de", "en-it"))
    units = ["--nbpe-st", 16, "--nbpe-src", 16]  # what six training lines allow
    ok(run_recipe(MUSTC, tmp_path, "--pairs", "en-de en-it", "--stop-stage", 2, *units))
    for pair in ("en-de", "en-it"):
        for split, want in MUSTC_EXPECTED.items():
            assert list(read_manifest(tmp_path / "data" / "manifests" / pair / f"{split}.tsv")["id"]) == want["ids"]
        for lang in (pair[3:], "en"):
            assert len(load_tokenizer(tmp_path / "data" / "tokenizer" / pair / f"{lang}.model")) == 17  # + blank

    tiny = f"--set model.arch=av_tiny --set model.decoder=tiny --set optim.max_updates=2 --set optim.update_freq=1 " \
           f"--set trainer.precision=fp32 --set data.speed_perturb=[] {FEW}"
    out = ok(run_recipe(MUSTC, tmp_path, "--pairs", "en-de", "--stage", 4, *units, "--midtrain-opts", tiny))
    assert "en-de mid-training from scratch" in out
    run = tmp_path / "exp" / "midtrain_scratch_en-de"
    assert (run / "checkpoint_best.pt").is_file() and (run / "tst-COMMON" / "hyp.txt").is_file()
    rows = (tmp_path / "exp" / "bleu.tsv").read_text().splitlines()
    assert rows[0].split("\t") == ["exp", "pair", "split", "bleu", "chrf", "utterances", "bleu_signature"]
    name, pair, split, bleu, chrf, n, signature = rows[1].split("\t")
    assert (name, pair, split, n) == ("midtrain_scratch", "en-de", "tst-COMMON", "3") and len(rows) == 2
    assert 0 <= float(bleu) <= 100 and signature.startswith("nrefs:1|")
    assert all((tmp_path / "exp" / f".stage{n}.scratch.en-de.done").is_file() for n in (4, 6, 7))
    again = ok(run_recipe(MUSTC, tmp_path, "--pairs", "en-de", "--stage", 4, *units, "--midtrain-opts", tiny))
    assert all(f"Stage {n}: done already" in again for n in (4, 6, 7))


# --- frozen-encoder ASR on LibriSpeech 960 h ------------------------------------------------------------------


def test_librispeech_asr_is_superb_s_downstream_on_a_frozen_encoder_and_the_baseline_the_same_model():
    frozen = load_finetune_config(LIBRI / "conf" / "finetune_frozen.yaml")
    scratch = load_finetune_config(LIBRI / "conf" / "finetune_scratch.yaml")
    assert frozen.model.freeze_encoder and not scratch.model.freeze_encoder
    for cfg in (frozen, scratch):  # one model: av_paper, SUPERB's 2 x 1024 BLSTM, CTC on characters
        m = cfg.model
        assert (m.arch, m.head, m.head_layers, m.head_dim, m.head_dropout) == ("av_paper", "lstm", 2, 1024, 0.2)
        assert cfg.data.train_manifest.endswith("train-960.tsv") and cfg.data.tokenizer == ""
        assert (cfg.optim.max_updates, cfg.trainer.max_tokens) == (200_000, 800_000)
    # s3prl downstream/asr: Adam 1e-4 held constant, clipping 1
    assert (frozen.optim.lr, frozen.optim.warmup_ratio, frozen.optim.hold_ratio) == (1e-4, 0.0, 1.0)
    assert frozen.optim.clip_norm == 1.0 and frozen.optim.schedule == "tri_stage"
    assert scratch.optim.lr == 1e-3 and scratch.model.mask_prob > 0  # a Conformer from scratch (ESPnet)
    opts = load_decode_options(LIBRI / "conf" / "decode.yaml")
    assert (opts.beam_size, opts.beam_threshold, opts.lm_weight, opts.word_score) == (50, 25.0, 2.0, -1.0)


def test_librispeech_multistage_names_its_runs(tmp_path):
    res = run_recipe(LIBRI, tmp_path, "--stage", 5, "--init", tmp_path / "none.pt")
    assert res.returncode == 1 and "needs --tag NAME" in res.stderr


@pytest.mark.slow
def test_librispeech_multistage_manifest_stage_on_the_official_layout(tmp_path):
    """Stage 1 as ../w2v2_base's, without Libri-light's subsets: LibriSpeech's seven sets and train-960."""
    expected = make_librispeech_fixture(tmp_path / "corpus")
    ok(run_recipe(LIBRI, tmp_path, "--stage", 1, "--stop-stage", 1))
    manifests = tmp_path / "data" / "manifests"
    assert sorted(p.stem for p in manifests.glob("*.tsv")) == sorted(
        [s for s in expected if s.startswith(("train", "dev", "test"))] + ["train-960"])
    for split in sorted(p.stem for p in manifests.glob("*.tsv")):
        if split != "train-960":
            assert sorted(read_manifest(manifests / f"{split}.tsv")["id"]) == sorted(expected[split]), split
    train = set(read_manifest(manifests / "train-960.tsv")["id"])
    assert train == set(expected["train-clean-100"]) | set(expected["train-clean-360"]) | set(expected["train-other-500"])
