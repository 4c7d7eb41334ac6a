#!/usr/bin/env bash
# SUPERB's four downstream tasks (KS, IC, PR, SD) on the built-in analogs, with the multi-stage recipe's encoders as
# frozen upstreams: the multi-stage paper's Figure 2 in miniature (Jain et al., 2024): how speech-translation
# mid-training changes each task for MAE+CLR upstreams (paper: KS, IC and PR improve, SD gets worse).
#   make reproduce-superb     the whole: upstreams from ../multistage (MAE+CLR on the LRS3- and Kinetics-like sets,
#                             each with and without en-it mid-training), 4 tasks x 4 upstreams, PR's random upstream
#
#   ./run.sh                                            # everything, as make reproduce-superb
#   ./run.sh --stage 5 --upstreams "w2v2=../w2v2_tiny/exp/pretrain/checkpoint_last.pt"   # other upstreams
#   ./run.sh --stage 5 --tasks "ks pr" --superb-opts "--set optim.max_updates=500"
#
# Stages (the map of every asrkit recipe):
#   0 data       the built-in corpus (asrkit prepare synth: its 1-hour split, dev and test speakers) -> $data/synth;
#                Speech Commands-, Fluent Speech Commands- and Libri2Mix-layout sets (asrkit prepare synth-superb)
#                -> $data/corpora
#   1 manifests  local/prepare_{speech_commands,fluent_commands,librispeech_phones,librimix}.py, as for the real
#                corpora -> $data/superb/{ks,ic,pr,sd}/{train,dev,test}.tsv (sd: and .rttm)
#   3 pretrain   the upstreams: ../multistage stages 0-3 (--objectives, --pt-data) into $ms_data, $ms_exp
#   4 midtrain   ../multistage stage 4 (--midtrain-pairs)
#   5 finetune   asrkit superb: every task x upstream (train the downstream on cached hidden states, score its
#                best checkpoint on test; PR also on each architecture's random upstream) -> $exp/<task>_<upstream>
#   7 score      $exp/superb_results.tsv (asrkit superb appends) and $exp/superb_runs.tsv -> Figure 2
#                (asrkit superb-report) -> $exp/report/{figure2.md,figure2.tsv,figure2.png,layer_weights.png}
# Finished stages leave .stageN.done in $data (0-1) or $exp (3-7) and are skipped on re-runs (../../utils/stage.sh).
#
# make reproduce-superb on 2 CPU cores, fresh clone, measured (docs/reproduction.md): 57 minutes: install 1, stages 0-1 2, the
# multi-stage recipe's data 7, its two pre-trainings side by side 22 (eval-av included) and two mid-trainings 19,
# stage 5 and 7 (17 downstream trainings, cmd.sh's train_nj at a time, and Figure 2) 7.
set -euo pipefail
cd "$(dirname "$0")"

stage=0
stop_stage=7
force=false
seed=0
data=data        # corpora and manifests (stages 0-1)
exp=exp          # downstream runs, results, Figure 2 (stages 5-7)
# `asrkit prepare synth`: PR's corpus; espeak-ng only and clean, as the results in docs/reproduction.md were measured
synth_opts="--pretrain-hours 0.02 --dev-minutes 5 --test-minutes 5 --unseen-minutes 0 --engines espeak --rir 0 --noise 0 --eq 0 --gain-db 0 --telephone 0"
superb_synth_opts=""  # `asrkit prepare synth-superb` options (sizes: asrkit/data/synth/superb_corpus.py)
ms_data=data_superb  # the multi-stage recipe's --data and --exp for the upstreams (stages 3-4), as that recipe
ms_exp=exp_superb    # takes them: relative to ../multistage
objectives=mae_clr    # pre-training objectives of the upstreams (Figure 2: MAE+CLR)
pt_data="lrs3 kinetics"  # their pre-training sets
midtrain_pairs=en-it  # mid-training pairs; "" = pre-trained upstreams only
ms_opts=""       # extra ../multistage/run.sh options, e.g. "--pretrain-updates 300"
upstreams=""     # more upstreams, "name=checkpoint ...", e.g. a wav2vec 2.0 one; evaluated, not in Figure 2
tasks="ks ic pr sd"
random_baseline=pr  # tasks also run with random weights in the first upstream's architecture and in each of
                    # --upstreams' (SUPERB's baseline: what the pre-training adds)
