#!/usr/bin/env bash
# shellcheck disable=SC2154  # stage, stop_stage, force, data, exp: set by the recipe that sources this file
# Stage helpers shared by every recipe's run.sh; source it after parse_options.sh. A stage reads:
#
#   if run_stage 3 --after 1 --resumes "$exp/pretrain" pretrain_config pretrain_opts data; then
#     log "Stage 3: pre-training"
#     asrkit pretrain ...
#     stage_done 3      # the stage's last command: reached only when every command before it succeeded
#   fi
#
# run_stage N [--after "K ..."] [--resumes DIR]... VAR...  is true when stage N is selected
# ($stage <= N <= $stop_stage) and has to run. VAR...: the variables that change the stage's output (configs,
# *_opts, seed, input dirs, ...); one that names a file records the file's checksum too, so an edited config
# counts as a change. Not settings: the dir the marker is in (another --data for stages 0-2, or --exp from 3 on,
# is another marker) and how the work is spread (nj, ngpu, nnodes: a run may resume on other machines). --after:
# the earlier stages whose output stage N reads. --resumes (training): an output dir the stage resumes from when
# an interrupted run is re-run, and that a redo from scratch deletes first.
#
# Markers. $data/.stageN.done for stages 0-2, whose data every experiment shares, $exp/.stageN${marker_tag}.done
# from stage 3 on (marker_tag, empty by default, tells apart runs that share $exp, e.g. ".$subset"; it applies
# from stage $marker_tag_from, 3 by default). run_stage writes the stage's settings, one name=value a line, to
# .stageN.started and stage_done renames that to .stageN.done: a stage that fails or is interrupted (Ctrl-C,
# SIGTERM, a killed job: set -e stops the script) leaves no .done, only its .started. On a re-run:
#   .done, same settings        skipped
#   .done, other settings       refused, listing the changes (old -> new): pass --force true to redo the stage
#   .done, empty                (written before settings were recorded) skipped with a note, nothing checked
#   .started only               run again; a --resumes stage resumes (same settings) or is refused (others)
#   --force true                every selected stage is redone, --resumes dirs deleted, new settings recorded
#
# Staleness. A marker also records after.stageK=<cksum of stage K's marker> for each stage K it reads (--after);
# a marker's first line names the run that wrote it (time, pid, random), so every redo of K changes its cksum.
# The reading stage checks this, rather than a redone stage deleting the later markers, because those live where
# the redone stage cannot know: sewd_tiny reads w2v2_tiny's data, LibriSpeech keeps stage 5-7 markers per subset.
# A done (or unfinished) stage whose input K was redone since is redone, from scratch, when K was redone earlier
# in this same run (e.g. --stage 0 after deleting .stage1.done redoes 1, then 2 and 3), and otherwise refused like
# a settings change (--force true redoes it). A selected stage is refused, whether it would run or be skipped,
# while a stage it reads, not selected, is out of date itself (it reads a stage redone after it) or unfinished:
# redo that one first (with --force true: a warning only).

log() { printf '%s (%s) %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "${0##*/}" "$*"; }
die() { log "ERROR: $*" >&2; exit 1; }

case "$stage" in ''|*[!0-9]*) die "--stage takes a stage number, not '$stage'" ;; esac
case "$stop_stage" in ''|*[!0-9]*) die "--stop-stage takes a stage number, not '$stop_stage'" ;; esac
case "$force" in true|false) ;; *) die "--force takes true or false, not '$force'" ;; esac

marker() {  # marker N: stage N's .done file
  if [ "$1" -le 2 ]; then echo "$data/.stage$1.done"
  elif [ "$1" -ge "${marker_tag_from:-3}" ]; then echo "$exp/.stage$1${marker_tag:-}.done"
  else echo "$exp/.stage$1.done"; fi
}
_started() { local m; m=$(marker "$1"); echo "${m%.done}.started"; }  # _started N: its unfinished run's file
selected() { [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ]; }
# to_file FILE CMD...: CMD's output to FILE only; when CMD fails, its last lines on stderr too, and its status
to_file() {
  local out=$1 rc=0
  shift
  "$@" > "$out" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    tail -n 20 "$out" >&2
    log "failed (exit $rc): $* (output in $out)" >&2
  fi
  return "$rc"
}

