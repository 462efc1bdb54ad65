"""Print the bad-input catalogue: each input and the one-line error it gets.

Run ``python -m tests.reliability.catalogue`` (from the repository root). Both catalogues
are listed: the library side (``test_bad_inputs.CATALOGUE``) and the runs side
(``test_bad_inputs_runs.CASES`` and its CLI cases, exit status and stderr).
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import warnings
from pathlib import Path

from agents.errors import LocalpropError


def _api(cases, root: Path) -> int:
    bad = 0
    for k, (what, make, _kind, _match) in enumerate(cases):
        d = root / f"api{k}"
        d.mkdir()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                make(d)
            print(f"{what:50s} → (no error!)")
            bad += 1
        except LocalpropError as e:
            print(f"{what:50s} → {type(e).__name__}: {e}")
    return bad


def _cli(cases, root: Path) -> int:
    from runs.cli import main
    from tests.reliability.test_bad_inputs_runs import _cli_files

    bad, here = 0, os.getcwd()
    for k, (argv, _named) in enumerate(cases):
        d = root / f"cli{k}"
        d.mkdir()
        os.chdir(d)
        try:
            _cli_files(d)
            err = io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                try:
                    code = main(argv)
                except SystemExit as e:
                    code = e.code
        finally:
            os.chdir(here)
        last = err.getvalue().strip().splitlines()[-1] if err.getvalue().strip() else ""
        bad += code != 2
        print(f"{'localprop ' + ' '.join(argv):50s} → exit {code}: {last}")
    return bad


def main() -> int:
    """Print every case; return the number of cases without a clean error."""
    from tests.reliability import test_bad_inputs, test_bad_inputs_runs

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print("# library side (tests/reliability/test_bad_inputs.py)")
        (root / "lib").mkdir()
        bad = _api(test_bad_inputs.CATALOGUE, root / "lib")
        print("\n# runs side (tests/reliability/test_bad_inputs_runs.py)")
        (root / "runs").mkdir()
        bad += _api(test_bad_inputs_runs.CASES, root / "runs")
        print("\n# CLI (exit status, last line of stderr)")
        (root / "cli").mkdir()
        bad += _cli(test_bad_inputs_runs.CLI, root / "cli")
        n = (len(test_bad_inputs.CATALOGUE) + len(test_bad_inputs_runs.CASES)
             + len(test_bad_inputs_runs.CLI))
        print(f"\n{n} cases: {len(test_bad_inputs.CATALOGUE)} library, "
              f"{len(test_bad_inputs_runs.CASES)} runs API/config/data, "
              f"{len(test_bad_inputs_runs.CLI)} CLI; {bad} without a clean error")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
