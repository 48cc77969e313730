"""What the numbers were measured on: the machine, its load, and the versions of everything involved."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version

import psutil


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _redis_version() -> str:
    try:
        out = subprocess.run(["redis-server", "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "not installed"
    word = next((w for w in out.split() if w.startswith("v=")), "v=?")
    return word[2:]


def _pkg(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def describe() -> dict:
    return {
        "nproc": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "kernel": platform.release(),
        "versions": {
            "Python": platform.python_version(),
            "Django": _pkg("Django"),
            "Channels": _pkg("channels"),
            "Daphne": _pkg("daphne"),
            "Twisted": _pkg("Twisted"),
            "channels-redis": _pkg("channels-redis"),
            "redis-server": _redis_version(),
            "uvicorn": _pkg("uvicorn"),
            "websockets": _pkg("websockets"),
        },
    }