_redone=" "      # stages (re)started in this run
_running=""      # the stage between run_stage and stage_done

_fingerprint() {  # _fingerprint K: cksum of stage K's marker, "none" without one
  local m; m=$(marker "$1")
  if [ -f "$m" ]; then cksum < "$m"; else echo none; fi
}

_settings() {  # _settings "K ..." VAR...: the name=value lines run_stage records
  local after=$1 v val sum k fp; shift
  for v in "$@"; do
    declare -p "$v" >/dev/null 2>&1 || die "run_stage: no variable '$v' (a recipe bug)"
    val=${!v}
    printf '%s=%s\n' "$v" "${val//$'\n'/\\n}"
    if [ -f "$val" ]; then
      sum=$(cksum < "$val") || die "run_stage: cannot read $val"
      printf '%s.content=%s\n' "$v" "$sum"
    fi
  done
  for k in $after; do
    fp=$(_fingerprint "$k") || die "run_stage: cannot read $(marker "$k")"
    printf 'after.stage%s=%s\n' "$k" "$fp"
  done
}

_get() {  # _get NAME TEXT: the value of NAME=... in TEXT
  local line
  while IFS= read -r line; do
    if [ "${line%%=*}" = "$1" ] && [ "${line#\#}" = "$line" ]; then printf '%s' "${line#*=}"; return 0; fi
  done <<< "$2"
  return 1
}

_compare() {  # _compare OLD NEW: sets _changed (lines), _unrecorded (names), _inputs (stages whose marker changed)
  _changed=""; _unrecorded=""; _inputs=""
  local line k new old
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    k=${line%%=*}; new=${line#*=}
    if ! old=$(_get "$k" "$1"); then
      case "$k" in after.*) ;; *) _unrecorded+=" $k" ;; esac
      continue
    fi
    if [ "$old" = "$new" ]; then continue; fi
    case "$k" in
      after.stage*) _inputs+=" ${k#after.stage}" ;;
      *.content) _changed+=$'\n'"  ${k%.content}: $(_get "${k%.content}" "$2") was edited (cksum $old -> $new)" ;;
      *) _changed+=$'\n'"  $k: '$old' -> '$new'" ;;
    esac
  done <<< "$2"
}

_stale() {  # _stale K: prints why stage K's marker is out of date (a stage it reads was redone after it), if it is
  local m line j fp
  m=$(marker "$1")
  [ -s "$m" ] || return 1
  while IFS= read -r line; do
    case "$line" in after.stage*=*) ;; *) continue ;; esac
    j=${line%%=*}; j=${j#after.stage}
    fp=$(_fingerprint "$j") || return 1
    if [ "$fp" != "${line#*=}" ]; then echo "stage $j was redone after it, or its marker removed"; return 0; fi
    if _stale "$j" > /dev/null; then echo "stage $j is itself out of date"; return 0; fi
  done < "$m"
  return 1
}

_refuse() {  # _refuse N WHY CHANGES HOW
  {
    log "Stage $1: $2"
    if [ -n "$3" ]; then printf '%s\n' "${3#$'\n'}"; fi
    printf '%s\n' "$4"
  } >&2
  exit 1
}

