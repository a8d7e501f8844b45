"""The machine a run executed on: CPU model, cores, memory; CUDA, cuDNN, driver and GPUs when torch is
loaded."""

from __future__ import annotations

import functools
import os
import platform
import sys
from pathlib import Path
from typing import Any


def _cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str | None:
    try:
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Hardware", "Processor", "cpu model") and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or None


def _memory_bytes() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):
        return None


@functools.lru_cache(maxsize=1)
def hardware() -> dict[str, Any]:
    info: dict[str, Any] = {
        "machine": platform.machine(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
    }
    memory = _memory_bytes()
    if memory:
        info["memory_bytes"] = memory
    return info


def _driver_version(path: Path = Path("/proc/driver/nvidia/version")) -> str | None:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return None
    for token in text.split():
        if token.count(".") >= 1 and token.replace(".", "").isdigit():
            return token
    return None


@functools.lru_cache(maxsize=1)
def accelerators() -> dict[str, Any] | None:
    """torch's view of the accelerators. Only called once torch is imported by the program itself."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    info: dict[str, Any] = {"torch": str(getattr(torch, "__version__", "")),
                            "cuda": getattr(getattr(torch, "version", None), "cuda", None)}
    try:
        cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
        info["cudnn"] = cudnn
        if torch.cuda.is_available():
            info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
            driver = _driver_version()
            if driver:
                info["driver"] = driver
        else:
            info["gpus"] = []
    except Exception as exc:  # noqa: BLE001 - a broken CUDA setup must not break a run
        info["error"] = f"{type(exc).__name__}: {exc}"[:300]
    return info
