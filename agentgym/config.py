"""Hydra composition with errors that name the field, what is allowed, and the closest match.

Configs live in ``conf/`` (installed as ``agentgym.conf``). Each YAML section feeds a keyword-only
dataclass beside the class it configures; :func:`build` checks keys and simple types against that
dataclass before constructing it, so a typo never passes silently.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from omegaconf import DictConfig, ListConfig, OmegaConf

from agentgym.errors import ConfigError, closest

__all__ = ["compose", "build", "to_container", "group_options"]

T = TypeVar("T")
CONFIG_MODULE = "agentgym.conf"


def group_options(group: str) -> list[str]:
    """Names of the YAML files in config group ``group`` (e.g. ``policy`` → random, oracle)."""
    from importlib.resources import files

    folder = files(CONFIG_MODULE).joinpath(group)
    if not folder.is_dir():
        return []
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def compose(config_name: str, overrides: Sequence[str] = ()) -> DictConfig:
    """Compose ``conf/<config_name>.yaml`` with hydra-style ``key=value`` overrides."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException

    _check_group_choices(overrides)
    GlobalHydra.instance().clear()
    with initialize_config_module(config_module=CONFIG_MODULE, version_base=None):
        try:
            return hydra_compose(config_name=config_name, overrides=list(overrides))
        except HydraException as exc:
            raise _explain(config_name, list(overrides), exc) from exc


def _check_group_choices(overrides: Sequence[str]) -> None:
    for item in overrides:
        key, sep, value = item.lstrip("+~").partition("=")
        options = group_options(key) if sep and "." not in key else []
        if options and value not in options and value != "null":
            near = closest(value, options)
            hint = f" Did you mean {near[0]!r}?" if near else ""
            raise ConfigError(
                key, f"no {key} config is named {value!r}.{hint}", f"use one of: {', '.join(options)}."
            )


def _explain(config_name: str, overrides: list[str], exc: Exception) -> Exception:
    """Turn hydra's composition error into a :class:`ConfigError` with close matches."""
    text = str(exc)
    match = re.search(r"Could not override '([^']+)'", text) or re.search(
        r"Could not append to config\. An item is already at '([^']+)'", text
    )
    if not match:
        return ConfigError("overrides", text.splitlines()[0] if text else repr(exc))
    key = match.group(1)
    rest = [o for o in overrides if o.lstrip("+~").partition("=")[0] != key]
    try:
        from hydra import compose as hydra_compose

        base = hydra_compose(config_name=config_name, overrides=rest)
    except Exception:  # fall back to hydra's own words
        return ConfigError(key, text.splitlines()[0])
    parent_path, _, leaf = key.rpartition(".")
    parent = OmegaConf.select(base, parent_path) if parent_path else base
    if isinstance(parent, DictConfig):
        known = [str(k) for k in parent.keys()]
        if not known or parent_path.endswith("kwargs"):  # a free-form section: new keys need '+'
            value = next(o.partition("=")[2] for o in overrides if o.partition("=")[0] == key)
            return ConfigError(
                key,
                f"{parent_path} has no {leaf!r} yet, and hydra only adds new keys when asked.",
                f"prefix the override with '+': +{key}={value}",
            )
        return ConfigError.unknown_key(parent_path, leaf, known)
    return ConfigError(key, f"{parent_path or 'the config'} has no field {leaf!r}.")


def to_container(node: Any) -> Any:
    """A plain Python value (dicts, lists) from an OmegaConf node, resolving interpolations."""
    if isinstance(node, (DictConfig, ListConfig)):
        return OmegaConf.to_container(node, resolve=True)
    return node


def _type_ok(value: Any, annotation: Any) -> bool:
    if isinstance(annotation, str):
        annotation = {"int": int, "float": float, "bool": bool, "str": str}.get(annotation, Any)
    origin = typing.get_origin(annotation)
    if annotation is Any or annotation is None:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, a) for a in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation in (str, bool):
        return isinstance(value, annotation)
    if origin in (dict, Mapping) or annotation is dict:
        return isinstance(value, Mapping)
    if origin in (list, tuple, Sequence) or annotation in (list, tuple):
        return isinstance(value, (list, tuple))
    return True


def build(cls: type[T], section: Mapping[str, Any] | DictConfig | None, path: str) -> T:
    """Construct config dataclass ``cls`` from a config section, checking names and types.

    Args:
        cls: A keyword-only dataclass.
        section: The YAML section (keys not in ``cls`` are an error).
        path: Dotted name of the section, for messages (``policy``, ``rollout``).
    """
    values = dict(to_container(section) or {})
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    hints = typing.get_type_hints(cls)
    for key, value in values.items():
        if key not in fields:
            raise ConfigError.unknown_key(path, key, fields)
        if not _type_ok(value, hints.get(key, Any)):
            expected = getattr(hints.get(key), "__name__", str(hints.get(key)))
            raise ConfigError(
                f"{path}.{key}",
                f"expected {expected}, got {type(value).__name__} {value!r}.",
                f"write a value of type {expected}.",
            )
    return cls(**values)  # __post_init__ checks values and raises ConfigError
