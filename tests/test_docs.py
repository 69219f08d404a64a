"""Every command is documented: --help, a man page naming each of its options, exit statuses, an example.

The commands are the console scripts of pyproject.toml; their options are read
from the click commands themselves, so a new option without documentation
fails here (sqlite-utils' test_docs.py is the model).
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import click
import pytest
from mdc_commands import _shell

from mdc.core.simulator import FAULTS

REPO = Path(__file__).resolve().parent.parent
MAN = REPO / "man"
EXAMPLES = REPO / "examples"
BIN = Path(sys.executable).parent
SCRIPTS: dict[str, str] = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
EXIT_CODES = {value for name, value in vars(_shell).items() if name.startswith("EXIT_")}
PAGES = sorted(path.name for path in MAN.iterdir() if re.fullmatch(r".+\.[1-8]", path.name))


def click_command(name: str) -> click.Command:
    """The click command behind a console script."""
    module, _, attribute = SCRIPTS[name].partition(":")
    command = getattr(importlib.import_module(module), attribute)
    assert isinstance(command, click.Command)
    return command


def option_flags(command: click.Command) -> list[str]:
    """Every flag of the command's options (--long and -s), as typed on the command line."""
    return sorted(
        flag
        for param in command.params
        if isinstance(param, click.Option)
        for flag in (*param.opts, *param.secondary_opts)
    )


def plain(roff: str) -> str:
    """Roff source with the escapes this project uses turned into the characters they print."""
    for escape, character in (("\\-", "-"), ("\\(aq", "'"), ("\\e", "\\"), ("\\&", ""), ("\\ ", " ")):
        roff = roff.replace(escape, character)
    return re.sub(r"\\f[BIRP]", "", roff)


def sections(name: str) -> dict[str, str]:
    """The plain text of each .SH section of a man page, by heading."""
    found: dict[str, list[str]] = {}
    current: list[str] = []
    for line in (MAN / name).read_text(encoding="utf-8").splitlines():
        heading = re.match(r"\.SH\s+(.*)", line)
        if heading:
            current = found.setdefault(plain(heading.group(1)).strip('"'), [])
        elif not line.startswith('.\\"'):
            current.append(plain(line))
    return {heading: "\n".join(lines) for heading, lines in found.items()}


def mentions(text: str, flag: str) -> bool:
    """Whether ``flag`` appears in ``text`` as a whole flag (``--rate`` is not in ``--fault-rate``)."""
    return re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text) is not None


def runs(script: str, name: str) -> bool:
    """Whether a shell script runs the command ``name`` (comments and echoed text do not count)."""
    lines = [line for line in script.splitlines() if not re.match(r"\s*(#|echo\b)", line)]
    code = "\n".join(lines)
    if name == "mdc":
        return re.search(r"(?<![\w./-])mdc[ \t]+[a-z]", code) is not None
    return mentions(code, name)


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_help_exits_0_and_prints_usage(name: str) -> None:
    """`NAME --help` works from the installed entry point."""
    result = subprocess.run([BIN / name, "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Usage: {name} ")


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_each_command_has_a_man_page_in_section_1(name: str) -> None:
    """man/NAME.1 exists and its .TH names the command."""
    page = MAN / f"{name}.1"
    assert page.is_file()
    header = re.search(r"^\.TH\s+(\S+)\s+1\s", page.read_text(encoding="utf-8"), re.MULTILINE)
    assert header is not None
    assert plain(header.group(1)) == name.upper()


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_the_man_page_has_the_usual_sections(name: str) -> None:
    """NAME, SYNOPSIS, DESCRIPTION, OPTIONS, EXIT STATUS, EXAMPLES and SEE ALSO, with NAME naming the command."""
    found = sections(f"{name}.1")
    assert {"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "EXAMPLES", "SEE ALSO"} <= set(found)
    assert found["NAME"].strip().startswith(f"{name} - ")


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_the_man_page_documents_every_option(name: str) -> None:
    """Every flag of the click command appears in the page's OPTIONS section."""
    options = sections(f"{name}.1")["OPTIONS"]
    flags = option_flags(click_command(name))
    assert flags
    assert [flag for flag in flags if not mentions(options, flag)] == []


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_exit_status_lists_codes_the_shell_defines(name: str) -> None:
    """EXIT STATUS lists 0 and 2, and only codes that commands/_shell.py defines."""
    text = (MAN / f"{name}.1").read_text(encoding="utf-8")
    exit_status = text.split(".SH EXIT STATUS", 1)[1].split("\n.SH ", 1)[0]
    codes = {int(code) for code in re.findall(r"^\.TP\n\.B (\d+)$", exit_status, re.MULTILINE)}
    assert {0, 2} <= codes
    assert codes <= EXIT_CODES


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_an_example_script_runs_the_command(name: str) -> None:
    """At least one examples/*.sh runs it (the examples themselves are run by test_examples.py)."""
    scripts = [path.name for path in sorted(EXAMPLES.glob("*.sh")) if runs(path.read_text(encoding="utf-8"), name)]
    assert scripts, f"no example under examples/ runs {name}"


def test_every_man_page_of_a_command_belongs_to_a_console_script() -> None:
    """No page is left behind for a command that no longer exists."""
    assert {page.removesuffix(".1") for page in PAGES if page.endswith(".1")} == set(SCRIPTS)


def test_the_capture_page_describes_every_simulator_fault() -> None:
    """Each fault of mdc.core.simulator.FAULTS (and `all`) is a term of mdc-capture(1)'s fault list."""
    text = (MAN / "mdc-capture.1").read_text(encoding="utf-8")
    faults = text.split(".SS Faults", 1)[1].split("\n.SH ", 1)[0]
    terms = set(re.findall(r"^\.TP\n\.B (\S+)$", faults, re.MULTILINE))
    assert terms == {*FAULTS, "all"}


@pytest.mark.parametrize("page", PAGES)
def test_the_man_page_renders_without_warnings(page: str) -> None:
    """`man --warnings -l` formats the page and prints nothing on stderr."""
    if shutil.which("man") is None:
        pytest.skip("man is not installed")
    result = subprocess.run(
        ["man", "--warnings", "-l", str(MAN / page)],
        capture_output=True,
        text=True,
        env={**os.environ, "MANWIDTH": "100"},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "SEE ALSO" in re.sub(".\b", "", result.stdout)  # without the overstrike of bold text
