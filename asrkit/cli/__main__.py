"""``python -m asrkit.cli``: the ``asrkit`` command (how torchrun starts it for DDP)."""
from . import cli

if __name__ == "__main__":
    cli()
