#!/usr/bin/env bash
# wav2vec 2.0 on the built-in synthetic spoken-command corpus. The model is the recipe directory's conf/:
# demo in w2v2_tiny, sew_d_demo in sewd_tiny (whose run.sh, path.sh and cmd.sh link here). sewd_tiny can
# start from this recipe's corpus and LM: ../sewd_tiny/run.sh --stage 3 --data ../w2v2_tiny/data
# (relative paths are taken from the recipe directory).
#
# Stages (one map for every asrkit recipe):
#   0 data       synthesise the corpus (espeak-ng, flite, festival; rooms, noise, telephone; offline) into $data/synth
#   1 manifests  LibriSpeech-layout prep -> $data/manifests/*.tsv, validated, summary table
#   2 lm         LM text from the grammar (dev/test sentences held out), 4-gram KenLM, lexicon -> $data/lm;
#                with --transformer-lm true also the tiny word-level Transformer LM (wav2vec 2.0 §4.4) -> $data/lm/transformer
#   3 pretrain   wav2vec 2.0 self-supervised pre-training on the unlabeled pool -> $exp/pretrain
#   5 finetune   CTC on the 10-minute split, from the pre-trained model and from scratch -> $exp/{pretrained,scratch}_10m
#   6 decode     test sets (test; test_unseen_engine and its telephone copy: an engine and speaker never heard in
#                training): greedy, and lexicon beam search with the 4-gram (LM weight/word score tuned on dev);
#                with --transformer-lm true the test set also with the Transformer LM in the beam search (tlm) and
#                with the 4-gram's N-best list rescored by it (4gram_tlm), each tuned on dev
#   7 score      sclite-exact WER/CER per decode, one results table -> $exp/results.tsv
# Finished stages leave .stageN.done in $data (0-2) or $exp (3-7), holding the settings they ran with, and are
# skipped on re-runs; a re-run with other settings for a finished stage (--seed, --synth-opts, a config, ...) is
# refused with the changes listed: pass --force true to redo it. A stage that fails or is interrupted is not
# marked done; re-run it to go on (training resumes from its last checkpoint). See ../../utils/stage.sh.
set -euo pipefail
cd "$(dirname "$0")"

stage=0
stop_stage=7
force=false
seed=0
data=data        # corpus, manifests, LM (stages 0-2)
exp=exp          # checkpoints, decodes, results (stages 3-7)
pretrain_config=conf/pretrain.yaml
pretrain_opts="" # extra `asrkit pretrain` options, e.g. "--set optim.max_updates=100"
finetune_config=conf/finetune_10m.yaml
finetune_opts="" # extra `asrkit finetune` options
finetune_updates="" # fine-tuning updates per model; empty: the config's (600)
trials=20        # LM weight / word score tuning trials on dev (paper: 128; 2.8 s each here with 2 workers)
beam=500         # beam of the test decode (paper §4.4: 1500 at test, 500 when tuning)
tune_beam=50     # beam of the tuning trials on dev: ten times cheaper than the test's
decode_opts=""   # extra `asrkit decode` options for the LM decode, e.g. "--beam-threshold 50"
lm_sentences=200000
# The Transformer LM of wav2vec 2.0 §4.4 in miniature (asrkit lm train --type transformer, `tiny`: 2 x 128): off
# in make demo, whose 25 minutes it would exceed (its training, and a beam search that runs one LM forward per new
# word history in Python, 8-12x KenLM's time; docs/reproduction.md, docs/benchmarks.md)
transformer_lm=false
tlm_opts="--set optim.max_updates=500"  # extra `asrkit lm train --type transformer` options
nbest=20         # hypotheses of the 4-gram beam the Transformer LM rescores
synth_opts=""   # extra `asrkit prepare synth` options, e.g. "--pretrain-hours 1 --train-speakers 60"
usage="Usage: $0 [--stage N] [--stop-stage M] [--force true] [--seed S] [--data DIR] [--exp DIR] [--synth-opts \"...\"] [--pretrain-config F] [--pretrain-opts \"...\"] [--finetune-config F] [--finetune-opts \"...\"] [--finetune-updates N] [--trials N] [--beam N] [--tune-beam N] [--decode-opts \"...\"] [--lm-sentences N] [--transformer-lm true|false] [--tlm-opts \"...\"] [--nbest N]"

