# How training jobs start. One node: torchrun with one process per GPU. Several nodes: run
# this recipe on every node with the same master, e.g. nnodes=8 master=node01:29500 ./run.sh
# (torchrun's c10d rendezvous). On SLURM wrap the command in srun the same way.
ngpu=${ngpu:-$(nvidia-smi -L 2>/dev/null | wc -l)}
[ "$ngpu" -gt 0 ] || ngpu=1
nnodes=${nnodes:-1}
master=${master:-localhost:29500}
train_cmd="torchrun --nnodes $nnodes --nproc-per-node $ngpu --rdzv-backend c10d --rdzv-endpoint $master -m asrkit.cli"
nj=${nj:-$(nproc)}
