#!/usr/bin/env bash
# SEW-D's ablation ladder (Wu et al., 2021, Table 6) and Figure 1 in miniature, on the demo's corpus and budgets:
# each selected row's miniature model (asrkit ablation rows: every width of the paper's model halved, the depth
# kept) pre-trained and fine-tuned as make demo trains its model (w2v2_tiny's conf/, linked here) but at lower
# peak LRs for their 12 post-LN layers (--pretrain-lr, --finetune-lr; below), every row from the same seed and data
# order, decoded, and all of them timed in one interleaved benchmark; the results go to ONE table
# ($exp/ablation.tsv, a line per run), which a re-run with more rows adds to without re-training finished rows.
#   make reproduce-sewd                  rows 2-8, row 2 also with a second seed
#   ./run.sh --rows "1 9 figure1"        then Table 6's rows 1 and 9 and Figure 1's other sizes, added to the table
#   ./run.sh --rows 2-8 --stage 7        time every finished run again and rewrite the table and the figure
#
# Stages (the map of every asrkit recipe):
#   0-2 data     the demo's corpus, manifests and 4-gram in $data (../w2v2_tiny/data; where they are not finished,
#                ../w2v2_tiny/run.sh --stop-stage 2 makes them there, with --seed and --synth-opts); only read here
#   3 pretrain   per run (row x seed): w2v2_tiny's conf/pretrain.yaml with the row's model -> $exp/<run>/pretrain
#   5 finetune   per run: CTC on the 10-minute split, w2v2_tiny's conf/finetune_10m.yaml -> $exp/<run>/pretrained_10m
#   6 decode     per run: test, greedy and with the 4-gram (LM weight and word score tuned on dev)
#   7 score      per run: WER -> $exp/<run>/results.tsv, the run listed in $exp/runs.tsv; then, when a run was
#                scored now (or --retime true), every listed run's fine-tuned encoder timed on the test set in ONE
#                interleaved benchmark (batch 1, fp32, one thread; each utterance's time paired with row 2's),
#                asrkit ablation collect -> $exp/ablation.tsv, asrkit ablation report -> $exp/report/{table6.tsv,
#                table6.txt,figure1.png}
# Stages 3-7 keep a marker per run ($exp/.stageN.<run>.done) with the settings it ran with: a finished run is skipped,
# a changed setting refused (--force true redoes the selected runs). Trainings of one stage run train_nj at a time
# (cmd.sh, ../../utils/jobs.sh), each in one thread, its output in $exp/<run>/stageN.log.
#
# Time, measured (2026-12-06, fresh clone, 2-core AMD EPYC without AVX-512, fp32): the default's 8 runs, two at a
# time, 1 h 34 min for stages 3-7 (pre-training 46 min, fine-tuning 37, decoding 8, benchmark and report 5), after
# ~9 min for make reproduce-sewd's install and the demo's data; then --rows "1 9 figure1" 2 h 31 min, ~15 min of
# it rows 2 and 8 redone (docs/reproduction.md).
#
# LRs (measured 2026-12-06, fp32). The demo's 1e-3 (both stages) was tuned for its 4-layer model. On the rows' 12
# post-LN layers it left rows 2, 3 and 7 at chance in pre-training for all 800 updates: their quantizer picked a
# new code at 98 % of the frames (25-30 % kept the previous one in the rows that learned; code perplexity 172 / 200,
# held up by the diversity term), targets no context can predict. Dev contrastive accuracy after 800 updates, rows
# 2 (seeds 1, 2), 3, 4, 5, 6, 7, 8: at 1e-3 0.03, 0.06, 0.03, 0.28, 0.18, 0.23, 0.03, 0.30; at 5e-4 (wav2vec 2.0
# BASE's peak, §4.2, whose pre-training SEW-D follows) 0.06, 0.05, 0.13, 0.24, 0.16, 0.20, 0.18, 0.18: row 2
# (WFE-O) barely leaves chance with either (and with the paper's diversity weight 0.1: 0.03 at update 300). In
# fine-tuning at 1e-3 the squeezed rows diverged while the LR was held (train loss 109 -> 123 by update 300) and
# stayed on CTC's blank plateau (rows 3-7 dev loss 103-116, WER 100); from the same pre-trained row 4, dev loss after
# 600 updates was 116 at 1e-3 and 80 at 3e-4 (row 2: 73 and 85). One LR for every row, as the paper fine-tunes every
# row with W2V2's settings (and lowers it 5x where SEW-D-base+ was unstable, its Table 3 discussion).
set -euo pipefail
cd "$(dirname "$0")"

