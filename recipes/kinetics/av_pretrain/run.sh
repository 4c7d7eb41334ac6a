#!/usr/bin/env bash
# Audio-visual pre-training on Kinetics-600 (Jain et al., 2024, "Multi-Stage Multi-Modal Pre-Training for ASR",
# §3.1, §3.4, Fig. 1, stage 1): the paper's model (asrkit/conf/model/av_paper.yaml) with MAE, CLR and/or MAE+CLR
# on YouTube action clips with their sound and almost no speech (the paper's 966 h), on GPU nodes under torchrun.
# The configs are ../../lrs3/av_pretrain's (conf/ links there): the three sets differ in data only. The chain
# goes on in ../../mustc/midtrain and ../../librispeech/multistage.
#
#   ./run.sh --corpus /data/k600                          # MAE, CLR and MAE+CLR, one after the other
#   ./run.sh --corpus /data/k600 --stage 3 --objectives mae_clr
#   nnodes=4 master=node01:29500 ./run.sh --stage 3 --objectives mae_clr   # on every node (cmd.sh)
#
#   0 data       check that $corpus holds Kinetics-600: annotations/{train,validate}.csv and
#                {train,val}/<class>/<ytid>_<start>_<end>.mp4. Nothing is downloaded here (hundreds of GB): the
#                CVDF archive has the clips (https://github.com/cvdfoundation/kinetics-dataset, k600_downloader.sh
#                and k600_extractor.sh); its archives unpack without class folders, so move each clip into
#                <split>/<class>/ by the annotations CSV
#   1 manifests  local/prepare_kinetics.py, audio extracted to FLAC: clips listed but missing, without an audio
#                stream or with a silent track (common in Kinetics, cav-mae#5) or undecodable are left out and
#                counted; then asrkit manifest validate (audio and video streams; Kinetics' frame rates and sizes
#                vary, so neither is checked: the random resized crop makes every clip 224x224)
#   3 pretrain   $train_cmd pretrain --config conf/pretrain_<objective>.yaml, per objective, on train, validated
#                on validate -> $exp/pretrain_<objective>
# No stage 2 and no 4-7 here. Finished stages leave .stageN.done in $data (0-1) or $exp (3: .stage3.<objective>.done)
# and are skipped on re-runs; a finished stage re-run with other settings is refused (--force true redoes it); an
# interrupted pre-training resumes. See ../../utils/stage.sh. The stages are run by ../../utils/av_pretrain.sh,
# the same for the three sets; this file gives it what is particular to Kinetics-600.
set -euo pipefail
cd "$(dirname "$0")"

stage=0
stop_stage=3
force=false
corpus=corpus    # the Kinetics-600 root (annotations/, train/, val/)
data=data
exp=exp
objectives="mae clr mae_clr"   # conf/pretrain_<objective>.yaml each
prep_opts="--extract-audio"    # local/prepare_kinetics.py options (e.g. --silence-db -60, its default)
pretrain_opts="" # extra `asrkit pretrain` options, every run alike
usage="Usage: $0 [--stage N] [--stop-stage M] [--force true] [--corpus DIR] [--data DIR] [--exp DIR] [--objectives \"mae clr mae_clr\"] [--prep-opts \"...\"] [--pretrain-opts \"...\"]"

. ./path.sh
. ./cmd.sh
. ../../utils/parse_options.sh
. ../../utils/stage.sh   # log, die, to_file, selected, run_stage, stage_done

# What is particular to Kinetics-600; ../../utils/av_pretrain.sh runs the stages (no --fps/--frame-size here)
corpus_name=Kinetics-600
check_corpus() {
  local split dir
  for split in train validate; do
    [ -f "$corpus/annotations/$split.csv" ] || die "$corpus/annotations/$split.csv: not found. Kinetics-600 is not" \
      "downloaded by this recipe: fetch it from the CVDF archive (k600_downloader.sh, k600_extractor.sh) with its" \
      "annotations and pass its root as --corpus"
  done
  for dir in train val; do
    compgen -G "$corpus/$dir/*/*.mp4" > /dev/null || die "$corpus/$dir: no <class>/<clip>.mp4; the CVDF archives" \
      "unpack without class folders: move each clip into $dir/<class>/ by annotations/*.csv"
  done
}
prepare=../../../local/prepare_kinetics.py
prepare_args=(--split train --split validate)
splits="train validate"
train_set=train valid_set=validate
train_desc="Kinetics-600 train"

. ../../utils/av_pretrain.sh
