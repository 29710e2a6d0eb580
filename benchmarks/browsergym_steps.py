"""BrowserGym's own env stepping through a local page: the peer of ``web_speed.py``.

Runs in its own venv (``browsergym-core`` pins Playwright 1.44), never imported by agentgym::

    python3 -m venv .venv-browsergym && .venv-browsergym/bin/pip install browsergym-core
    .venv-browsergym/bin/python benchmarks/browsergym_steps.py --url URL --names A B --steps 40

A task whose setup opens ``--url``; each step clicks the link whose accessible name is the next
of ``--names`` (round robin), found in the previous observation's AX tree, through BrowserGym's
``click(bid)`` action. Prints one JSON object: per-step wall times (``env.step``: action,
BrowserGym's wait, DOM snapshot, AX tree, screenshot), the step errors and the Chromium used.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time

import browsergym.core  # noqa: F401  (registers nothing by itself; the env class is imported)
from browsergym.core.env import BrowserEnv
from browsergym.core.task import AbstractBrowserTask
from browsergym.utils.obs import flatten_axtree_to_str


class LocalPageTask(AbstractBrowserTask):
    """Open one URL; never ends by itself; reward 0."""

    url = ""

    @classmethod
    def get_task_id(cls) -> str:
        return "agentgym.local_page"

    def __init__(self, seed: int) -> None:
        super().__init__(seed)

    def setup(self, page):
        page.goto(self.url)
        return "Click the links in turn.", {}

    def teardown(self) -> None:
        pass

    def validate(self, page, chat_messages):
        return 0.0, False, "", {}


def _use_chromium(path: str | None) -> None:
    """Every Chromium BrowserGym launches (its page and its chat window) is ``path``, without
    the sandbox (refused as root), with a scratch HOME: Playwright 1.44's own download is not
    reachable here, and BrowserGym gives no way to pass these to its chat window."""
    from playwright.sync_api._generated import BrowserType

    launch, home = BrowserType.launch, tempfile.mkdtemp(prefix="browsergym-")

    def patched(self, **kwargs):
        if path:
            kwargs.setdefault("executable_path", path)
        kwargs.setdefault("chromium_sandbox", False)
        kwargs.setdefault("env", {"HOME": home})
        return launch(self, **kwargs)

    BrowserType.launch = patched


def _bid_of(tree: str, name: str) -> str:
    match = re.search(r"\[([^\]]+)\] link '" + re.escape(name) + r"'", tree)
    if not match:
        raise SystemExit(f"no link named {name!r} in the page:\n{tree[:2000]}")
    return match.group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--names", nargs="+", required=True, help="link names to click in turn")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--delay", type=float, default=None,
                        help="BrowserGym's pre_observation_delay in s (default: its own, 0.5)")
    parser.add_argument("--chromium", default=shutil.which("chromium"))
    args = parser.parse_args()
    LocalPageTask.url = args.url
    extra = {} if args.delay is None else {"pre_observation_delay": args.delay}
    _use_chromium(args.chromium)
    env = BrowserEnv(task_entrypoint=LocalPageTask, headless=True, **extra)
    obs, _ = env.reset(seed=0)
    times, errors = [], []
    for i in range(args.steps):
        tree = flatten_axtree_to_str(obs["axtree_object"])
        action = f"click('{_bid_of(tree, args.names[i % len(args.names)])}')"
        started = time.perf_counter()
        obs, *_ = env.step(action)
        times.append(time.perf_counter() - started)
        if obs["last_action_error"]:
            errors.append(obs["last_action_error"])
    env.close()
    json.dump({"step_s": times, "errors": errors, "chromium": args.chromium,
               "pre_observation_delay": env.pre_observation_delay}, sys.stdout)


if __name__ == "__main__":
    main()