stage=0
stop_stage=7
force=false
seed=0               # the corpus's (stages 0-2)
rows=2-8             # asrkit ablation rows: ids 1-9 (Table 6), w2v2_mid, sewd_small, sewd_mid, ranges, figure1, all
seeds=1              # trainer.seed of every run (1: the demo's, the configs' default)
repeat_row=2         # this row also runs with --repeat-seeds, so that the seed-to-seed noise is visible
repeat_seeds=2
data=../w2v2_tiny/data  # the demo's corpus, manifests and 4-gram (stages 0-2), read only
exp=exp
pretrain_config=conf/pretrain.yaml        # the demo's (links to ../w2v2_tiny/conf/): every row trains alike
pretrain_lr=5e-4     # peak LR of every run's pre-training, for the config's 1e-3 (header: LRs)
pretrain_opts=""     # extra `asrkit pretrain` options, every run alike
finetune_config=conf/finetune_10m.yaml
finetune_lr=3e-4     # peak LR of every run's fine-tuning, for the config's 1e-3 (header: LRs)
finetune_opts=""     # extra `asrkit finetune` options, every run alike
finetune_updates=""    # fine-tuning updates per run; empty: the demo's config's (600)
trials=20            # LM weight / word score tuning trials on dev, as the demo
beam=500             # beam of the test decode
tune_beam=50         # beam of the tuning trials
decode_opts=""       # extra `asrkit decode` options for the 4-gram decode
bench_utterances=200 # test utterances timed (0: all)
bench_repeats=3      # rounds per utterance, its fastest kept
retime=false         # true: stage 7 times every listed run again even when no run was scored now
synth_opts=""        # `asrkit prepare synth` options, when stages 0-2 have to make the demo's corpus in $data
usage="Usage: $0 [--stage N] [--stop-stage M] [--force true] [--rows \"2-8 ...\"] [--seeds \"1 ...\"] [--repeat-row ROW] [--repeat-seeds \"2 ...\"] [--seed S] [--data DIR] [--exp DIR] [--pretrain-config F] [--pretrain-lr LR] [--pretrain-opts \"...\"] [--finetune-config F] [--finetune-lr LR] [--finetune-opts \"...\"] [--finetune-updates N] [--trials N] [--beam N] [--tune-beam N] [--decode-opts \"...\"] [--bench-utterances N] [--bench-repeats N] [--retime true] [--synth-opts \"...\"]"

. ./path.sh
. ./cmd.sh
. ../../utils/parse_options.sh
. ../../utils/stage.sh   # log, die, to_file, selected, run_stage, stage_done
. ../../utils/jobs.sh    # jobs_begin, job, jobs_wait: cmd.sh's train_nj runs of a stage side by side

case "$retime" in true|false) ;; *) die "--retime takes true or false, not '$retime'" ;; esac
mkdir -p "$data" "$exp"
conf_dir=$(python -c 'from asrkit.models.wav2vec2 import CONFIG_DIR; print(CONFIG_DIR)')

# The runs, one a line: RUN ROW SEED MODEL_CONFIG (the row's miniature, a file: its checksum is a setting)
selected_rows=$(asrkit ablation rows $rows) || die "--rows '$rows': see asrkit ablation rows --describe"
runs=()
while read -r row config; do
  row_seeds=$seeds
  if [ "$row" = "$repeat_row" ]; then row_seeds+=" $repeat_seeds"; fi
  case $row in [0-9]*) name=row$row ;; *) name=$row ;; esac
  for s in $row_seeds; do runs+=("${name}_s$s $row $s $conf_dir/$config.yaml"); done
done <<< "$selected_rows"

