#!/usr/bin/env bash
# Kaldi-style option parsing for recipes: `--stop-stage 3` sets the shell variable
# stop_stage=3, for any variable the script defined before sourcing this file.
# Usage (in run.sh, after the defaults):  . ../../utils/parse_options.sh
while [ $# -gt 0 ]; do
  case "$1" in
    --help|-h)
      [ -n "${usage:-}" ] && echo "$usage"
      exit 0 ;;
    --*=*)
      name="${1%%=*}"; value="${1#*=}"; shift ;;
    --*)
      name="$1"
      if [ $# -lt 2 ]; then echo "$0: option $name needs a value" >&2; exit 1; fi
      value="$2"; shift 2 ;;
    *)
      break ;;
  esac
  var="${name#--}"; var="${var//-/_}"
  if ! declare -p "$var" >/dev/null 2>&1; then
    echo "$0: unknown option $name" >&2
    [ -n "${usage:-}" ] && echo "$usage" >&2
    exit 1
  fi
  printf -v "$var" '%s' "$value"
done