run_stage() {
  local n=$1 after="" resumes=() m started new k why problems="" what="" old fresh=$force
  shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --after) after=$2; shift 2 ;;
      --resumes) resumes+=("$2"); shift 2 ;;
      *) break ;;
    esac
  done
  selected "$n" || return 1
  m=$(marker "$n"); started=$(_started "$n")
  new=$(_settings "$after" "$@") || exit 1

  for k in $after; do  # the stages read, when not selected here, must be finished and up to date
    if [ -f "$(marker "$k")" ]; then
      if why=$(_stale "$k"); then problems+=$'\n'"  stage $k is out of date ($why): redo it first (--stage $k)"; fi
    elif [ -f "$(_started "$k")" ]; then
      problems+=$'\n'"  stage $k did not finish: finish it first (--stage $k)"
    elif [ "$force" != true ]; then
      log "Stage $n: note: stage $k has no marker ($(marker "$k")): its outputs are taken as they are"
    fi
  done
  if [ -n "$problems" ]; then
    if [ "$force" = true ]; then log "Stage $n: warning (going on, --force true):${problems}"
    else _refuse "$n" "a stage it reads is not ready:" "$problems" "Or pass --force true to run stage $n anyway."; fi
  fi

  if [ "$force" != true ]; then
    if [ -f "$m" ] && [ ! -s "$m" ]; then
      log "Stage $n: done already ($m, from before settings were recorded: not checked), skipping"; return 1
    fi
    if [ -f "$m" ]; then what=finished; old=$(<"$m")
    elif [ -f "$started" ]; then what=unfinished; old=$(<"$started"); fi
  fi
  if [ "$what" = unfinished ] && [ ${#resumes[@]} -eq 0 ]; then
    log "Stage $n: its last run did not finish ($started): running it again"
  elif [ -n "$what" ]; then
    _compare "$old" "$new"
    if [ -n "$_unrecorded" ]; then log "Stage $n: note: not recorded then, taken as unchanged:$_unrecorded"; fi
    if [ -n "$_changed" ] && [ "$what" = finished ]; then
      _refuse "$n" "done already ($m) with other settings:" "$_changed" \
        "Pass --force true to redo stage $n with the new settings, or restore them to keep its result."
    elif [ -n "$_changed" ]; then
      _refuse "$n" "its unfinished run ($started) has other settings:" "$_changed" \
        "Restore them to resume it, or pass --force true to start stage $n over with the new settings."
    fi
    for k in $_inputs; do
      case "$_redone" in *" $k "*) ;; *)
        why="its unfinished run started ($started)"
        if [ "$what" = finished ]; then why="stage $n was done ($m)"; fi
        _refuse "$n" "stage $k, which it reads, was redone since $why." "" \
          "Pass --force true to redo stage $n on the new input." ;;
      esac
    done
    if [ -n "$_inputs" ]; then log "Stage $n: redoing it: stage(s)$_inputs, which it reads, redone in this run"
      fresh=true
    elif [ "$what" = finished ]; then log "Stage $n: done already ($m), skipping"; return 1
    else log "Stage $n: resuming its unfinished run ($started)"; fi
  fi

  if [ "$fresh" = true ] && [ ${#resumes[@]} -gt 0 ]; then
    log "Stage $n: starting over: removing ${resumes[*]}"
    rm -rf -- "${resumes[@]}" || die "cannot remove ${resumes[*]}"
  fi
  { printf '# stage %s, started %s in %s (run %s)\n' "$n" "$(date '+%Y-%m-%d %H:%M:%S')" "$PWD" "$$.$RANDOM$RANDOM"
    printf '%s\n' "$new"; } \
    > "$started.tmp" || die "cannot write $started.tmp"
  mv -f "$started.tmp" "$started" || die "cannot write $started"
  rm -f "$m" || die "cannot remove $m"
  _redone+="$n "; _running=$n
  return 0
}

stage_done() {  # stage_done N: marks stage N done, recording the settings run_stage saw; a stage's last command
  local m started
  m=$(marker "$1"); started=$(_started "$1")
  [ -f "$started" ] || die "stage_done $1: no $started (run_stage $1 writes it)"
  mv -f "$started" "$m" || die "stage_done $1: cannot write $m"
  _running=""
}

_on_exit() {
  local rc=$?
  if [ "$rc" -ne 0 ] && [ -n "$_running" ]; then
    log "Stage $_running stopped (exit $rc): not marked done; a re-run with the same settings runs it again" >&2
  fi
}
trap _on_exit EXIT
