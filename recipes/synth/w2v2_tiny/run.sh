#!/usr/bin/env bash
# wav2vec 2.0 on the built-in synthetic spoken-command corpus.
#
# Stages (one map for every asrkit recipe):
#   0 data       synthesise the corpus (espeak-ng, offline) into $data/synth
#   1 manifests  LibriSpeech-layout prep -> $data/manifests/*.tsv, validated, summary table
#   3 pretrain   wav2vec 2.0 self-supervised pre-training on the unlabeled pool -> $exp/pretrain
# Finished stages leave $data/.stageN.done and are skipped on re-runs; delete the marker
# (or pass --force true) to redo one.
set -euo pipefail
cd "$(dirname "$0")"

stage=0
stop_stage=3
force=false
seed=0
data=data        # where corpus, manifests and stage markers go
exp=exp          # where experiments (checkpoints, metrics, results) go
pretrain_config=conf/pretrain.yaml
pretrain_opts="" # extra `asrkit pretrain` options, e.g. "--set optim.max_updates=100"
synth_opts=""   # extra `asrkit prepare synth` options, e.g. "--pretrain-hours 1 --train-speakers 60"
usage="Usage: $0 [--stage N] [--stop-stage M] [--force true] [--seed S] [--data DIR] [--exp DIR] [--pretrain-opts \"...\"] [--synth-opts \"...\"]"

. ./path.sh
. ./cmd.sh
. ../../utils/parse_options.sh

log() { echo -e "$(date '+%Y-%m-%d %H:%M:%S') (${0##*/}) $*"; }
run_stage() {  # run_stage N: true when stage N is selected and not already done
  [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ] || return 1
  if [ -f "$data/.stage$1.done" ] && [ "$force" != true ]; then
    log "Stage $1: done already ($data/.stage$1.done), skipping"; return 1
  fi
}
mkdir -p "$data"

if run_stage 0; then
  log "Stage 0: synthesise the corpus"
  rm -rf "$data/synth"
  # shellcheck disable=SC2086  # synth_opts holds several options
  asrkit prepare synth "$data/synth" --seed "$seed" --num-workers "$nj" $synth_opts
  touch "$data/.stage0.done"
fi

if run_stage 1; then
  log "Stage 1: manifests and validation"
  asrkit prepare librispeech "$data/synth" --out "$data/manifests"
  asrkit manifest validate "$data"/manifests/*.tsv --num-workers "$nj"
  touch "$data/.stage1.done"
fi

if run_stage 3; then
  log "Stage 3: wav2vec 2.0 pre-training ($pretrain_config)"
  # shellcheck disable=SC2086
  asrkit pretrain --config "$pretrain_config" --exp-dir "$exp/pretrain" \
    --set data.train_manifest="$data/manifests/pretrain.tsv" --set data.valid_manifest="$data/manifests/dev.tsv" \
    $pretrain_opts
  touch "$data/.stage3.done"
fi

log "Finished stages $stage-$stop_stage: corpus in $data/synth, manifests in $data/manifests, experiments in $exp"
