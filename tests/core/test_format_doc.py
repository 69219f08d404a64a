"""man/mdc-format.5 documents every event type, field, integrity kind, reject key and rule code of the code."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import attrs
import pytest

from mdc.core.errors import RULES, violation
from mdc.core.events import EVENT_TYPES, INTEGRITY_KINDS, MarketEvent
from mdc.core.pipeline import Reject, encode_reject

PAGE = Path(__file__).resolve().parents[2] / "man" / "mdc-format.5"
ENVELOPE = sorted(set.intersection(*({field.name for field in attrs.fields(cls)} for cls in EVENT_TYPES.values())))


def sections() -> dict[str, list[str]]:
    """The lines of the page under each .SH and .SS heading (a subsection is not part of its section)."""
    found: dict[str, list[str]] = {}
    current: list[str] = []
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"\.S[HS]\s+(.*)", line)
        if heading:
            current = found.setdefault(heading.group(1).strip('"'), [])
        else:
            current.append(line)
    return found


def terms(lines: list[str]) -> set[str]:
    """The words a .TP list defines: the first word of the bold line after each .TP."""
    defined = set()
    for tag_line, term_line in itertools.pairwise(lines):
        match = re.match(r'\.BR?\s+"?([^\s"]+)', term_line)
        if tag_line.startswith(".TP") and match:
            defined.add(match.group(1).replace("\\-", "-"))
    return defined


SECTIONS = sections()


def test_the_page_has_the_expected_sections() -> None:
    assert {"NAME", "FRAMING", "ENVELOPE", "EVENT TYPES", "REJECT FILES", "Rule codes", "EXAMPLES", "SEE ALSO"} <= set(
        SECTIONS
    )


def test_envelope_fields_are_documented_in_envelope() -> None:
    assert ENVELOPE == ["provider", "seq", "stream", "symbol", "ts", "ts_recv", "v"]
    assert {"type", *ENVELOPE} <= terms(SECTIONS["ENVELOPE"])


@pytest.mark.parametrize(("tag", "cls"), EVENT_TYPES.items())
def test_every_field_of_every_type_is_documented_in_its_subsection(tag: str, cls: type[MarketEvent]) -> None:
    assert tag in SECTIONS, f"no .SS {tag} subsection"
    own = {field.name for field in attrs.fields(cls)} - set(ENVELOPE)
    assert own <= terms(SECTIONS[tag]), f"{tag} fields missing: {sorted(own - terms(SECTIONS[tag]))}"


def test_every_integrity_kind_is_documented() -> None:
    assert set(INTEGRITY_KINDS) <= terms(SECTIONS["integrity"])


def test_every_rule_code_has_a_row_in_the_rule_table() -> None:
    table = SECTIONS["Rule codes"]
    body = table[table.index("_") + 1 :]  # below the header row
    rows = [match.group(1) for line in body if (match := re.match(r"([a-z0-9_]+)\|", line))]
    assert sorted(rows) == sorted(RULES)


def test_every_key_of_a_reject_record_is_documented() -> None:
    reasons = (violation("invalid_utf8", "$", 3, "invalid UTF-8 at byte 3"),)
    record = json.loads(encode_reject(Reject(1, b"\xff" * 10, reasons, length=5_000_000)))
    keys = set(record) | set(record["reasons"][0])
    assert keys == {"line_no", "raw", "raw_base64", "length", "reasons", "rule", "field", "value", "message"}
    assert keys <= terms(SECTIONS["REJECT FILES"])


def test_examples_show_one_line_of_every_type() -> None:
    shown = set()
    for line in SECTIONS["EXAMPLES"]:
        if line.startswith('{"type":"'):
            shown.add(json.loads(line.replace("\\-", "-"))["type"])
    assert shown == set(EVENT_TYPES)


def test_see_also_names_every_command() -> None:
    text = "\n".join(SECTIONS["SEE ALSO"])
    for page in ("mdc", "mdc-capture", "mdc-validate", "mdc-store", "mdc-replay", "mdc-bars", "mdc-schema"):
        assert f".BR {page.replace('-', chr(92) + '-')} (1)" in text


@pytest.mark.skipif(shutil.which("man") is None, reason="man is not installed")
def test_the_page_renders_without_warnings() -> None:
    result = subprocess.run(
        ["man", "--warnings", "-l", str(PAGE)],
        capture_output=True,
        text=True,
        env={**os.environ, "MANWIDTH": "100"},
        check=False,
        timeout=60,
    )
    assert result.returncode == 0
    assert result.stderr == ""
    assert "EXAMPLES" in result.stdout
