"""Finding, installing and launching the Chromium that the web environments drive.

Two kinds of browser work: one that Playwright downloaded itself (``playwright install
chromium``), and a system one (Debian's ``chromium`` package, ``/usr/bin/chromium``). The order of
preference is ``$AGENTGYM_CHROMIUM``, Playwright's own, then the system's.

``python -m agentgym.browser install`` gets one: Playwright's download where it can, else (as root
with apt) Debian's package. ``python -m agentgym.browser find`` prints the one that would be used.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agentgym.errors import AgentGymError

__all__ = ["find_chromium", "install_chromium", "launch_chromium", "CHROMIUM_ARGS"]

log = logging.getLogger(__name__)

ENV_VAR = "AGENTGYM_CHROMIUM"
SYSTEM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

#: Flags for a quiet, local-only headless Chromium: no background traffic to outside hosts (which
#: a closed network refuses, slowly), no first-run or sync machinery.
CHROMIUM_ARGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--disable-gpu",
    "--disable-dev-shm-usage",
)


def _playwright_chromium() -> str | None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    try:
        with sync_playwright() as pw:
            path = pw.chromium.executable_path
    except Exception as exc:  # Playwright's driver missing or broken: not our browser then
        log.debug("Playwright gives no chromium path: %s", exc)
        return None
    return path if path and Path(path).exists() else None


def find_chromium() -> str | None:
    """The Chromium executable to use, or ``None`` when there is none."""
    forced = os.environ.get(ENV_VAR)
    if forced:
        if not Path(forced).exists():
            raise AgentGymError(
                f"${ENV_VAR} is {forced!r}, which does not exist. Fix: point it at a Chromium "
                "executable or unset it."
            )
        return forced
    found = _playwright_chromium()
    if found:
        return found
    for name in SYSTEM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _run(cmd: Sequence[str], timeout: int) -> bool:
    log.info("running: %s", " ".join(cmd))
    try:
        return subprocess.run(cmd, timeout=timeout, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("%s failed: %s", cmd[0], exc)
        return False


def install_chromium(*, allow_apt: bool = True) -> str:
    """Make sure a Chromium is there and return its path.

    Tries Playwright's own download first; where that cannot reach its servers, installs Debian's
    ``chromium`` package when running as root with apt.
    """
    found = find_chromium()
    if found:
        return found
    if _run([sys.executable, "-m", "playwright", "install", "chromium"], timeout=900):
        found = find_chromium()
    if not found and allow_apt and shutil.which("apt-get") and os.geteuid() == 0:
        apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=False, env=apt_env)
        subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], check=False, env=apt_env)
        found = find_chromium()
    if not found:
        raise AgentGymError(
            "No Chromium found, and none could be installed. Fix: run `playwright install "
            "chromium`, or install your system's chromium package (Debian: `apt-get install "
            f"chromium`), or set ${ENV_VAR} to a Chromium executable."
        )
    return found


def launch_chromium(playwright: Any, *, headless: bool = True, **kwargs: Any) -> Any:
    """Launch Chromium through a started Playwright (``sync_playwright().start()``).

    Uses :func:`find_chromium`'s executable, the quiet :data:`CHROMIUM_ARGS`, ``--no-sandbox``
    when running as root (Chromium refuses its sandbox then), and a scratch profile directory.
    """
    path = find_chromium()
    if path is None:
        raise AgentGymError(
            "No Chromium to launch. Fix: `python -m agentgym.browser install` (or `make test`, "
            "which runs it)."
        )
    args = list(CHROMIUM_ARGS) + list(kwargs.pop("args", []))
    if os.geteuid() == 0:
        args.append("--no-sandbox")
    env = {**os.environ, "HOME": kwargs.pop("home", None) or tempfile.mkdtemp(prefix="agentgym-chromium-")}
    return playwright.chromium.launch(
        executable_path=path, headless=headless, args=args, env=env, **kwargs
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m agentgym.browser {install,find}``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    command = argv[0] if argv else "find"
    if command == "install":
        sys.stdout.write(install_chromium() + "\n")
        return 0
    if command == "find":
        path = find_chromium()
        sys.stdout.write((path or "no chromium found; run: python -m agentgym.browser install") + "\n")
        return 0 if path else 1
    sys.stderr.write("usage: python -m agentgym.browser {install,find}\n")
    return 2


if __name__ == "__main__":
    sys.exit(main())
