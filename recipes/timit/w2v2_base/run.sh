#!/usr/bin/env bash
# wav2vec 2.0 phone recognition on TIMIT (Baevski et al., 2020, §5.3 / Table 3: LARGE LS-960, no LM, PER 7.4 dev /
# 8.3 test): a pre-trained BASE (../../librispeech/w2v2_base stage 3, or a converted fairseq checkpoint) fine-tuned
# with CTC on the 38 phones of the 39-class set, decoded greedily, scored as PER on dev and the core test set.
#
#   0 data       check the corpus: TIMIT is LDC93S1 from the LDC, not downloadable; put it at $corpus
#   1 manifests  local/prepare_timit.py: train (TRAIN without SA), dev (Kaldi's 50 speakers), test (the 24-speaker
#                core test set), phones folded 61 -> 48 -> 39; validation
#   5 finetune   $train_cmd finetune (conf/finetune.yaml: Libri-light 10 h's settings, Table 6's TIMIT column)
#   6 decode     dev and test, greedy (no LM, as the paper)
#   7 score      sclite-identical PER -> $exp/results.tsv
# Finished stages leave .stageN.done in $data (0-1) or $exp (5-7), holding the settings they ran with, and are
# skipped on re-runs; a finished stage re-run with other settings is refused with the changes listed: pass
# --force true to redo it. See ../../utils/stage.sh.
set -euo pipefail
cd "$(dirname "$0")"

stage=0
stop_stage=7
force=false
corpus=corpus    # TIMIT: TRAIN/ and TEST/ (LDC's layout, either case), or one directory above them
data=data
exp=exp
pretrained=../../librispeech/w2v2_base/exp/pretrain/checkpoint_best.pt  # "" trains BASE from scratch
finetune_config=conf/finetune.yaml
finetune_opts="" # extra `asrkit finetune` options, e.g. "--set optim.update_freq=8" on one GPU
usage="Usage: $0 [--stage N] [--stop-stage M] [--corpus DIR] [--data DIR] [--exp DIR] [--pretrained CKPT] [--finetune-config F] [--finetune-opts \"...\"] [--force true]"

. ./path.sh
. ./cmd.sh
. ../../utils/parse_options.sh
. ../../utils/stage.sh   # log, die, to_file, selected, run_stage, stage_done

mkdir -p "$data" "$exp"
splits=(dev test)

# Each stage: run_stage N [--after STAGES it reads] [--resumes its training dir] SETTINGS (see ../../utils/stage.sh)
if run_stage 0 corpus; then
  log "Stage 0: check the corpus in $corpus (TIMIT, LDC93S1: licensed from https://catalog.ldc.upenn.edu/LDC93S1)"
  ../../../local/prepare_timit.py "$corpus" --check
  stage_done 0
fi

if run_stage 1 --after 0 corpus; then
  log "Stage 1: manifests (train, dev, core test; 39-class phones)"
  ../../../local/prepare_timit.py "$corpus" --out "$data/manifests"
  asrkit manifest validate "$data"/manifests/{train,dev,test}.tsv --num-workers "$nj" \
    --charset "abcdefghijklmnopqrstuvwxyz "   # phones: lower-case letters and spaces
  stage_done 1
fi

if run_stage 5 --after 1 --resumes "$exp/finetune" finetune_config finetune_opts pretrained data; then
  log "Stage 5: CTC fine-tuning on phones ($finetune_config, from ${pretrained:-scratch})"
  # shellcheck disable=SC2086  # finetune_opts holds several options
  $train_cmd finetune --config "$finetune_config" --exp-dir "$exp/finetune" --init "$pretrained" \
    --set data.train_manifest="$data/manifests/train.tsv" --set data.valid_manifest="$data/manifests/dev.tsv" \
    $finetune_opts
  stage_done 5
fi

if run_stage 6 --after "1 5" data; then
  log "Stage 6: greedy decoding of dev and the core test set"
  for split in "${splits[@]}"; do
    rm -rf "$exp/finetune/${split}_greedy"
    asrkit decode --checkpoint "$exp/finetune/checkpoint_best.pt" --manifest "$data/manifests/$split.tsv" \
      --out-dir "$exp/finetune/${split}_greedy"
  done
  stage_done 6
fi

if run_stage 7 --after 6; then
  log "Stage 7: phone error rates"
  rm -f "$exp/results.tsv"
  for split in "${splits[@]}"; do
    d="$exp/finetune/${split}_greedy"
    to_file "$d/score.txt" asrkit score --unit phone --ref "$d/ref.trn" --hyp "$d/hyp.trn" \
      --results "$exp/results.tsv" --exp finetune --decoder greedy --split "$split"
  done
  asrkit results "$exp/results.tsv"
  stage_done 7
fi

log "Finished stages $stage-$stop_stage: manifests in $data/manifests, experiments in $exp"
