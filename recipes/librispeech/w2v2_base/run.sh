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
# Finished stages leave .stageN.done in $data (0-2) or $exp (3; 5-7: .stageN.$subset.done), holding the
# settings they ran with (configs' checksums included), and are skipped on re-runs; a finished stage re-run with
# other settings (an edited conf/, another --corpus, ...) is refused with the changes listed: pass --force true
# to redo it. A stage that fails or is interrupted is not marked done; re-run it to go on (training resumes from
# its last checkpoint). See ../../utils/stage.sh.
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
. ../../utils/stage.sh   # log, die, to_file, selected, run_stage, stage_done
marker_tag=".$subset"    # stages 5-7 are per subset: $exp/.stageN.$subset.done; pre-training (3) is shared
marker_tag_from=5
pretrain_config=conf/pretrain.yaml
finetune_config=conf/finetune_$subset.yaml
decode_config=conf/decode_$subset.yaml   # wav2vec 2.0: Table 7's weights per subset; SEW-D: one conf/decode.yaml
if [ ! -f "$decode_config" ]; then decode_config=conf/decode.yaml; fi

mkdir -p "$data" "$exp"
lm_url=${LM_URL:-https://www.openslr.org/resources/11}

# Each stage: run_stage N [--after STAGES it reads] [--resumes its training dir] SETTINGS (see ../../utils/stage.sh)
if run_stage 0 corpus; then
  log "Stage 0: download"
  ../../../local/download_librispeech.sh "$corpus"
  for f in 4-gram.arpa.gz librispeech-lm-norm.txt.gz; do
    if [ -f "$corpus/$f" ] && gzip -t "$corpus/$f" 2>/dev/null; then continue; fi  # complete already
    curl -fL --retry 5 -C - -o "$corpus/$f" "$lm_url/$f"
    gzip -t "$corpus/$f"
  done
  stage_done 0
fi

if run_stage 1 --after 0 corpus; then
  log "Stage 1: manifests"
  ../../../local/prepare_librispeech.py "$corpus/LibriSpeech" --out "$data/manifests" \
    --finetuning-dir "$corpus/librispeech_finetuning"
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

if run_stage 3 --after 1 --resumes "$exp/pretrain" pretrain_config data; then
  log "Stage 3: pre-training on 960 h ($ngpu GPU(s) x $nnodes node(s))"
  $train_cmd pretrain --config "$pretrain_config" --exp-dir "$exp/pretrain"
  stage_done 3
fi

if run_stage 5 --after "1 3" --resumes "$exp/finetune_$subset" finetune_config data; then
  log "Stage 5: fine-tuning on $subset"
  $train_cmd finetune --config "$finetune_config" --exp-dir "$exp/finetune_$subset" \
    --init "$exp/pretrain/checkpoint_best.pt"
  stage_done 5
fi

splits=(dev-clean dev-other test-clean test-other)
if run_stage 6 --after "1 2 5" decode_config data; then
  log "Stage 6: decoding ($subset, 4-gram with $decode_config)"
  model="$exp/finetune_$subset/checkpoint_best.pt"
  for split in "${splits[@]}"; do
    rm -rf "$exp/finetune_$subset/${split}_viterbi" "$exp/finetune_$subset/${split}_4gram"
    asrkit decode --checkpoint "$model" --manifest "$data/manifests/$split.tsv" \
      --out-dir "$exp/finetune_$subset/${split}_viterbi"
    asrkit decode --config "$decode_config" --checkpoint "$model" --manifest "$data/manifests/$split.tsv" \
      --out-dir "$exp/finetune_$subset/${split}_4gram" --lm "$data/lm/4gram.bin" --lexicon "$data/lm/lexicon.txt"
  done
  stage_done 6
fi

if run_stage 7 --after 6; then
  log "Stage 7: scoring"
  results="$exp/results.tsv"   # every subset's rows: a re-scored subset's old rows go first
  if [ -f "$results" ]; then
    awk -F '\t' -v e="finetune_$subset" 'NR == 1 || $1 != e' "$results" > "$results.tmp"
    mv "$results.tmp" "$results"
  fi
  for split in "${splits[@]}"; do
    for d in viterbi 4gram; do
      out="$exp/finetune_$subset/${split}_$d"
      to_file "$out/score.txt" asrkit score --ref "$out/ref.trn" --hyp "$out/hyp.trn" --results "$results" \
        --exp "finetune_$subset" --decoder "$d" --split "$split"
    done
  done
  asrkit results "$results"
  stage_done 7
fi
