#!/usr/bin/env bash
# ASR on LibriSpeech 960 h after audio-visual pre-training and speech-translation mid-training (Jain et al., 2024,
# "Multi-Stage Multi-Modal Pre-Training for ASR", §3.3, Table 1): the encoder of a checkpoint from
# ../../{lrs3,voxceleb2,kinetics}/av_pretrain (pre-training only) or ../../mustc/midtrain (pre-training +
# mid-training) frozen, a task decoder (a 2 x 1024 BLSTM, SUPERB's ASR downstream) and CTC on characters trained
# on the 960 h; or, without --init, the paper's "No Pre-training" baseline: the same model trained end to end
# from scratch. Decoded with and without the official 4-gram, scored; GPU nodes under torchrun.
#
#   ./run.sh --stop-stage 2                                     # data, manifests, LM (as ../w2v2_base)
#   ./run.sh --stage 5                                          # the no-pre-training baseline -> $exp/asr_scratch
#   ./run.sh --stage 5 --init ../../lrs3/av_pretrain/exp/pretrain_mae/checkpoint_last.pt --tag lrs3_mae
#   ./run.sh --stage 5 --init ../../mustc/midtrain/exp/midtrain_lrs3_mae_en-it/checkpoint_best.pt --tag lrs3_mae_en-it
#   ./run.sh --stage 7 --stop-stage 7 --tag lrs3_mae_en-it      # the results table again
# ../w2v2_base's finished data stages serve here too: ln -s ../w2v2_base/corpus corpus; ln -s ../w2v2_base/data data
#
#   0 data       download LibriSpeech's seven sets and the LM resources (openslr 11, 12) as ../w2v2_base
#   1 manifests  local/prepare_librispeech.py, train-960 = the three training sets ("LS-960 following Baevski
#                et al.", §3.3), validated
#   2 lm         official 4-gram -> KenLM binary; lexicon of its vocabulary in characters
#   5 finetune   $train_cmd finetune --init $init: conf/finetune_frozen.yaml (encoder frozen, BLSTM + CTC), or
#                conf/finetune_scratch.yaml without --init (the same model, every weight trained) -> $exp/asr_<tag>
#   6 decode     dev/test: Viterbi and 4-gram lexicon beam search with conf/decode.yaml
#   7 score      sclite-identical WER -> $exp/results.tsv (rows asr_<tag>), shown with asrkit results
# Finished stages leave .stageN.done in $data (0-2) or $exp (5-7: .stageN.<tag>.done, one per run) and are skipped
# on re-runs; a finished stage re-run with other settings is refused (--force true redoes it); an interrupted
# training resumes. See ../../utils/stage.sh.
set -euo pipefail
cd "$(dirname "$0")"

stage=0
stop_stage=7
force=false
corpus=corpus    # where the downloads are extracted
data=data
exp=exp
init=""          # encoder checkpoint (kind pretrain or midtrain); "" = the no-pre-training baseline
tag=""           # names the run: $exp/asr_<tag>; required with --init, "scratch" without
finetune_config=""  # "" = conf/finetune_frozen.yaml with --init, conf/finetune_scratch.yaml without
finetune_opts="" # extra `asrkit finetune` options
decode_config=conf/decode.yaml
usage="Usage: $0 [--stage N] [--stop-stage M] [--force true] [--corpus DIR] [--data DIR] [--exp DIR] [--init CHECKPOINT --tag NAME] [--finetune-config F] [--finetune-opts \"...\"] [--decode-config F]"

. ./path.sh
. ./cmd.sh
. ../../utils/parse_options.sh
. ../../utils/stage.sh   # log, die, to_file, selected, run_stage, stage_done
if [ -z "$tag" ]; then
  [ -z "$init" ] || die "--init $init needs --tag NAME to name its run (e.g. lrs3_mae_en-it: $exp/asr_lrs3_mae_en-it)"
  tag=scratch
fi
if [ -n "$init" ] && selected 5 && [ ! -f "$init" ]; then die "--init $init: no such checkpoint"; fi
if [ -z "$finetune_config" ]; then
  finetune_config=conf/finetune_scratch.yaml
  if [ -n "$init" ]; then finetune_config=conf/finetune_frozen.yaml; fi
