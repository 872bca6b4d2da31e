"""Fail fast when a download cannot succeed: a quick look (name resolution only, bounded in
time) at whether the host that serves TFDS data is reachable, before TFDS spends minutes in
retries. ``TFLBENCH_OFFLINE=1`` says so without looking."""

from __future__ import annotations

import os
import socket
import threading

#: The host TFDS downloads prepared data and checksums from.
TFDS_HOST = "storage.googleapis.com"
#: Seconds the name lookup may take before the host counts as unreachable.
LOOKUP_SECONDS = 3.0


def offline_reason(host: str = TFDS_HOST, timeout: float = LOOKUP_SECONDS) -> str | None:
    """Why a download from ``host`` cannot work right now, or ``None`` when it may."""
    if os.environ.get("TFLBENCH_OFFLINE", "").strip().lower() in ("1", "true", "yes"):
        return "TFLBENCH_OFFLINE is set"
    result: dict[str, BaseException | None] = {}

    def look() -> None:
        try:
            socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
            result["error"] = None
        except OSError as exc:
            result["error"] = exc

    worker = threading.Thread(target=look, daemon=True)
    worker.start()
    worker.join(timeout)
    if "error" not in result:
        return f"looking up {host} took longer than {timeout:g} s"
    error = result["error"]
    if error is not None:
        return f"{host} cannot be resolved ({error}): no internet here"
    return None
