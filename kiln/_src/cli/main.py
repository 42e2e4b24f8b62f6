"""The `kiln` command: ``kiln inspect FILE`` and ``kiln verify FILE``."""

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
        help="show a .keras, .weights.h5 or sharded .weights.json file's model, "
        "layers and weights (without loading weight data)",
    )
    inspect_parser.add_argument("file")
    verify_parser = commands.add_parser(
        "verify",
        help="run every safety check of a load on a .keras or .weights.h5 file "
        "(archive, JSON, fields, graph, HDF5 rules, checksum) without building "
        "the model; exits with 1 when a check fails",
    )
    verify_parser.add_argument("file")
    verify_parser.add_argument(
        "--build",
        action="store_true",
        help="also build the model with lazy variables (nothing allocated) to "
        "check the memory budget and each variable against its dataset",
    )
    args = parser.parse_args(argv)
    if args.command == "verify":
        from kiln._src.cli.verify_file import report

        return report(args.file, args.build, sys.stdout)
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
