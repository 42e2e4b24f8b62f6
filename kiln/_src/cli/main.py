"""The `kiln` command: ``kiln inspect FILE``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="kiln", description="Tools for Keras 3 / kiln model files."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    inspect_parser = commands.add_parser(
        "inspect",
        help="show a .keras or .weights.h5 file's model, layers and weights "
        "(without loading weight data)",
    )
    inspect_parser.add_argument("file")
    args = parser.parse_args(argv)
    if args.command == "inspect":
        from kiln._src.cli.inspect_file import describe

        try:
            describe(args.file, sys.stdout)
        except BrokenPipeError:  # e.g. `kiln inspect f | head`
            sys.stderr.close()
            return 0
        except (OSError, ValueError, KeyError) as error:
            print(f"kiln inspect: cannot read {args.file}: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
