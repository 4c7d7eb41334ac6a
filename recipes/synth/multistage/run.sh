#!/usr/bin/env bash
# The multi-stage paper's chain (Jain et al., 2024, Fig. 1) on the built-in synthetic corpora: audio-visual
# pre-training -> speech-translation mid-training of the audio encoder -> ASR with the encoder frozen and a task
# decoder trained, against the same ASR model trained end to end from scratch (Table 1's baseline).
#   make multistage            the chain once: MAE on the LRS3-like set, en-it mid-training, three ASR models
#   make reproduce-multistage  Table 1 and Figure 3 in miniature: a grid of methods x sets x pairs (recipe
#                              grid.sh), two seeds for one cell
#   make reproduce-av          stages 0-3 and 5-7 without mid-training (--midtrain-pairs ""), ASR frozen and trained
#
#   ./run.sh                                     # MAE, CLR and MAE+CLR on the LRS3-like set, en-it mid-training
#   ./run.sh --objectives mae --midtrain-pairs "en-de en-it"   # (en-de, en-nl: once the grammar speaks them)
#   ./run.sh --stage 5 --finetune-updates 300 --force true    # fine-tune again from the finished stages 3-4
#
# Stages (the map of every asrkit recipe):
#   0 data       the AV sets of --pt-data (asrkit prepare synth-av) -> $data/av; the ASR corpus -> $data/synth;
#                the MuST-C-layout set of --midtrain-pairs (asrkit prepare synth-mustc) -> $data/mustc
#   1 manifests  AV manifests per set (local/prepare_{lrs3,voxceleb2,kinetics}.py; training: LRS3 pretrain,
#                VoxCeleb2 dev, Kinetics train; held out: LRS3 trainval (seen talks) and test (unseen),
#                VoxCeleb2 test, Kinetics val); ASR manifests -> $data/manifests/asr; ST manifests
#                (local/prepare_mustc.py) -> $data/manifests/mustc/<pair>/{train,dev,tst-COMMON}.tsv; validated
#   2 tokenizers sentencepiece units: ASR ($nbpe) on the $asr_train transcripts -> $data/tokenizer/spm.model; per
#                pair the target language's ($st_nbpe) -> st_<xx>.model and the English source units of the CTC
#                auxiliary loss ($st_nbpe) -> st_en.model; LM text and 4-gram -> $data/lm (--lm-sentences 0: none)
#   3 pretrain   one run per objective x set -> $exp/pretrain_<objective>_<set>, eval-av on its held-out
#                clips, all collected into $exp/av_eval.tsv
#   4 midtrain   one run per pre-training run x pair, from its last checkpoint -> $exp/midtrain_<obj>_<set>_<pair>;
#                beam search (--st-beam) of tst-COMMON, BLEU and chrF (sacrebleu) -> $exp/bleu.tsv
#   5 finetune   ASR on $asr_train: asr_scratch (end to end from scratch), asr_<obj>_<set>[_<pair>]_frozen from each
#                pre-training and mid-training checkpoint (the paper's §3.3: encoder frozen, task decoder trained;
#                --asr-modes "frozen trained" adds full fine-tuning) -> $exp/<name>
#   6 decode     greedy CTC on the test set
#   7 score      WER/CER per model -> $exp/results.tsv; the runs -> $exp/runs_<mode>.tsv and Table 1 / Figure 3
#                (asrkit multistage-report) -> $exp/report_<mode>/{table1.md,table1.tsv,figure3.png,figure3.tsv}
# Finished stages leave .stageN.done in $data (0-2) or $exp (3-7) and are skipped on re-runs; a changed setting
# for a finished stage is refused (--force true redoes it). See ../../utils/stage.sh.
#
# Budgets of `make multistage` (--objectives mae --pt-data lrs3 --midtrain-pairs en-it, defaults otherwise; 30
# minutes in all on 2 CPU cores, trainings two at a time where a stage has several: cmd.sh's train_nj): data
# (stages 0-2) <= 5 min, AV pre-training <= 7 (600 updates of 32 clips), mid-training <= 12 (conf/midtrain.yaml:
# 6000 updates, what BLEU >= 50 takes), three ASR trainings <= 4 (conf/finetune_conformer.yaml), decoding and
# scoring <= 1. Measured (24 minutes): docs/reproduction.md, "make multistage".
set -euo pipefail
cd "$(dirname "$0")"

