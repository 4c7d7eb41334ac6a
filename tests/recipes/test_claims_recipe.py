"""recipes/synth/w2v2_claims (make reproduce-w2v2): how --pretrain-updates auto is planned, recorded and reused
(fake asrkit training commands, seconds), that every run fine-tunes alike, and every stage in miniature (slow)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from asrkit.config import to_dict
from asrkit.train.pretrain import load_pretrain_config

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "recipes" / "synth" / "w2v2_claims"
TINY = ("--pretrain-hours 0.005 --finetune-folds 2 --fold-minutes 0.1 --dev-minutes 0.1 "
        "--test-minutes 0.1 --train-speakers 4 --dev-speakers 2 --test-speakers 2 --unseen-minutes 0")  # held-out sets: 20 more decodes (~90 s); test_synth_recipe runs them

# Fake asrkit: logs its command line; `sweep plan` is the real one. --estimate-out gets a timing as a 2-core CPU's
# (seconds per update: $FAKE_SPU, 0.9 by default; another machine: another value); training makes its --exp-dir
# with a checkpoint (logging RESUME when one is there), decoding its --out-dir with tuned LM weights. A command
# named by $FAKE_FAIL_CMD exits 130 (interrupted).
FAKE_ASRKIT = r"""#!/usr/bin/env bash
echo "$*" >> "$FAKE_LOG"
if [ "$1 $2" = "sweep plan" ]; then exec python -m asrkit.cli "$@"; fi
estimate=""
for a in "$@"; do if [ "$a" = --estimate ]; then estimate=1; fi; done
prev=""
for a in "$@"; do
  case "$prev" in
    --estimate-out)
      mkdir -p "$(dirname "$a")"
      printf '%s\n' "seconds_per_update: ${FAKE_SPU:-0.9}" "audio_seconds_per_update: 40.0" "validation_seconds: 20.0" \
        "save_seconds: 0.5" "timed_updates: 20" "device: cpu" "precision: bf16" "cpu: fake" "valid_every: 800" \
        "save_every: 400" "estimated_seconds: 280.0" "max_updates: 600" > "$a" ;;
    --exp-dir)
      if [ -z "$estimate" ]; then
        if [ -e "$a/checkpoint_last.pt" ]; then echo "RESUME $a" >> "$FAKE_LOG"; fi
        mkdir -p "$a"; touch "$a/checkpoint_last.pt"
      fi ;;
    --out-dir) mkdir -p "$a"; touch "$a/ref.trn" "$a/hyp.trn"; printf 'lm_weight: 1.5\nword_score: -0.5\n' > "$a/decode.yaml" ;;
  esac
  prev=$a
