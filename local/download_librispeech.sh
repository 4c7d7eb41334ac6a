#!/usr/bin/env bash
# Download and extract LibriSpeech (openslr resource 12) and Libri-light's limited-supervision
# fine-tuning sets. Resumable (curl -C -), checksum-verified (sha256), extraction marked done.
#
#   local/download_librispeech.sh DATA_DIR [PART ...]
# PART: dev-clean dev-other test-clean test-other train-clean-100 train-clean-360
#       train-other-500 librispeech_finetuning   (default: all)
set -euo pipefail

if [ $# -lt 1 ]; then
  sed -n '2,7p' "$0"; exit 1
fi
data_dir=$1; shift
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(dev-clean dev-other test-clean test-other train-clean-100 \
                                 train-clean-360 train-other-500 librispeech_finetuning)
openslr=${OPENSLR_MIRROR:-https://www.openslr.org/resources/12}
librilight=${LIBRILIGHT_URL:-https://dl.fbaipublicfiles.com/librilight/data}

declare -A sha256=(
  [dev-clean]=76f87d090650617fca0cac8f88b9416e0ebf80350acb97b343a85fa903728ab3
  [dev-other]=12661c48e8c3fe1de2c1caa4c3e135193bfb1811584f11f569dd12645aa84365
  [test-clean]=39fde525e59672dc6d1551919b1478f724438a95aa55f874b576be21967e6c23
  [test-other]=d09c181bba5cf717b3dee7d4d592af11a3ee3a09e08ae025c5506f6ebe961c29
  [train-clean-100]=d4ddd1d5a6ab303066f14971d768ee43278a5f2a0aa43dc716b0e64ecbbbf6e2
  [train-clean-360]=146a56496217e96c14334a160df97fffedd6e0a04e66b9c5af0d40be3c792ecf
  [train-other-500]=ddb22f27f96ec163645d53215559df6aa36515f26e01dd70798188350adcb6d2
  [librispeech_finetuning]=5d1efdc777b548194d7e09ba89126e2188026df9fd57aa57eb14408d2b2342af
)

mkdir -p "$data_dir"
for part in "${parts[@]}"; do
  if [ -z "${sha256[$part]:-}" ]; then echo "$0: unknown part $part" >&2; exit 1; fi
  if [ "$part" = librispeech_finetuning ]; then
    url=$librilight/librispeech_finetuning.tgz; archive=$data_dir/librispeech_finetuning.tgz
  else
    url=$openslr/$part.tar.gz; archive=$data_dir/$part.tar.gz
  fi
  if [ -f "$data_dir/.$part.done" ]; then echo "$part: already extracted"; continue; fi
  echo "$part: downloading $url"
  curl -fL --retry 5 -C - -o "$archive" "$url"   # -C - resumes a partial download
  echo "${sha256[$part]}  $archive" | sha256sum -c - || {
    echo "$0: checksum mismatch for $archive; delete it and re-run" >&2; exit 1; }
  tar -xzf "$archive" -C "$data_dir"
  touch "$data_dir/.$part.done"
done
echo "LibriSpeech under $data_dir/LibriSpeech, Libri-light sets under $data_dir/librispeech_finetuning"
