#!/usr/bin/env bash
# Phone recognition on the built-in synthetic corpus: wav2vec 2.0's TIMIT protocol (§5.3: CTC on phones, greedy, PER)
# in miniature, on w2v2_tiny's corpus and pre-trained model. The targets are the phones espeak-ng reported speaking
# each utterance (flite's and festival's mapped into its set), folded to the 39-class set.
#
#   0 data       w2v2_tiny's corpus and word manifests in $corpus (../w2v2_tiny/data: made there by
#                ../w2v2_tiny/run.sh --stage 0 --stop-stage 1 when missing); this recipe only reads them
#   1 manifests  local/prepare_synth_phones.py: the word manifests with text = phones -> $data/manifests
#   3 pretrain   w2v2_tiny's pre-trained model ($pretrained) when it exists, else its conf/pretrain.yaml -> $exp/pretrain
#   5 finetune   CTC on the 10-minute split's phones with w2v2_tiny's conf/finetune_10m.yaml, from the pre-trained
#                model and from scratch -> $exp/{pretrained,scratch}_10m
#   6 decode     greedy (no LM): test, and the held-out engine's sets (clean, telephone) where the corpus has them
#   7 score      sclite-exact PER per decode -> $exp/results.tsv
# Finished stages leave .stageN.done in $data (0-1) or $exp (3-7), holding the settings they ran with, and are
# skipped on re-runs; other settings for a finished stage are refused with the changes listed (--force true redoes
# it). See ../../utils/stage.sh.
set -euo pipefail
cd "$(dirname "$0")"

stage=0
stop_stage=7
force=false
seed=0
corpus=../w2v2_tiny/data   # w2v2_tiny's data dir: synth/ (the corpus) and manifests/ (its word manifests); read only
data=data                  # this recipe's phone manifests (stages 0-1)
exp=exp                    # checkpoints, decodes, results (stages 3-7)
pretrained=../w2v2_tiny/exp/pretrain/checkpoint_best.pt  # used when it exists; else stage 3 pre-trains
pretrain_config=../w2v2_tiny/conf/pretrain.yaml
pretrain_opts=""           # extra `asrkit pretrain` options
finetune_config=../w2v2_tiny/conf/finetune_10m.yaml   # w2v2_tiny's fine-tuning; run.sh sets data.tokenizer=phones
finetune_opts=""           # extra `asrkit finetune` options
finetune_updates=""        # fine-tuning updates per model; empty: the config's (600)
synth_opts=""              # `asrkit prepare synth` options when stage 0 has to make the corpus
usage="Usage: $0 [--stage N] [--stop-stage M] [--force true] [--seed S] [--corpus DIR] [--data DIR] [--exp DIR] [--pretrained CKPT] [--pretrain-config F] [--pretrain-opts \"...\"] [--finetune-config F] [--finetune-opts \"...\"] [--finetune-updates N] [--synth-opts \"...\"]"

. ./path.sh
. ./cmd.sh
. ../../utils/parse_options.sh
. ../../utils/stage.sh   # log, die, to_file, selected, run_stage, stage_done
. ../../utils/jobs.sh    # jobs_begin, job, jobs_wait: cmd.sh's train_nj runs of a stage side by side

mkdir -p "$data" "$exp"

test_sets() {  # test, and the held-out-engine sets where the corpus has them
  for set in test test_unseen_engine test_unseen_engine_tel; do
    if [ -f "$data/manifests/$set.tsv" ]; then echo "$set"; fi
  done
}

if run_stage 0 corpus seed synth_opts; then
  if [ -f "$corpus/manifests/10m.tsv" ] && [ -d "$corpus/synth/metadata" ]; then
    log "Stage 0: w2v2_tiny's corpus in $corpus"
  else
    log "Stage 0: no corpus in $corpus: w2v2_tiny's stages 0-1 make it there"
    mkdir -p "$corpus"
    ../w2v2_tiny/run.sh --stage 0 --stop-stage 1 --data "$(cd "$corpus" && pwd)" --seed "$seed" --synth-opts "$synth_opts"
  fi
  stage_done 0
