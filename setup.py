"""Package layout: the top-level folders install inside the ``agentgym`` namespace.

``envs/`` → ``agentgym.envs``, ``rewards/`` → ``agentgym.rewards``, ``trainers/`` →
``agentgym.trainers`` and ``conf/`` → ``agentgym.conf`` (hydra configs as package data). Everything
else about the distribution lives in ``pyproject.toml``.
"""

from setuptools import find_packages, setup

ROOTS = {
    "agentgym": "agentgym",
    "agentgym.envs": "envs",
    "agentgym.rewards": "rewards",
    "agentgym.trainers": "trainers",
    "agentgym.conf": "conf",
}

packages = []
for name, folder in ROOTS.items():
    packages.append(name)
    packages.extend(f"{name}.{sub}" for sub in find_packages(folder))

setup(packages=packages, package_dir=ROOTS, include_package_data=True)
