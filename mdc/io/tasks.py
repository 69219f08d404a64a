"""Helpers for trio task groups.

trio's nurseries wrap whatever their tasks raise in an exception group; code
that wants to catch one meaningful error (a provider refusing credentials, a
dropped connection) wraps the nursery in :func:`one_error`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import trio


def first_error(group: BaseExceptionGroup) -> BaseException:
    """The first exception in a (nested) group that is not a cancellation, else the first one."""
    for error in group.exceptions:
        if isinstance(error, BaseExceptionGroup):
            inner = first_error(error)
            if not isinstance(inner, trio.Cancelled):
                return inner
        elif not isinstance(error, trio.Cancelled):
            return error
    return group.exceptions[0]


@contextmanager
def one_error() -> Iterator[None]:
    """Re-raise the error that explains a nursery's failure instead of its exception group.

    When one task fails, trio cancels the others; the failure is the first
    non-cancellation in the group. KeyboardInterrupt and friends pass through.
    """
    try:
        yield
    except BaseExceptionGroup as group:
        raise first_error(group) from None


__all__ = ["first_error", "one_error"]