if [ "$stage" -le 2 ]; then  # the demo's stages, with whatever settings made its data there
  if [ -f "$data/.stage2.done" ]; then
    log "Stages 0-2: the demo's corpus, manifests and 4-gram in $data (../w2v2_tiny/run.sh made them)"
  else
    log "Stages 0-2: no finished data in $data: ../w2v2_tiny/run.sh's stages 0-2 make it there"
    ../w2v2_tiny/run.sh --stop-stage 2 --data "$(cd "$data" && pwd)" --seed "$seed" --synth-opts "$synth_opts"
  fi
fi

# each_run N [--after "K ..."] [--resumes SUBDIR] VAR...: the runs whose stage N has to run -> todo (run_stage with a
# marker per run, $exp/.stageN.<run>.done; --resumes: the run's training dir under $exp/<run>)
each_run() {
  local n=$1 line flags=()
  shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --after) flags+=(--after "$2"); shift 2 ;;
      --resumes) resumes_dir=$2; shift 2 ;;
      *) break ;;
    esac
  done
  todo=()
  for line in "${runs[@]}"; do
    read -r run row run_seed model_config <<< "$line"
    marker_tag=".$run"
    local resumes=()
    if [ -n "${resumes_dir:-}" ]; then resumes=(--resumes "$exp/$run/$resumes_dir"); fi
    if run_stage "$n" "${flags[@]}" "${resumes[@]}" "$@" run_seed model_config data; then todo+=("$line"); fi
  done
  resumes_dir=""
}
finish_runs() {  # finish_runs N: each todo run's stage N (one_N RUN ROW SEED CONFIG) as a job; then marked done
  local n=$1 line
  jobs_begin "${#todo[@]}"
  for line in "${todo[@]}"; do
    # shellcheck disable=SC2086  # line: the run's fields
    job "$exp/${line%% *}/stage$n.log" "one_$n" $line
  done
  jobs_wait "Stage $n"
  for line in "${todo[@]}"; do marker_tag=".${line%% *}"; stage_done "$n"; done
}
names() { local line; for line in "${todo[@]}"; do printf '%s ' "${line%% *}"; done; }

