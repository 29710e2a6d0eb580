"""A wheel built from the repository installs into a fresh venv and runs there.

Checks the package-dir mapping (``envs/`` → ``agentgym.envs`` ...), that hydra finds ``conf/`` as
package data, and the console script, all away from the source tree.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation",
          "-w", str(out)])
    (path,) = out.glob("agentgym-*.whl")
    return path


def test_wheel_layout_and_metadata(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    for expected in ("agentgym/envs/keydoor/task.py", "agentgym/rewards/base.py",
                     "agentgym/trainers/__init__.py", "agentgym/conf/eval.yaml",
                     "agentgym/conf/policy/oracle.yaml", "agentgym/conf/suite/keydoor.yaml"):
        assert expected in names
    assert not [n for n in names if n.split("/")[0] in ("envs", "rewards", "trainers", "conf")]
    meta = zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith("METADATA"))).decode()
    for dep in ("gymnasium", "torch", "transformers", "hydra-core", "pyarrow"):
        assert f"Requires-Dist: {dep}" in meta
    for extra in ("web", "textworld", "alfworld", "vllm", "ray", "dev"):
        assert f"Provides-Extra: {extra}" in meta


@pytest.mark.slow
def test_wheel_installs_and_runs_in_a_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    py, exe = venv / "bin" / "python", venv / "bin" / "agentgym"
    # The CPU torch wheel first (as the Makefile does), then the wheel with its dependencies.
    _run([str(py), "-m", "pip", "install", "-q", "torch==2.13.0"], timeout=900)
    _run([str(py), "-m", "pip", "install", "-q", str(wheel)], timeout=900)
    where = _run([str(py), "-c", "import agentgym, agentgym.envs.keydoor; print(agentgym.__file__)"],
                 cwd=tmp_path).stdout
    assert str(venv) in where, "agentgym must come from the fresh venv, not the source tree"
    _run([str(exe), "eval", "suite=smoke", "policy=oracle", f"run.dir={tmp_path}", "run.name=w",
          "rollout.progress=false"], cwd=tmp_path)
    report = json.loads((tmp_path / "w" / "results.json").read_text())
    assert report["overall"]["success_rate"] == 1.0
