"""Processes go when their parent goes.

* :func:`worker_init` is the initialiser of every worker process innogrid starts: the
  worker asks the kernel for SIGTERM when its parent dies (Linux ``PR_SET_PDEATHSIG``)
  and watches the process that started the pool (a worker's direct parent is the fork
  server, so the watch is what ends it when the main process is killed). It also ignores
  SIGINT: Ctrl-C reaches the whole process group, and the main process alone decides how
  to stop. And it takes the environment variables the pool was made with (the run cache's
  ``INNOGRID_CACHE``): a worker forks from a fork server that kept the environment of
  the moment it started, which may be older than the pool.
* :func:`stop_pool` ends a pool's workers at once (for an interrupted sweep).
* :func:`call` runs a child command (``solara run``) that dies with this process.
* :func:`sigterm_interrupts` makes SIGTERM stop the command line as cleanly as Ctrl-C.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

__all__ = ["worker_init", "die_with_parent", "stop_pool", "call", "sigterm_interrupts",
           "Terminated"]

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Ask the kernel to send ``sig`` to this process when its parent dies (Linux only)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the watchdog below still works
        pass


def _watch(pid: int) -> None:
    """Block until process ``pid`` ends, then end this one."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        fd = None  # already gone
    except (OSError, AttributeError):  # no pidfd (old kernel, not Linux): poll
        while True:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            except PermissionError:
                pass
            time.sleep(1.0)
        fd = None
    if fd is not None:
        select.select([fd], [], [])
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)
    os._exit(1)  # SIGTERM was caught or ignored: go anyway


def worker_init(parent_pid: int, env: dict[str, str] | None = None) -> None:
    """Initialiser of innogrid's worker processes (see the module docstring).

    ``env``: environment variables to set in the worker (``None`` or a value ``None``
    in it: unset).
    """
    for k, v in (env or {}).items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()
    threading.Thread(target=_watch, args=(parent_pid,), daemon=True,
                     name="innogrid-parent-watch").start()


def stop_pool(ex: ProcessPoolExecutor) -> None:
    """End a pool now: cancel what is queued and terminate its workers."""
    procs = list((getattr(ex, "_processes", None) or {}).values())
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=5)
    ex.shutdown(wait=True, cancel_futures=True)  # the pool sees its workers gone, cleans up


def call(cmd: list[str], env: dict[str, str] | None = None) -> int:
    """Run ``cmd`` to its end; it dies with this process (killed on Ctrl-C or SIGTERM)."""
    with subprocess.Popen(cmd, env=env, preexec_fn=die_with_parent) as proc:
        try:
            return proc.wait()
        except BaseException:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
            raise


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is."""


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within: SIGTERM raises :class:`Terminated` (a KeyboardInterrupt) in the main thread."""
    def _raise(signum, frame):
        raise Terminated()

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)
