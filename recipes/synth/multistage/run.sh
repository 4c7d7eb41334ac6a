#!/usr/bin/env bash
# Audio-visual pre-training, then ASR (Jain et al., 2024, "multi-stage multimodal pre-training", Fig. 1, stage 1 and
# the ASR evaluation of §3.3), on the built-in synthetic corpora. `make reproduce-av` runs it.
# Pre-training: the tiny AV model (Conformer audio encoder, ViT video encoder, shared decoder) with each of MAE,
# CLR and MAE+CLR on one or more of the three synthetic AV sets laid out as LRS3, VoxCeleb2 and Kinetics; each
# checkpoint is measured on its set's held-out clips (asrkit eval-av: MAE loss against the mean-of-visible-tokens
# reference, CLR retrieval top-1 in batches of 32 and within same-speaker batches, audio-video sync test).
# ASR: CTC on sentencepiece units over the Conformer audio encoder, on the synthetic ASR corpus's 1-hour split:
# from each checkpoint with the encoder frozen (the paper's protocol) and trained, and from scratch (the baseline).
#
#   ./run.sh                                    # MAE, CLR and MAE+CLR on the LRS3-like set
#   ./run.sh --pt-data "lrs3 kinetics" --objectives mae --pretrain-updates 300
#   ./run.sh --stage 5 --finetune-updates 300   # fine-tune again from the finished pre-training
#
# Stages (the map of every asrkit recipe):
#   0 data       the three AV sets (asrkit prepare synth-av) -> $data/av; the ASR corpus -> $data/synth
#   1 manifests  AV manifests per set (local/prepare_{lrs3,voxceleb2,kinetics}.py; training: LRS3 pretrain,
#                VoxCeleb2 dev, Kinetics train; held out: LRS3 trainval (seen talks) and test (unseen),
#                VoxCeleb2 test, Kinetics val), validated;
#                ASR manifests -> $data/manifests/asr
#   2 tokenizer  sentencepiece unigram units on the ASR training text -> $data/tokenizer; LM text and 4-gram
#                (for later LM decoding; stage 6 decodes greedily) -> $data/lm
#   3 pretrain   one run per objective x set -> $exp/pretrain_<objective>_<set>, eval-av on its held-out
#                clips, all collected into $exp/av_eval.tsv
#   4 midtrain   none yet (issue 20: speech-translation mid-training of the audio encoder goes here)
#   5 finetune   CTC: asr_<objective>_<set>_{frozen,trained} from each checkpoint, asr_scratch -> $exp/<name>
#   6 decode     greedy CTC on the test set
#   7 score      WER/CER per model -> $exp/results.tsv, shown with asrkit results
# Finished stages leave .stageN.done in $data (0-2) or $exp (3-7) and are skipped on re-runs; a changed setting
# for a finished stage is refused (--force true redoes it). See ../../utils/stage.sh.
#
# Budgets (defaults): data ~3.5 minutes on 2 cores; pre-training --pretrain-updates 600 updates of 32 clips (~2.5 s
# each) per run; fine-tuning the config's 600 updates of 20 s per model (--finetune-updates), 7 models. Measured on
# a 2-core AMD EPYC in bf16 (800 updates on the default LRS3-like set): MAE 5.2 minutes, CLR 3.6 minutes alone on
# the machine, MAE+CLR 12 minutes while the test suite shared it (the first epoch decodes the clips, later ones
# read them from the frame cache); fine-tuning ~0.1 s per update trained, less frozen. What each objective learns
# at that budget: README, "Audio-visual pre-training on 2 CPU cores".
set -euo pipefail
cd "$(dirname "$0")"

