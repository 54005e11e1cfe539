"""Progress bars for long queries, driven by the server.

While a result is fetched, a :class:`ProgressBar` polls the server's
``quiver.progress`` action (a small Flight action, because pyarrow has no
``PollFlightInfo``) for the query's fragments done and total, and shows them
with ``tqdm.auto`` together with the rows received so far: a widget in a
notebook, a text bar on a terminal. A server without the action still gets a
bar: the client counts the endpoints it finished instead.

The bar appears only once a query has run for ``delay`` seconds, so quick
queries print nothing. ``"auto"`` shows bars in a Jupyter kernel or when
stderr is a terminal.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["ProgressBar", "should_show"]

_REFRESH = 0.1  # seconds between bar updates


def in_notebook() -> bool:
    """Whether the code runs in a Jupyter kernel."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # noqa: BLE001 - no shell, no notebook.
        return False
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def should_show(setting: bool | str) -> bool:
    """Resolve a progress setting (True, False or "auto") for this process."""
    if setting is True or setting is False:
        return setting
    if setting != "auto":
        raise ValueError(f"progress must be True, False or 'auto', got {setting!r}")
    if in_notebook():
        return True
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


class ProgressBar:
    """ProgressBar shows one query's fragments done/total and rows received.

    ``poll`` returns the server's progress report (or None); it is called
    from a background thread every ``interval`` seconds. :meth:`tick` and
    :meth:`close` are called by the thread that consumes the result (the
    notebook's main thread), which is the only one that touches the bar.
    """

    def __init__(
        self,
        description: str,
        endpoints: int,
        poll: Callable[[], dict[str, Any] | None] | None = None,
        delay: float = 0.5,
        interval: float = 0.5,
    ) -> None:
        self._description = description
        self._endpoints = endpoints
        self._poll = poll
        self._delay = delay
        self._interval = interval
        self._started = time.monotonic()
        self._report: dict[str, Any] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bar: Any = None
        self._ticked = 0.0
        self.polls = 0

    def start(self) -> None:
        """Start polling the server."""
        if self._poll is not None:
            self._thread = threading.Thread(target=self._run, name="quiver-progress", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        assert self._poll is not None
        while not self._stop.wait(self._interval if self.polls else min(self._interval, self._delay)):
            report = self._poll()
            self.polls += 1
            if report is None:
                continue
            self._report = report
            if report.get("state") in ("finished", "failed", "cancelled"):
                return

    @property
    def shown(self) -> bool:
        """Whether the bar has been displayed."""
        return self._bar is not None

    def tick(self, rows: int, endpoints_done: int, force: bool = False) -> None:
        """Bring the bar up to date (at most every 0.1 s); create it once the delay has passed."""
        now = time.monotonic()
        if not force and now - self._ticked < _REFRESH:
            return
        self._ticked = now
        if self._bar is None:
            if now - self._started < self._delay:
                return
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=self._endpoints,
                desc=self._description,
                unit="fragment",
                dynamic_ncols=True,
                leave=True,
            )
        done, total = endpoints_done, self._endpoints
        report = self._report
        if report is not None and report.get("fragments_total"):
            done, total = int(report.get("fragments_done", 0)), int(report["fragments_total"])
        if self._bar.total != total:
            self._bar.total = total
        self._bar.n = min(done, total)
        self._bar.set_postfix_str(f"rows={rows:,}", refresh=False)
        self._bar.refresh()

    def close(self, rows: int, endpoints_done: int, ok: bool) -> None:
        """Stop polling and close the bar (marked finished when ``ok``)."""
        self._stop.set()
        # A query that outlived the delay shows its final state even if it never waited.
        self.tick(rows, endpoints_done, force=True)
        if self._bar is None:
            return
        if self._poll is not None:
            # The server's last word on fragments (polls run on a timer and may have missed the end).
            report = self._poll()
            if report is not None:
                self._report = report
            self.tick(rows, endpoints_done, force=True)
        if ok:
            # The last report may predate the end of the stream.
            self._bar.total = self._bar.total or 1
            self._bar.n = self._bar.total
            self._bar.set_postfix_str(f"rows={rows:,}", refresh=False)
        self._bar.close()