stage=0
stop_stage=7
force=false
seed=0
data=data        # corpora, manifests, tokenizers, LM (stages 0-2)
exp=exp          # checkpoints, evaluations, decodes, results (stages 3-7)
# `asrkit prepare synth-av` options: the defaults (~3.5 minutes on 2 cores for all three sets): LRS3 720 pretrain
# clips of 60 talks, 120 trainval (the same talks), 128 test (8 other talks); VoxCeleb2 360 + 96; Kinetics 240 + 60
av_opts=""
av_sets=""       # AV sets stage 0 writes; empty: those of --pt-data
# `asrkit prepare synth` options: the ASR corpus. Its pre-training pool is unused here (AV pre-training instead),
# hence 0.02 h; six 10-minute folds make the 1-hour split; 5-minute dev and test sets. espeak-ng only and clean,
# the corpus the results in docs/reproduction.md were measured on (drop the options from --engines on for the multi-engine corpus
# in recorded conditions); the held-out-engine sets are scored too (stage 6).
synth_opts="--pretrain-hours 0.02 --dev-minutes 5 --test-minutes 5 --unseen-minutes 5 --engines espeak --rir 0 --noise 0 --eq 0 --gain-db 0 --telephone 0"
mustc_opts=""    # `asrkit prepare synth-mustc` options: 96 / 6 / 8 talks (1.1 / 0.07 / 0.09 h) by default
objectives="mae clr mae_clr"  # pre-training objectives: conf/pretrain_<objective>.yaml each
pt_data=lrs3     # pre-training sets, any of: lrs3 voxceleb2 kinetics
pretrain_updates=600  # per run; the configs' own value when empty
pretrain_opts="" # extra `asrkit pretrain` options, every run alike
midtrain_pairs=en-it  # mid-training pairs, any of en-de en-it en-nl; "" = no mid-training (no MuST-C set either)
midtrain_config=conf/midtrain.yaml
midtrain_updates=""  # per run; the config's value when empty
midtrain_opts="" # extra `asrkit midtrain` options, every run alike
st_nbpe=256      # sentencepiece units of each target language and of the English source (CTC)
st_beam=5        # beam of the tst-COMMON translations (ESPnet's MuST-C decode: 10; fairseq's example: 5)
asr_train=1h     # labelled split for fine-tuning: 1h or 10m (issue 20: 1h; 10 minutes leaves a frozen encoder near 100 % WER)
asr_modes=frozen # ASR from each checkpoint: frozen (the paper's protocol) and/or trained (full fine-tuning)
nbpe=128         # ASR sentencepiece units (a 555-word vocabulary: 128 units average 18 per utterance of 53 frames)
bpemode=unigram  # sentencepiece model type: unigram or bpe
lm_sentences=0   # >0: LM text drawn from the grammar (dev/test held out) and a 4-gram for `asrkit decode --lm`;
                # the paper decodes without one (stage 6: greedy CTC), so none by default
finetune_config=conf/finetune_conformer.yaml
finetune_updates=""  # per model; the config's value when empty
finetune_opts="" # extra `asrkit finetune` options, every model alike
# A second seed (or more) for one cell of the grid: its mid-training and the ASR trainings of that cell (from
# scratch, pre-training only, pre-training + mid-training) again with trainer.seed S, named ..._s<S>; pre-training
# runs once. repeat_cell: "<objective> <set> <pair>", e.g. "mae lrs3 en-it"; repeat_seeds: e.g. "2".
repeat_cell=""
repeat_seeds=""
usage="Usage: $0 [--stage N] [--stop-stage M] [--force true] [--seed S] [--data DIR] [--exp DIR] [--av-opts \"...\"] [--av-sets \"lrs3 ...\"] [--synth-opts \"...\"] [--mustc-opts \"...\"] [--objectives \"mae clr mae_clr\"] [--pt-data \"lrs3 voxceleb2 kinetics\"] [--pretrain-updates N] [--pretrain-opts \"...\"] [--midtrain-pairs \"en-de en-it en-nl\"] [--midtrain-config F] [--midtrain-updates N] [--midtrain-opts \"...\"] [--st-nbpe N] [--st-beam N] [--asr-train 1h|10m] [--asr-modes \"frozen trained\"] [--nbpe N] [--bpemode unigram|bpe] [--lm-sentences N] [--finetune-config F] [--finetune-updates N] [--finetune-opts \"...\"] [--repeat-cell \"OBJ SET PAIR\"] [--repeat-seeds \"S ...\"]"

