# shellcheck shell=bash
# Environment for this recipe: the project's virtualenv and KenLM tools, unbuffered Python output.
ASRKIT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
export PATH="$ASRKIT_ROOT/.venv/bin:$ASRKIT_ROOT/tools/bin:$PATH"
export ASRKIT_TOOLS="$ASRKIT_ROOT/tools"
export PYTHONUNBUFFERED=1
