#!/usr/bin/env bash
# How much does wav2vec 2.0 pre-training buy, and does it buy less as labels grow (Baevski et al., 2020, Table 1)?
# `make reproduce-w2v2`: a 9-hour synthetic pool, one pre-training run of the demo model (conf/pretrain.yaml: 40 s
# batches) as long as a wall-time budget allows, and identical CTC fine-tuning (the demo's conf/finetune_10m.yaml)
# from scratch and from checkpoints of that run at 800, 1600, 3200, ... updates and its last; on the 1-hour split
# too, from the last checkpoint and from scratch. Each model is decoded on dev and test, greedy and with the 4-gram
# (LM weight / word score tuned on dev: its dev WER is for reference only; test WER is the headline). Output:
# $exp/sweep.tsv and the table in $exp/sweep.txt (updates, audio hours seen, validation contrastive accuracy, WERs)
# and $exp/sweep.png (test WER against pre-training updates, scratch as lines).
#
# The budget (--budget-minutes, the whole run from this script's start): before stage 3, a timed warm-up of the
# pre-training config and of one fine-tuning run (asrkit pretrain/finetune --estimate) gives their speed here;
# `asrkit sweep plan` then gives pre-training what is left after the time spent, a margin (--margin) and the
# fine-tuning runs and their decodes (--decode-minutes per model: a constant, there is no model to time yet), up
# to --pretrain-max-updates (a GPU fits far more than the curve needs). --pretrain-updates N skips the budget.
# The plan ($exp/plan/plan.yaml) is made once and reused while these knobs stay the same, so that a re-run on
# another machine (where auto would resolve differently) resumes or skips the same run; stage 3 records the
# updates and sweep points it trains for, and a plan that differs from a finished stage 3 is refused like any
# changed setting (--force true redoes it, with a new plan).
#
# Stages (the map of every asrkit recipe; 4 midtrain: none here):
#   0 data       synthesise the multi-engine corpus (offline) into $data/synth: --pretrain-hours 9, 10m/1h folds
#   1 manifests  LibriSpeech-layout prep -> $data/manifests/*.tsv, validated, summary table
#   2 lm         LM text from the grammar (dev/test sentences held out), 4-gram KenLM, lexicon -> $data/lm
#   3 pretrain   plan the sweep (timed warm-ups), pre-train -> $exp/pretrain (checkpoint_<k>.pt kept per point)
#   5 finetune   CTC: 10m from scratch and from each sweep point, 1h from scratch and from the last -> $exp/<name>
#   6 decode     dev and test of each model: greedy, and lexicon beam search with the 4-gram tuned on dev
#   7 score      sclite-exact WER -> $exp/results.tsv; the sweep report -> $exp/sweep.{tsv,txt,png}
# Finished stages are skipped on re-runs and a changed setting is refused (../../utils/stage.sh).
set -euo pipefail
cd "$(dirname "$0")"