. ./path.sh
. ./cmd.sh
. ../../utils/parse_options.sh
. ../../utils/stage.sh   # log, die, to_file, selected, run_stage, stage_done
. ../../utils/jobs.sh    # jobs_begin, job, jobs_wait: cmd.sh's train_nj runs of a stage side by side

if [ -z "$av_sets" ]; then av_sets=$pt_data; fi
for o in $objectives; do [ -f "conf/pretrain_$o.yaml" ] || die "--objectives: no conf/pretrain_$o.yaml (mae, clr, mae_clr)"; done
for d in $av_sets $pt_data; do case $d in lrs3|voxceleb2|kinetics) ;; *) die "--pt-data/--av-sets: '$d' is not lrs3, voxceleb2 or kinetics" ;; esac; done
for d in $pt_data; do case " $av_sets " in *" $d "*) ;; *) die "--pt-data $d: not among --av-sets ($av_sets)" ;; esac; done
for p in $midtrain_pairs; do case $p in en-de|en-it|en-nl) ;; *) die "--midtrain-pairs: '$p' is not en-de, en-it or en-nl" ;; esac; done
for m in $asr_modes; do case $m in frozen|trained) ;; *) die "--asr-modes: '$m' is not frozen or trained" ;; esac; done
if [ -n "$repeat_seeds" ]; then
  read -r rep_o rep_d rep_p rep_extra <<< "$repeat_cell"
  if [ -z "$rep_p" ] || [ -n "$rep_extra" ]; then die "--repeat-cell: '$repeat_cell' is not \"<objective> <set> <pair>\""; fi
  case " $objectives " in *" $rep_o "*) ;; *) die "--repeat-cell: objective $rep_o is not among --objectives" ;; esac
  case " $pt_data " in *" $rep_d "*) ;; *) die "--repeat-cell: set $rep_d is not among --pt-data" ;; esac
  case " $midtrain_pairs " in *" $rep_p "*) ;; *) die "--repeat-cell: pair $rep_p is not among --midtrain-pairs" ;; esac
fi
mkdir -p "$data" "$exp"
man=$data/manifests
tok=$data/tokenizer
tokenizer=$tok/spm.model  # one name: stage 2 records nbpe and bpemode, so stage 5 sees a redo
first_pair=${midtrain_pairs%% *}

# The AV manifests of each set: training, held-out (validation; eval-av), and for LRS3 a second held-out set.
# LRS3: trainval holds other clips of the pretrain talks (seen speakers: AV-HuBERT validates on part of
# trainval), test unseen talks; VoxCeleb2 and Kinetics: their test / val splits (unseen speakers, other clips).
av_train() { case $1 in lrs3) echo "$man/lrs3/pretrain.tsv" ;; voxceleb2) echo "$man/voxceleb2/dev.tsv" ;;
                        kinetics) echo "$man/kinetics/train.tsv" ;; esac; }
av_heldout() { case $1 in lrs3) echo "$man/lrs3/trainval.tsv" ;; voxceleb2) echo "$man/voxceleb2/test.tsv" ;;
                          kinetics) echo "$man/kinetics/val.tsv" ;; esac; }
av_eval_sets() { case $1 in lrs3) echo "trainval test" ;; voxceleb2) echo test ;; kinetics) echo val ;; esac; }

# The runs, one a line. Mid-training: NAME INIT OBJECTIVE SET PAIR SEED. ASR: NAME INIT (- = from scratch) FROZEN
# OBJECTIVE SET PAIR SEED MODE (none: no such stage; SEED -: the config's trainer.seed; MODE: frozen or trained,
# the report it belongs to, all for the baseline, which both share).
seeds() { if [ "$*" = "${repeat_cell% *}" ] || [ "$*" = "$repeat_cell" ]; then echo "- $repeat_seeds"; else echo -; fi; }
suffix() { if [ "$1" != - ]; then echo "_s$1"; fi; }
test_sets() {  # test, and the held-out-engine sets (clean, telephone) where the corpus has them
  echo test
  for set in test_unseen_engine test_unseen_engine_tel; do if [ -f "$man/asr/$set.tsv" ]; then echo "$set"; fi; done
}
pretrain_runs=()
midtrain_runs=()
asr_runs=()
for d in $pt_data; do
  for o in $objectives; do
    pretrain_runs+=("pretrain_${o}_$d")
    for p in $midtrain_pairs; do
      for s in $(seeds "$o" "$d" "$p"); do
        midtrain_runs+=("midtrain_${o}_${d}_$p$(suffix "$s") $exp/pretrain_${o}_$d/checkpoint_last.pt $o $d $p $s")
      done
    done
  done
