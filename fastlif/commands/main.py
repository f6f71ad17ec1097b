"""The ``fastlif`` command (console script ``fastlif``, ``python -m fastlif``). Each subcommand is a module with
``add_arguments(parser)`` and ``run(args) -> int``; adding one is one entry in ``SUBCOMMANDS``."""
from __future__ import annotations

import argparse
import importlib
import sys

from .usage import UsageError

SUBCOMMANDS = {
    "train": "fastlif.commands.train",
    "demo": "fastlif.commands.demo",
    "energy": "fastlif.commands.energy",
    "landscape": "fastlif.commands.landscape",
}


def build_parser(only=None) -> argparse.ArgumentParser:
    """The parser; with ``only`` set, just that subcommand's module is imported (the others get bare entries),
    so one subcommand's heavy or broken imports never stand in the way of another."""
    from .. import __version__

    parser = argparse.ArgumentParser(prog="fastlif", description="fused multi-timestep LIF neurons: tools")
    parser.add_argument("--version", action="version", version=f"fastlif {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, module_name in SUBCOMMANDS.items():
        if only is not None and name != only:
            sub.add_parser(name)
            continue
        module = importlib.import_module(module_name)
        doc = (module.__doc__ or "").strip()
        summary = doc.split("\n")[0].split(": ", 1)[-1]
        p = sub.add_parser(name, help=summary, description=doc,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(only=argv[0] if argv and argv[0] in SUBCOMMANDS else None)
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse's own usage errors (exit 2) and --help (exit 0), returned like ours
        return e.code if isinstance(e.code, int) else 2
    try:
        return int(args._run(args) or 0)
    except UsageError as e:
        print(f"fastlif {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
