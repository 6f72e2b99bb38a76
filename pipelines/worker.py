"""The worker process of a local multi-process run: Beam's own SDK worker (`sdk_worker_main`), started with
its modules (Beam, and every prefmill stage it will unpickle) loaded while the garbage collector is off and
then frozen, as the `prefmill` command itself is (entry.py). A worker process starts in about 0.4 s less,
and exits sooner: the runner waits for it at the end of every job (bench/startup.py measures both)."""

from __future__ import annotations

import gc
import sys


def main() -> None:
    gc.disable()
    try:
        from apache_beam.runners.worker import sdk_worker_main

        import prefmill.pipelines.build  # noqa: F401  # every stage the worker will unpickle
    finally:
        gc.freeze()
        gc.enable()
    sdk_worker_main.main(sys.argv)
    gc.freeze()  # what the worker left alive is not scanned once more at exit


if __name__ == "__main__":
    main()
