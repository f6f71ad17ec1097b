"""``python -m fastlif COMMAND`` — the same as the ``fastlif`` console script."""
import sys

from .commands.main import main

sys.exit(main())
