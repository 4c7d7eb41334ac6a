"""recipes/utils/stage.sh through the recipes' run.sh with fake commands (asrkit, torchrun, curl) on PATH: a stage
is marked done only when its commands succeeded (not when one fails, exits 130/143 or is killed), records its
settings, refuses a re-run with other ones unless --force true, and is stale when a stage it reads was redone.
No training: seconds in all."""
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

FAKE_ASRKIT = r"""#!/usr/bin/env bash
# Fake asrkit: logs its command line, makes its --exp-dir / --out-dir with a checkpoint (logging RESUME when one
# is there already), and when its subcommand is $FAKE_FAIL_CMD, fails as $FAKE_FAIL says.
echo "$*" >> "$FAKE_LOG"
prev=""
for a in "$@"; do
  case "$prev" in
    --exp-dir|--out-dir)
      if [ -e "$a/checkpoint_last.pt" ]; then echo "RESUME $a" >> "$FAKE_LOG"; fi
      mkdir -p "$a"; touch "$a/checkpoint_last.pt" "$a/ref.trn" "$a/hyp.trn" ;;
  esac
  prev=$a
done
if [ "$1" = "${FAKE_FAIL_CMD:-}" ]; then
  case "$FAKE_FAIL" in
    exit:*) echo "fake asrkit $1: exiting ${FAKE_FAIL#exit:}" >&2; exit "${FAKE_FAIL#exit:}" ;;
    signal:*) kill -s "${FAKE_FAIL#signal:}" $$; sleep 5 ;;
    wait) sleep 30 > /dev/null 2>&1 & pid=$!
          trap 'kill $pid; exit 130' INT   # as asrkit train will: save a checkpoint, exit 130
          touch "$FAKE_LOG.waiting"; wait $pid ;;
  esac
fi
exit 0
"""


TORCHRUN = r"""#!/usr/bin/env bash
# Fake torchrun: logs its command line and runs the fake asrkit with what follows `-m asrkit.cli`.
echo "torchrun $*" >> "$FAKE_LOG"
while [ $# -gt 0 ] && [ "$1" != -m ]; do shift; done
shift 2
exec asrkit "$@"
"""


def write_exe(path: Path, text: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)


@pytest.fixture
def sandbox(tmp_path):
    """A copy of recipes/ (path.sh then finds no .venv above it) and a bin/ of fakes that PATH puts first."""
    shutil.copytree(REPO / "recipes", tmp_path / "recipes", symlinks=True,
                    ignore=shutil.ignore_patterns("data", "exp"))
    write_exe(tmp_path / "bin" / "asrkit", FAKE_ASRKIT)
    write_exe(tmp_path / "bin" / "torchrun", TORCHRUN)
    write_exe(tmp_path / "bin" / "nvidia-smi", "#!/bin/sh\nexit 9\n")  # a broken driver: one process
    write_exe(tmp_path / "local" / "download_librispeech.sh", "#!/bin/sh\necho fake download\n")
    return tmp_path


class Recipe:
    def __init__(self, root: Path, name: str, exp: str = "exp"):
        self.root, self.name = root, name
        self.data, self.exp, self.log = root / "data", root / exp, root / "asrkit.log"

    def env(self, **extra):
        env = {k: v for k, v in os.environ.items() if k not in ("ngpu", "FAKE_FAIL", "FAKE_FAIL_CMD")}
        env.update(PATH=f"{self.root / 'bin'}:{os.environ['PATH']}", nj="1", FAKE_LOG=str(self.log), **extra)
        return env

    def args(self, *args):
        extra = ["--corpus", self.root / "corpus"] if self.name.startswith("librispeech") else []
        return ["bash", str(self.root / "recipes" / self.name / "run.sh"), "--data", self.data, "--exp", self.exp,
                *extra, *args]

    def run(self, *args, **env):
        if self.log.exists():
            self.log.unlink()
        res = subprocess.run([str(a) for a in self.args(*args)], env=self.env(**env), capture_output=True, text=True,
                             timeout=60)
        res.calls = self.log.read_text().splitlines() if self.log.exists() else []
        return res

    def marker(self, n, tag=""):
        return (self.data if n <= 2 else self.exp) / f".stage{n}{tag}.done"


@pytest.fixture
def synth(sandbox):
    return Recipe(sandbox, "synth/w2v2_tiny")


@pytest.fixture
def libri(sandbox):
    return Recipe(sandbox, "librispeech/w2v2_base")


def out(res):
    return res.stdout + res.stderr


UPDATES = ("--finetune-updates", 4)  # not auto: no python to ask about bf16


