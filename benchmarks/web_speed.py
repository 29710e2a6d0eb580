"""Per-step speed and memory of agentgym's web backends against BrowserGym's own env, one run.

Issue 7's check. Goals: the browser backend <= 100 ms per step, the text backend >= 1,000
steps/s. Everything runs in one process run, so that the ratios are taken under the same load.

What is measured (a step = the action and the tree observation after it, wall time):

1. **Browser.** One session of the shop over its loopback server; one item page with an option
   group of >= 2 values; each step clicks the next of two option links (a navigation every step).
   Our ``BrowserBackend`` (screenshot off, then on) against BrowserGym's ``BrowserEnv`` on the
   same URL clicking the same link names (``benchmarks/browsergym_steps.py`` in its own venv
   ``.venv-browsergym``; its step always takes a screenshot, a DOM snapshot and the AX tree),
   with its default ``pre_observation_delay`` (0.5 s) and with 0. The same Chromium for both.
   ``--warmup`` first steps of every pass are dropped.
2. **Text.** Our ``TextBackend`` on the same clicks (``--text-steps``): as is (the two pages
   alternate, so its parse cache, keyed by page content, hits every step) and with the parse
   caches emptied and the current page parsed again before every step (outside the clock: what
   a page never seen costs); and the whole env ``agentgym/WebShop-v0`` (text backend,
   ``split="test"``) following its oracle (``info["expert_action"]``) over the 200 test tasks:
   steps and resets timed apart, steps also by the page they land on.
3. **Memory per browser env.** RSS and PSS summed over each Chromium process tree (from
   ``/proc``; PSS splits shared pages among the processes sharing them): ours after its steps;
   BrowserGym's (page browser and chat browser, both launched by every ``BrowserEnv``) sampled
   every 0.25 s during a separate, untimed run, at the sample with most PSS.

Usage::

    .venv/bin/python benchmarks/web_speed.py [--steps 40] [--warmup 3] [--text-steps 2000]
        [--out benchmarks/results/web_speed.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym

import agentgym  # noqa: F401  (registers the envs)
from agentgym.browser import find_chromium
from agentgym.envs.web.browser_backend import BrowserBackend
from agentgym.envs.web.env import TEXT_ORIGIN, shop_app
from agentgym.envs.web.shop.server import acquire_server, release_server
from agentgym.envs.web.text_backend import TextBackend, page_facts
from agentgym.envs.web.tree import parse_page

ROOT = Path(__file__).resolve().parent.parent
PEER_PYTHON = ROOT / ".venv-browsergym" / "bin" / "python"
PEER_SCRIPT = ROOT / "benchmarks" / "browsergym_steps.py"
PEER_MISSING = ("BrowserGym's venv is missing; make it with `python3 -m venv .venv-browsergym && "
                ".venv-browsergym/bin/pip install browsergym-core` (Playwright 1.44 comes with it)")


def _summary(times: list[float]) -> dict[str, float]:
    """Median and p90 in ms, steps/s over the whole pass."""
    ms = sorted(t * 1000 for t in times)
    return {"n": len(ms), "median_ms": statistics.median(ms),
            "p90_ms": statistics.quantiles(ms, n=10, method="inclusive")[-1],
            "steps_per_s": len(ms) / (sum(ms) / 1000)}


def _link_ids(tree: str, name: str) -> list[str]:
    return re.findall(r"\[([^\]]+)\] link '" + re.escape(name) + "'$", tree, re.MULTILINE)


def _bid(tree: str, name: str) -> str:
    ids = _link_ids(tree, name)
    if not ids:
        raise SystemExit(f"no link named {name!r} in the page:\n{tree[:2000]}")
    return ids[0]


def _pick_item(app: Any, sid: str) -> tuple[str, list[str]]:
    """The first item with an option group of >= 2 values whose names are unique on its page."""
    text = TextBackend(app.handle, origin=TEXT_ORIGIN)
    for product in app.catalog:
        for values in (v for v in product.options.values() if len(v) >= 2):
            text.open(f"/s/{sid}/item/{product.pid}")
            tree = text.observe().text
            if all(len(_link_ids(tree, name)) == 1 for name in values[:2]):
                return f"/s/{sid}/item/{product.pid}", list(values[:2])
    raise SystemExit("no item with an option group of two values in the catalogue")


# -- processes ------------------------------------------------------------------------------
def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process still readable."""
    table = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, UnicodeDecodeError):  # gone meanwhile
            continue
        table[int(pid)] = (int(stat.rsplit(")", 1)[1].split()[1]), cmd)
    return table


def _subtree(table: dict[int, tuple[int, str]], root: int) -> list[int]:
    children = [pid for pid, (ppid, _) in table.items() if ppid == root]
    return [root, *(pid for child in children for pid in _subtree(table, child))]


