"""recipes/synth/{w2v2_tiny,sewd_tiny}/run.sh end to end on a miniature corpus; re-runs skip done stages."""
import pytest
import yaml
from click.testing import CliRunner

from asrkit.cli import cli
from asrkit.compare import ModelRun, compare_models
from asrkit.config import to_dict
from asrkit.train.finetune import load_finetune_config
from asrkit.train.pretrain import load_pretrain_config

from .conftest import RECIPES, TINY, run_recipe  # mini_data: conftest's fixture, shared by the session


@pytest.mark.slow
def test_recipe_stages_run_and_skip_when_done(mini_data):
    """Stages 0-2 (mini_data) leave the manifests and their markers; a re-run of 0-1 skips them, rewriting nothing."""
    data = mini_data
    assert {p.name for p in (data / "manifests").glob("*.tsv")} == {
        "pretrain.tsv", "10m.tsv", "1h.tsv", "dev.tsv", "test.tsv", "test_unseen_engine.tsv",
        "test_unseen_engine_tel.tsv"}
    assert all((data / f".stage{n}.done").exists() for n in (0, 1, 2))
    stamp = (data / "synth" / "SPEAKERS.TXT").stat().st_mtime_ns

    again = run_recipe("--stage", 0, "--stop-stage", 1, "--data", data, "--synth-opts", TINY)
    assert again.returncode == 0
    assert "Stage 0: done already" in again.stdout and "Stage 1: done already" in again.stdout
    assert (data / "synth" / "SPEAKERS.TXT").stat().st_mtime_ns == stamp


@pytest.mark.slow
@pytest.mark.parametrize("recipe, arch, model_type", [("w2v2_tiny", "demo", "wav2vec2"),
                                                      ("sewd_tiny", "sew_d_demo", "sew_d")])
def test_recipe_runs_every_stage_end_to_end_in_miniature(mini_data, tmp_path, recipe, arch, model_type):
    """Stages 3-7 of each recipe on w2v2_tiny's data (stages 0-2: mini_data), as `make table1` runs sewd_tiny."""
    exp = tmp_path / "exp"
    few = "--set trainer.valid_every=2 --set trainer.save_every=2 --set trainer.log_every=1"
    # nj 1: the LM decodes' beam search in-process, 12 fewer Python start-ups (--num-workers 2:
    # tests/decode/test_parallel.py; spawned workers under a recipe: mini_data's synthesis)
    res = run_recipe("--stage", 3, "--data", mini_data, "--exp", exp,
                     "--pretrain-opts", few + " --set optim.max_updates=4 --set model.encoder_layers=1",
                     "--finetune-opts", few + " --set model.freeze_finetune_updates=2", "--finetune-updates", 4,
                     "--trials", "2", recipe=recipe, nj=1)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    pretrained = yaml.safe_load((exp / "pretrain" / "config.yaml").read_text())["model"]
    assert pretrained["model_type"] == model_type and pretrained["encoder_layers"] == 1  # the recipe's own conf/
    for init in ("pretrained", "scratch"):
        finetuned = yaml.safe_load((exp / f"{init}_10m" / "config.yaml").read_text())
        assert finetuned["optim"]["max_updates"] == 4  # --finetune-updates, both models alike
    assert finetuned["model"]["arch"] == arch
    rows = (exp / "results.tsv").read_text().splitlines()
    assert rows[0].startswith("exp\tdecoder\tsplit\twer")
    assert sorted("/".join(r.split("\t")[:3]) for r in rows[1:]) == sorted(
        f"{init}_10m/{dec}/{split}" for init in ("pretrained", "scratch") for dec in ("greedy", "4gram")
        for split in ("test", "test_unseen_engine", "test_unseen_engine_tel"))
    tuned = yaml.safe_load((exp / "scratch_10m" / "test_4gram" / "decode.yaml").read_text())
    held_out = yaml.safe_load((exp / "scratch_10m" / "test_unseen_engine_tel_4gram" / "decode.yaml").read_text())
    assert (held_out["lm_weight"], held_out["word_score"]) == (tuned["lm_weight"], tuned["word_score"])  # dev's
    hyp = (exp / "pretrained_10m" / "test_4gram" / "hyp.trn").read_text().splitlines()
    ref = (exp / "pretrained_10m" / "test_4gram" / "ref.trn").read_text().splitlines()
    assert [h.rsplit("(", 1)[1] for h in hyp] == [r.rsplit("(", 1)[1] for r in ref]  # one line per id, in order
    assert (exp / "pretrained_10m" / "test_4gram" / "tune.tsv").exists()
    used = yaml.safe_load((exp / "pretrained_10m" / "test_4gram" / "decode.yaml").read_text())
    assert (used["beam_size"], used["tune_beam_size"]) == (500, 50)  # run.sh's --beam / --tune-beam defaults
    assert finetuned["data"]["speed_perturb"] == [0.9, 1.0, 1.1]
    for n in (3, 5, 6, 7):
        assert (exp / f".stage{n}.done").exists()

    # `make table1`: the fine-tuned model timed on the test set, joined with its WERs
    bench = exp / "pretrained_10m" / "benchmark_test.tsv"
    timed = CliRunner().invoke(cli, ["benchmark", "--checkpoint", str(exp / "pretrained_10m" / "checkpoint_best.pt"),
                                     "--manifest", str(mini_data / "manifests" / "test.tsv"), "--precision", "fp32",
                                     "--threads", "1", "--max-utterances", "3", "--pretrain-batch", "0", "--out", str(bench)])
    assert timed.exit_code == 0, timed.output
    table = compare_models([ModelRun(recipe, bench, exp / "results.tsv")])
    assert table.loc[0, "utterances"] == 3 and table.loc[0, "wer_4gram"] >= 0 and table.loc[0, "infer_mean_ms"] > 0


def test_recipe_rejects_unknown_options(tmp_path):
    res = run_recipe("--no-such-option", 1)
    assert res.returncode != 0 and "unknown option --no-such-option" in res.stderr


def test_sewd_tiny_trains_as_w2v2_tiny_with_another_model():
    """Table 1 compares models under one training setup (SEW-D §4.1): the recipes' confs differ in the model only."""
    conf = {r: RECIPES / r / "conf" for r in ("w2v2_tiny", "sewd_tiny")}
    w2v2, sewd = (to_dict(load_pretrain_config(conf[r] / "pretrain.yaml")) for r in conf)
    assert (w2v2.pop("model")["model_type"], sewd.pop("model")["model_type"]) == ("wav2vec2", "sew_d")
    assert sewd == w2v2
    w2v2, sewd = (to_dict(load_finetune_config(conf[r] / "finetune_10m.yaml")) for r in conf)
    assert (w2v2["model"].pop("arch"), sewd["model"].pop("arch")) == ("demo", "sew_d_demo")
    assert sewd == w2v2
