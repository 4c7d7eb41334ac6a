#!/usr/bin/env bash
# Independent runs of one stage side by side (Kaldi's run.pl, in-process): source it after stage.sh. A stage reads:
#
#   jobs_begin "${#names[@]}"
#   for name in "${names[@]}"; do job "$exp/$name/run.log" train_one "$name"; done   # train_one: run.sh's
#   jobs_wait "Stage 5"
#
# jobs_begin N: the stage has N runs. job LOG CMD...: runs CMD. With train_nj=1 (cmd.sh), or a stage of one run,
# in the foreground, its output on the terminal (progress bars and all); otherwise in the background, its output
# to LOG only, first waiting while train_nj jobs run. Each job is one process tree; cmd.sh sets
# OMP_NUM_THREADS=1, so N jobs use N cores (on a 2-core AMD EPYC two one-thread mid-trainings of 7.5 s batches side
# by side made 65-80 audio s/s each against 93 for one alone: 1.5x the work; two threads each collapse, cmd.sh).
# jobs_wait WHAT: waits for the background jobs; when one failed, prints the end of each failed job's LOG and
# dies naming it (the stage is left unfinished: its .started stays, a re-run resumes or redoes it). A job that
# fails stops no other: every run of the stage is tried, as Kaldi's run.pl JOB=1:N does.
# Ctrl-C or SIGTERM: the background jobs are sent SIGTERM (asynchronous commands of a script ignore SIGINT, so
# they would train on) and waited for, then the script stops (stage.sh's exit trap says which stage stopped).

_job_pids=()
_job_logs=()
_job_parallel=false

jobs_begin() {
  if [ "${train_nj:-1}" -gt 1 ] && [ "$1" -gt 1 ]; then
    _job_parallel=true
    # only while background jobs may run: elsewhere a signal reaches the foreground command as before
    trap '_jobs_stop INT' INT
    trap '_jobs_stop TERM' TERM
  else
    _job_parallel=false
  fi
}

_jobs_stop() {
  local sig=$1 pid
  if [ "${#_job_pids[@]}" -gt 0 ]; then
    log "interrupted: stopping ${#_job_pids[@]} background job(s)" >&2
    for pid in "${_job_pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
    wait "${_job_pids[@]}" 2>/dev/null || true
    _job_pids=()
  fi
  trap - "$sig"
  kill -s "$sig" $$
}

_job_running() {  # the number of background jobs still running
  local pid n=0
  for pid in "${_job_pids[@]}"; do if kill -0 "$pid" 2>/dev/null; then n=$((n + 1)); fi; done
  echo "$n"
}

job() {
  local out=$1
  shift
  if [ "$_job_parallel" != true ]; then
    "$@"
    return
  fi
  while [ "$(_job_running)" -ge "$train_nj" ]; do wait -n 2>/dev/null || true; done
  mkdir -p "$(dirname "$out")"  # once it starts: a waiting run leaves no empty experiment dir behind
  rm -f "$out.status"
  log "started (log: $out): $*"
  # CMD in a subshell of its own with set -e (in a `CMD || ...` list bash would ignore set -e inside a function),
  # its status written to a file next to its log (`wait` on an already reaped pid cannot tell it any more), in a
  # process group of its own (set -m), so that _jobs_stop reaches the whole tree, not only this subshell
  set -m
  ( set +e; ( set -e; "$@" ) > "$out" 2>&1; echo "$?" > "$out.status" ) &
  set +m
  _job_pids+=("$!")
  _job_logs+=("$out")
}

jobs_wait() {
  local what=$1 out rc failed=()
  if [ "${#_job_pids[@]}" -gt 0 ]; then wait "${_job_pids[@]}" 2>/dev/null || true; fi
  if [ "$_job_parallel" = true ]; then trap - INT TERM; fi  # jobs_begin's: every job has ended
  for out in "${_job_logs[@]}"; do
    rc=$(cat "$out.status" 2>/dev/null || echo "?")
    rm -f "$out.status"
    if [ "$rc" != 0 ]; then
      tail -n 20 "$out" >&2
      log "failed (exit $rc): output in $out" >&2
      failed+=("$out")
    fi
  done
  _job_pids=()
  _job_logs=()
  if [ "${#failed[@]}" -gt 0 ]; then die "$what: ${#failed[@]} of its runs failed (${failed[*]})"; fi
}
