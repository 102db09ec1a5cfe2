"""How much ``%load_ext glm_magics`` adds to starting IPython (target: under 50 ms).

Each sample is a fresh interpreter, so imports are really paid for. Two figures:
the wall time of a process that starts IPython and loads the extension minus one
that only starts IPython (medians), and the time of the ``%load_ext`` call itself
measured inside the process. Bytecode caches are written and used, as in an
installed package (``PYTHONDONTWRITEBYTECODE`` would make every start compile
every module again).

    python benchmarks/bench_load.py [--runs 9]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

BARE = (
    "from IPython.core.interactiveshell import InteractiveShell\nip = InteractiveShell.instance()\n"
)
LOADED = (
    BARE + "import time\n"
    "t = time.perf_counter()\n"
    "ip.run_line_magic('load_ext', 'glm_magics')\n"
    "print(time.perf_counter() - t)\n"
)


ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def wall(code: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=ENV
    )
    return time.perf_counter() - started, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    runs = parser.parse_args().runs
    wall(BARE)  # warm the file and bytecode caches for both
    wall(LOADED)
    bare, loaded, inside = [], [], []
    for _ in range(runs):
        bare.append(wall(BARE)[0])
        seconds, out = wall(LOADED)
        loaded.append(seconds)
        inside.append(float(out.strip().splitlines()[-1]))
    b, lo, ins = statistics.median(bare), statistics.median(loaded), statistics.median(inside)
    print(f"runs: {runs} fresh interpreters each")
    print(f"bare IPython start (median):          {b * 1000:7.1f} ms")
    print(f"IPython start + %load_ext (median):   {lo * 1000:7.1f} ms")
    print(f"difference (target < 50 ms):          {(lo - b) * 1000:7.1f} ms")
    print(f"%load_ext call alone (median):        {ins * 1000:7.1f} ms")
    print(f"ratio loaded / bare:                  {lo / b:7.2f}x")


if __name__ == "__main__":
    main()