done
if [ "$1" = "${FAKE_FAIL_CMD:-}" ] && [ -z "$estimate" ]; then echo "fake asrkit $1: interrupted" >&2; exit 130; fi
exit 0
"""


class Claims:
    def __init__(self, root: Path):
        self.root, self.exp, self.log = root, root / "exp", root / "asrkit.log"
        self.plan = self.exp / "plan" / "plan.yaml"

    def run(self, *args, **env):
        if self.log.exists():
            self.log.unlink()
        full_env = {k: v for k, v in os.environ.items() if k not in ("FAKE_SPU", "FAKE_FAIL_CMD")}
        full_env.update(PATH=f"{self.root / 'bin'}:{Path(sys.executable).parent}:{os.environ['PATH']}", nj="1",
                        FAKE_LOG=str(self.log), PYTHONPATH=f"{REPO}:{os.environ.get('PYTHONPATH', '')}", **env)
        res = subprocess.run(["bash", str(self.root / "recipes/synth/w2v2_claims/run.sh"), "--data",
                              str(self.root / "data"), "--exp", str(self.exp), "--finetune-updates", "600",
                              *map(str, args)], env=full_env, capture_output=True, text=True, timeout=120)
        res.calls = self.log.read_text().splitlines() if self.log.exists() else []
        return res

    def marker(self, n):
        return dict(line.split("=", 1) for line in (self.exp / f".stage{n}.done").read_text().splitlines()[1:])


@pytest.fixture
def claims(tmp_path):
    shutil.copytree(REPO / "recipes", tmp_path / "recipes", symlinks=True, ignore=shutil.ignore_patterns("data", "exp"))
    fake = tmp_path / "bin" / "asrkit"
    fake.parent.mkdir()
    fake.write_text(FAKE_ASRKIT)
    fake.chmod(0o755)
    return Claims(tmp_path)


def out(res):
    return res.stdout + res.stderr


def estimates(res):
    return [c.split()[0] for c in res.calls if "--estimate " in c]


def test_auto_is_planned_once_recorded_and_reused(claims):
    """auto: a timed warm-up of pre-training and of fine-tuning, then `asrkit sweep plan`; stage 3 trains for the
    planned updates, keeps the sweep's checkpoints and records both. A re-run (here on a machine three times faster,
    where auto would give more) reuses the plan: stage 3 is skipped, nothing is timed again."""
    res = claims.run("--stage", 0, "--stop-stage", 3)
    assert res.returncode == 0, out(res)
    assert estimates(res) == ["pretrain", "finetune"]
    plan = yaml.safe_load(claims.plan.read_text())
    n, points = plan["updates"], plan["points"]
    assert plan["chosen"] == "auto" and not plan["capped"] and 1600 < n < 6400 and points[-1] == n
    assert claims.marker(3)["planned_updates"] == str(n) and claims.marker(3)["sweep"] == " ".join(map(str, points))
    train = [c for c in res.calls if c.startswith("pretrain") and "--estimate" not in c]
    assert len(train) == 1 and f"--set optim.max_updates={n} " in train[0]
    assert f"--set trainer.save_updates=[{','.join(map(str, points))}]" in train[0]
    assert "--set trainer.valid_every=800" in train[0] and "Stage 3: wav2vec 2.0 pre-training for" in res.stdout
    assert "estimated" in res.stdout and not (claims.exp / "plan" / "plan.new.yaml").exists()

    again = claims.run("--stage", 0, "--stop-stage", 3, FAKE_SPU="0.3")
    assert again.returncode == 0 and not again.calls, out(again)
    assert "as planned before" in again.stdout and "Stage 3: done already" in again.stdout

    # another budget: planned again (faster here: more updates), and refused against the finished stage 3
    other = claims.run("--stage", 3, "--stop-stage", 3, "--budget-minutes", 150, FAKE_SPU="0.3")
    assert other.returncode != 0 and estimates(other) == ["pretrain", "finetune"]
    m = yaml.safe_load((claims.exp / "plan" / "plan.new.yaml").read_text())["updates"]
    assert m > n and f"planned_updates: '{n}' -> '{m}'" in other.stderr and "--force true" in other.stderr
    assert yaml.safe_load(claims.plan.read_text())["updates"] == n  # the plan of the finished stage 3 stays

    forced = claims.run("--stage", 3, "--stop-stage", 3, "--budget-minutes", 150, "--force", "true", FAKE_SPU="0.3")
    assert forced.returncode == 0 and claims.marker(3)["planned_updates"] == str(m)
    assert yaml.safe_load(claims.plan.read_text())["updates"] == m


def test_interrupted_pretraining_resumes_with_its_plan(claims):
    assert claims.run("--stage", 0, "--stop-stage", 2).returncode == 0
    res = claims.run("--stage", 3, "--stop-stage", 3, FAKE_FAIL_CMD="pretrain")
    assert res.returncode != 0 and not (claims.exp / ".stage3.done").exists()
    n = yaml.safe_load(claims.plan.read_text())["updates"]
    again = claims.run("--stage", 3, "--stop-stage", 3, FAKE_SPU="0.3")  # a faster machine: the same plan
    assert again.returncode == 0 and "resuming its unfinished run" in again.stdout and not estimates(again)
    assert f"RESUME {claims.exp / 'pretrain'}" in again.calls and claims.marker(3)["planned_updates"] == str(n)


def test_given_updates_and_the_runs_fine_tuned_alike(claims):
    """--pretrain-updates 3000: no budget, the same warm-up for the printed estimate. Stage 5 fine-tunes every run
    with the same config and updates: from each sweep point and from scratch on 10m, from the last and from scratch
    on 1h; stage 6 decodes dev with the LM weights tuned for test."""
    res = claims.run("--stop-stage", 6, "--pretrain-updates", 3000, "--trials", 3)
    assert res.returncode == 0, out(res)
    assert claims.marker(3)["planned_updates"] == "3000" and claims.marker(3)["sweep"] == "800 1600 3000"
    ckpt = claims.exp / "pretrain" / "checkpoint_{}.pt"
    expected = {"pt800_10m": (ckpt.as_posix().format(800), "10m"), "pt1600_10m": (ckpt.as_posix().format(1600), "10m"),
                "pt3000_10m": (ckpt.as_posix().format(3000), "10m"), "scratch_10m": ("", "10m"),
                "pt3000_1h": (ckpt.as_posix().format(3000), "1h"), "scratch_1h": ("", "1h")}
    finetune = [c for c in res.calls if c.startswith("finetune") and "--estimate" not in c]
    assert len(finetune) == len(expected)
    for call, (name, (init, labels)) in zip(finetune, expected.items()):
        assert f"--exp-dir {claims.exp / name} --init {init} " in call
        assert f"data.train_manifest={claims.root / 'data' / 'manifests' / labels}.tsv" in call
        assert "--config conf/finetune_10m.yaml" in call and "--set optim.max_updates=600" in call
    decodes = [c for c in res.calls if c.startswith("decode")]
    assert len(decodes) == 4 * len(expected)
    dev_lm = [c for c in decodes if "dev_4gram" in c]
    assert all("--lm-weight 1.5 --word-score -0.5" in c and "--tune" not in c for c in dev_lm)
    assert all("--trials 3" in c and "--tune " in c for c in decodes if "test_4gram" in c)


def test_later_stages_need_the_plan(claims):
    res = claims.run("--stage", 5)
    assert res.returncode != 0 and "no sweep plan" in res.stderr and not res.calls


def test_fine_tuning_is_the_demo_s_and_pretraining_its_model_and_objective():
    """Identical fine-tuning: w2v2_tiny's config itself. Pre-training: the demo's but for the batch (40 s), the
    length and the validation/saving cadence."""
    ft = RECIPE / "conf" / "finetune_10m.yaml"
    assert ft.is_symlink() and ft.resolve() == (REPO / "recipes/synth/w2v2_tiny/conf/finetune_10m.yaml").resolve()
    mine, demo = (to_dict(load_pretrain_config(p)) for p in (RECIPE / "conf" / "pretrain.yaml",
                                                           REPO / "recipes/synth/w2v2_tiny/conf/pretrain.yaml"))
    assert mine["trainer"].pop("max_tokens") == 640000 and demo["trainer"].pop("max_tokens") == 320000
    for cfg in (mine, demo):
        cfg["optim"].pop("max_updates")
        for key in ("valid_every", "save_every", "log_every"):
            cfg["trainer"].pop(key)
    assert mine == demo


@pytest.mark.slow
def test_every_stage_in_miniature(tmp_path):
    """A tiny corpus; auto planning capped at 4 pre-training updates (sweep points 2 and 4); five fine-tuning runs
    of 4 updates; decodes; the report with its table, TSV and plot. A re-run skips everything, timing nothing."""
    data, exp = tmp_path / "data", tmp_path / "exp"
    few = "--set trainer.save_every=2 --set trainer.log_every=1"
    # nj 1: one synthesis worker, the 10 LM decodes' beam search in-process (2 workers: tests/decode/test_parallel.py)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "nj": "1",
           "PYTHONPATH": f"{REPO}:{os.environ.get('PYTHONPATH', '')}"}
    args = ["bash", str(RECIPE / "run.sh"), "--data", str(data), "--exp", str(exp), "--synth-opts", TINY,
            "--lm-sentences", "2000", "--pretrain-max-updates", "4", "--sweep-first", "2", "--estimate-updates", "2",
            "--budget-minutes", "600", "--decode-minutes", "0.1", "--finetune-updates", "4", "--trials", "2",
            "--pretrain-opts", few + " --set model.encoder_layers=1",
            "--finetune-opts", few + " --set trainer.valid_every=2 --set model.freeze_finetune_updates=2"]
    res = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    plan = yaml.safe_load((exp / "plan" / "plan.yaml").read_text())
    assert (plan["updates"], plan["points"], plan["capped"]) == (4, [2, 4], True)
    assert {p.name for p in (exp / "pretrain").glob("checkpoint_[0-9]*.pt")} == {"checkpoint_2.pt", "checkpoint_4.pt"}
    rows = [r.split("\t") for r in (exp / "sweep.tsv").read_text().splitlines()]
    assert [(r[0], r[1], r[2]) for r in rows[1:]] == [("10m", "scratch_10m", "0"), ("10m", "pt2_10m", "2"),
                                                      ("10m", "pt4_10m", "4"), ("1h", "scratch_1h", "0"),
                                                      ("1h", "pt4_1h", "4")]
    sweep = [dict(zip(rows[0], r)) for r in rows[1:]]
    assert all(float(r[f"{s}_{d}"]) >= 0 for r in sweep for s in ("dev", "test") for d in ("greedy", "4gram"))
    assert float(sweep[2]["audio_hours"]) > float(sweep[1]["audio_hours"]) > 0 and sweep[1]["audio_counted"] == "True"
    assert sweep[1]["valid_accuracy"] and sweep[2]["valid_accuracy"]  # validated at each sweep point
    assert (exp / "sweep.png").stat().st_size > 10_000 and "label-size effect" in (exp / "sweep.txt").read_text()
    assert len((exp / "results.tsv").read_text().splitlines()) == 1 + 5 * 4
    assert all((exp / f".stage{n}.done").exists() for n in (3, 5, 6, 7))

    again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "as planned before" in again.stdout
    assert again.stdout.count("done already") == 7 and "Timing" not in again.stdout
