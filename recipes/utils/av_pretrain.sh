#!/usr/bin/env bash
# shellcheck disable=SC2154  # the variables below and stage.sh's, nj, ngpu, nnodes, train_cmd: set by the run.sh
# Stages 0, 1 and 3 of audio-visual pre-training on a real corpus (Jain et al., 2024, stage 1), shared by
# ../lrs3/av_pretrain, ../voxceleb2/av_pretrain and ../kinetics/av_pretrain (as ESPnet's egs2/TEMPLATE/asr1/asr.sh
# serves every corpus's run.sh): the sets differ in data only. A run.sh sets its options' defaults, sources
# path.sh, cmd.sh, parse_options.sh and stage.sh, then says what is particular to its corpus and sources this file
# as its last line:
#
#   corpus_name=LRS3                   # in the stage logs
#   check_corpus() { ... }             # stage 0: die unless $corpus holds the corpus (how to get it, if not)
#   prepare=../../../local/prepare_lrs3.py  # stage 1 runs "$prepare" "$corpus" --out $data/manifests
#   prepare_args=()                    #   "${prepare_args[@]}" --num-workers $nj $prep_opts (optional)
#   splits="pretrain trainval test"    # the <split>.tsv it writes, which asrkit manifest validate checks
#   validate_opts=(--charset '')       #   with --unlabeled, these options (optional) and fps/frame_size
#   train_set=pretrain valid_set=trainval  # stage 3: data.train_manifest, data.valid_manifest (<split>.tsv)
#   train_desc="LRS3 pretrain/"        # in stage 3's log: what it trains on
#   . ../../utils/av_pretrain.sh
#
# Options it reads (the run.sh's, parse_options.sh sets them): stage, stop_stage, force, corpus, data, exp,
# objectives (conf/pretrain_<objective>.yaml each), prep_opts, pretrain_opts; and fps, frame_size where the corpus
# has one frame rate and frame size: a run.sh that defines them offers --fps/--frame-size, stage 1 checks them
# ("" = any) and records them with its settings; one that does not (Kinetics-600) checks neither.
#
#   0 data       check_corpus; marker $data/.stage0.done
#   1 manifests  $prepare into $data/manifests (removed first), then asrkit manifest validate; $data/.stage1.done
#   3 pretrain   $train_cmd pretrain --config conf/pretrain_<objective>.yaml per objective ->
#                $exp/pretrain_<objective>; a marker per objective, $exp/.stage3.<objective>.done, so objectives
#                can be added later; an interrupted run resumes (run_stage --resumes)

for v in corpus_name prepare splits train_set valid_set train_desc; do
  declare -p "$v" >/dev/null 2>&1 || die "av_pretrain.sh: no variable '$v' (a recipe bug)"
done
declare -F check_corpus >/dev/null || die "av_pretrain.sh: no function check_corpus (a recipe bug)"
declare -p prepare_args >/dev/null 2>&1 || prepare_args=()
declare -p validate_opts >/dev/null 2>&1 || validate_opts=()

for o in $objectives; do [ -f "conf/pretrain_$o.yaml" ] || die "--objectives: no conf/pretrain_$o.yaml (mae, clr, mae_clr)"; done
mkdir -p "$data" "$exp"
man=$data/manifests
manifests=()
for split in $splits; do manifests+=("$man/$split.tsv"); done
settings1=(corpus prep_opts)   # stage 1's settings: fps and frame_size too where the recipe has them
checks=()
if [ -n "${fps+set}" ]; then
  settings1+=(fps)
  if [ -n "$fps" ]; then checks+=(--fps "$fps"); fi
fi
if [ -n "${frame_size+set}" ]; then
  settings1+=(frame_size)
  if [ -n "$frame_size" ]; then checks+=(--frame-size "$frame_size"); fi
fi

if run_stage 0 corpus; then
  log "Stage 0: $corpus_name in $corpus"
  check_corpus
  stage_done 0
fi

if run_stage 1 --after 0 "${settings1[@]}"; then
  log "Stage 1: AV manifests of $corpus_name, validated"
  rm -rf "$man"
  # shellcheck disable=SC2086  # prep_opts holds several options
  "$prepare" "$corpus" --out "$man" "${prepare_args[@]}" --num-workers "$nj" $prep_opts
  asrkit manifest validate "${manifests[@]}" --unlabeled "${validate_opts[@]}" "${checks[@]}" --num-workers "$nj"
  stage_done 1
fi

for o in $objectives; do
  # shellcheck disable=SC2034  # read by stage.sh's marker
  marker_tag=".$o"   # a marker per objective: $exp/.stage3.<objective>.done
  pretrain_config=conf/pretrain_$o.yaml
  if run_stage 3 --after 1 --resumes "$exp/pretrain_$o" pretrain_config pretrain_opts data; then
    log "Stage 3: $o pre-training on $train_desc ($ngpu GPU(s) x $nnodes node(s)) -> $exp/pretrain_$o"
    # shellcheck disable=SC2086  # pretrain_opts holds several options
    $train_cmd pretrain --config "$pretrain_config" --exp-dir "$exp/pretrain_$o" \
      --set data.train_manifest="$man/$train_set.tsv" --set data.valid_manifest="$man/$valid_set.tsv" $pretrain_opts
    stage_done 3
  fi
done
