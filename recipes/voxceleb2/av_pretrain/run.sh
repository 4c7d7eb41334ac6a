#!/usr/bin/env bash
# Audio-visual pre-training on VoxCeleb2 (Jain et al., 2024, "Multi-Stage Multi-Modal Pre-Training for ASR", §3.1,
# §3.4, Fig. 1, stage 1): the paper's model (asrkit/conf/model/av_paper.yaml) with MAE, CLR and/or MAE+CLR on
# VoxCeleb2's celebrity interviews (multilingual, noisy speech with faces; the paper's 2380 h), on GPU nodes under
# torchrun. The configs are ../../lrs3/av_pretrain's (conf/ links there): the three sets differ in data only.
# The chain goes on in ../../mustc/midtrain and ../../librispeech/multistage.
#
#   ./run.sh --corpus /data/voxceleb2                     # MAE, CLR and MAE+CLR, one after the other
#   ./run.sh --corpus /data/voxceleb2 --stage 3 --objectives clr
#   nnodes=4 master=node01:29500 ./run.sh --stage 3 --objectives clr   # on every node (cmd.sh)
#
#   0 data       check that $corpus holds VoxCeleb2: dev/mp4/id<N>/<ytid>/<clip>.mp4 (and test/mp4/...). Nothing is
#                downloaded: VoxCeleb2 is given out by the VGG group on request
#                (https://www.robots.ox.ac.uk/~vgg/data/voxceleb/vox2.html; the files moved to a mirror since).
#                Unzip vox2_dev_mp4 into $corpus/dev and vox2_test_mp4 into $corpus/test (the mp4s carry the audio)
#   1 manifests  local/prepare_voxceleb2.py, the audio extracted (as AV-HuBERT's vox_prepare.py; FLAC); every
#                language is kept (the paper: "multilingual"; --prep-opts "--id-list vox-en.id.gz" keeps
#                AV-HuBERT's English clips only); clips without audio, silent or undecodable are left out and
#                counted; then asrkit manifest validate (audio and video streams, 25 fps, 224x224 frames)
#   3 pretrain   $train_cmd pretrain --config conf/pretrain_<objective>.yaml, per objective, on dev (5994
#                speakers), validated on test (118 other speakers) -> $exp/pretrain_<objective>
# No stage 2 and no 4-7 here. Finished stages leave .stageN.done in $data (0-1) or $exp (3: .stage3.<objective>.done)
# and are skipped on re-runs; a finished stage re-run with other settings is refused (--force true redoes it); an
# interrupted pre-training resumes. See ../../utils/stage.sh. The stages are run by ../../utils/av_pretrain.sh,
# the same for the three sets; this file gives it what is particular to VoxCeleb2.
set -euo pipefail
cd "$(dirname "$0")"

stage=0
stop_stage=3
force=false
corpus=corpus    # the VoxCeleb2 root (dev/mp4/, test/mp4/)
data=data
exp=exp
objectives="mae clr mae_clr"   # conf/pretrain_<objective>.yaml each
prep_opts="--extract-audio"    # local/prepare_voxceleb2.py options (AV-HuBERT extracts the audio too)
fps=25           # VoxCeleb2's frame rate and frame size, checked by asrkit manifest validate ("" = any)
frame_size=224x224
pretrain_opts="" # extra `asrkit pretrain` options, every run alike
usage="Usage: $0 [--stage N] [--stop-stage M] [--force true] [--corpus DIR] [--data DIR] [--exp DIR] [--objectives \"mae clr mae_clr\"] [--prep-opts \"...\"] [--fps F] [--frame-size WxH] [--pretrain-opts \"...\"]"

. ./path.sh
. ./cmd.sh
. ../../utils/parse_options.sh
. ../../utils/stage.sh   # log, die, to_file, selected, run_stage, stage_done

# What is particular to VoxCeleb2; ../../utils/av_pretrain.sh runs the stages
corpus_name=VoxCeleb2
check_corpus() {
  local split
  for split in dev test; do
    compgen -G "$corpus/$split/mp4/id*/*/*.mp4" > /dev/null || die "$corpus/$split/mp4: no id<N>/<ytid>/<clip>.mp4." \
      "VoxCeleb2 is not downloaded by this recipe (the VGG group gives it out on request): unzip vox2_dev_mp4 into" \
      "<root>/dev and vox2_test_mp4 into <root>/test and pass <root> as --corpus"
  done
}
prepare=../../../local/prepare_voxceleb2.py
splits="dev test"
train_set=dev valid_set=test
train_desc="VoxCeleb2 dev"

. ../../utils/av_pretrain.sh
