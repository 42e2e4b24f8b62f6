"""The `kiln` command: ``kiln inspect``, ``kiln verify`` and ``kiln --version``."""

from __future__ import annotations

import argparse
import sys

import kiln
from kiln._src.saving.errors import InvalidFileError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="kiln", description="Tools for Keras 3 / kiln model files."
    )
    parser.add_argument(
        "--version", action="version", version=f"kiln {kiln.__version__}"
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
        help="run load_model's checks on a .keras, .weights.h5 or .weights.json "
        "file, in its order (archive, JSON, fields, graph, names, the rebuild "
        "with lazy variables, memory budget, every variable against its "
        "dataset, checksum) without assigning anything; exits with 1 exactly "
        "when load_model would raise",
    )
    verify_parser.add_argument("file")
    verify_parser.add_argument(
        "--max-bytes",
        type=int,
        default=None,
        metavar="N",
        help="the variable budget in bytes (default 8 GiB), as load_model's "
        "limits=kiln.saving.LoadLimits(max_variable_bytes=N): raise it to "
        "verify a model you trust whose variables take more",
    )
    build = verify_parser.add_mutually_exclusive_group()
    build.add_argument(
        "--build",
        dest="build",
        action="store_true",
        default=True,
        help="rebuild the model (the default; kept for older scripts)",
    )
    build.add_argument(
        "--no-build",
        dest="build",
        action="store_false",
        help="stop before the rebuild: faster, but a file that "
        "passes can still fail to load",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "verify":
            from kiln._src.cli.verify_file import report

            return report(args.file, args.build, sys.stdout, args.max_bytes)
        from kiln._src.cli.inspect_file import describe

        describe(args.file, sys.stdout)
        return 0
    except BrokenPipeError:  # e.g. `kiln inspect f | head`
        sys.stderr.close()
        return 0
    except (OSError, InvalidFileError) as error:
        # A file the loader refuses, or one that cannot be opened.
        print(
            f"kiln {args.command}: cannot read {args.file}: "
            f"{type(error).__name__}: {error}",
            file=sys.stderr,
        )
        return 1
    except Exception as error:  # noqa: BLE001 - no traceback for any file
        # Outside the InvalidFileError family: a kiln bug, reported as one.
        print(
            f"kiln {args.command}: cannot read {args.file}: internal error "
            f"{type(error).__name__}: {error} (the readers raised an error "
            "outside the InvalidFileError family; this is a kiln bug, please "
            "report it with the file)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
