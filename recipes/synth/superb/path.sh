# shellcheck shell=bash
# Environment for this recipe: the project's virtualenv, unbuffered Python output.
ASRKIT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
export PATH="$ASRKIT_ROOT/.venv/bin:$PATH"
export PYTHONUNBUFFERED=1