stage=0
stop_stage=7
force=false
seed=0
data=data        # corpora, manifests, tokenizer, LM (stages 0-2)
exp=exp          # checkpoints, evaluations, decodes, results (stages 3-7)
# `asrkit prepare synth-av` options: the defaults (~3.5 minutes on 2 cores): LRS3 720 pretrain clips of 60 talks,
# 120 trainval (the same talks), 128 test (8 other talks); VoxCeleb2 360 + 96; Kinetics 240 + 60; 96 px, 25 fps
av_opts=""
# `asrkit prepare synth` options: the ASR corpus. Its pre-training pool is unused here (AV pre-training instead),
# hence 0.02 h; six 10-minute folds make the 1-hour split; 5-minute dev and test sets.
synth_opts="--pretrain-hours 0.02 --dev-minutes 5 --test-minutes 5"
objectives="mae clr mae_clr"  # pre-training objectives: conf/pretrain_<objective>.yaml each
pt_data=lrs3     # pre-training sets, any of: lrs3 voxceleb2 kinetics
pretrain_updates=600  # per run; the configs' own value when empty
pretrain_opts="" # extra `asrkit pretrain` options, every run alike
asr_train=1h     # labelled split for fine-tuning: 1h or 10m (issue 20: 1h; 10 minutes leaves a frozen encoder near 100 % WER)
nbpe=128         # sentencepiece units (a 555-word vocabulary: 128 units average 18 per utterance of 53 frames)
bpemode=unigram  # sentencepiece model type: unigram or bpe
lm_sentences=200000  # LM text drawn from the grammar (dev/test sentences held out); 0 skips the LM
finetune_config=conf/finetune_conformer.yaml
finetune_updates=""  # per model; the config's value (600) when empty
finetune_opts="" # extra `asrkit finetune` options, every model alike
usage="Usage: $0 [--stage N] [--stop-stage M] [--force true] [--seed S] [--data DIR] [--exp DIR] [--av-opts \"...\"] [--synth-opts \"...\"] [--objectives \"mae clr mae_clr\"] [--pt-data \"lrs3 voxceleb2 kinetics\"] [--pretrain-updates N] [--pretrain-opts \"...\"] [--asr-train 1h|10m] [--nbpe N] [--bpemode unigram|bpe] [--lm-sentences N] [--finetune-config F] [--finetune-updates N] [--finetune-opts \"...\"]"

. ./path.sh
. ./cmd.sh
. ../../utils/parse_options.sh
. ../../utils/stage.sh   # log, die, to_file, selected, run_stage, stage_done

for o in $objectives; do [ -f "conf/pretrain_$o.yaml" ] || die "--objectives: no conf/pretrain_$o.yaml (mae, clr, mae_clr)"; done
for d in $pt_data; do case $d in lrs3|voxceleb2|kinetics) ;; *) die "--pt-data: '$d' is not lrs3, voxceleb2 or kinetics" ;; esac; done
mkdir -p "$data" "$exp"
man=$data/manifests
tokenizer=$data/tokenizer/spm.model  # one name: stage 2 records nbpe and bpemode, so stage 5 sees a redo

# The AV manifests of each set: training, held-out (validation; eval-av), and for LRS3 a second held-out set.
# LRS3: trainval holds other clips of the pretrain talks (seen speakers: AV-HuBERT validates on part of
# trainval), test unseen talks; VoxCeleb2 and Kinetics: their test / val splits (unseen speakers, other clips).
av_train() { case $1 in lrs3) echo "$man/lrs3/pretrain.tsv" ;; voxceleb2) echo "$man/voxceleb2/dev.tsv" ;;
                        kinetics) echo "$man/kinetics/train.tsv" ;; esac; }
av_heldout() { case $1 in lrs3) echo "$man/lrs3/trainval.tsv" ;; voxceleb2) echo "$man/voxceleb2/test.tsv" ;;
                          kinetics) echo "$man/kinetics/val.tsv" ;; esac; }
av_eval_sets() { case $1 in lrs3) echo "trainval test" ;; voxceleb2) echo test ;; kinetics) echo val ;; esac; }
av_split() { case $1 in voxceleb2) echo "$man/voxceleb2/$2.tsv" ;; *) echo "$man/$1/$2.tsv" ;; esac; }