superb_opts=""   # extra `asrkit superb` options, every run alike
usage="Usage: $0 [--stage N] [--stop-stage M] [--force true] [--seed S] [--data DIR] [--exp DIR] [--synth-opts \"...\"] [--superb-synth-opts \"...\"] [--ms-data DIR] [--ms-exp DIR] [--objectives \"mae clr mae_clr\"] [--pt-data \"lrs3 voxceleb2 kinetics\"] [--midtrain-pairs \"en-de en-it en-nl\"] [--ms-opts \"...\"] [--upstreams \"name=ckpt ...\"] [--tasks \"ks ic pr sd\"] [--random-baseline \"pr ...\"] [--superb-opts \"...\"]"

. ./path.sh
. ./cmd.sh
. ../../utils/parse_options.sh
. ../../utils/stage.sh   # log, die, to_file, selected, run_stage, stage_done
. ../../utils/jobs.sh    # job, jobs_wait: cmd.sh's train_nj runs of a stage side by side

for t in $tasks $random_baseline; do case $t in ks|ic|pr|sd) ;; *) die "--tasks: '$t' is not ks, ic, pr or sd" ;; esac; done
mkdir -p "$data" "$exp"
man=$data/superb
corpora=$data/corpora

if run_stage 0 seed synth_opts superb_synth_opts; then
  log "Stage 0: the built-in corpus (PR) and the Speech Commands-, Fluent Speech Commands- and Libri2Mix-layout sets"
  rm -rf "$data/synth" "$corpora"
  # shellcheck disable=SC2086  # *_opts hold several options
  asrkit prepare synth "$data/synth" --seed "$seed" --num-workers "$nj" $synth_opts
  # shellcheck disable=SC2086
  asrkit prepare synth-superb "$corpora" --tasks ks,ic,sd --seed "$seed" --num-workers "$nj" $superb_synth_opts
  stage_done 0
fi

if run_stage 1 --after 0; then
  log "Stage 1: the tasks' manifests, through the real corpora's preparation"
  rm -rf "$man"
  python ../../../local/prepare_speech_commands.py "$corpora/speech_commands_v0.01" --out "$man/ks" \
    --test-root "$corpora/speech_commands_test_set_v0.01" --keywords synth
  python ../../../local/prepare_fluent_commands.py "$corpora/fluent_speech_commands_dataset" --out "$man/ic"
  python ../../../local/prepare_librispeech_phones.py "$data/synth" --out "$man/pr" --synth
  python ../../../local/prepare_librimix.py "$corpora/Libri2Mix" --out "$man/sd"
  stage_done 1
fi

