"""The command line without a command, and ``localprop --version``."""

import importlib.metadata

import pytest

import runs.cli
from runs.cli import main


def test_bare_command_prints_help_and_succeeds(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: localprop")
    for command in ("demo", "forward", "run", "sweep", "plot", "explore"):
        assert f"\n    {command} " in out


def test_a_command_still_runs_its_own_function(capsys):
    args = runs.cli.build_parser().parse_args(["forward", "--steps", "3"])
    assert args.command == "forward" and args.func is runs.cli._cmd_forward


def test_version_flag_prints_the_installed_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"localprop {importlib.metadata.version('localprop')}"


def test_version_without_installed_metadata_says_unknown(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    assert runs.cli.package_version() == "unknown"
