"""Extensions from other installed packages, through Python entry points (no fork of prefmill needed).

A package declares, in its pyproject.toml, one line per extension:

    [project.entry-points."prefmill.backends"]
    echo = "my_package.echo:BACKEND"

Groups: `prefmill.backends` (a `transforms.llm.registry.Backend`), `prefmill.verifiers`
(a `transforms.verify.registry.Verifier`), `prefmill.pair_strategies` (a `transforms.pairs.registry.PairStrategy`)
and `prefmill.export_formats` (a `dataset.export.ExportFormat`). Each registry loads its group once, when it is
first imported; a plugin that fails to load is an error naming the entry point, never silently skipped.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from prefmill.schemas.errors import ConfigError


def load_plugins(group: str) -> list:
    """Every object the installed packages register under `group`."""
    loaded = []
    for point in entry_points(group=group):
        try:
            loaded.append(point.load())
        except Exception as exc:  # noqa: BLE001 - any failure of third-party code: say which entry point
            raise ConfigError(f"the {group} plugin {point.name!r} ({point.value}) failed to load: "
                              f"{type(exc).__name__}: {exc}") from exc
    return loaded
