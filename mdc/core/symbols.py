"""Symbol grammar and the reversible mapping of symbols to file names.

Real symbologies use more than letters: ``BRK/B``, ``BRK.B``, ``ES=F``, ``^GSPC``,
``EUR/USD``, ``BTC-USD``, ``ESZ4:XCME``. The grammar admits ASCII letters, digits
and ``.-/=^_:``, at most 32 characters, and refuses what could walk out of a
directory (``..``, a name made only of dots and slashes) or hide in one.

>>> symbol_problem("BRK/B") is None, symbol_problem("../../etc")
(True, 'symbol must not contain ".."')
>>> file_name("BRK/B"), symbol_of_file_name(file_name("BRK/B"))
('BRK%2FB', 'BRK/B')
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

MAX_SYMBOL_LENGTH: Final = 32
SYMBOL_CHARACTERS: Final = "letters, digits and . - / = ^ _ :"
_GRAMMAR: Final = re.compile(r"[A-Za-z0-9.\-/=^_:]+", re.ASCII)
_ESCAPES: Final = {"/": "%2F", ":": "%3A"}


@lru_cache(maxsize=65536)
def symbol_problem(symbol: str) -> str | None:
    """Say what is wrong with a symbol, or None when it is fine.

    Args:
        symbol: the symbol as an event carries it.

    Returns:
        None for a good symbol, else a short reason.
    """
    if not symbol:
        return "symbol is empty"
    if len(symbol) > MAX_SYMBOL_LENGTH:
        return f"symbol is longer than {MAX_SYMBOL_LENGTH} characters"
    if _GRAMMAR.fullmatch(symbol) is None:
        return f"symbol may only contain {SYMBOL_CHARACTERS}"
    if ".." in symbol:
        return 'symbol must not contain ".."'
    if not symbol.strip("./"):
        return "symbol must not be only dots and slashes"
    return None


def file_name(symbol: str) -> str:
    """The file-system-safe name of a valid symbol (reversible, see :func:`symbol_of_file_name`).

    ``/`` and ``:`` are percent-escaped and a leading ``.`` becomes ``%2E`` so
    that no symbol names a hidden file; ``%`` itself is not in the grammar, so
    the mapping cannot collide.

    Args:
        symbol: a symbol for which :func:`symbol_problem` is None.

    Returns:
        A single path component.
    """
    name = "".join(_ESCAPES.get(char, char) for char in symbol)
    return "%2E" + name[1:] if name.startswith(".") else name


def symbol_of_file_name(name: str) -> str:
    """Invert :func:`file_name`.

    Args:
        name: a path component made by :func:`file_name`.

    Returns:
        The symbol.
    """
    return name.replace("%2F", "/").replace("%3A", ":").replace("%2E", ".")
