# shellcheck shell=bash
# How training jobs start. One node: torchrun with one process per GPU. Several nodes: run
# this recipe on every node with the same master, e.g. nnodes=8 master=node01:29500 ./run.sh
# (torchrun's c10d rendezvous). On SLURM wrap the command in srun the same way.
if [ -z "${ngpu:-}" ]; then  # this node's GPUs; no (working) nvidia-smi: one process
  ngpu=0
  if gpus=$(nvidia-smi -L 2>/dev/null); then
    while IFS= read -r gpu; do case "$gpu" in GPU*) ngpu=$((ngpu + 1)) ;; esac; done <<< "$gpus"
  fi
  unset gpus gpu
fi
if [ "$ngpu" -le 0 ]; then ngpu=1; fi
nnodes=${nnodes:-1}
master=${master:-localhost:29500}
# shellcheck disable=SC2034  # used by run.sh
train_cmd="torchrun --nnodes $nnodes --nproc-per-node $ngpu --rdzv-backend c10d --rdzv-endpoint $master -m asrkit.cli"
nj=${nj:-$(nproc)}
