"""``imgclf --help`` lists every sub-command; each sub-command's module loads only when it is used."""
import argparse
import importlib
import pkgutil
import subprocess
import sys

import pytest

from imgclf_gui import cli, commands

COMMAND_MODULES = sorted(m.name for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_"))


def test_every_command_module_is_listed_in_the_order_of_its_name():
    assert list(cli.COMMANDS) == COMMAND_MODULES


def test_top_level_help_lists_every_command_with_its_line(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # one line per command, however wide the terminal running the tests
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: imgclf [-h] [--version] COMMAND ...")
    listed = [line.split(None, 1) for line in out.splitlines() if line.startswith("    ")]
    assert [(name, " ".join(text.split())) for name, text in listed] == list(cli.COMMANDS.items())


@pytest.mark.parametrize("command", COMMAND_MODULES)
def test_command_help_is_the_one_its_module_declares(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main([command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    own = argparse.ArgumentParser(prog=f"imgclf {command}", epilog=cli.EXIT_CODES)
    importlib.import_module(f"imgclf_gui.commands.{command}").register(own)
    assert own.description and len(own._actions) > 1  # a description and arguments beyond -h
    assert out == own.format_help()


def test_every_help_states_the_exit_codes(capsys):
    for argv in (["--help"], *([name, "--help"] for name in cli.COMMANDS)):
        with pytest.raises(SystemExit):
            cli.main(argv)
        out = " ".join(capsys.readouterr().out.split())
        assert "Exit codes: 0 done; 1 failed" in out and "2 wrong usage" in out, argv


def test_an_unknown_command_names_the_known_ones(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["tarin", "DIR"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'tarin'" in err and all(f"'{name}'" in err for name in cli.COMMANDS)


def _modules_loaded_by(argv: list[str]) -> set[str]:
    """The command modules (and heavy libraries) a fresh interpreter has imported after ``imgclf ARGV``."""
    code = (
        "import contextlib, io, sys\n"
        "from imgclf_gui import cli\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        f"    cli.main({argv!r})\n"
        # Shared helpers (commands/_settings.py, _progress.py) may load; other sub-commands may not.
        "print(' '.join(n for n in sys.modules if (n.startswith('imgclf_gui.commands.')"
        " and not n.startswith('imgclf_gui.commands._'))"
        " or n.split('.')[0] in ('tensorflow', 'keras', 'PySide6')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def test_top_level_help_loads_no_command_and_nothing_heavy():
    assert _modules_loaded_by(["--help"]) == set()


def test_a_command_loads_only_its_own_module():
    assert _modules_loaded_by(["train", "--help"]) == {"imgclf_gui.commands.train"}
    assert _modules_loaded_by(["demo", "--help"]) == {"imgclf_gui.commands.demo"}
