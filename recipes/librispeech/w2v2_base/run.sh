#!/usr/bin/env bash
# wav2vec 2.0 on LibriSpeech + Libri-light (Baevski et al., 2020): pre-train on 960 h without
# labels, fine-tune on one labelled subset (10m, 1h, 10h, 100h, 960h), decode with the official
# 4-gram LM and score. The model is this directory's conf/: w2v2_base, w2v2_large, or SEW-D (Wu et al.,
# 2021) in sewd_mid and sewd_base_plus, which link this script as w2v2_large does.
#
#   0 data       download LibriSpeech, Libri-light's fine-tuning sets and the LM resources
#   1 manifests  local/prepare_librispeech.py, train-960 = the three training sets, validation
#   2 lm         official 4-gram -> KenLM binary; lexicon of its vocabulary
#   3 pretrain   $train_cmd pretrain (torchrun: all GPUs of all nodes)
#   5 finetune   $train_cmd finetune on $subset (conf/finetune_$subset.yaml)
#   6 decode     dev/test: Viterbi and 4-gram beam search with conf/decode_$subset.yaml (wav2vec 2.0: the
#                Table 7 weights of each subset), else conf/decode.yaml (SEW-D: one setting for every subset)
#   7 score      sclite-identical WER -> exp/results.tsv
set -euo pipefail
cd "$(dirname "$0")"

stage=0
stop_stage=7
force=false
subset=10m       # labelled data: 10m 1h 10h 100h 960h (Table 6)
corpus=corpus    # where the downloads are extracted
data=data
exp=exp
usage="Usage: $0 [--stage N] [--stop-stage M] [--subset 10m|1h|10h|100h|960h] [--corpus DIR] [--force true]"

. ./path.sh
. ./cmd.sh
. ../../utils/parse_options.sh
. ../../utils/stage.sh   # log, marker, run_stage
marker_tag=".$subset"    # stages 3-7 markers per subset: $exp/.stageN.$subset.done

mkdir -p "$data" "$exp"
lm_url=${LM_URL:-https://www.openslr.org/resources/11}

if run_stage 0; then
  log "Stage 0: download"
  ../../../local/download_librispeech.sh "$corpus"
  for f in 4-gram.arpa.gz librispeech-lm-norm.txt.gz; do
    curl -fL --retry 5 -C - -o "$corpus/$f" "$lm_url/$f" && gzip -t "$corpus/$f"
  done
  touch "$(marker 0)"
fi

if run_stage 1; then
  log "Stage 1: manifests"
  ../../../local/prepare_librispeech.py "$corpus/LibriSpeech" --out "$data/manifests" \
    --finetuning-dir "$corpus/librispeech_finetuning"
  asrkit manifest combine "$data/manifests/train-960.tsv" \
    "$data"/manifests/train-{clean-100,clean-360,other-500}.tsv
  asrkit manifest validate "$data"/manifests/*.tsv --num-workers "$nj"
  touch "$(marker 1)"
fi

if run_stage 2; then
  log "Stage 2: 4-gram LM and lexicon"
  mkdir -p "$data/lm"
  gunzip -c "$corpus/4-gram.arpa.gz" > "$data/lm/4gram.arpa"   # already upper case, like the transcripts
  build_binary "$data/lm/4gram.arpa" "$data/lm/4gram.bin"
  asrkit lm lexicon "$data/lm/4gram.arpa" --out "$data/lm/lexicon.txt"
  touch "$(marker 2)"
fi

if run_stage 3; then
  log "Stage 3: pre-training on 960 h ($ngpu GPU(s) x $nnodes node(s))"
  $train_cmd pretrain --config conf/pretrain.yaml --exp-dir "$exp/pretrain"
  touch "$(marker 3)"
fi

if run_stage 5; then
  log "Stage 5: fine-tuning on $subset"
  $train_cmd finetune --config "conf/finetune_$subset.yaml" --exp-dir "$exp/finetune_$subset" \
    --init "$exp/pretrain/checkpoint_best.pt"
  touch "$(marker 5)"
fi

if run_stage 6; then
  decode_config=conf/decode_$subset.yaml
  [ -f "$decode_config" ] || decode_config=conf/decode.yaml
  log "Stage 6: decoding ($subset, 4-gram with $decode_config)"
  for split in dev-clean dev-other test-clean test-other; do
    model="$exp/finetune_$subset/checkpoint_best.pt"
    asrkit decode --checkpoint "$model" --manifest "$data/manifests/$split.tsv" \
      --out-dir "$exp/finetune_$subset/${split}_viterbi"
    asrkit decode --config "$decode_config" --checkpoint "$model" --manifest "$data/manifests/$split.tsv" \
      --out-dir "$exp/finetune_$subset/${split}_4gram" --lm "$data/lm/4gram.bin" --lexicon "$data/lm/lexicon.txt"
  done
  touch "$(marker 6)"
fi

if run_stage 7; then
  log "Stage 7: scoring"
  for split in dev-clean dev-other test-clean test-other; do
    for d in viterbi 4gram; do
      out="$exp/finetune_$subset/${split}_$d"
      asrkit score --ref "$out/ref.trn" --hyp "$out/hyp.trn" --results "$exp/results.tsv" \
        --exp "finetune_$subset" --decoder "$d" --split "$split" > "$out/score.txt" 2>&1
    done
  done
  asrkit results "$exp/results.tsv"
  touch "$(marker 7)"
fi
