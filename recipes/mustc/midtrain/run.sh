#!/usr/bin/env bash
# Speech-translation mid-training on MuST-C (Jain et al., 2024, "Multi-Stage Multi-Modal Pre-Training for ASR",
# §3.2, Fig. 1, stage 2): the audio encoder of an AV pre-training checkpoint (../../{lrs3,voxceleb2,kinetics}/
# av_pretrain) under a Transformer decoder, English speech -> German, Italian or Dutch text, on GPU nodes under
# torchrun; BLEU on tst-COMMON. The mid-trained encoder goes on to ../../librispeech/multistage (frozen-encoder ASR).
#
#   ./run.sh --corpus /data/MUSTC_v1.0 --stop-stage 2         # data, manifests, tokenizers of the three pairs
#   ./run.sh --stage 4 --init ../../lrs3/av_pretrain/exp/pretrain_mae/checkpoint_last.pt --tag lrs3_mae
#   ./run.sh --stage 4 --pairs en-it --init ... --tag lrs3_mae  # one pair (Table 1 has one column per pair)
#   ./run.sh --stage 4                                          # no --init: the av_paper encoder from scratch
#
#   0 data       check that $corpus holds MuST-C: en-<xx>/data/{train,dev,tst-COMMON}/{wav/*.wav, txt/<split>.yaml,
#                .en, .<xx>} for each pair. Nothing is downloaded: FBK gives MuST-C (v1.0 has en-de, en-it and
#                en-nl) out under CC BY-NC-ND after a form; fairseq's link https://ict.fbk.eu/must-c/ is broken
#                (bzhangGo/sltunet#4): FBK's MT unit lists the releases now
#   1 manifests  local/prepare_mustc.py: a segment per yaml line, an offset into its talk's wav, the English
#                transcript and the translation, the length filters of fairseq (0.05-30 s) on train and dev;
#                then asrkit manifest validate (audio; any characters: MuST-C's text is cased and punctuated)
#   2 tokenizer  per pair, sentencepiece on the train split: unigram 8000 on the translations (fairseq's ST
#                vocabulary) -> $data/tokenizer/<pair>/<xx>.model, unigram 5000 on the English transcripts
#                (fairseq's ASR vocabulary; the CTC auxiliary loss) -> $data/tokenizer/<pair>/en.model
#   4 midtrain   $train_cmd midtrain --init $init with conf/midtrain.yaml (av_paper encoder, ESPnet's MuST-C
#                decoder mustc_st) per pair -> $exp/midtrain_<tag>_<pair>
#   6 decode     asrkit decode --task st on tst-COMMON with conf/decode_st.yaml (fairseq: beam 5)
#   7 score      BLEU and chrF (sacrebleu, signatures in the table) -> $exp/bleu.tsv, shown
# Finished stages leave .stageN.done in $data (0-2) or $exp (4, 6, 7: .stageN.<tag>.<pair>.done, one per run and
# pair) and are skipped on re-runs; a finished stage re-run with other settings is refused (--force true redoes
# it); an interrupted mid-training resumes. See ../../utils/stage.sh.
set -euo pipefail
cd "$(dirname "$0")"

stage=0
stop_stage=7
force=false
corpus=corpus    # the MuST-C root (en-de/, en-it/, en-nl/)
data=data
exp=exp
pairs="en-de en-it en-nl"  # §3.2: German, Italian, Dutch
prep_opts=""     # local/prepare_mustc.py options (--min-seconds, --max-seconds, --max-chars)
nbpe_st=8000     # target units per language: fairseq prep_mustc_data.py --task st --vocab-size 8000
nbpe_src=5000    # English units for the CTC loss: fairseq prep_mustc_data.py --task asr --vocab-size 5000
bpemode=unigram  # fairseq --vocab-type unigram
init=""          # the checkpoint whose audio encoder is mid-trained; "" = the av_paper encoder from scratch
tag=""           # names the run: $exp/midtrain_<tag>_<pair>; required with --init, "scratch" without
midtrain_config=conf/midtrain.yaml
midtrain_opts="" # extra `asrkit midtrain` options, every pair alike
decode_config=conf/decode_st.yaml
usage="Usage: $0 [--stage N] [--stop-stage M] [--force true] [--corpus DIR] [--data DIR] [--exp DIR] [--pairs \"en-de en-it en-nl\"] [--prep-opts \"...\"] [--nbpe-st N] [--nbpe-src N] [--bpemode unigram|bpe] [--init CHECKPOINT --tag NAME] [--midtrain-config F] [--midtrain-opts \"...\"] [--decode-config F]"

. ./path.sh
. ./cmd.sh
. ../../utils/parse_options.sh
. ../../utils/stage.sh   # log, die, to_file, selected, run_stage, stage_done

