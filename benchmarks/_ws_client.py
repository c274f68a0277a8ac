"""A lightweight Streamlit client: one websocket, Streamlit's own protobuf messages, no browser.

It speaks the protocol the Streamlit frontend speaks (``/_stcore/stream``, ``BackMsg`` out,
``ForwardMsg`` in): it asks for a page with a query string, remembers the buttons the page
drew (label -> widget id and fragment), and "clicks" one by sending a rerun with that button's
trigger, exactly as the frontend does. It renders nothing, so a client costs a few
milliseconds of CPU per click (mostly parsing the reply), which ``bench_load.py`` measures and
reports beside the server's.

Used by ``benchmarks/bench_load.py`` and by the disconnect test.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.sync.client import connect

FINISHED_OK = {
    ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY,
    ForwardMsg.ScriptFinishedStatus.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
}


class ClientError(RuntimeError):
    """The page failed (an exception element, a closed socket or a timeout)."""


@dataclass
class WsSession:
    """One browser tab's worth of Streamlit session, without the browser."""

    base_url: str
    """``http://127.0.0.1:<port>``."""
    timeout: float = 60.0
    buttons: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Button label -> (widget id, fragment id or "")."""
    exceptions: list[str] = field(default_factory=list)
    bytes_received: int = 0
    page_script_hash: str = ""
    query_string: str = ""
    _ws: Any = None

    def open(self, path: str) -> float:
        """Open ``path`` (e.g. ``/em-2d?K=3``) and wait for the page to finish; seconds taken."""
        page, _, query = path.lstrip("/").partition("?")
        ws_url = self.base_url.replace("http://", "ws://") + "/_stcore/stream"
        self._ws = connect(ws_url, subprotocols=["streamlit"], max_size=None,
                           open_timeout=self.timeout, compression=None)
        self.query_string = query
        msg = BackMsg()
        msg.rerun_script.query_string = query
        msg.rerun_script.page_name = page
        start = time.perf_counter()
        self._send(msg)
        self._wait_finished()
        return time.perf_counter() - start

    def click(self, label: str) -> float:
        """Press the button labelled ``label``; seconds until the server's run finished."""
        widget_id, fragment = self.buttons[label]
        msg = BackMsg()
        rerun = msg.rerun_script
        rerun.query_string = self.query_string
        rerun.page_script_hash = self.page_script_hash
        if fragment:
            rerun.fragment_id = fragment
        state = rerun.widget_states.widgets.add()
        state.id = widget_id
        state.trigger_value = True
        start = time.perf_counter()
        self._send(msg)
        self._wait_finished()
        return time.perf_counter() - start

    def close(self) -> None:
        """Close the websocket (the server then ends the session)."""
        if self._ws is not None:
            self._ws.close()
            self._ws = None

    # ------------------------------------------------------------------ internals
    def _send(self, msg: BackMsg) -> None:
        self._ws.send(msg.SerializeToString())

    def _wait_finished(self) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ClientError(f"no reply within {self.timeout:.0f} s")
            try:
                raw = self._ws.recv(timeout=left)
            except TimeoutError as err:
                raise ClientError(f"no reply within {self.timeout:.0f} s") from err
            except Exception as err:  # ConnectionClosed and friends
                raise ClientError(f"connection closed: {err}") from err
            self.bytes_received += len(raw)
            fwd = ForwardMsg()
            fwd.ParseFromString(raw)
            kind = fwd.WhichOneof("type")
            if kind == "new_session":
                self.page_script_hash = fwd.new_session.page_script_hash
            elif kind == "delta":
                self._note_delta(fwd.delta)
            elif kind == "page_info_changed":
                self.query_string = fwd.page_info_changed.query_string
            elif kind == "script_finished":
                if fwd.script_finished in FINISHED_OK:
                    if self.exceptions:
                        raise ClientError("; ".join(self.exceptions))
                    return

    def _note_delta(self, delta: Any) -> None:
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        if kind == "button":
            self.buttons[element.button.label] = (element.button.id, delta.fragment_id)
        elif kind == "exception":
            self.exceptions.append(f"{element.exception.type}: {element.exception.message}")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and its reaped children (/proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    ticks = sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
    import os

    return ticks / os.sysconf("SC_CLK_TCK")


def process_rss_bytes(pid: int) -> int:
    """Resident set size of process ``pid`` in bytes (/proc/<pid>/status VmRSS)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0