# --- a stage whose command does not finish is not marked done ---------------------------------------------------

@pytest.mark.parametrize("fail", ["exit:130", "exit:143", "exit:1", "signal:TERM", "signal:KILL"])
def test_interrupted_or_failed_training_leaves_no_done_marker(synth, fail):
    """asrkit pretrain exiting 130 (SIGINT) / 143 (SIGTERM) after its checkpoint, failing, or killed: the recipe
    stops there with a non-zero status, stage 3 not marked done, stage 5 not started."""
    assert synth.run("--stage", 0, "--stop-stage", 2).returncode == 0
    res = synth.run("--stage", 3, "--stop-stage", 5, *UPDATES, FAKE_FAIL_CMD="pretrain", FAKE_FAIL=fail)
    assert res.returncode != 0, out(res)
    assert not synth.marker(3).exists() and not synth.marker(5).exists()
    assert (synth.exp / ".stage3.started").exists()  # its settings, to resume with
    assert [c.split()[0] for c in res.calls] == ["pretrain"]
    assert "Stage 3 stopped" in res.stderr


def _default_sigint():
    """A job started in the background of a non-interactive shell (`pytest ... &`) inherits SIGINT ignored, and
    a shell cannot trap a signal ignored on entry: give the recipe the default disposition a terminal's job has."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("sig, rc", [(signal.SIGINT, 130), (signal.SIGTERM, -signal.SIGTERM)])
def test_recipe_signalled_mid_stage_leaves_no_done_marker(synth, sig, rc):
    """Ctrl-C or a scheduler's SIGTERM to the whole job while asrkit trains: no marker, no later stage."""
    assert synth.run("--stage", 0, "--stop-stage", 2).returncode == 0
    proc = subprocess.Popen([str(a) for a in synth.args("--stage", 3, "--stop-stage", 5, *UPDATES)],
                            env=synth.env(FAKE_FAIL_CMD="pretrain", FAKE_FAIL="wait"), start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_sigint)
    try:
        deadline = time.monotonic() + 30
        while not Path(f"{synth.log}.waiting").exists():
            assert proc.poll() is None and time.monotonic() < deadline, "the fake asrkit pretrain never started"
            time.sleep(0.05)
        os.killpg(proc.pid, sig)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    assert proc.returncode == rc, stdout + stderr
    assert not synth.marker(3).exists() and not synth.marker(5).exists()
    assert not any(c.startswith("finetune") for c in synth.log.read_text().splitlines())


def test_interrupted_training_resumes_with_its_settings_only(synth):
    synth.run("--stage", 0, "--stop-stage", 2)
    opts = ("--pretrain-opts", "--set optim.max_updates=9")
    assert synth.run("--stage", 3, "--stop-stage", 3, *opts, FAKE_FAIL_CMD="pretrain", FAKE_FAIL="exit:130").returncode
    again = synth.run("--stage", 3, "--stop-stage", 3, *opts)  # same settings: resumes, keeps the checkpoints
    assert again.returncode == 0 and "resuming its unfinished run" in again.stdout
    assert f"RESUME {synth.exp / 'pretrain'}" in again.calls and synth.marker(3).exists()

    # a forced redo interrupted, then re-run without its new settings: refused, the partial run kept
    assert synth.run("--stage", 3, "--stop-stage", 3, "--force", "true", FAKE_FAIL_CMD="pretrain",
                     FAKE_FAIL="exit:143").returncode
    assert not synth.marker(3).exists()
    other = synth.run("--stage", 3, "--stop-stage", 3, *opts[:1], "--set optim.max_updates=10")
    assert other.returncode != 0 and not other.calls
    assert "unfinished run" in other.stderr and "pretrain_opts: '' -> '--set optim.max_updates=10'" in other.stderr
    forced = synth.run("--stage", 3, "--stop-stage", 3, "--force", "true")  # starts over: old checkpoints removed
    assert forced.returncode == 0 and forced.calls and not any(c.startswith("RESUME") for c in forced.calls)


def test_failing_score_is_shown_and_not_marked_done(synth):
    synth.run("--stage", 0, "--stop-stage", 6, *UPDATES)
    res = synth.run("--stage", 7, FAKE_FAIL_CMD="score", FAKE_FAIL="exit:2")
    assert res.returncode != 0 and not synth.marker(7).exists()
    assert "fake asrkit score: exiting 2" in res.stderr  # not only in score.txt