# the upstreams: NAME CHECKPOINT OBJECTIVE SET PAIR (pair none: pre-training only)
case $ms_exp in /*) ms_ckpts=$ms_exp ;; *) ms_ckpts=../multistage/$ms_exp ;; esac
runs=()
for d in $pt_data; do
  for o in $objectives; do
    runs+=("${o}_$d $ms_ckpts/pretrain_${o}_$d/checkpoint_last.pt $o $d none")
    for p in $midtrain_pairs; do
      runs+=("${o}_${d}_$p $ms_ckpts/midtrain_${o}_${d}_$p/checkpoint_best.pt $o $d $p")
    done
  done
done
for u in $upstreams; do runs+=("${u%%=*} ${u#*=} - - -"); done

ms() {  # the multi-stage recipe on the upstreams' settings
  # shellcheck disable=SC2086  # ms_opts holds several options
  ../multistage/run.sh --data "$ms_data" --exp "$ms_exp" --seed "$seed" --objectives "$objectives" \
    --pt-data "$pt_data" --midtrain-pairs "$midtrain_pairs" $ms_opts "$@"
}
if run_stage 3 ms_data ms_exp objectives pt_data ms_opts; then
  log "Stage 3: the upstreams' pre-training (../multistage stages 0-3: $objectives on $pt_data)"
  ms --stage 0 --stop-stage 3
  stage_done 3
fi
if [ -n "$midtrain_pairs" ] && run_stage 4 --after 3 midtrain_pairs; then
  log "Stage 4: the upstreams' mid-training (../multistage stage 4: $midtrain_pairs)"
  ms --stage 4 --stop-stage 4
  stage_done 4
fi

# stage 5 reads the upstreams of stages 3-4 by path (it checks they exist): their settings are its settings
if run_stage 5 --after 1 ms_exp objectives pt_data midtrain_pairs ms_opts tasks upstreams random_baseline superb_opts; then
  log "Stage 5: SUPERB $tasks on ${#runs[@]} upstreams (+ random: $random_baseline)"
  superb_one() {  # superb_one TASK NAME CHECKPOINT [--random-upstream]
    local task=$1 name=$2 ckpt=$3
    shift 3
    [ -f "$ckpt" ] || die "upstream $name: $ckpt not found (stages 3-4, or --upstreams)"
    # shellcheck disable=SC2086  # superb_opts holds several options
    asrkit superb --task "$task" --upstream "$ckpt" --data-dir "$man/$task" --exp-dir "$exp/${task}_$name" \
      --results "$exp/superb_results.tsv" --set data.feature_cache="$exp/features" "$@" $superb_opts
  }
  printf 'exp_dir\ttask\tupstream\tobjective\tdata\tpair\n' > "$exp/superb_runs.tsv"
  n=0
  for task in $tasks; do n=$((n + ${#runs[@]})); done
  for task in $random_baseline; do n=$((n + 1 + $(wc -w <<< "$upstreams"))); done  # at most: jobs_begin wants >1
  jobs_begin "$n"
  for task in $tasks; do
    for line in "${runs[@]}"; do
      read -r name ckpt o d p <<< "$line"
      job "$exp/${task}_$name/run.log" superb_one "$task" "$name" "$ckpt"
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$exp/${task}_$name" "$task" "$name" "$o" "$d" "$p" >> "$exp/superb_runs.tsv"
    done
  done
  for task in $random_baseline; do  # random weights in the architecture of the first upstream and of each other
    read -r name ckpt _ <<< "${runs[0]}"
    job "$exp/${task}_random/run.log" superb_one "$task" random "$ckpt" --random-upstream
    for u in $upstreams; do
      if [ "${u#*=}" = "$ckpt" ]; then continue; fi  # the first upstream's: run above
      job "$exp/${task}_random_${u%%=*}/run.log" superb_one "$task" "random_${u%%=*}" "${u#*=}" --random-upstream
    done
  done
  jobs_wait "Stage 5"
  stage_done 5
fi

if run_stage 7 --after 5; then
  log "Stage 7: the results and Figure 2 in miniature -> $exp/report"
  python - "$exp/superb_results.tsv" <<'PY'
import sys, pandas as pd
df = pd.read_csv(sys.argv[1], sep="\t", keep_default_na=False)
cols = [c for c in ("task", "exp_dir", "metric", "value", "dev_value", "baseline", "baseline_value", "scoring") if c in df]
print(df[cols].to_string(index=False))
PY
  # Figure 2 compares each mid-trained upstream with its pre-trained one: the rows with an objective
  awk -F"\t" 'NR == 1 || $4 != "-"' "$exp/superb_runs.tsv" > "$exp/superb_runs_figure2.tsv"
  if awk -F"\t" 'NR > 1 && $6 != "none"' "$exp/superb_runs_figure2.tsv" | grep -q .; then
    asrkit superb-report "$exp/superb_runs_figure2.tsv" "$exp/superb_results.tsv" --out-dir "$exp/report"
  fi
  stage_done 7
fi
