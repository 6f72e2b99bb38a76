"""The `prefmill` console script: the command line (cli.py) with the interpreter's garbage collector kept
out of the start and the end of a short run.

Importing Beam, pyarrow and prefmill creates about a million objects, none of them garbage; the cyclic
collector scans them again and again while they load, and once more at exit. With the collector off while
the modules load and everything loaded moved out of its reach (`gc.freeze`), a bare `import apache_beam`
process takes 0.7 s instead of 1.1 s on the development machine (bench/startup.py measures the whole run).
Reference counting, which frees almost everything, is untouched; the collector is back on before any
pipeline runs.
"""

from __future__ import annotations

import gc
import sys
from typing import Optional


def main(argv: Optional[list[str]] = None) -> int:
    gc.disable()
    try:
        from prefmill.pipelines import cli

        cli.preload(sys.argv[1:] if argv is None else argv)
    finally:
        gc.freeze()
        gc.enable()
    code = cli.main(argv)
    gc.freeze()  # what the run left alive is not scanned once more at exit
    return code


if __name__ == "__main__":
    sys.exit(main())