def test_librispeech_failed_lm_download_leaves_no_marker(libri):
    """Stage 0's `curl ... && gzip -t` let a failed download through under set -e."""
    write_exe(libri.root / "bin" / "curl", "#!/bin/sh\necho 'curl: (22) 404' >&2\nexit 22\n")
    res = libri.run("--stage", 0, "--stop-stage", 0)
    assert res.returncode != 0 and not libri.marker(0).exists(), out(res)


def test_librispeech_training_interrupted_or_done_once_for_every_subset(libri):
    """torchrun exiting 143: no marker. Without $ngpu nor a working nvidia-smi: one process. Pre-training is done
    once for all subsets (marker .stage3.done); stages 5-7 are per subset."""
    res = libri.run("--stage", 3, "--stop-stage", 3, FAKE_FAIL_CMD="pretrain", FAKE_FAIL="exit:143")
    assert res.returncode != 0 and not libri.marker(3).exists(), out(res)
    assert "--nproc-per-node 1" in res.calls[0] and res.calls[1].startswith("pretrain")
    assert libri.run("--stage", 3, "--stop-stage", 5, "--subset", "10m").returncode == 0
    assert libri.marker(3).exists() and libri.marker(5, ".10m").exists()
    res = libri.run("--stage", 3, "--stop-stage", 5, "--subset", "1h")
    assert res.returncode == 0 and "Stage 3: done already" in res.stdout
    assert [c.split()[0] for c in res.calls] == ["torchrun", "finetune"] and libri.marker(5, ".1h").exists()


# --- settings recorded and checked ------------------------------------------------------------------------------

def test_changed_settings_are_refused_and_forced_redone(synth):
    assert synth.run("--stage", 0, "--stop-stage", 0, "--seed", 3).returncode == 0
    assert "seed=3" in synth.marker(0).read_text().splitlines()

    same = synth.run("--stage", 0, "--stop-stage", 0, "--seed", 3)
    assert same.returncode == 0 and "Stage 0: done already" in same.stdout and not same.calls

    changed = synth.run("--stage", 0, "--stop-stage", 0, "--seed", 4, "--synth-opts", "--train-speakers 6")
    assert changed.returncode != 0 and not changed.calls
    assert "seed: '3' -> '4'" in changed.stderr and "synth_opts: '' -> '--train-speakers 6'" in changed.stderr
    assert "--force true" in changed.stderr and "seed=3" in synth.marker(0).read_text().splitlines()

    forced = synth.run("--stage", 0, "--stop-stage", 0, "--seed", 4, "--force", "true")
    assert forced.returncode == 0 and forced.calls[0].startswith("prepare synth") and "--seed 4" in forced.calls[0]
    assert "seed=4" in synth.marker(0).read_text().splitlines()


def test_edited_config_is_a_changed_setting(synth):
    synth.run("--stage", 0, "--stop-stage", 3)
    conf = synth.root / "recipes" / "synth" / "w2v2_tiny" / "conf" / "pretrain.yaml"
    conf.write_text(conf.read_text() + "# edited\n")
    res = synth.run("--stage", 3, "--stop-stage", 3)
    assert res.returncode != 0 and "pretrain_config: conf/pretrain.yaml was edited" in res.stderr


def test_settings_of_later_stages_are_checked(synth):
    assert synth.run(*UPDATES, "--trials", 2).returncode == 0  # every stage
    assert all(synth.marker(n).exists() for n in (0, 1, 2, 3, 5, 6, 7))
    finetune = [c for c in synth.log.read_text().splitlines() if c.startswith("finetune")]
    assert len(finetune) == 2 and all("--set optim.max_updates=4" in c for c in finetune)
    # side by side where cmd.sh's train_nj (nproc) > 1, so either may start first
    assert sorted(f"--init {synth.exp}/pretrain/checkpoint_best.pt " in c for c in finetune) == [False, True]
    assert sum("--init  " in c for c in finetune) == 1
    assert synth.run(*UPDATES, "--trials", 2).calls == []  # all skipped
    res = synth.run(*UPDATES, "--trials", 2, "--beam", 50)
    assert res.returncode != 0 and "Stage 6: done already" in res.stderr and "beam: '500' -> '50'" in res.stderr
    assert synth.run(*UPDATES, "--trials", 2, "--finetune-updates", 5).returncode != 0


