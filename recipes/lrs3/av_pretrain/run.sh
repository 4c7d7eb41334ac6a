#!/usr/bin/env bash
# Audio-visual pre-training on LRS3 (Jain et al., 2024, "Multi-Stage Multi-Modal Pre-Training for ASR", §3.1,
# §3.4, Fig. 1, stage 1): the paper's model (asrkit/conf/model/av_paper.yaml: 16-block Conformer audio encoder,
# 12 x 768 ViT video encoder, 4 x 512 shared decoder) with MAE, CLR and/or MAE+CLR on LRS3's TED talks, on GPU
# nodes under torchrun. ../../voxceleb2/av_pretrain and ../../kinetics/av_pretrain do the same on the paper's
# other two sets, with these configs. The chain goes on in ../../mustc/midtrain (speech-translation mid-training
# from a checkpoint of this recipe) and ../../librispeech/multistage (ASR on the frozen encoder).
#
#   ./run.sh --corpus /data/lrs3                          # MAE, CLR and MAE+CLR, one after the other
#   ./run.sh --corpus /data/lrs3 --stage 3 --objectives mae
#   nnodes=4 master=node01:29500 ./run.sh --stage 3 --objectives mae   # on every node (cmd.sh)
#
#   0 data       check that $corpus holds LRS3: {pretrain,trainval,test}/<talk>/<clip>.mp4 + .txt. Nothing is
#                downloaded: LRS3 was shared under the VGG group's agreement and is no longer distributed
#                (https://www.robots.ox.ac.uk/~vgg/data/lip_reading/lrs3.html; whisper-flamingo#6); users point to
#                MuAViC's English split (https://github.com/facebookresearch/muavic; tailored-avsr#3) instead
#   1 manifests  local/prepare_lrs3.py: long pretrain clips cut at word boundaries into <= 15 s and the audio
#                extracted, here to FLAC (both as AV-HuBERT's lrs3_prepare.py); clips without audio or text, silent or
#                undecodable are left out and counted; then asrkit manifest validate (audio and video streams,
#                25 fps, 224x224 frames: LRS3's face tracks)
#   3 pretrain   $train_cmd pretrain --config conf/pretrain_<objective>.yaml, per objective, on pretrain/
#                (the split LRS3 sets apart for pre-training; the paper's 346 h matches no combination of
#                LRS3's splits, AV-HuBERT's pretrain + trainval is 433 h), validated on trainval/ (other clips
#                of those talks; AV-HuBERT validates on part of it) -> $exp/pretrain_<objective>
# No stage 2 (no text is learnt) and no 4-7 here (mid-training and ASR are their own recipes). Finished stages
# leave .stageN.done in $data (0-1) or $exp (3: .stage3.<objective>.done, one per objective, so objectives can
# be added later) and are skipped on re-runs; a finished stage re-run with other settings is refused (--force
# true redoes it); an interrupted pre-training resumes. See ../../utils/stage.sh. The stages are run by
# ../../utils/av_pretrain.sh, the same for the three sets; this file gives it what is particular to LRS3.
set -euo pipefail
cd "$(dirname "$0")"

stage=0
stop_stage=3
force=false
corpus=corpus    # the LRS3 root (pretrain/, trainval/, test/)
data=data
exp=exp
objectives="mae clr mae_clr"            # conf/pretrain_<objective>.yaml each
prep_opts="--max-seconds 15 --extract-audio"  # local/prepare_lrs3.py: AV-HuBERT's 15 s cut and audio extraction
fps=25           # LRS3's frame rate and frame size, checked by asrkit manifest validate ("" = any)
frame_size=224x224
pretrain_opts="" # extra `asrkit pretrain` options, every run alike (e.g. --set optim.max_updates=50000)
usage="Usage: $0 [--stage N] [--stop-stage M] [--force true] [--corpus DIR] [--data DIR] [--exp DIR] [--objectives \"mae clr mae_clr\"] [--prep-opts \"...\"] [--fps F] [--frame-size WxH] [--pretrain-opts \"...\"]"

. ./path.sh
. ./cmd.sh
. ../../utils/parse_options.sh
. ../../utils/stage.sh   # log, die, to_file, selected, run_stage, stage_done

# What is particular to LRS3; ../../utils/av_pretrain.sh runs the stages
corpus_name=LRS3
check_corpus() {
  local split
  for split in pretrain trainval test; do
    [ -d "$corpus/$split" ] || die "$corpus/$split: not found. LRS3 (pretrain/, trainval/, test/ of <talk>/<clip>.mp4" \
      "+ .txt) is not downloaded by this recipe: it needs the VGG group's agreement (no longer distributed; MuAViC's" \
      "English split is the usual substitute); pass its root as --corpus"
  done
  compgen -G "$corpus/pretrain/*/*.mp4" > /dev/null || die "$corpus/pretrain: no <talk>/<clip>.mp4; is this LRS3?"
}
prepare=../../../local/prepare_lrs3.py
splits="pretrain trainval test"
validate_opts=(--charset '')   # pre-training reads no transcript: any characters pass
train_set=pretrain valid_set=trainval
train_desc="LRS3 pretrain/"

. ../../utils/av_pretrain.sh
