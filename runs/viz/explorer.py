"""``localprop explore``: serve the explorer page on 127.0.0.1 (Mesa SolaraViz stack).

``localprop explore [GRAPH.json | CONFIG.toml] [--port P] [--seed S]`` checks the source
first (a graph or config error is a one-line message, exit status 2), then runs the
Solara server on ``http://127.0.0.1:P`` with the page :mod:`runs.viz.explore_page`
until interrupted. ``--port 0`` picks a free port (the server prints the address).
Needs the ``viz`` extra (``pip install 'localprop[viz]'``).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys

from agents.errors import ConfigError

DEFAULT_PORT = 8765
PAGE = "runs.viz.explore_page"


def add_explore_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``explore`` command to the ``localprop`` sub-command parsers."""
    p = subparsers.add_parser(
        "explore", help="serve the interactive explorer (Mesa SolaraViz) on 127.0.0.1 "
                        "for a graph, a config or the built-in example")
    p.add_argument("source", nargs="?", metavar="GRAPH.json | CONFIG.toml",
                   help="node-link JSON graph or experiment config (default: built-in "
                        "cyclic example)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"port on 127.0.0.1 (default {DEFAULT_PORT}; 0: a free port)")
    p.add_argument("--seed", type=int, default=0, help="seed of data, order and noise")
    p.set_defaults(func=run_explore)
    return p


def server_command(port: int) -> list[str]:
    """The command that serves the page on 127.0.0.1:``port``."""
    return [sys.executable, "-m", "solara", "run", PAGE, "--host", "127.0.0.1",
            "--port", str(port), "--production", "--no-open", "--no-check-version",
            "--log-level", "warning"]


def server_env(source: str | None, seed: int) -> dict[str, str]:
    """Environment of the server process: what to show."""
    from runs.viz.explore_page import ENV_SEED, ENV_SOURCE

    env = dict(os.environ)
    env[ENV_SOURCE] = os.path.abspath(source) if source else ""
    env[ENV_SEED] = str(seed)
    env.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")  # no calls home
    return env


def run_explore(args) -> int:
    """Check the source, then serve the explorer until interrupted."""
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be in 0..65535, got {args.port}")
    from runs.viz.explore_data import load_source

    data = load_source(args.source, seed=args.seed)  # errors now, before the server starts
    if importlib.util.find_spec("solara") is None:
        raise ConfigError("explore needs the 'viz' extra: pip install 'localprop[viz]'")
    print(f"localprop explore: {data.title} ({data.graph.number_of_nodes()} neurons); "
          f"serving on http://127.0.0.1:{args.port or '<free port>'} (Ctrl-C stops)",
          flush=True)
    proc = subprocess.Popen(server_command(args.port), env=server_env(args.source,
                                                                       args.seed))
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait()
        return 0