def test_fine_tunings_run_one_after_the_other_with_train_nj_1(synth):
    """cmd.sh's train_nj=1: stage 5's two fine-tunings in the foreground, pre-trained first, torch's own threads;
    train_nj=2: side by side, one thread each, each one's output in its run.log."""
    res = synth.run("--stage", 0, "--stop-stage", 5, *UPDATES, train_nj="1")
    assert res.returncode == 0, out(res)
    finetune = [c for c in res.calls if c.startswith("finetune")]
    assert len(finetune) == 2 and "--init  " in finetune[1] and not any("trainer.threads" in c for c in finetune)
    assert not (synth.exp / "scratch_10m" / "run.log").exists()
    res = synth.run("--stage", 5, "--stop-stage", 5, *UPDATES, "--force", "true", train_nj="2")
    assert res.returncode == 0, out(res)
    finetune = [c for c in res.calls if c.startswith("finetune")]
    assert len(finetune) == 2 and all("--set trainer.threads=1" in c for c in finetune)
    assert all((synth.exp / f"{init}_10m" / "run.log").exists() for init in ("pretrained", "scratch"))


def test_transformer_lm_is_trained_decoded_and_scored_only_when_asked(synth):
    """--transformer-lm true: stage 2 trains it after the 4-gram, stage 6 decodes the test set with it in the
    search (tlm) and rescoring the 4-gram's N-best (4gram_tlm), both tuned on dev, and stage 7 scores both; the
    default runs none of it."""
    res = synth.run(*UPDATES, "--trials", 2)
    assert res.returncode == 0, out(res)
    assert not any("--type transformer" in c or "--rescore-lm" in c or "transformer/" in c for c in res.calls)
    res = synth.run(*UPDATES, "--trials", 2, "--stage", 2, "--transformer-lm", "true", "--nbest", 7, "--force", "true")
    assert res.returncode == 0, out(res)
    lm = [c for c in res.calls if c.startswith("lm ")]
    assert [c.split()[:2] for c in lm] == [["lm", "train"], ["lm", "eval"]] * 2 and "--type transformer" in lm[2]
    tlm = f"{synth.data}/lm/transformer/checkpoint_best.pt"
    decodes = [c for c in res.calls if c.startswith("decode") and ("test_tlm" in c or "test_4gram_tlm" in c)]
    assert len(decodes) == 4 and all("--tune" in c for c in decodes)
    assert sum(f"--lm {tlm} " in c for c in decodes) == 2
    assert sum(f"--rescore-lm {tlm} --nbest 7" in c for c in decodes) == 2
    scored = [c for c in res.calls if c.startswith("score")]
    assert sum("--decoder tlm " in c for c in scored) == 2 and sum("--decoder 4gram_tlm " in c for c in scored) == 2
    assert not any("--decoder tlm --split test_unseen" in c for c in scored)


def test_markers_from_before_settings_were_recorded_still_skip(synth):
    synth.data.mkdir()
    synth.exp.mkdir()
    for n in (0, 1, 2, 3):
        synth.marker(n).touch()
    res = synth.run("--stage", 0, "--stop-stage", 3, "--seed", 7)
    assert res.returncode == 0 and not res.calls, out(res)
    assert res.stdout.count("from before settings were recorded") == 4


# --- staleness --------------------------------------------------------------------------------------------------

def test_redone_stage_makes_the_stages_reading_it_stale(synth):
    assert synth.run("--stage", 0, "--stop-stage", 3).returncode == 0
    assert synth.run("--stage", 0, "--stop-stage", 0, "--seed", 1, "--force", "true").returncode == 0

    res = synth.run("--stage", 1, "--stop-stage", 1, "--seed", 1)  # stage 0 redone in an earlier run: refused
    assert res.returncode != 0 and "stage 0, which it reads, was redone" in res.stderr and not res.calls
    res = synth.run("--stage", 3, "--stop-stage", 3, "--seed", 1)  # stage 1, not selected, read stage 0's old data
    assert res.returncode != 0 and "stage 1 is out of date" in res.stderr and not res.calls

    res = synth.run("--stage", 1, "--stop-stage", 3, "--seed", 1, "--force", "true")
    assert res.returncode == 0 and [c.split()[0] for c in res.calls] == ["prepare", "manifest", "prepare", "lm", "lm",
                                                                         "pretrain"]
    assert synth.run("--stage", 0, "--stop-stage", 3, "--seed", 1).calls == []  # all current again


def test_stage_redone_in_the_same_run_redoes_the_stages_reading_it(synth):
    """A stage without its marker (deleted here) reruns, and the selected stages reading it (2 and 3 read 1) are
    redone after it without --force; stage 0, which stage 1 reads, is kept."""
    assert synth.run("--stage", 0, "--stop-stage", 3).returncode == 0
    synth.marker(1).unlink()
    res = synth.run("--stage", 0, "--stop-stage", 3)
    assert res.returncode == 0, out(res)
    assert "Stage 0: done already" in res.stdout and "Stage 2: redoing it" in res.stdout
    assert [c.split()[0] for c in res.calls] == ["prepare", "manifest", "prepare", "lm", "lm", "pretrain"]
    assert not any(c.startswith("RESUME") for c in res.calls)  # stage 3 started over


