"""Processes under measurement: start, wait until ready, read CPU time and peak memory from
/proc (Linux), stop."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
# A result line carries every latency measured (a few thousand numbers).
_LINE_LIMIT = 16 * 1024 * 1024
_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Usage:
    cpu_seconds: float
    peak_rss_mb: float
    rss_mb: float


def usage(pid: int) -> Usage:
    """User+system CPU seconds so far, and peak and current resident memory."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / _TICKS
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    peak = int(status["VmHWM"].split()[0]) / 1024
    rss = int(status["VmRSS"].split()[0]) / 1024
    return Usage(cpu, peak, rss)


class Process:
    """A child process whose stdout lines can be awaited."""

    def __init__(self, name: str, *args: str, env: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.args = args
        self.env = {**os.environ, **(env or {})}
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            *self.args,
            cwd=ROOT,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            limit=_LINE_LIMIT,
        )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def line(self, wait: float = 60) -> str:
        if self.proc is None or self.proc.stdout is None:
            raise RuntimeError(f"{self.name} is not running")
        raw = await asyncio.wait_for(self.proc.stdout.readline(), wait)
        if not raw:
            raise RuntimeError(f"{self.name} exited before answering")
        return raw.decode().strip()

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 30)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


def python(*args: str) -> tuple[str, ...]:
    return (sys.executable, *args)


async def healthy(base: str, what: str, seconds: float = 60) -> None:
    """Wait until `base`/healthz answers 200 (a snakkes instance has started)."""
    async with aiohttp.ClientSession() as http:
        for _ in range(int(seconds * 10)):
            try:
                async with http.get(base + "/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{what} did not start")