done
for m in $asr_modes; do
  frozen=$([ "$m" = frozen ] && echo true || echo false)
  for d in $pt_data; do
    for o in $objectives; do
      for s in $(seeds "$o" "$d"); do
        asr_runs+=("asr_${o}_${d}_$m$(suffix "$s") $exp/pretrain_${o}_$d/checkpoint_last.pt $frozen $o $d none $s $m")
      done
    done
  done
  for line in "${midtrain_runs[@]}"; do
    read -r name _ o d p s <<< "$line"
    asr_runs+=("asr_${o}_${d}_${p}_$m$(suffix "$s") $exp/$name/checkpoint_best.pt $frozen $o $d $p $s $m")
  done
done
for s in - $repeat_seeds; do asr_runs+=("asr_scratch$(suffix "$s") - false none none none $s all"); done

if run_stage 0 seed av_opts av_sets synth_opts mustc_opts midtrain_pairs; then
  log "Stage 0: the AV sets ($av_sets), the ASR corpus and the MuST-C-layout set (${midtrain_pairs:-none})"
  rm -rf "$data/av" "$data/synth" "$data/mustc"
  # shellcheck disable=SC2086  # *_opts hold several options
  asrkit prepare synth-av "$data/av" --sets "${av_sets// /,}" --seed "$seed" --num-workers "$nj" $av_opts
  # shellcheck disable=SC2086
  asrkit prepare synth "$data/synth" --seed "$seed" --num-workers "$nj" $synth_opts
  if [ -n "$midtrain_pairs" ]; then
    # shellcheck disable=SC2086
    asrkit prepare synth-mustc "$data/mustc" --pairs "${midtrain_pairs// /,}" --seed "$seed" --num-workers "$nj" \
      $mustc_opts
  fi
  stage_done 0
fi

if run_stage 1 --after 0; then
  log "Stage 1: AV, ASR and ST manifests, validated"
  rm -rf "$man"
  for d in $av_sets; do
    python "../../../local/prepare_$d.py" "$data/av/$d" --out "$man/$d" --num-workers "$nj"
    asrkit manifest validate "$man/$d"/*.tsv --unlabeled --fps 25 --frame-size 96x96 --num-workers "$nj"
  done
  asrkit prepare librispeech "$data/synth" --out "$man/asr"
  asrkit manifest validate "$man"/asr/*.tsv --num-workers "$nj"
  if [ -n "$midtrain_pairs" ]; then
    python ../../../local/prepare_mustc.py "$data/mustc" --out "$man/mustc" --pairs "${midtrain_pairs// /,}"
    # any characters: MuST-C's English is cased and punctuated (the synthetic set's is lowercase)
    asrkit manifest validate "$man"/mustc/*/*.tsv --charset '' --num-workers "$nj"
  fi
  stage_done 1
fi

if run_stage 2 --after 1 asr_train nbpe bpemode st_nbpe lm_sentences; then
  log "Stage 2: sentencepiece $bpemode ($nbpe units) on the $asr_train transcripts; $st_nbpe unigram units per" \
      "language of ${midtrain_pairs:-no pair}$([ "$lm_sentences" -gt 0 ] && echo "; LM text and 4-gram")"
  rm -rf "$tok" "$data/lm"
  python ../../../local/train_sentencepiece.py "$man/asr/$asr_train.tsv" --vocab-size "$nbpe" \
    --model-type "$bpemode" --out "${tokenizer%.model}"
  if [ -n "$midtrain_pairs" ]; then  # the English talks are the same in every pair: source units from the first
    python ../../../local/train_sentencepiece.py "$man/mustc/$first_pair/train.tsv" --vocab-size "$st_nbpe" \
      --out "$tok/st_en"
  fi
  for p in $midtrain_pairs; do
    python ../../../local/train_sentencepiece.py "$man/mustc/$p/train.tsv" --column translation \
      --vocab-size "$st_nbpe" --out "$tok/st_${p#en-}"
  done
  if [ "$lm_sentences" -gt 0 ]; then
    asrkit prepare lm-text "$data/lm/text.txt" --sentences "$lm_sentences" \
      --exclude "$man/asr/dev.tsv" --exclude "$man/asr/test.tsv"
    asrkit lm train "$data/lm/text.txt" --order 4 --out "$data/lm/4gram"
  fi
  stage_done 2
fi

