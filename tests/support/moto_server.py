"""moto's own server, exactly as users run it, in a process of its own.

Nothing of ours is imported in that process: no token-lifetime patch, no front,
no shared in-process backends with the embedded emulator. Run as
``python -m tests.support.moto_server``: it prints its base URL, then serves
until its stdin is closed.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@contextmanager
def untouched_moto() -> Iterator[str]:
    """Start moto's ThreadedMotoServer on 127.0.0.1; yields its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.moto_server"],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # werkzeug's per-request log lines
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"moto's server did not start (exit code {process.poll()})")
        yield url
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


def _serve() -> None:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    print(f"http://{host}:{port}", flush=True)
    sys.stdin.read()  # until the test is done with us
    server.stop()


if __name__ == "__main__":
    _serve()
