"""recipes/utils/jobs.sh: a stage's runs side by side, train_nj at a time, each with its log; a failed run fails the
stage (after the others ran) and names its log; a signalled recipe stops its background runs. Plain bash jobs,
no training: seconds in all."""
import os
import signal
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

DRIVER = r"""set -euo pipefail
stage=0 stop_stage=9 force=false data=$WORK exp=$WORK
. "$REPO/recipes/utils/stage.sh"
. "$REPO/recipes/utils/jobs.sh"
events=$WORK/events
span() {  # span NAME SECONDS: an event line at its start and end
  echo "start $1" >> "$events"; sleep "$2"; echo "end $1" >> "$events"; echo "log of $1"
}
fails() { echo "first command of $1"; false; echo "after the failure" >> "$events"; }
long() { echo $$ > "$WORK/$1.pid"; exec python3 -c "import time; time.sleep(60)"; }
jobs_begin "$(wc -w <<< "$JOBS")"
for spec in $JOBS; do
  name=${spec%%:*}; what=${spec#*:}
  case $what in
    fail) job "$WORK/$name/run.log" fails "$name" ;;
    long) job "$WORK/$name/run.log" long "$name" ;;
    *) job "$WORK/$name/run.log" span "$name" "$what" ;;
  esac
done
jobs_wait "Stage 5"
echo "stage finished"
"""


def drive(tmp_path, jobs, train_nj, **kwargs):
    script = tmp_path / "driver.sh"
    script.write_text(DRIVER)
    env = {**os.environ, "REPO": str(REPO), "WORK": str(tmp_path), "JOBS": jobs, "train_nj": str(train_nj)}
    return subprocess.Popen(["bash", str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kwargs)


def most_at_once(lines):
    running = peak = 0
    for line in lines:
        running += 1 if line.startswith("start") else -1
        peak = max(peak, running)
    return peak


def test_runs_go_side_by_side_train_nj_at_a_time_each_into_its_log(tmp_path):
    p = drive(tmp_path, "a:0.6 b:0.6 c:0.6 d:0.6 e:0.6", 2)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    lines = (tmp_path / "events").read_text().splitlines()
    assert sorted(lines) == sorted([f"{e} {n}" for n in "abcde" for e in ("start", "end")])
    assert most_at_once(lines) == 2
    for n in "abcde":
        assert (tmp_path / n / "run.log").read_text() == f"log of {n}\n"
        assert f"started (log: {tmp_path / n / 'run.log'})" in out
    assert out.rstrip().endswith("stage finished")
    assert not list(tmp_path.glob("*/run.log.status"))


def test_train_nj_1_runs_one_after_another_on_the_terminal(tmp_path):
    p = drive(tmp_path, "a:0.1 b:0.1", 1)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert (tmp_path / "events").read_text().splitlines() == ["start a", "end a", "start b", "end b"]
    assert "log of a\nlog of b\nstage finished" in out
    assert not (tmp_path / "a" / "run.log").exists()


def test_a_stage_of_one_run_runs_it_on_the_terminal(tmp_path):
    p = drive(tmp_path, "a:0.1", 2)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert "log of a\nstage finished" in out and "started" not in out
    assert not (tmp_path / "a" / "run.log").exists()


def test_a_failed_run_fails_the_stage_after_the_others_ran_and_names_its_log(tmp_path):
    p = drive(tmp_path, "a:0.3 bad:fail c:0.3 d:0.3", 2)
    out, err = p.communicate(timeout=60)
    assert p.returncode != 0
    assert "stage finished" not in out
    lines = (tmp_path / "events").read_text().splitlines()
    assert "after the failure" not in lines  # set -e holds inside the run's function
    assert sorted(line for line in lines if line.startswith("end")) == ["end a", "end c", "end d"]
    log = tmp_path / "bad" / "run.log"
    assert "first command of bad" in err  # the end of its log
    assert f"Stage 5: 1 of its runs failed ({log})" in err


def test_a_signalled_recipe_stops_its_background_runs(tmp_path):
    p = drive(tmp_path, "a:long b:long", 2, start_new_session=True)
    pids = [tmp_path / "a.pid", tmp_path / "b.pid"]
    deadline = time.time() + 30
    while not all(f.exists() and f.read_text().strip() for f in pids):
        assert time.time() < deadline and p.poll() is None, p.stderr.read() if p.poll() is not None else "no runs"
        time.sleep(0.05)
    runs = [int(f.read_text()) for f in pids]
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=30)
    assert p.returncode != 0 and "stage finished" not in out
    assert "stopping 2 background job(s)" in err
    for pid in runs:
        try:
            os.kill(pid, 0)
            alive = Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
        except ProcessLookupError:
            alive = False
        assert not alive, f"run {pid} still running"