for d in $pt_data; do
  [ ! -f "$data/.stage1.done" ] || [ -f "$(av_train "$d")" ] ||
    die "--pt-data $d: $data has no $d set (stage 0 wrote $(sed -n 's/^av_sets=//p' "$data/.stage0.done")); redo stages 0-2 with it in --av-sets, or use another --data"
done
for p in $midtrain_pairs; do
  [ ! -f "$data/.stage1.done" ] || [ -f "$man/mustc/$p/train.tsv" ] ||
    die "--midtrain-pairs $p: $data has no $p set; redo stages 0-2 with it in --midtrain-pairs, or use another --data"
done

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
  pretrain_one() {  # pretrain_one OBJECTIVE SET: one pre-training run, then eval-av on its held-out clips
    local o=$1 d=$2 dir=$exp/pretrain_$1_$2 split
    # shellcheck disable=SC2086  # pretrain_opts holds several options
    asrkit pretrain --config "conf/pretrain_$o.yaml" --exp-dir "$dir" "${pretrain_set[@]}" \
      --set data.train_manifest="$(av_train "$d")" --set data.valid_manifest="$(av_heldout "$d")" $pretrain_opts
    # the validation set picks checkpoint_best: measured on the last checkpoint, which no held-out set chose
    for split in $(av_eval_sets "$d"); do
      to_file "$dir/eval_av_$split.log" asrkit eval-av "$dir/checkpoint_last.pt" \
        --manifest "$man/$d/$split.tsv" --out "$dir/av_eval_$split.tsv"
    done
  }
  jobs_begin "${#pretrain_runs[@]}"
  for d in $pt_data; do
    for o in $objectives; do job "$exp/pretrain_${o}_$d/run.log" pretrain_one "$o" "$d"; done
  done
  jobs_wait "Stage 3"
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

midtrain_set=()
if [ -n "$midtrain_updates" ]; then midtrain_set=(--set "optim.max_updates=$midtrain_updates"); fi
resumes=()
for line in "${midtrain_runs[@]}"; do resumes+=(--resumes "$exp/${line%% *}"); done

if [ -z "$midtrain_pairs" ]; then
  if selected 4; then log "Stage 4: no mid-training (--midtrain-pairs \"\")"; fi
elif run_stage 4 --after "2 3" "${resumes[@]}" midtrain_pairs midtrain_config midtrain_updates midtrain_opts st_beam \
     repeat_cell repeat_seeds data; then
  log "Stage 4: ST mid-training, ${#midtrain_runs[@]} run(s) of ${midtrain_updates:-the configured} updates;" \
      "tst-COMMON translated (beam $st_beam), BLEU and chrF"
  midtrain_one() {  # midtrain_one NAME INIT PAIR SEED: one mid-training run, then tst-COMMON translated and scored
    local name=$1 init=$2 p=$3 s=$4 seed_set=()
    if [ "$s" != - ]; then seed_set=(--set "trainer.seed=$s"); fi
    # shellcheck disable=SC2086  # midtrain_opts holds several options
    asrkit midtrain --config "$midtrain_config" --exp-dir "$exp/$name" --init "$init" "${midtrain_set[@]}" \
      --set data.train_manifest="$man/mustc/$p/train.tsv" --set data.valid_manifest="$man/mustc/$p/dev.tsv" \
      --set data.target_tokenizer="$tok/st_${p#en-}.model" --set data.source_tokenizer="$tok/st_en.model" \
      "${seed_set[@]}" $midtrain_opts
    rm -rf "$exp/$name/tst-COMMON"
    to_file "$exp/$name/decode_tst-COMMON.log" asrkit decode --task st --checkpoint "$exp/$name/checkpoint_best.pt" \
      --manifest "$man/mustc/$p/tst-COMMON.tsv" --out-dir "$exp/$name/tst-COMMON" --beam-size "$st_beam"
  }
  jobs_begin "${#midtrain_runs[@]}"
  for line in "${midtrain_runs[@]}"; do
    read -r name init _ _ p s <<< "$line"
    job "$exp/$name/run.log" midtrain_one "$name" "$init" "$p" "$s"
  done
  jobs_wait "Stage 4"
  { printf 'run\tobjective\tdata\tpair\tseed\tbleu\tchrf\tbleu_signature\n'
    for line in "${midtrain_runs[@]}"; do
      read -r name _ o d p s <<< "$line"
      b=$exp/$name/tst-COMMON/bleu.yaml  # asrkit decode --task st: bleu, chrf, bleu_signature, ...
      printf '%s\t' "$name" "$o" "$d" "$p" "$s"
      printf '%.2f\t' "$(sed -n 's/^bleu: //p' "$b")" "$(sed -n 's/^chrf: //p' "$b")"
      sed -n "s/^bleu_signature: //p" "$b" | tr -d "'"
    done; } > "$exp/bleu.tsv"
  column -t -s $'\t' "$exp/bleu.tsv"
  stage_done 4