def _memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in kB; (0, 0) when it is gone."""
    try:
        lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]
    except OSError:
        return 0, 0
    fields = {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in lines)}
    return fields["Rss"], fields["Pss"]


def _browser_memory(root: int) -> dict[str, dict[str, float]]:
    """Each Chromium browser under ``root`` (its whole process tree): processes, RSS, PSS in MB.

    A browser is labelled ``chat`` when launched with BrowserGym's chat window size."""
    table = _processes()
    chromium = {pid for pid, (_, cmd) in table.items() if "chromium" in " ".join(cmd.split()[:2])}
    out = {}
    for pid in sorted(set(_subtree(table, root)) & chromium):
        if table[pid][0] in chromium:  # a child process of a browser, not a browser
            continue
        tree = _subtree(table, pid)
        rss, pss = map(sum, zip(*(_memory_kb(p) for p in tree)))
        label = "chat" if "--window-size=500,800" in table[pid][1] else "page"
        out[label if label not in out else f"{label}_{pid}"] = {
            "processes": len(tree), "rss_mb": rss / 1024, "pss_mb": pss / 1024}
    return out


def _cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` (figures move with it), or ``""``."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return ""
    return next((line.split(":", 1)[1].strip() for line in lines
                 if line.startswith("model name")), "")


# -- passes ---------------------------------------------------------------------------------
def _ours(backend: Any, url: str, names: list[str], n: int,
          prepare: Callable[[], None] = lambda: None) -> tuple[list[float], list[str]]:
    """``n`` timed clicks alternating over ``names``; the link's id is read and ``prepare`` is
    called before the clock."""
    backend.open(url)
    tree, times, errors = backend.observe().text, [], []
    for i in range(n):
        name = names[i % len(names)]
        action = f"click('{_bid(tree, name)}')"
        prepare()
        started = time.perf_counter()
        error = backend.act(action)
        tree = backend.observe().text
        times.append(time.perf_counter() - started)
        if error or f"link '{name} (selected)'" not in tree:
            errors.append(error or f"step {i}: {name!r} not selected after the click")
    return times, errors


def _browser_pass(origin: str, url: str, names: list[str], args: argparse.Namespace,
                  chromium: str, screenshot: bool) -> dict[str, Any]:
    backend = BrowserBackend(origin=origin, screenshot=screenshot, executable_path=chromium)
    try:
        times, errors = _ours(backend, url, names, args.warmup + args.steps)
        memory = _browser_memory(os.getpid())
    finally:
        backend.close()
    return {**_summary(times[args.warmup:]), "errors": errors, "memory": memory}


def _peer_cmd(url: str, names: list[str], steps: int, delay: float | None,
              chromium: str) -> list[str]:
    cmd = [str(PEER_PYTHON), str(PEER_SCRIPT), "--url", url, "--names", *names,
           "--steps", str(steps), "--chromium", chromium]
    return cmd + ([] if delay is None else ["--delay", str(delay)])


def _peer_pass(url: str, names: list[str], args: argparse.Namespace, chromium: str,
               delay: float | None) -> dict[str, Any]:
    if not PEER_PYTHON.exists():
        return {"skipped": PEER_MISSING}
    done = subprocess.run(_peer_cmd(url, names, args.warmup + args.steps, delay, chromium),
                          capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        return {"skipped": f"browsergym_steps.py failed ({done.returncode}): "
                           f"{done.stderr[-2000:]}"}
    out = json.loads(done.stdout)
    return {**_summary(out["step_s"][args.warmup:]), "errors": out["errors"],
            "pre_observation_delay": out["pre_observation_delay"]}


def _peer_memory(url: str, names: list[str], args: argparse.Namespace,
                 chromium: str) -> dict[str, Any]:
    """BrowserGym's browsers sampled every 0.25 s while it steps; the sample with most PSS."""
    if not PEER_PYTHON.exists():
        return {"skipped": PEER_MISSING}
    proc = subprocess.Popen(_peer_cmd(url, names, args.warmup + 10, None, chromium),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    best: dict[str, Any] = {}
    while proc.poll() is None:
        sample = _browser_memory(proc.pid)
        if sum(b["pss_mb"] for b in sample.values()) > sum(
                b["pss_mb"] for b in best.values()):
            best = sample
        time.sleep(0.25)
    return best


def _text_pass(app: Any, url: str, names: list[str], n: int, cold: bool) -> dict[str, Any]:
    backend = TextBackend(app.handle, origin=TEXT_ORIGIN)

    def forget() -> None:  # the next page is new; the current one stays parsed, as in an episode
        page_facts.cache_clear()
        parse_page.cache_clear()
        backend.observe()

    times, errors = _ours(backend, url, names, n, forget if cold else lambda: None)
    return {**_summary(times), "errors": errors}


def _env_pass() -> dict[str, Any]:
    """The oracle over the 200 test tasks; steps and resets timed apart."""
    env = gym.make("agentgym/WebShop-v0", split="test", backend="text")
    steps, resets, wins, by_page = [], [], 0, {}
    for seed in range(200):
        started = time.perf_counter()
        _, info = env.reset(seed=seed)
        resets.append(time.perf_counter() - started)
        done, reward = False, 0.0
        while not done:
            started = time.perf_counter()
            _, reward, terminated, truncated, info = env.step(info["expert_action"])
            steps.append(time.perf_counter() - started)
            page = info["url"].split("?")[0].strip("/").split("/")[0] or "home"
            by_page.setdefault(page, []).append(steps[-1])
            done = terminated or truncated
        wins += reward == 1.0
    env.close()
    return {"steps": _summary(steps), "resets": _summary(resets), "won": wins, "tasks": 200,
            "steps_by_page": {k: _summary(v) for k, v in by_page.items()},
            "steps_per_s_with_resets": len(steps) / (sum(steps) + sum(resets))}


# -- report ---------------------------------------------------------------------------------
def _table(r: dict[str, Any]) -> str:
    peers = [(k, r[k]) for k in ("browsergym_delay_default", "browsergym_delay_0")]
    lines = ["| per step (action + tree) | median ms | p90 ms | steps/s | BrowserGym 0.5 s delay "
             "/ this | BrowserGym 0 delay / this |", "|---|---|---|---|---|---|"]

    def row(label: str, s: dict[str, Any], peer: bool = False) -> None:
        if "skipped" in s:
            lines.append(f"| {label} | skipped: {s['skipped']} | | | | |")
            return
        ratios = ["" if peer else f"{p['median_ms'] / s['median_ms']:,.1f}x"
                  if "median_ms" in p else "-" for _, p in peers]
        lines.append(f"| {label} | {s['median_ms']:.2f} | {s['p90_ms']:.2f} | "
                     f"{s['steps_per_s']:,.0f} | {' | '.join(ratios)} |")

    row("agentgym BrowserBackend, no screenshot", r["browser"])
    row("agentgym BrowserBackend, screenshot", r["browser_screenshot"])
    row("BrowserGym BrowserEnv, pre_observation_delay 0.5 s (default)", peers[0][1], True)
    row("BrowserGym BrowserEnv, pre_observation_delay 0", peers[1][1], True)
    row("agentgym TextBackend, same 2 pages (parse cache hits)", r["text"])
    row("agentgym TextBackend, parse caches emptied every step", r["text_cold"])
    row("WebShop-v0 (text), oracle, 200 test tasks: steps", r["env"]["steps"])
    row("WebShop-v0 (text): resets", r["env"]["resets"])
    lines += ["", "| Chromium process trees per env | processes | RSS sum MB | PSS sum MB |",
              "|---|---|---|---|"]
    for label, mem in [("agentgym BrowserBackend", r["browser"]["memory"]),
                       ("BrowserGym BrowserEnv", r["browsergym_memory"])]:
        trees = {k: m for k, m in mem.items() if isinstance(m, dict)}
        if len(trees) > 1:
            trees["total"] = {k: sum(m[k] for m in trees.values())
                              for k in ("processes", "rss_mb", "pss_mb")}
        for name, m in trees.items():
            lines.append(f"| {label}: {name} | {m['processes']} | {m['rss_mb']:.0f} | "
                         f"{m['pss_mb']:.0f} |")
        if not trees:
            lines.append(f"| {label} | {mem.get('skipped', 'no browser found')} | | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--text-steps", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/web_speed.json")
    args = parser.parse_args()
    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("no Chromium: run `python -m agentgym.browser install`")
    result: dict[str, Any] = {
        "date": dt.datetime.now().isoformat(timespec="seconds"), "argv": sys.argv[1:],
        "load_start": os.getloadavg(), "cpus": os.cpu_count(), "cpu_model": _cpu_model(),
        "chromium": chromium,
        "chromium_version": subprocess.run([chromium, "--version"], capture_output=True,
                                           text=True, check=False).stdout.strip()}
    app = shop_app()
    path, names = _pick_item(app, app.new_session("Click the options in turn."))
    server = acquire_server(app)
    try:
        url = server.url(path)
        result.update(url=url, names=names, loads={})
        passes = {
            "browser": lambda: _browser_pass(server.origin, url, names, args, chromium, False),
            "browser_screenshot": lambda: _browser_pass(server.origin, url, names, args,
                                                        chromium, True),
            "browsergym_delay_default": lambda: _peer_pass(url, names, args, chromium, None),
            "browsergym_delay_0": lambda: _peer_pass(url, names, args, chromium, 0.0),
            "browsergym_memory": lambda: _peer_memory(url, names, args, chromium),
            "text": lambda: _text_pass(app, path, names, args.text_steps, False),
            "text_cold": lambda: _text_pass(app, path, names, args.text_steps, True),
            "env": _env_pass,
        }
        for name, run in passes.items():
            result["loads"][name] = os.getloadavg()[0]
            print(f"{name} ...", file=sys.stderr, flush=True)
            result[name] = run()
    finally:
        release_server(server)
    result["load_end"] = os.getloadavg()
    table = _table(result)
    result["table"] = table
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"{result['chromium_version']}; {result['cpu_model']}; load average "
          f"{result['load_start'][0]:.2f} at start, {result['load_end'][0]:.2f} at end, "
          f"{result['cpus']} CPUs\n\n{table}")


if __name__ == "__main__":
    main()