fi

if run_stage 1 --after 0 corpus; then
  log "Stage 1: phone manifests (espeak-ng's phones, 39-class set)"
  ../../../local/prepare_synth_phones.py "$corpus/synth" "$corpus/manifests" --out "$data/manifests"
  asrkit manifest validate "$data"/manifests/*.tsv --num-workers "$nj" --no-audio \
    --charset "abcdefghijklmnopqrstuvwxyz "   # phones: lower-case letters and spaces
  stage_done 1
fi

# the pre-trained model: w2v2_tiny's when it exists, else stage 3's
if [ -n "$pretrained" ] && [ -f "$pretrained" ]; then init=$pretrained; after5="1"
else init=$exp/pretrain/checkpoint_best.pt; after5="1 3"; fi
if [ "$init" = "$pretrained" ]; then
  if selected 3; then log "Stage 3: pre-trained model $pretrained"; fi
elif run_stage 3 --after 0 --resumes "$exp/pretrain" pretrain_config pretrain_opts corpus; then
  log "Stage 3: wav2vec 2.0 pre-training ($pretrain_config)"
  # shellcheck disable=SC2086
  asrkit pretrain --config "$pretrain_config" --exp-dir "$exp/pretrain" \
    --set data.train_manifest="$corpus/manifests/pretrain.tsv" --set data.valid_manifest="$corpus/manifests/dev.tsv" \
    $pretrain_opts
  stage_done 3
fi

if run_stage 5 --after "$after5" --resumes "$exp/pretrained_10m" --resumes "$exp/scratch_10m" \
     init finetune_config finetune_opts finetune_updates data; then
  opts=$finetune_opts
  if [ -n "$finetune_updates" ]; then opts="--set optim.max_updates=$finetune_updates $opts"; fi
  # side by side (cmd.sh's train_nj), one torch thread each, as w2v2_tiny
  if [ "${train_nj:-1}" -gt 1 ]; then opts="--set trainer.threads=1 $opts"; fi
  log "Stage 5: CTC on the 10-minute split's phones, pre-trained and from scratch ($finetune_config${finetune_updates:+, $finetune_updates updates})"
  finetune_one() {  # finetune_one pretrained|scratch
    local ckpt=""
    if [ "$1" = pretrained ]; then ckpt=$init; fi
    # shellcheck disable=SC2086
    asrkit finetune --config "$finetune_config" --exp-dir "$exp/$1_10m" --init "$ckpt" \
      --set data.train_manifest="$data/manifests/10m.tsv" --set data.valid_manifest="$data/manifests/dev.tsv" \
      --set data.tokenizer=phones $opts
  }
  jobs_begin 2
  for model in pretrained scratch; do job "$exp/${model}_10m/run.log" finetune_one "$model"; done
  jobs_wait "Stage 5"
  stage_done 5
fi

if run_stage 6 --after "1 5" data; then
  log "Stage 6: greedy decoding of the test sets"
  for model in pretrained scratch; do
    for set in $(test_sets); do
      rm -rf "$exp/${model}_10m/${set}_greedy"
      asrkit decode --checkpoint "$exp/${model}_10m/checkpoint_best.pt" --manifest "$data/manifests/$set.tsv" \
        --out-dir "$exp/${model}_10m/${set}_greedy"
    done
  done
  stage_done 6
fi

if run_stage 7 --after 6; then
  log "Stage 7: phone error rates"
  rm -f "$exp/results.tsv"
  for set in $(test_sets); do
    for model in pretrained scratch; do
      d="$exp/${model}_10m/${set}_greedy"
      to_file "$d/score.txt" asrkit score --unit phone --ref "$d/ref.trn" --hyp "$d/hyp.trn" \
        --results "$exp/results.tsv" --exp "${model}_10m" --decoder greedy --split "$set"
    done
  done
  asrkit results "$exp/results.tsv"
  stage_done 7
fi

log "Finished stages $stage-$stop_stage: phone manifests in $data/manifests, experiments in $exp"
