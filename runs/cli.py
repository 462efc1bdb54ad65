"""The ``localprop`` command line."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from agents.errors import LocalpropError
from networks.threads import cap_threads


def _cmd_demo(args) -> int:
    from runs.studies.demo import run_demo

    if not args.quiet:
        print("localprop demo: BP vs Lagrangian local propagation vs backprop diffusion vs "
              "feedback alignment "
              "on a feedforward and a cyclic network")
    run_demo(args.out, seed=args.seed, quiet=args.quiet)
    return 0


def _cmd_forward(args) -> int:
    from networks.graphio import load_graph
    from runs.studies.forward_demo import cyclic_example, run_forward_demo

    G = load_graph(args.graph) if args.graph else cyclic_example(args.seed)
    run_forward_demo(G, steps=args.steps, seed=args.seed)
    return 0


def _positive(text: str) -> int:
    """An argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {value}")
    return value


def _out_dir(args, cfg) -> str:
    return args.out or f"results/{cfg['name']}"


def _report(cfg, summary, quiet: bool) -> int:
    """Print the headline table (aggregated over seeds), every failure, the counts.

    Failures are printed also with ``--quiet`` (which silences progress and tables).
    """
    import pandas as pd

    from runs.experiments import get_experiment
    from runs.sweeps.headline import failure_lines, headline_text

    table = pd.read_csv(summary.out_dir / "summary.csv")
    if not quiet:
        text = headline_text(table, get_experiment(cfg["experiment"]).headline,
                             params=list(cfg["sweep"]))
        if text:
            print(f"\n{cfg['experiment']}: mean ± std over seeds\n{text}\n")
    for line in failure_lines(table):
        print(line, file=sys.stderr)
    if not quiet:
        print(f"{summary.n_runs} runs: {summary.n_skipped} already done, {summary.n_ok} ok, "
              f"{summary.n_failed} failed now, in {summary.duration_s:.1f}s")
        print(f"results: {summary.results_path}")
    return 1 if summary.failed else 0


def _cmd_run(args) -> int:
    from runs.config import load_config
    from runs.sweeps.sweep import run_sweep

    cfg = load_config(args.config)
    summary = run_sweep(cfg, _out_dir(args, cfg), executor="sequential",
                        retry_failed=args.retry_failed, progress=not args.quiet,
                        force=args.force, ensembles=args.ensembles)
    return _report(cfg, summary, args.quiet)


def _cmd_sweep(args) -> int:
    from runs.config import load_config
    from runs.sweeps.sweep import run_sweep

    cfg = load_config(args.config)
    if args.sequential:
        executor = "sequential"
    elif args.dask is not None:
        executor = "dask"
    else:
        executor = "process"
    summary = run_sweep(cfg, _out_dir(args, cfg), executor=executor, workers=args.workers,
                        dask_address=args.dask or None, retry_failed=args.retry_failed,
                        progress=not args.quiet, force=args.force,
                        ensembles=args.ensembles)
    return _report(cfg, summary, args.quiet)


def _cmd_plot(args) -> int:
    from runs.sweeps.report import plot_results

    paths = plot_results(args.results, args.out)
    if not args.quiet:
        print("\n".join(str(p) for p in paths))
    return 0


def package_version() -> str:
    """The installed ``localprop`` version, or ``"unknown"`` when run from a bare source tree."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("localprop")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``localprop``; without a command it prints its help (status 0)."""
    p = argparse.ArgumentParser(
        prog="localprop",
        description="Neural networks as agent-based models: local learning rules on "
                    "feedforward and cyclic graphs.",
        epilog="Start with 'localprop demo'; 'localprop COMMAND --help' describes a "
               "command. Without a command, localprop prints this help.")
    p.add_argument("--version", action="version", version=f"localprop {package_version()}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    # a bare `localprop` runs nothing: its command is this help (a subcommand replaces it)
    p.set_defaults(command="help", func=lambda args: p.print_help() or 0)
    d = sub.add_parser("demo", help="train BP, LP and diffusion on a built-in task "
                                    "(no download); print a table, write plots")
    d.add_argument("--out", default="localprop-demo", help="folder for the plots")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--quiet", action="store_true", help="print nothing")
    d.set_defaults(func=_cmd_demo)
    f = sub.add_parser("forward", help="run forward dynamics on a graph (node-link JSON)")
    f.add_argument("graph", nargs="?", help="node-link JSON file (default: built-in example)")
    f.add_argument("--steps", type=_positive, default=60)
    f.add_argument("--seed", type=int, default=0)
    f.set_defaults(func=_cmd_forward)
    r = sub.add_parser("run", help="run one experiment config (its seeds in sequence)")
    r.add_argument("config", help="experiment config (TOML)")
    s = sub.add_parser("sweep", help="run a config's sweep (parameter lists × seeds)")
    s.add_argument("config", help="experiment config (TOML) with a [sweep] table")
    s.add_argument("--workers", type=_positive, default=None,
                   help="worker processes, >= 1 (default: all cores)")
    s.add_argument("--sequential", action="store_true", help="no worker processes")
    s.add_argument("--dask", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="run on a Dask cluster (scheduler ADDRESS, or a local cluster "
                        "without one); needs the 'dask' extra")
    for q in (r, s):
        q.add_argument("--out", help="results folder (default: results/<config name>)")
        q.add_argument("--retry-failed", action="store_true", help="re-run failed runs")
        q.add_argument("--force", action="store_true",
                       help="start over in a results folder that holds another sweep "
                            "(deletes its results)")
        q.add_argument("--quiet", action="store_true", help="no progress bar or table")
        q.add_argument("--ensembles", choices=("auto", "on", "off"), default="auto",
                       help="run runs of one network shape as one vectorised ensemble, "
                            "each record equal to its single run's (auto: where they can; "
                            "on: every run must; off: one run per task)")
    q = sub.add_parser("plot", help="plot the results of a run or sweep folder")
    q.add_argument("results", help="results folder written by run or sweep")
    q.add_argument("--out", help="folder for the plots (default: RESULTS/plots)")
    q.add_argument("--quiet", action="store_true")
    from runs.viz.explorer import add_explore_parser

    add_explore_parser(sub)
    r.set_defaults(func=_cmd_run)
    s.set_defaults(func=_cmd_sweep)
    q.set_defaults(func=_cmd_plot)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (2 for a user error, with a one-line message)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["demo", *(argv or [])])
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM)
    if main_thread:
        signal.signal(signal.SIGTERM, _terminate)  # like Ctrl-C: stop workers, keep results
    try:
        # one BLAS thread per process unless $LOCALPROP_BLAS_THREADS says otherwise: a run
        # sharing the cores with another (or a sweep's workers) must not oversubscribe them
        cap_threads()
        return args.func(args)
    except LocalpropError as err:
        return _error(err)
    except OSError as err:  # a file or folder the user named cannot be read or written
        where = f" {err.filename!r}" if err.filename else ""
        return _error(f"{err.strerror or err}:{where}".rstrip(":"))
    except KeyboardInterrupt:
        print("localprop: interrupted; finished runs are kept (re-run to resume)",
              file=sys.stderr)
        return 130
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


def _error(err) -> int:
    print(f"localprop: error: {' '.join(str(err).split())}", file=sys.stderr)
    return 2


def _terminate(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
