"""Progress of long commands, on a terminal and off it (notebooks, nohup, CI, pipes).

On a terminal a ``tqdm`` bar. Off a terminal, where a bar would be garbage or silence,
plain lines on stderr: one every ``INNOGRID_PROGRESS_SECONDS`` seconds (default 10) while
work goes on, ``compare: 12/80 runs (15%), 35 s elapsed, about 3 min left``, and one at the
end if any was printed and the last one did not already give the final count. If nothing
has finished a few seconds after the start, one line says what is being prepared (workers
starting, the model loading), so a quiet start is not mistaken for a hang.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import IO, Any

__all__ = ["Progress", "fmt_seconds"]

#: seconds with nothing finished before the "preparing" line
PREPARING_AFTER = 3.0


def fmt_seconds(s: float) -> str:
    """A duration for people. Example: 5 -> '5 s', 150 -> '2.5 min', 7200 -> '2.0 h'."""
    if s < 90:
        return f"{s:.0f} s"
    if s < 5400:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


def _every() -> float:
    try:
        return max(float(os.environ.get("INNOGRID_PROGRESS_SECONDS", "10")), 0.0)
    except ValueError:
        return 10.0


class Progress:
    """Count finished units of work and show it: a bar on a terminal, lines off it.

    ``enabled``: None (default) shows it, as a bar or as lines; False shows nothing; True
    forces it. ``preparing``: what happens before the first unit finishes, said once if
    that takes more than :data:`PREPARING_AFTER` seconds.
    """

    def __init__(self, total: int, desc: str, unit: str = "run", initial: int = 0,
                 enabled: bool | None = None, preparing: str = "",
                 stream: IO[str] | None = None):
        self.total, self.desc, self.unit, self.n = total, desc, unit, initial
        self.start_n = initial
        self.stream = stream if stream is not None else sys.stderr
        self.t0 = self.last = time.monotonic()
        self.every = _every()
        self.printed = False
        self.said_n = -1  # the count of the last progress line printed
        self.bar: Any = None
        self._timer: threading.Timer | None = None
        self.off = enabled is False or total <= 0
        if self.off:
            return
        tty = bool(getattr(self.stream, "isatty", lambda: False)())
        if tty:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=initial, unit=unit, desc=desc,
                            file=self.stream)
        if preparing:
            self._timer = threading.Timer(PREPARING_AFTER, self._say,
                                          (f"{desc}: preparing ({preparing})",))
            self._timer.daemon = True
            self._timer.start()

    def _say(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)
            self.printed = True

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def line(self) -> str:
        """The plain progress line as of now."""
        el = time.monotonic() - self.t0
        done = self.n - self.start_n
        out = (f"{self.desc}: {self.n:,}/{self.total:,} {self.unit}s "
               f"({self.n / self.total:.0%}), {fmt_seconds(el)} elapsed")
        if 0 < done and self.n < self.total:
            out += f", about {fmt_seconds(el / done * (self.total - self.n))} left"
        return out

    def update(self, k: int = 1) -> None:
        """``k`` more units finished."""
        self.n += k
        if self.off:
            return
        self._cancel()
        if self.bar is not None:
            self.bar.update(k)
            return
        now = time.monotonic()
        if now - self.last >= self.every and now - self.t0 >= self.every:
            self.last = now
            self._say(self.line())
            self.said_n = self.n

    def close(self) -> None:
        """Stop; off a terminal, a last line if any line was printed."""
        self._cancel()
        if self.bar is not None:
            self.bar.close()
        elif self.printed and not self.off and self.said_n != self.n:
            print(self.line(), file=self.stream, flush=True)
        self.off = True

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