def test_sewd_tiny_sees_w2v2_tiny_s_data_redone(sandbox, synth):
    """sewd_tiny trains on w2v2_tiny's data (make table1): a redo there makes sewd_tiny's stage 3 stale."""
    sewd = Recipe(sandbox, "synth/sewd_tiny", exp="sewd_exp")
    assert synth.run("--stage", 0, "--stop-stage", 2).returncode == 0
    assert sewd.run("--stage", 3, "--stop-stage", 3).returncode == 0 and sewd.marker(3).exists()
    assert synth.run("--stage", 1, "--stop-stage", 1, "--force", "true").returncode == 0
    res = sewd.run("--stage", 3, "--stop-stage", 3)
    assert res.returncode != 0 and "stage 1, which it reads, was redone" in res.stderr and not res.calls


def test_bad_stage_options_are_refused(synth):
    res = synth.run("--stage", "three")
    assert res.returncode != 0 and "--stage takes a stage number" in res.stderr
    res = synth.run("--force", "yes")
    assert res.returncode != 0 and "--force takes true or false" in res.stderr


FAKE_PREPARE_PHONES = r"""#!/usr/bin/env bash
# Fake local/prepare_synth_phones.py CORPUS MANIFESTS --out DIR: logs, writes the phone manifests' names.
echo "prepare_synth_phones $*" >> "$FAKE_LOG"
mkdir -p "$4"
for s in 10m dev test test_unseen_engine; do touch "$4/$s.tsv"; done
"""


def test_w2v2_phone_reads_w2v2_tiny_s_corpus_and_model_and_pretrains_only_without_it(sandbox, synth):
    """w2v2_phone on w2v2_tiny's data (--corpus): its phone manifests, markers and trainings stay in its own --data
    and --exp; w2v2_tiny's checkpoint is fine-tuned when it exists (no stage 3), else stage 3 pre-trains."""
    write_exe(sandbox / "local" / "prepare_synth_phones.py", FAKE_PREPARE_PHONES)
    phone = Recipe(sandbox, "synth/w2v2_phone", exp="phone_exp")
    phone.data = sandbox / "phone_data"
    corpus = sandbox / "data"
    assert synth.run("--stage", 0, "--stop-stage", 1).returncode == 0
    (corpus / "manifests").mkdir(parents=True)
    (corpus / "manifests" / "10m.tsv").touch()
    (corpus / "synth" / "metadata").mkdir(parents=True)
    pretrained = sandbox / "tiny_exp" / "pretrain" / "checkpoint_best.pt"
    pretrained.parent.mkdir(parents=True)
    pretrained.write_bytes(b"weights")
    before = sorted(p.relative_to(corpus) for p in corpus.rglob("*"))

    res = phone.run("--corpus", corpus, "--pretrained", pretrained, "--finetune-updates", 4)
    assert res.returncode == 0, out(res)
    assert sorted(p.relative_to(corpus) for p in corpus.rglob("*")) == before  # read only
    assert [c.split()[0] for c in res.calls] == ["prepare_synth_phones", "manifest", *["finetune"] * 2,
                                                 *["decode"] * 4, *["score"] * 4, "results"]
    finetunes = [c for c in res.calls if c.startswith("finetune")]
    assert f"--init {pretrained} " in finetunes[0] and "--init  " in finetunes[1]
    assert all("--set data.tokenizer=phones" in c and "optim.max_updates=4" in c for c in finetunes)
    assert all(" --unit phone " in c for c in res.calls if c.startswith("score"))
    assert all(phone.marker(n).exists() for n in (0, 1)) and not phone.marker(3).exists()
    assert "Stage 3: pre-trained model" in res.stdout

    res = phone.run("--stage", 3, "--corpus", corpus, "--pretrained", sandbox / "none.pt", "--finetune-updates", 4)
    assert res.returncode != 0 and "init:" in res.stderr  # stage 5 would start from another model
    res = phone.run("--stage", 3, "--corpus", corpus, "--pretrained", "", "--finetune-updates", 4, "--force", "true")
    assert res.returncode == 0, out(res)
    assert [c.split()[0] for c in res.calls][:3] == ["pretrain", "finetune", "finetune"]
    assert f"--init {phone.exp / 'pretrain' / 'checkpoint_best.pt'} " in res.calls[1]
