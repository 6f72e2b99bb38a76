"""Extensions from other installed packages, through Python entry points (no fork of prefmill needed).

A package declares, in its pyproject.toml, one line per extension:

    [project.entry-points."prefmill.backends"]
    echo = "my_package.echo:BACKEND"

Groups: `prefmill.backends` (a `transforms.llm.registry.Backend`), `prefmill.verifiers`
(a `transforms.verify.registry.Verifier`), `prefmill.pair_strategies` (a `transforms.pairs.registry.PairStrategy`)
and `prefmill.export_formats` (a `dataset.export_format.ExportFormat`). Each registry loads its group once,
when it is first imported. A plugin that fails to load is an error naming the entry point, never silently
skipped; a plugin may add entries but not replace one (a verifier for `math` that swaps out Math-Verify
under an unchanged config is refused); and the loaded plugins are part of a run's config hash.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from prefmill.schemas.errors import ConfigError

LOADED: list[str] = []  # "group:name = module:object (distribution version)" of every plugin in use


def load_plugins(group: str) -> list:
    """Every object the installed packages register under `group`."""
    loaded = []
    for point in sorted(entry_points(group=group), key=lambda p: p.name):
        try:
            loaded.append(point.load())
        except Exception as exc:  # noqa: BLE001 - any failure of third-party code: say which entry point
            raise ConfigError(f"the {group} plugin {point.name!r} ({point.value}) failed to load: "
                              f"{type(exc).__name__}: {exc}") from exc
        dist = getattr(point, "dist", None)
        LOADED.append(f"{group}:{point.name} = {point.value}"
                      + (f" ({dist.name} {dist.version})" if dist is not None else ""))
    return loaded


def add_plugins(registry: dict[str, Any], plugins: list, group: str, key: str = "name") -> None:
    """Add plugins to a registry; a plugin may not replace a built-in entry (or another plugin's): a label
    source that changes under an unchanged config is refused, not silently swapped."""
    for plugin in plugins:
        name = getattr(plugin, key)
        if name in registry:
            raise ConfigError(f"the {group} plugin {name!r} would replace an existing entry of that name; "
                              "give it its own name (or uninstall the package that registers it)")
        registry[name] = plugin


def loaded_plugins() -> list[str]:
    """The plugins loaded so far, for the run's config hash and commit metadata (the registries load their
    groups at import, so import them first to see them all)."""
    return sorted(LOADED)
