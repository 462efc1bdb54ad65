"""The ``localprop`` command line."""

from __future__ import annotations

import argparse
import sys

from agents.errors import LocalpropError


def _cmd_demo(args) -> int:
    from runs.examples import cyclic_example
    from runs.forward_demo import run_forward_demo

    print("localprop demo — delayed forward dynamics on the built-in cyclic example")
    run_forward_demo(cyclic_example(args.seed), steps=args.steps, seed=args.seed)
    return 0


def _cmd_forward(args) -> int:
    from networks.graphio import load_graph
    from runs.examples import cyclic_example
    from runs.forward_demo import run_forward_demo

    G = load_graph(args.graph) if args.graph else cyclic_example(args.seed)
    run_forward_demo(G, steps=args.steps, seed=args.seed)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``localprop``."""
    p = argparse.ArgumentParser(
        prog="localprop",
        description="Neural networks as agent-based models: local learning rules on "
                    "feedforward and cyclic graphs.")
    sub = p.add_subparsers(dest="command")
    d = sub.add_parser("demo", help="run the built-in demo (no download)")
    d.add_argument("--steps", type=int, default=60)
    d.add_argument("--seed", type=int, default=0)
    d.set_defaults(func=_cmd_demo)
    f = sub.add_parser("forward", help="run forward dynamics on a graph (node-link JSON)")
    f.add_argument("graph", nargs="?", help="node-link JSON file (default: built-in example)")
    f.add_argument("--steps", type=int, default=60)
    f.add_argument("--seed", type=int, default=0)
    f.set_defaults(func=_cmd_forward)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (2 for a user error, with a one-line message)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["demo", *(argv or [])])
    try:
        return args.func(args)
    except LocalpropError as err:
        print(f"localprop: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
