"""Provider discovery through the ``mdc.providers`` entry-point group.

This is the only place that loads plugins. Nothing is cached in a global: each
call reads the installed distributions' metadata, so tests and long-running
processes see what is installed now.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

from attrs import frozen

from mdc.core.provider import ENTRY_POINT_GROUP, Provider, ProviderError, ProviderInfo


@frozen
class Listing:
    """One installed provider as ``--list-providers`` shows it.

    Attributes:
        name: the entry point's name.
        distribution: the distribution that registered it (and its version).
        info: what the provider declares, or None when it failed to load.
        problem: why it failed to load.
    """

    name: str
    distribution: str
    info: ProviderInfo | None
    problem: str | None = None


def _entry_points() -> dict[str, EntryPoint]:
    return {point.name: point for point in entry_points(group=ENTRY_POINT_GROUP)}


def provider_names() -> list[str]:
    """Names of every installed provider, sorted."""
    return sorted(_entry_points())


def load_provider(name: str) -> Provider:
    """Load the provider registered as ``name``.

    Args:
        name: what the user typed.

    Returns:
        The provider object.

    Raises:
        ProviderError: no such provider (exit 69), or it failed to import.
    """
    points = _entry_points()
    point = points.get(name)
    if point is None:
        known = ", ".join(sorted(points)) or "none"
        raise ProviderError(
            f"no provider named {name!r} is installed (installed: {known}); "
            f"providers are packages registering the {ENTRY_POINT_GROUP!r} entry point"
        )
    try:
        loaded = point.load()
    except Exception as error:
        raise ProviderError(f"provider {name!r} failed to load: {type(error).__name__}: {error}") from error
    provider: Provider = loaded() if isinstance(loaded, type) else loaded
    return provider


def list_providers() -> list[Listing]:
    """Every installed provider with its declared capabilities (broken ones say why)."""
    listings = []
    for name, point in sorted(_entry_points().items()):
        dist = f"{point.dist.name} {point.dist.version}" if point.dist is not None else "?"
        try:
            listings.append(Listing(name, dist, load_provider(name).info))
        except ProviderError as error:
            listings.append(Listing(name, dist, None, str(error)))
    return listings