stage=0
stop_stage=7
force=false
seed=0
data=data
exp=exp
budget_minutes=120      # wall time of the whole run (stages 0-7); auto fits pre-training into it
pretrain_updates=auto   # N, or auto: the most that fit the budget here (timed warm-up), up to the cap
# auto's cap: sweep points 800, 1600, 3200, 6400. A GPU reaches it in minutes; so may 2 CPU cores with native bf16:
# a warm-up on a 2-core AMD EPYC timed 0.24 s per 40 s update (26 min for 6400) when the machine was not loaded,
# but the demo's throughput there swung from 5 to 130 audio s/s with the load, and the cap keeps room for that.
pretrain_max_updates=6400
sweep_first=800         # the first sweep point; the next ones double (also the validation interval)
margin=0.2              # share of the remaining budget kept back: timings drift on a shared machine
# Minutes to decode one model (dev and test, greedy and 4-gram with its 20 tuning trials, nj=2): 47 s measured on
# the demo's fine-tuned model on a 2-core AMD EPYC (bf16, unloaded); the two 10-minute held-out-engine sets (greedy
# and 4-gram, no tuning) add about half of that by their size; 2.5 leaves room for a loaded machine.
decode_minutes=2.5
estimate_updates=20     # updates timed by each warm-up
pretrain_config=conf/pretrain.yaml
pretrain_opts=""        # extra `asrkit pretrain` options (also in the timed warm-up)
finetune_config=conf/finetune_10m.yaml  # the demo's (a link to ../w2v2_tiny/conf/): every run fine-tunes alike
finetune_opts=""        # extra `asrkit finetune` options, every run alike
finetune_updates=""     # fine-tuning updates, every run alike; empty: the config's (600)
trials=20               # LM weight / word score tuning trials on dev
beam=500                # beam of the dev and test decodes (paper §4.4: 1500 at test, 500 when tuning)
tune_beam=50            # beam of the tuning trials
decode_opts=""          # extra `asrkit decode` options for the LM decodes
lm_sentences=200000
synth_opts="--pretrain-hours 9"  # `asrkit prepare synth` options (replace them all when given)
usage="Usage: $0 [--stage N] [--stop-stage M] [--force true] [--budget-minutes M] [--pretrain-updates N|auto] [--pretrain-max-updates N] [--sweep-first N] [--margin F] [--decode-minutes M] [--estimate-updates N] [--seed S] [--data DIR] [--exp DIR] [--synth-opts \"...\"] [--pretrain-config F] [--pretrain-opts \"...\"] [--finetune-config F] [--finetune-opts \"...\"] [--finetune-updates N] [--trials N] [--beam N] [--tune-beam N] [--decode-opts \"...\"] [--lm-sentences N]"

. ./path.sh
. ./cmd.sh
. ../../utils/parse_options.sh
. ../../utils/stage.sh   # log, die, to_file, selected, run_stage, stage_done

mkdir -p "$data" "$exp"
plan=$exp/plan/plan.yaml

plan_get() {  # plan_get FILE KEY: a value of a YAML file (a list space-separated)
  python -c 'import sys, yaml
v = (yaml.safe_load(open(sys.argv[1])) or {}).get(sys.argv[2], "")
print(" ".join(map(str, v)) if isinstance(v, list) else v)' "$1" "$2"
}
minutes() { awk -v s="$1" 'BEGIN { printf "%.0f min", s / 60 }'; }
unseen_sets() {  # the held-out-engine test sets the corpus has (clean, telephone)
  for split in test_unseen_engine test_unseen_engine_tel; do
    if [ -f "$data/manifests/$split.tsv" ]; then echo "$split"; fi
  done
}

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

if run_stage 2 --after 1 lm_sentences; then
  log "Stage 2: LM text, 4-gram KenLM and lexicon"
  asrkit prepare lm-text "$data/lm/text.txt" --sentences "$lm_sentences" \
    --exclude "$data/manifests/dev.tsv" --exclude "$data/manifests/test.tsv"
  asrkit lm train "$data/lm/text.txt" --order 4 --out "$data/lm/4gram"
  asrkit lm eval "$data/lm/4gram.bin" "$data/manifests/dev.tsv"
  stage_done 2
fi

finetune_set=()
if [ -n "$finetune_updates" ]; then finetune_set=(--set "optim.max_updates=$finetune_updates"); fi
pretrain_data=(--set "data.train_manifest=$data/manifests/pretrain.tsv" --set "data.valid_manifest=$data/manifests/dev.tsv"
               --set "trainer.valid_every=$sweep_first")

make_plan() {  # make_plan OUT: time pre-training and one fine-tuning run here, and plan the sweep into OUT
  local dir; dir=$(dirname "$1")
  mkdir -p "$dir"
  log "Timing $estimate_updates pre-training and $estimate_updates fine-tuning updates here, to plan the sweep"
  # shellcheck disable=SC2086  # *_opts hold several options
  asrkit pretrain --config "$pretrain_config" --exp-dir "$dir/unused" "${pretrain_data[@]}" $pretrain_opts \
    --estimate "$estimate_updates" --estimate-out "$dir/pretrain_estimate.yaml"
  # shellcheck disable=SC2086
  asrkit finetune --config "$finetune_config" --exp-dir "$dir/unused" --init "" \
    --set data.train_manifest="$data/manifests/10m.tsv" --set data.valid_manifest="$data/manifests/dev.tsv" \
    "${finetune_set[@]}" $finetune_opts --estimate "$estimate_updates" --estimate-out "$dir/finetune_estimate.yaml"
  asrkit sweep plan --pretrain-estimate "$dir/pretrain_estimate.yaml" --finetune-estimate "$dir/finetune_estimate.yaml" \
    --budget-minutes "$budget_minutes" --elapsed-seconds "$SECONDS" --margin "$margin" \
    --decode-minutes "$decode_minutes" --updates "$pretrain_updates" --max-updates "$pretrain_max_updates" \
    --first "$sweep_first" --extra-runs 3 --request "$request" --out "$1"
}