. ./path.sh
. ./cmd.sh
. ../../utils/parse_options.sh
. ../../utils/stage.sh   # log, die, to_file, selected, run_stage, stage_done
. ../../utils/jobs.sh    # jobs_begin, job, jobs_wait: cmd.sh's train_nj runs of a stage side by side

mkdir -p "$data" "$exp"

# The test sets: test, and the held-out-engine sets (clean, telephone) where the corpus has them
test_sets() {
  echo test
  for set in test_unseen_engine test_unseen_engine_tel; do
    if [ -f "$data/manifests/$set.tsv" ]; then echo "$set"; fi
  done
}
# The LM weight and word score a decode tuned on dev (its decode.yaml)
tuned_weights() {
  python -c 'import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); print(d["lm_weight"], d["word_score"])' "$1"
}

# Each stage: run_stage N [--after STAGES it reads] [--resumes its training dirs] SETTINGS (see ../../utils/stage.sh)
if run_stage 0 seed synth_opts; then
  log "Stage 0: synthesise the corpus"
  rm -rf "$data/synth"
  # shellcheck disable=SC2086  # synth_opts holds several options
  asrkit prepare synth "$data/synth" --seed "$seed" --num-workers "$nj" $synth_opts
  stage_done 0
fi

if run_stage 1 --after 0; then
  log "Stage 1: manifests and validation"
  asrkit prepare librispeech "$data/synth" --out "$data/manifests"
  asrkit manifest validate "$data"/manifests/*.tsv --num-workers "$nj"
  stage_done 1
fi

tlm_settings=()  # stage 2 records the Transformer LM's settings only where it trains one
if [ "$transformer_lm" = true ]; then tlm_settings=(transformer_lm tlm_opts); fi
if run_stage 2 --after 1 lm_sentences "${tlm_settings[@]}"; then
  log "Stage 2: LM text, 4-gram KenLM and lexicon$([ "$transformer_lm" = true ] && echo ", Transformer LM")"
  asrkit prepare lm-text "$data/lm/text.txt" --sentences "$lm_sentences" \
    --exclude "$data/manifests/dev.tsv" --exclude "$data/manifests/test.tsv"
  asrkit lm train "$data/lm/text.txt" --order 4 --out "$data/lm/4gram"
  asrkit lm eval "$data/lm/4gram.bin" "$data/manifests/dev.tsv"
  if [ "$transformer_lm" = true ]; then
    rm -rf "$data/lm/transformer"
    # shellcheck disable=SC2086
    asrkit lm train "$data/lm/text.txt" --type transformer --out "$data/lm/transformer" $tlm_opts
    asrkit lm eval "$data/lm/transformer/checkpoint_best.pt" "$data/manifests/dev.tsv"
  fi
  stage_done 2
fi

if run_stage 3 --after 1 --resumes "$exp/pretrain" pretrain_config pretrain_opts data; then
  log "Stage 3: wav2vec 2.0 pre-training ($pretrain_config)"
  # shellcheck disable=SC2086
  asrkit pretrain --config "$pretrain_config" --exp-dir "$exp/pretrain" \
    --set data.train_manifest="$data/manifests/pretrain.tsv" --set data.valid_manifest="$data/manifests/dev.tsv" \
    $pretrain_opts
  stage_done 3
fi

if run_stage 5 --after "1 3" --resumes "$exp/pretrained_10m" --resumes "$exp/scratch_10m" \
     finetune_config finetune_opts finetune_updates data; then
  opts=$finetune_opts
  if [ -n "$finetune_updates" ]; then opts="--set optim.max_updates=$finetune_updates $opts"; fi
  # side by side (cmd.sh's train_nj), one torch thread each: ~1.5x the work of one two-thread run after the other
  if [ "${train_nj:-1}" -gt 1 ]; then opts="--set trainer.threads=1 $opts"; fi
  log "Stage 5: CTC fine-tuning on 10 minutes, pre-trained and from scratch ($finetune_config${finetune_updates:+, $finetune_updates updates})"
  finetune_one() {  # finetune_one pretrained|scratch
    local ckpt=""
    if [ "$1" = pretrained ]; then ckpt="$exp/pretrain/checkpoint_best.pt"; fi
    # shellcheck disable=SC2086
    asrkit finetune --config "$finetune_config" --exp-dir "$exp/$1_10m" --init "$ckpt" \
      --set data.train_manifest="$data/manifests/10m.tsv" --set data.valid_manifest="$data/manifests/dev.tsv" \
      $opts
  }
  jobs_begin 2
  for init in pretrained scratch; do job "$exp/${init}_10m/run.log" finetune_one "$init"; done
  jobs_wait "Stage 5"
  stage_done 5
fi

tlm_decode=()  # stage 6 records the Transformer LM decodes' settings only where it runs them
if [ "$transformer_lm" = true ]; then tlm_decode=(transformer_lm nbest); fi
if run_stage 6 --after "1 2 5" trials beam tune_beam decode_opts data "${tlm_decode[@]}"; then
  log "Stage 6: decode the test sets (greedy; 4-gram lexicon beam search tuned on dev)"
  for init in pretrained scratch; do
    model="$exp/${init}_10m/checkpoint_best.pt"
    for set in $(test_sets); do rm -rf "$exp/${init}_10m/${set}_greedy" "$exp/${init}_10m/${set}_4gram"; done
    asrkit decode --checkpoint "$model" --manifest "$data/manifests/test.tsv" --out-dir "$exp/${init}_10m/test_greedy"
    # shellcheck disable=SC2086
    asrkit decode --checkpoint "$model" --manifest "$data/manifests/test.tsv" --out-dir "$exp/${init}_10m/test_4gram" \
      --lm "$data/lm/4gram.bin" --lexicon "$data/lm/lexicon.txt" --tune "$data/manifests/dev.tsv" \
      --trials "$trials" --beam-size "$beam" --tune-beam-size "$tune_beam" --num-workers "$nj" $decode_opts
    if [ "$transformer_lm" = true ]; then  # the test set with the Transformer LM: in the search, and rescoring
      rm -rf "$exp/${init}_10m/test_tlm" "$exp/${init}_10m/test_4gram_tlm"
      # shellcheck disable=SC2086
      asrkit decode --checkpoint "$model" --manifest "$data/manifests/test.tsv" --out-dir "$exp/${init}_10m/test_tlm" \
        --lm "$data/lm/transformer/checkpoint_best.pt" --lexicon "$data/lm/lexicon.txt" --tune "$data/manifests/dev.tsv" \
        --trials "$trials" --beam-size "$beam" --tune-beam-size "$tune_beam" --num-workers "$nj" $decode_opts
      # shellcheck disable=SC2086
      asrkit decode --checkpoint "$model" --manifest "$data/manifests/test.tsv" --out-dir "$exp/${init}_10m/test_4gram_tlm" \
        --lm "$data/lm/4gram.bin" --lexicon "$data/lm/lexicon.txt" --tune "$data/manifests/dev.tsv" \
        --rescore-lm "$data/lm/transformer/checkpoint_best.pt" --nbest "$nbest" \
        --trials "$trials" --beam-size "$beam" --tune-beam-size "$tune_beam" --num-workers "$nj" $decode_opts
    fi
    # the held-out-engine sets (clean and telephone) with the weights tuned on dev
    for set in $(test_sets); do
      [ "$set" = test ] && continue
      read -r lm_weight word_score < <(tuned_weights "$exp/${init}_10m/test_4gram/decode.yaml")
      asrkit decode --checkpoint "$model" --manifest "$data/manifests/$set.tsv" --out-dir "$exp/${init}_10m/${set}_greedy"
      # shellcheck disable=SC2086
      asrkit decode --checkpoint "$model" --manifest "$data/manifests/$set.tsv" --out-dir "$exp/${init}_10m/${set}_4gram" \
        --lm "$data/lm/4gram.bin" --lexicon "$data/lm/lexicon.txt" --lm-weight "$lm_weight" --word-score "$word_score" \
        --beam-size "$beam" --num-workers "$nj" $decode_opts
    done
  done
  stage_done 6
fi

if run_stage 7 --after 6; then
  log "Stage 7: score"
  rm -f "$exp/results.tsv"
  for set in $(test_sets); do
    for init in pretrained scratch; do
      for dec in greedy 4gram tlm 4gram_tlm; do
        d="$exp/${init}_10m/${set}_$dec"
        if [[ $dec == *tlm ]] && [ ! -f "$d/hyp.trn" ]; then continue; fi  # the test set with --transformer-lm true
        to_file "$d/score.txt" asrkit score --ref "$d/ref.trn" --hyp "$d/hyp.trn" --results "$exp/results.tsv" \
          --exp "${init}_10m" --decoder "$dec" --split "$set"
      done
    done
  done
  asrkit results "$exp/results.tsv"
  stage_done 7
fi

log "Finished stages $stage-$stop_stage: corpus in $data/synth, manifests in $data/manifests, experiments in $exp"
