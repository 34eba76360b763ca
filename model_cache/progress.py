"""A progress bar on stderr: redrawn in place on a terminal, a few plain lines otherwise (CI logs)."""
import sys
import time


class Progress:
    def __init__(self, total: int, label: str, stream=None, width: int = 30):
        self.total, self.label, self.width = max(total, 1), label, width
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.done = 0
        self._last_decile = -1
        self._t0 = time.monotonic()

    def advance(self, n: int, note: str = "") -> None:
        self.done = min(self.total, self.done + n)
        frac = self.done / self.total
        if self.tty:
            bar = "#" * int(frac * self.width)
            self.stream.write(f"\r{self.label} [{bar:<{self.width}}] {frac:6.1%} "
                              f"{self.done / 2**20:7.1f}/{self.total / 2**20:.1f} MiB {note[:40]:<40}")
            self.stream.flush()
        elif int(frac * 10) > self._last_decile:  # one line per 10% keeps logs short
            self._last_decile = int(frac * 10)
            self.stream.write(f"{self.label}: {frac:.0%} ({self.done / 2**20:.1f}/{self.total / 2**20:.1f} MiB)\n")

    def finish(self) -> None:
        if self.tty:
            self.stream.write(f"  {time.monotonic() - self._t0:.1f} s\n")
        self.stream.flush()