# The plan: made (or reused) when stage 3 is selected; read from $plan by the stages after it.
request="pretrain_updates=$pretrain_updates budget_minutes=$budget_minutes pretrain_max_updates=$pretrain_max_updates"
request+=" sweep_first=$sweep_first margin=$margin decode_minutes=$decode_minutes finetune_updates=$finetune_updates"
new_plan=$plan
if selected 3; then
  if [ "$force" != true ] && [ -f "$plan" ] && [ "$(plan_get "$plan" request)" = "$request" ]; then
    log "Stage 3: the sweep as planned before ($plan); delete it, or change --pretrain-updates or --budget-minutes, to plan again"
  else
    new_plan=$exp/plan/plan.new.yaml
    make_plan "$new_plan"
  fi
elif [ "$stop_stage" -ge 5 ] && [ ! -f "$plan" ]; then
  die "no sweep plan ($plan): run stage 3, which makes it"
fi
planned_updates="" sweep=""  # sweep: the pre-training updates fine-tuned from (the last = planned_updates)
if [ -f "$new_plan" ]; then planned_updates=$(plan_get "$new_plan" updates); sweep=$(plan_get "$new_plan" points); fi
last=${sweep##* }

if run_stage 3 --after 1 --resumes "$exp/pretrain" pretrain_config pretrain_opts planned_updates sweep sweep_first data
then
  if [ "$new_plan" != "$plan" ]; then mv -f "$new_plan" "$plan"; new_plan=$plan; fi
  log "Stage 3: wav2vec 2.0 pre-training for $planned_updates updates, checkpoints kept at ${sweep// /, };" \
      "estimated $(minutes "$(plan_get "$plan" pretrain_seconds)") (whole run: $(minutes "$(plan_get "$plan" estimated_total_seconds)") of $budget_minutes min)"
  # shellcheck disable=SC2086
  asrkit pretrain --config "$pretrain_config" --exp-dir "$exp/pretrain" "${pretrain_data[@]}" \
    --set optim.max_updates="$planned_updates" --set trainer.save_updates="[${sweep// /,}]" $pretrain_opts
  stage_done 3
fi
if [ "$new_plan" != "$plan" ]; then mv -f "$new_plan" "$plan"; fi  # stage 3 skipped: the same updates and points

runs() {  # the fine-tuning runs, one a line: NAME INIT_CHECKPOINT (- = from scratch) LABELS
  local k
  for k in $sweep; do echo "pt${k}_10m $exp/pretrain/checkpoint_$k.pt 10m"; done
  echo "scratch_10m - 10m"
  # the 1-hour runs: six times the labels, the same updates (the compute is the same, the labels differ)
  echo "pt${last}_1h $exp/pretrain/checkpoint_$last.pt 1h"
  echo "scratch_1h - 1h"
}
names=()
while read -r name _; do names+=("$name"); done < <(runs)
resumes=()
for name in "${names[@]}"; do resumes+=(--resumes "$exp/$name"); done

if run_stage 5 --after "1 3" "${resumes[@]}" finetune_config finetune_opts finetune_updates sweep data; then
  per_run=$(plan_get "$plan" finetune_seconds_per_run)
  log "Stage 5: ${#names[@]} CTC fine-tuning runs of ${finetune_updates:-$finetune_config} updates: ${names[*]};" \
      "estimated $(minutes "$(awk -v n="${#names[@]}" -v s="$per_run" 'BEGIN { print n * s }')")"
  while read -r name init labels; do
    if [ "$init" = - ]; then init=""; fi
    # shellcheck disable=SC2086
    asrkit finetune --config "$finetune_config" --exp-dir "$exp/$name" --init "$init" \
      --set data.train_manifest="$data/manifests/$labels.tsv" --set data.valid_manifest="$data/manifests/dev.tsv" \
      "${finetune_set[@]}" $finetune_opts
  done < <(runs)
  stage_done 5
fi

if run_stage 6 --after "1 2 5" trials beam tune_beam decode_opts data; then
  log "Stage 6: decode dev and test with ${#names[@]} models (greedy; 4-gram lexicon beam search tuned on dev);" \
      "estimated $(minutes "$(awk -v n="${#names[@]}" -v m="$decode_minutes" 'BEGIN { print n * m * 60 }')")"
  for name in "${names[@]}"; do
    model="$exp/$name/checkpoint_best.pt"
    rm -rf "$exp/$name"/{dev,test}_{greedy,4gram}
    for split in dev test; do
      asrkit decode --checkpoint "$model" --manifest "$data/manifests/$split.tsv" --out-dir "$exp/$name/${split}_greedy"
    done
    # shellcheck disable=SC2086
    asrkit decode --checkpoint "$model" --manifest "$data/manifests/test.tsv" --out-dir "$exp/$name/test_4gram" \
      --lm "$data/lm/4gram.bin" --lexicon "$data/lm/lexicon.txt" --tune "$data/manifests/dev.tsv" \
      --trials "$trials" --beam-size "$beam" --tune-beam-size "$tune_beam" --num-workers "$nj" $decode_opts
    # dev with the weights tuned on it: for reference (test is the held-out measure)
    tuned="$exp/$name/test_4gram/decode.yaml"
    # shellcheck disable=SC2086
    asrkit decode --checkpoint "$model" --manifest "$data/manifests/dev.tsv" --out-dir "$exp/$name/dev_4gram" \
      --lm "$data/lm/4gram.bin" --lexicon "$data/lm/lexicon.txt" --lm-weight "$(plan_get "$tuned" lm_weight)" \
      --word-score "$(plan_get "$tuned" word_score)" --beam-size "$beam" --num-workers "$nj" $decode_opts
    # the held-out-engine sets (an engine and speaker never heard in training; clean and telephone), same weights
    for split in $(unseen_sets); do
      rm -rf "$exp/$name/${split}"_{greedy,4gram}
      asrkit decode --checkpoint "$model" --manifest "$data/manifests/$split.tsv" --out-dir "$exp/$name/${split}_greedy"
      # shellcheck disable=SC2086
      asrkit decode --checkpoint "$model" --manifest "$data/manifests/$split.tsv" --out-dir "$exp/$name/${split}_4gram" \
        --lm "$data/lm/4gram.bin" --lexicon "$data/lm/lexicon.txt" --lm-weight "$(plan_get "$tuned" lm_weight)" \
        --word-score "$(plan_get "$tuned" word_score)" --beam-size "$beam" --num-workers "$nj" $decode_opts
    done
  done
  stage_done 6
fi

if run_stage 7 --after 6; then
  log "Stage 7: score, and the sweep report"
  rm -f "$exp/results.tsv"
  for name in "${names[@]}"; do
    for split in dev test $(unseen_sets); do
      for dec in greedy 4gram; do
        d="$exp/$name/${split}_$dec"
        to_file "$d/score.txt" asrkit score --ref "$d/ref.trn" --hyp "$d/hyp.trn" --results "$exp/results.tsv" \
          --exp "$name" --decoder "$dec" --split "$split"
      done
    done
  done
  asrkit sweep report "$exp/results.tsv" --exp-dir "$exp" --out "$exp/sweep.tsv" --plot "$exp/sweep.png" |
    tee "$exp/sweep.txt"
  stage_done 7
fi

log "Finished stages $stage-$stop_stage in $(minutes "$SECONDS") (budget $budget_minutes min): corpus in $data/synth," \
    "experiments in $exp, the sweep in $exp/sweep.{txt,tsv,png}"
