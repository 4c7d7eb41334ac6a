#!/usr/bin/env bash
# Stage helpers shared by every recipe's run.sh; source it after parse_options.sh:
#
#   . ../../utils/stage.sh
#   if run_stage 3; then log "Stage 3: pre-training"; ...; touch "$(marker 3)"; fi
#
# A stage runs when $stage <= N <= $stop_stage and its marker is absent (or with --force true).
# Markers: $data/.stageN.done for stages 0-2, whose data every experiment shares, and
# $exp/.stageN${marker_tag}.done from stage 3 on (marker_tag, empty by default, tells apart runs
# that share $exp, e.g. ".$subset" for the LibriSpeech fine-tuning subsets).

log() { echo -e "$(date '+%Y-%m-%d %H:%M:%S') (${0##*/}) $*"; }
marker() { if [ "$1" -le 2 ]; then echo "$data/.stage$1.done"; else echo "$exp/.stage$1${marker_tag:-}.done"; fi; }
run_stage() {  # run_stage N: true when stage N is selected and not already done
  [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ] || return 1
  if [ -f "$(marker "$1")" ] && [ "$force" != true ]; then
    log "Stage $1: done already ($(marker "$1")), skipping"; return 1
  fi
}
