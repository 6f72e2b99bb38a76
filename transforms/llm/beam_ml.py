"""Beam's RunInference module, imported without torch.

Beam 2.77's `apache_beam.ml.inference.base` imports its ModelManager at module load, and that module imports
torch whenever torch is installed: 2.6 s and about 180 MB in every process that imports RunInference, the
launcher and each worker. The ModelManager serves only `use_model_manager=True`, which prefmill never sets,
and Beam imports it again on demand in that case. So while Beam's module loads, the ModelManager module is
marked missing (Beam catches that ImportError and leaves `ModelManager = None`), then unmarked. The same
guarded import also sets Beam's `resource` (the stdlib module, for its memory metrics) to None; it is put back.

This module is a Beam plugin (`--beam_plugins`), so workers import it at start-up, before they unpickle the
first RunInference DoFn. Importing it is all it does. If torch is already loaded, or a Beam version cannot
load without the ModelManager, the plain import happens instead.
"""

from __future__ import annotations

import sys

_BASE = "apache_beam.ml.inference.base"
_MANAGER = "apache_beam.ml.inference.model_manager"


def _import_without_torch() -> None:
    if _BASE in sys.modules:
        return
    if "torch" in sys.modules or _MANAGER in sys.modules:
        import apache_beam.ml.inference.base as base  # torch is paid for already: the ordinary import
    else:
        sys.modules[_MANAGER] = None  # type: ignore[assignment]  # `import` of a None entry raises ImportError
        try:
            import apache_beam.ml.inference.base as base
        except ImportError:
            base = None
        finally:
            del sys.modules[_MANAGER]
        if base is None:  # this Beam needs the ModelManager at import time: load it the ordinary way
            import apache_beam.ml.inference.base as base
    # Beam sets `resource` to None whenever its ModelManager import fails (also without scipy, which the
    # ModelManager needs and Beam does not install), and then warns at every model load
    if getattr(base, "resource", True) is None:
        try:
            import resource
        except ImportError:  # not on this platform: Beam's own fallback stays
            return
        base.resource = resource


_import_without_torch()
