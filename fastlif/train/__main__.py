"""``python -m fastlif.train [flags]`` = ``fastlif train [flags]``; ``python -m fastlif.train demo`` = ``fastlif demo``.
Also the entry point for ``torchrun --nproc_per_node=N -m fastlif.train ...``. A launcher only: nothing in the
library imports it (the command line lives in ``fastlif.commands``)."""
import sys

from ..commands.main import main

if __name__ == "__main__":
    argv = sys.argv[1:]
    sys.exit(main(argv if argv[:1] == ["demo"] else ["train", *argv]))
