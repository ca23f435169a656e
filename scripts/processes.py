"""Stopping the child processes a script or benchmark started, in one place: SIGTERM to each
child's process group (each child leads its own, so its own children go with it), then
SIGKILL to whichever has not exited by the deadline."""

import os
import signal
import subprocess
import time


def stop(processes: list[subprocess.Popen], *, timeout: float = 10.0) -> None:
    for proc in processes:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in processes:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