fi
marker_tag=".$tag"   # stages 5-7 are per run: $exp/.stageN.<tag>.done; the data stages (0-2) are shared
marker_tag_from=5
name=asr_$tag

mkdir -p "$data" "$exp"
lm_url=${LM_URL:-https://www.openslr.org/resources/11}

if run_stage 0 corpus; then
  log "Stage 0: download"
  ../../../local/download_librispeech.sh "$corpus" dev-clean dev-other test-clean test-other train-clean-100 \
    train-clean-360 train-other-500
  for f in 4-gram.arpa.gz librispeech-lm-norm.txt.gz; do
    if [ -f "$corpus/$f" ] && gzip -t "$corpus/$f" 2>/dev/null; then continue; fi  # complete already
    curl -fL --retry 5 -C - -o "$corpus/$f" "$lm_url/$f"
    gzip -t "$corpus/$f"
  done
  stage_done 0
fi

if run_stage 1 --after 0 corpus; then
  log "Stage 1: manifests"
  ../../../local/prepare_librispeech.py "$corpus/LibriSpeech" --out "$data/manifests"
  asrkit manifest combine "$data/manifests/train-960.tsv" \
    "$data"/manifests/train-{clean-100,clean-360,other-500}.tsv
  asrkit manifest validate "$data"/manifests/*.tsv --num-workers "$nj"
  stage_done 1
fi

if run_stage 2 --after 0 corpus; then
  log "Stage 2: 4-gram LM and lexicon"
  mkdir -p "$data/lm"
  gunzip -c "$corpus/4-gram.arpa.gz" > "$data/lm/4gram.arpa"   # already upper case, like the transcripts
  build_binary "$data/lm/4gram.arpa" "$data/lm/4gram.bin"
  asrkit lm lexicon "$data/lm/4gram.arpa" --out "$data/lm/lexicon.txt"
  stage_done 2
fi

if run_stage 5 --after 1 --resumes "$exp/$name" init finetune_config finetune_opts data; then
  log "Stage 5: $name on train-960 from ${init:-scratch} with $finetune_config ($ngpu GPU(s) x $nnodes node(s))"
  # shellcheck disable=SC2086  # finetune_opts holds several options
  $train_cmd finetune --config "$finetune_config" --exp-dir "$exp/$name" --init "$init" \
    --set data.train_manifest="$data/manifests/train-960.tsv" --set data.valid_manifest="$data/manifests/dev-other.tsv" \
    $finetune_opts
  stage_done 5
fi

splits=(dev-clean dev-other test-clean test-other)
if run_stage 6 --after "1 2 5" decode_config data; then
  log "Stage 6: decoding $name (Viterbi; 4-gram with $decode_config)"
  model="$exp/$name/checkpoint_best.pt"
  for split in "${splits[@]}"; do
    rm -rf "$exp/$name/${split}_viterbi" "$exp/$name/${split}_4gram"
    asrkit decode --checkpoint "$model" --manifest "$data/manifests/$split.tsv" --out-dir "$exp/$name/${split}_viterbi"
    asrkit decode --config "$decode_config" --checkpoint "$model" --manifest "$data/manifests/$split.tsv" \
      --out-dir "$exp/$name/${split}_4gram" --lm "$data/lm/4gram.bin" --lexicon "$data/lm/lexicon.txt"
  done
  stage_done 6
fi

if run_stage 7 --after 6; then
  log "Stage 7: scoring"
  results="$exp/results.tsv"   # every run's rows: a re-scored run's old rows go first
  if [ -f "$results" ]; then
    awk -F '\t' -v e="$name" 'NR == 1 || $1 != e' "$results" > "$results.tmp"
    mv "$results.tmp" "$results"
  fi
  for split in "${splits[@]}"; do
    for d in viterbi 4gram; do
      out="$exp/$name/${split}_$d"
      to_file "$out/score.txt" asrkit score --ref "$out/ref.trn" --hyp "$out/hyp.trn" --results "$results" \
        --exp "$name" --decoder "$d" --split "$split"
    done
  done
  asrkit results "$results"
  stage_done 7
fi