fi

finetune_set=(--set "data.train_manifest=$man/asr/$asr_train.tsv" --set "data.valid_manifest=$man/asr/dev.tsv"
              --set "data.tokenizer=$tokenizer")
if [ -n "$finetune_updates" ]; then finetune_set+=(--set "optim.max_updates=$finetune_updates"); fi
names=()
resumes=()
for line in "${asr_runs[@]}"; do name=${line%% *}; names+=("$name"); resumes+=(--resumes "$exp/$name"); done
after5="1 2 3"
if [ -n "$midtrain_pairs" ]; then after5+=" 4"; fi

if run_stage 5 --after "$after5" "${resumes[@]}" finetune_config finetune_updates finetune_opts asr_train asr_modes \
   repeat_cell repeat_seeds data; then
  log "Stage 5: ${#names[@]} ASR trainings on $asr_train (${finetune_updates:-the configured} updates): ${names[*]}"
  finetune_one() {  # finetune_one NAME INIT FROZEN SEED: one ASR training (INIT -: from scratch)
    local name=$1 init=$2 frozen=$3 s=$4 seed_set=()
    if [ "$init" = - ]; then init=""; fi
    if [ "$s" != - ]; then seed_set=(--set "trainer.seed=$s"); fi
    # shellcheck disable=SC2086  # finetune_opts holds several options
    asrkit finetune --config "$finetune_config" --exp-dir "$exp/$name" --init "$init" \
      --set model.freeze_encoder="$frozen" "${finetune_set[@]}" "${seed_set[@]}" $finetune_opts
  }
  jobs_begin "${#asr_runs[@]}"
  for line in "${asr_runs[@]}"; do
    read -r name init frozen _ _ _ s _ <<< "$line"
    job "$exp/$name/run.log" finetune_one "$name" "$init" "$frozen" "$s"
  done
  jobs_wait "Stage 5"
  stage_done 5
fi

if run_stage 6 --after "1 5" data; then
  log "Stage 6: greedy CTC decoding of the test sets ($(test_sets)) with ${#names[@]} models"
  jobs_begin "${#names[@]}"
  for name in "${names[@]}"; do
    for set in $(test_sets); do
      rm -rf "$exp/$name/${set}_greedy"
      job "$exp/$name/decode_$set.log" asrkit decode --checkpoint "$exp/$name/checkpoint_best.pt" \
        --manifest "$man/asr/$set.tsv" --out-dir "$exp/$name/${set}_greedy"
    done
  done
  jobs_wait "Stage 6"
  stage_done 6
fi

if run_stage 7 --after 6; then
  log "Stage 7: score; Table 1 and Figure 3 per ASR mode ($asr_modes)"
  rm -f "$exp/results.tsv"
  for set in $(test_sets); do
    for name in "${names[@]}"; do
      d=$exp/$name/${set}_greedy
      to_file "$d/score.txt" asrkit score --ref "$d/ref.trn" --hyp "$d/hyp.trn" --results "$exp/results.tsv" \
        --exp "$name" --decoder greedy --split "$set"
    done
  done
  asrkit results "$exp/results.tsv"
  for m in $asr_modes; do
    { printf 'exp\tobjective\tdata\tpair\tseed\n'
      for line in "${asr_runs[@]}"; do
        read -r name _ _ o d p s mode <<< "$line"
        if [ "$mode" = "$m" ] || [ "$mode" = all ]; then printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$o" "$d" "$p" "$s"; fi
      done; } > "$exp/runs_$m.tsv"
    asrkit multistage-report "$exp/runs_$m.tsv" "$exp/results.tsv" --out-dir "$exp/report_$m" \
      --title "test WER (greedy), ASR with the encoder $m; baseline: from scratch, end to end"
  done
  stage_done 7
fi

log "Finished stages $stage-$stop_stage: data in $data, experiments in $exp (AV measures: $exp/av_eval.tsv," \
    "BLEU: $exp/bleu.tsv, WER: $exp/results.tsv, Table 1: $exp/report_<mode>/table1.md)"