for pair in $pairs; do case $pair in en-??) ;; *) die "--pairs: '$pair' is not a MuST-C pair en-<xx>" ;; esac; done
if [ -z "$tag" ]; then
  [ -z "$init" ] || die "--init $init needs --tag NAME to name its runs (e.g. lrs3_mae: $exp/midtrain_lrs3_mae_<pair>)"
  tag=scratch
fi
if [ -n "$init" ] && selected 4 && [ ! -f "$init" ]; then die "--init $init: no such checkpoint"; fi
mkdir -p "$data" "$exp"
man=$data/manifests
tok=$data/tokenizer

if run_stage 0 corpus pairs; then
  log "Stage 0: MuST-C ($pairs) in $corpus"
  for pair in $pairs; do
    for split in train dev tst-COMMON; do
      [ -f "$corpus/$pair/data/$split/txt/$split.yaml" ] || die "$corpus/$pair/data/$split/txt/$split.yaml: not" \
        "found. MuST-C is not downloaded by this recipe (FBK gives it out after a form): unpack each pair's" \
        "archive under one root and pass it as --corpus"
    done
  done
  stage_done 0
fi

if run_stage 1 --after 0 corpus pairs prep_opts; then
  log "Stage 1: ST manifests ($pairs), validated"
  rm -rf "$man"
  # shellcheck disable=SC2086  # prep_opts holds several options
  ../../../local/prepare_mustc.py "$corpus" --out "$man" --pairs "${pairs// /,}" $prep_opts
  asrkit manifest validate "$man"/*/*.tsv --charset '' --num-workers "$nj"
  stage_done 1
fi

if run_stage 2 --after 1 pairs nbpe_st nbpe_src bpemode; then
  log "Stage 2: sentencepiece $bpemode per pair: $nbpe_st target units, $nbpe_src English units"
  rm -rf "$tok"
  for pair in $pairs; do
    ../../../local/train_sentencepiece.py "$man/$pair/train.tsv" --column translation --vocab-size "$nbpe_st" \
      --model-type "$bpemode" --out "$tok/$pair/${pair#en-}"
    ../../../local/train_sentencepiece.py "$man/$pair/train.tsv" --column text --vocab-size "$nbpe_src" \
      --model-type "$bpemode" --out "$tok/$pair/en"
  done
  stage_done 2
fi

marker_tag_from=4
for pair in $pairs; do
  marker_tag=".$tag.$pair"   # stages 4, 6, 7: a marker per run and pair
  dir=$exp/midtrain_${tag}_$pair
  if run_stage 4 --after "1 2" --resumes "$dir" init midtrain_config midtrain_opts data; then
    log "Stage 4: $pair mid-training from ${init:-scratch} ($ngpu GPU(s) x $nnodes node(s)) -> $dir"
    # shellcheck disable=SC2086  # midtrain_opts holds several options
    $train_cmd midtrain --config "$midtrain_config" --exp-dir "$dir" --init "$init" \
      --set data.train_manifest="$man/$pair/train.tsv" --set data.valid_manifest="$man/$pair/dev.tsv" \
      --set data.target_tokenizer="$tok/$pair/${pair#en-}.model" --set data.source_tokenizer="$tok/$pair/en.model" \
      $midtrain_opts
    stage_done 4
  fi

  if run_stage 6 --after "1 4" decode_config data; then
    log "Stage 6: translating $pair tst-COMMON with $dir/checkpoint_best.pt"
    rm -rf "$dir/tst-COMMON"
    asrkit decode --task st --config "$decode_config" --checkpoint "$dir/checkpoint_best.pt" \
      --manifest "$man/$pair/tst-COMMON.tsv" --out-dir "$dir/tst-COMMON"
    stage_done 6
  fi

  if run_stage 7 --after 6; then
    log "Stage 7: BLEU of $dir on tst-COMMON -> $exp/bleu.tsv"
    # one row per run, pair and split: a re-scored run's old row is replaced
    python -c 'import sys, yaml
from pathlib import Path
table, name, pair, scores = Path(sys.argv[1]), sys.argv[2], sys.argv[3], yaml.safe_load(open(sys.argv[4]))
bleu, chrf, n, signature = (scores[k] for k in ("bleu", "chrf", "utterances", "bleu_signature"))
old = table.read_text(encoding="utf-8").splitlines(True)[1:] if table.exists() else []
rows = [r for r in old if r.split("\t")[:2] != [name, pair]]
rows.append(f"{name}\t{pair}\ttst-COMMON\t{bleu:.2f}\t{chrf:.2f}\t{n}\t{signature}\n")
head = "exp\tpair\tsplit\tbleu\tchrf\tutterances\tbleu_signature\n"
table.write_text(head + "".join(sorted(rows)), encoding="utf-8")' \
      "$exp/bleu.tsv" "midtrain_$tag" "$pair" "$dir/tst-COMMON/bleu.yaml"
    column -t -s $'\t' "$exp/bleu.tsv"
    stage_done 7
  fi
done