one_3() {  # one_3 RUN ROW SEED CONFIG: pre-training
  # shellcheck disable=SC2086  # pretrain_opts holds several options
  asrkit pretrain --config "$pretrain_config" --exp-dir "$exp/$1/pretrain" --set model="$(basename "$4" .yaml)" \
    --set data.train_manifest="$data/manifests/pretrain.tsv" --set data.valid_manifest="$data/manifests/dev.tsv" \
    --set trainer.seed="$3" --set optim.lr="$pretrain_lr" $pretrain_opts
}
each_run 3 --after 1 --resumes pretrain pretrain_config pretrain_lr pretrain_opts
if [ ${#todo[@]} -gt 0 ]; then
  log "Stage 3: pre-training ($pretrain_config), ${#todo[@]} run(s): $(names)"
  finish_runs 3
fi

one_5() {  # one_5 RUN ROW SEED CONFIG: CTC fine-tuning on the 10-minute split
  local updates=()
  if [ -n "$finetune_updates" ]; then updates=(--set "optim.max_updates=$finetune_updates"); fi
  # shellcheck disable=SC2086  # finetune_opts holds several options
  asrkit finetune --config "$finetune_config" --exp-dir "$exp/$1/pretrained_10m" \
    --init "$exp/$1/pretrain/checkpoint_best.pt" --set model.arch="$(basename "$4" .yaml)" --set trainer.seed="$3" \
    --set data.train_manifest="$data/manifests/10m.tsv" --set data.valid_manifest="$data/manifests/dev.tsv" \
    --set optim.lr="$finetune_lr" "${updates[@]}" $finetune_opts
}
each_run 5 --after "1 3" --resumes pretrained_10m finetune_config finetune_lr finetune_opts finetune_updates
if [ ${#todo[@]} -gt 0 ]; then
  log "Stage 5: CTC fine-tuning on 10 minutes ($finetune_config${finetune_updates:+, $finetune_updates updates}):" \
      "$(names)"
  finish_runs 5
fi

one_6() {  # one_6 RUN ...: the test set, greedy and with the 4-gram tuned on dev
  local model=$exp/$1/pretrained_10m/checkpoint_best.pt out=$exp/$1/pretrained_10m
  rm -rf "$out/test_greedy" "$out/test_4gram"
  asrkit decode --checkpoint "$model" --manifest "$data/manifests/test.tsv" --out-dir "$out/test_greedy"
  # shellcheck disable=SC2086  # decode_opts holds several options
  asrkit decode --checkpoint "$model" --manifest "$data/manifests/test.tsv" --out-dir "$out/test_4gram" \
    --lm "$data/lm/4gram.bin" --lexicon "$data/lm/lexicon.txt" --tune "$data/manifests/dev.tsv" \
    --trials "$trials" --beam-size "$beam" --tune-beam-size "$tune_beam" --num-workers "$decode_nj" $decode_opts
}
each_run 6 --after "1 2 5" trials beam tune_beam decode_opts
if [ ${#todo[@]} -gt 0 ]; then
  log "Stage 6: decode the test set (greedy; 4-gram lexicon beam search tuned on dev): $(names)"
  decode_nj=$nj  # the beam search's workers: the cores, shared by the decodes that run side by side
  if [ "${train_nj:-1}" -gt 1 ] && [ ${#todo[@]} -gt 1 ]; then decode_nj=$(( (nj + train_nj - 1) / train_nj )); fi
  finish_runs 6
fi

each_run 7 --after 6
if [ ${#todo[@]} -gt 0 ]; then
  log "Stage 7: score $(names)"
  for line in "${todo[@]}"; do
    read -r run row run_seed _ <<< "$line"
    rm -f "$exp/$run/results.tsv"
    for dec in greedy 4gram; do
      d=$exp/$run/pretrained_10m/test_$dec
      to_file "$d/score.txt" asrkit score --ref "$d/ref.trn" --hyp "$d/hyp.trn" --results "$exp/$run/results.tsv" \
        --exp pretrained_10m --decoder "$dec" --split test
    done
    { if [ -f "$exp/runs.tsv" ]; then awk -F'\t' -v run="$run" 'NR == 1 || $1 != run' "$exp/runs.tsv"
      else printf 'run\trow\tseed\tbenchmark\tresults\n'; fi
      printf '%s\t%s\t%s\t%s\t%s\n' "$run" "$row" "$run_seed" "$exp/$run/pretrained_10m/benchmark_test.tsv" \
        "$exp/$run/results.tsv"; } > "$exp/runs.tsv.tmp"
    mv "$exp/runs.tsv.tmp" "$exp/runs.tsv"
    marker_tag=".$run"; stage_done 7
  done
  retime=true
fi

if selected 7 && { [ "$retime" = true ] || [ ! -f "$exp/ablation.tsv" ]; } && [ -f "$exp/runs.tsv" ]; then
  listed=()
  while IFS=$'\t' read -r run _; do listed+=("$run"); done < <(tail -n +2 "$exp/runs.tsv")
  log "Stage 7: time ${#listed[@]} run(s) in one interleaved benchmark (test set, $bench_utterances utterances," \
      "best of $bench_repeats rounds, batch 1, fp32, one thread), then Table 6 and Figure 1"
  bench=()
  for run in "${listed[@]}"; do
    bench+=(--checkpoint "$exp/$run/pretrained_10m/checkpoint_best.pt" --out "$exp/$run/pretrained_10m/benchmark_test.tsv")
  done
  asrkit benchmark --manifest "$data/manifests/test.tsv" --precision fp32 --threads 1 --pretrain-batch 0 \
    --max-utterances "$bench_utterances" --repeats "$bench_repeats" "${bench[@]}" --times-out "$exp/timing/times.tsv" \
    > "$exp/timing.log"
  asrkit ablation collect "$exp/runs.tsv" --times "$exp/timing/times.tsv" --out "$exp/ablation.tsv"
  mkdir -p "$exp/report"
  asrkit ablation report "$exp/ablation.tsv" --out-dir "$exp/report" | tee "$exp/report/table6.txt"
elif selected 7; then
  log "Stage 7: no run scored now: $exp/ablation.tsv and $exp/report are up to date (--retime true times them again)"
fi

log "Finished stages $stage-$stop_stage: runs in $exp/<run>, the results table $exp/ablation.tsv, Table 6 and" \
    "Figure 1 in $exp/report"