pretrain_runs=()   # pretrain_<objective>_<set>
for d in $pt_data; do for o in $objectives; do pretrain_runs+=("pretrain_${o}_$d"); done; done
asr_runs=()        # the fine-tuned models, one a line: NAME INIT (- = from scratch) FROZEN
for r in "${pretrain_runs[@]}"; do asr_runs+=("asr_${r#pretrain_}_frozen $exp/$r/checkpoint_last.pt true"
                                              "asr_${r#pretrain_}_trained $exp/$r/checkpoint_last.pt false"); done
asr_runs+=("asr_scratch - false")

if run_stage 0 seed av_opts synth_opts; then
  log "Stage 0: the three AV pre-training sets and the ASR corpus"
  rm -rf "$data/av" "$data/synth"
  # shellcheck disable=SC2086  # *_opts hold several options
  asrkit prepare synth-av "$data/av" --seed "$seed" --num-workers "$nj" $av_opts
  # shellcheck disable=SC2086
  asrkit prepare synth "$data/synth" --seed "$seed" --num-workers "$nj" $synth_opts
  stage_done 0
fi

if run_stage 1 --after 0; then
  log "Stage 1: AV and ASR manifests, validated"
  rm -rf "$man"
  python ../../../local/prepare_lrs3.py "$data/av/lrs3" --out "$man/lrs3" --num-workers "$nj"
  python ../../../local/prepare_voxceleb2.py "$data/av/voxceleb2" --out "$man/voxceleb2" --num-workers "$nj"
  python ../../../local/prepare_kinetics.py "$data/av/kinetics" --out "$man/kinetics" --num-workers "$nj"
  asrkit manifest validate "$man"/{lrs3,voxceleb2,kinetics}/*.tsv --unlabeled --fps 25 --frame-size 96x96 \
    --num-workers "$nj"
  asrkit prepare librispeech "$data/synth" --out "$man/asr"
  asrkit manifest validate "$man"/asr/*.tsv --num-workers "$nj"
  stage_done 1
fi

if run_stage 2 --after 1 asr_train nbpe bpemode lm_sentences; then
  log "Stage 2: sentencepiece $bpemode ($nbpe units) on the $asr_train transcripts; LM text and 4-gram"
  mkdir -p "$data/tokenizer"
  # no asrkit command trains a tokenizer: the library function, on the training split's transcripts
  python -c 'import sys
from asrkit.data.manifest import read_manifest
from asrkit.data.tokenizer import train_sentencepiece
manifest, prefix, text = sys.argv[1], sys.argv[2], sys.argv[2] + ".txt"
open(text, "w", encoding="utf-8").write("\n".join(read_manifest(manifest)["text"]) + "\n")
tok = train_sentencepiece(text, prefix, vocab_size=int(sys.argv[3]), model_type=sys.argv[4])
print(f"{prefix}.model: {len(tok)} tokens (blank included)")' \
    "$man/asr/$asr_train.tsv" "${tokenizer%.model}" "$nbpe" "$bpemode"
  if [ "$lm_sentences" -gt 0 ]; then
    asrkit prepare lm-text "$data/lm/text.txt" --sentences "$lm_sentences" \
      --exclude "$man/asr/dev.tsv" --exclude "$man/asr/test.tsv"
    asrkit lm train "$data/lm/text.txt" --order 4 --out "$data/lm/4gram"
  fi
  stage_done 2
fi

pretrain_set=()
if [ -n "$pretrain_updates" ]; then pretrain_set=(--set "optim.max_updates=$pretrain_updates"); fi
pretrain_configs=()  # run_stage records each config's checksum: an edited config counts as a change
for o in $objectives; do printf -v "pretrain_config_$o" '%s' "conf/pretrain_$o.yaml"; pretrain_configs+=("pretrain_config_$o"); done
resumes=()
for r in "${pretrain_runs[@]}"; do resumes+=(--resumes "$exp/$r"); done

if run_stage 3 --after 1 "${resumes[@]}" objectives pt_data pretrain_updates pretrain_opts "${pretrain_configs[@]}" data
then
  log "Stage 3: AV pre-training, ${#pretrain_runs[@]} run(s) of ${pretrain_updates:-the configured} updates:" \
      "${pretrain_runs[*]}; eval-av on the held-out clips"
  for d in $pt_data; do
    for o in $objectives; do
      dir=$exp/pretrain_${o}_$d
      # shellcheck disable=SC2086  # pretrain_opts holds several options
      asrkit pretrain --config "conf/pretrain_$o.yaml" --exp-dir "$dir" "${pretrain_set[@]}" \
        --set data.train_manifest="$(av_train "$d")" --set data.valid_manifest="$(av_heldout "$d")" $pretrain_opts
      # the validation set picks checkpoint_best: measured on the last checkpoint, which no held-out set chose
      for split in $(av_eval_sets "$d"); do
        to_file "$dir/eval_av_$split.log" asrkit eval-av "$dir/checkpoint_last.pt" \
          --manifest "$(av_split "$d" "$split")" --out "$dir/av_eval_$split.tsv"
      done
    done
  done
  # one table: run, objective, set, split, then eval-av's measure, value, reference
  { printf 'run\tobjective\tdata\tsplit\tmeasure\tvalue\treference\n'
    for d in $pt_data; do
      for o in $objectives; do
        for split in $(av_eval_sets "$d"); do
          tail -n +2 "$exp/pretrain_${o}_$d/av_eval_$split.tsv" | sed "s/^/pretrain_${o}_$d\t$o\t$d\t$split\t/"
        done
      done
    done; } > "$exp/av_eval.tsv"
  column -t -s $'\t' "$exp/av_eval.tsv"
  stage_done 3
fi

# Stage 4 (mid-training): none yet. Issue 20 adds speech-translation mid-training of the Conformer audio encoder
# (asrkit midtrain, MuST-C-layout en-de / en-it / en-nl) here, between pre-training and the ASR fine-tuning of
# stage 5, which will then fine-tune from the mid-trained checkpoints as well.

finetune_set=(--set "data.train_manifest=$man/asr/$asr_train.tsv" --set "data.valid_manifest=$man/asr/dev.tsv"
              --set "data.tokenizer=$tokenizer")
if [ -n "$finetune_updates" ]; then finetune_set+=(--set "optim.max_updates=$finetune_updates"); fi
names=()
resumes=()
for line in "${asr_runs[@]}"; do name=${line%% *}; names+=("$name"); resumes+=(--resumes "$exp/$name"); done

if run_stage 5 --after "1 2 3" "${resumes[@]}" finetune_config finetune_updates finetune_opts asr_train data; then
  log "Stage 5: ${#names[@]} CTC fine-tuning runs on $asr_train (${finetune_updates:-the configured} updates): ${names[*]}"
  for line in "${asr_runs[@]}"; do
    read -r name init frozen <<< "$line"
    if [ "$init" = - ]; then init=""; fi
    # shellcheck disable=SC2086  # finetune_opts holds several options
    asrkit finetune --config "$finetune_config" --exp-dir "$exp/$name" --init "$init" \
      --set model.freeze_encoder="$frozen" "${finetune_set[@]}" $finetune_opts
  done
  stage_done 5
fi

if run_stage 6 --after "1 5" data; then
  log "Stage 6: greedy CTC decoding of the test set with ${#names[@]} models"
  for name in "${names[@]}"; do
    rm -rf "$exp/$name/test_greedy"
    asrkit decode --checkpoint "$exp/$name/checkpoint_best.pt" --manifest "$man/asr/test.tsv" \
      --out-dir "$exp/$name/test_greedy"
  done
  stage_done 6
fi

if run_stage 7 --after 6; then
  log "Stage 7: score"
  rm -f "$exp/results.tsv"
  for name in "${names[@]}"; do
    d=$exp/$name/test_greedy
    to_file "$d/score.txt" asrkit score --ref "$d/ref.trn" --hyp "$d/hyp.trn" --results "$exp/results.tsv" \
      --exp "$name" --decoder greedy --split test
  done
  asrkit results "$exp/results.tsv"
  stage_done 7
fi

log "Finished stages $stage-$stop_stage: data in $data, experiments in $exp (AV measures: $exp/av_eval.tsv," \
    "WER: $exp/results.tsv)"
