"""Unit conversion by exact definitions: length, mass, volume, time, temperature and speed.

Each unit is a factor to its dimension's SI-style base (metre, kilogram, litre, second, metre per
second). Temperatures are affine and convert through degrees Celsius. Unit names are
case-insensitive, and plurals and spelled-out names are accepted (``miles``, ``feet``,
``kilograms``, ``hours``); volumes are US customary (``gal``, ``qt``, ``cup``, ``floz``).
"""

from __future__ import annotations

import math
from fractions import Fraction

from agentgym.envs.tools.limits import ToolCallError
from agentgym.errors import closest

__all__ = ["DIMENSIONS", "MAX_VALUE", "UNITS", "canonical_unit", "convert"]

#: Largest magnitude of a value :func:`convert` accepts.
MAX_VALUE = 1e15
_ABSOLUTE_ZERO_C = Fraction("-273.15")

_F = Fraction
_GALLON_L = _F("3.785411784")  # US liquid gallon, exact
_POUND_KG = _F("0.45359237")  # international pound, exact
_MILE_M = _F("1609.344")
#: Canonical unit -> (dimension, exact factor to the dimension's base unit); temperatures are
#: affine and have no factor.
_FACTORS: dict[str, tuple[str, Fraction | None]] = {
    "m": ("length", _F(1)), "km": ("length", _F(1000)), "cm": ("length", _F(1, 100)),
    "mm": ("length", _F(1, 1000)), "mi": ("length", _MILE_M), "ft": ("length", _F("0.3048")),
    "in": ("length", _F("0.0254")), "yd": ("length", _F("0.9144")),
    "kg": ("mass", _F(1)), "g": ("mass", _F(1, 1000)), "mg": ("mass", _F(1, 10**6)),
    "lb": ("mass", _POUND_KG), "oz": ("mass", _POUND_KG / 16), "t": ("mass", _F(1000)),
    "l": ("volume", _F(1)), "ml": ("volume", _F(1, 1000)), "gal": ("volume", _GALLON_L),
    "qt": ("volume", _GALLON_L / 4), "cup": ("volume", _GALLON_L / 16),
    "floz": ("volume", _GALLON_L / 128),
    "s": ("time", _F(1)), "min": ("time", _F(60)), "h": ("time", _F(3600)),
    "day": ("time", _F(86400)), "week": ("time", _F(604800)),
    "C": ("temperature", None), "F": ("temperature", None), "K": ("temperature", None),
    "m/s": ("speed", _F(1)), "km/h": ("speed", _F(1000, 3600)), "mph": ("speed", _MILE_M / 3600),
    "knot": ("speed", _F(1852, 3600)),
}
#: The canonical unit names, for the tool description.
UNITS: tuple[str, ...] = tuple(_FACTORS)
#: Dimension -> its canonical unit names.
DIMENSIONS: dict[str, tuple[str, ...]] = {}
for _unit, (_dimension, _) in _FACTORS.items():
    DIMENSIONS[_dimension] = (*DIMENSIONS.get(_dimension, ()), _unit)

_ALIASES: dict[str, tuple[str, ...]] = {
    "m": ("meter", "metre"), "km": ("kilometer", "kilometre"),
    "cm": ("centimeter", "centimetre"), "mm": ("millimeter", "millimetre"),
    "mi": ("mile",), "ft": ("foot", "feet"), "in": ("inch", "inches"), "yd": ("yard", "yds"),
    "kg": ("kilogram", "kilo"), "g": ("gram",), "mg": ("milligram",),
    "lb": ("pound", "lbs"), "oz": ("ounce",), "t": ("tonne", "metric ton"),
    "l": ("litre", "liter"), "ml": ("millilitre", "milliliter"), "gal": ("gallon",),
    "qt": ("quart", "qts"), "cup": (), "floz": ("fl oz", "fluid ounce", "fl. oz"),
    "s": ("sec", "second"), "min": ("minute",), "h": ("hr", "hrs", "hour"), "day": ("d",),
    "week": ("wk", "wks"),
    "C": ("celsius", "°c", "degc", "degree celsius", "degrees celsius", "centigrade"),
    "F": ("fahrenheit", "°f", "degf", "degree fahrenheit", "degrees fahrenheit"),
    "K": ("kelvin", "degree kelvin"),
    "m/s": ("mps", "meter per second", "metre per second", "meters per second",
            "metres per second"),
    "km/h": ("kph", "kmh", "km/hr", "kilometer per hour", "kilometre per hour",
             "kilometers per hour", "kilometres per hour"),
    "mph": ("mi/h", "mile per hour", "miles per hour"), "knot": ("kn", "kt", "kts"),
}
_LOOKUP: dict[str, str] = {}
for _unit, _names in _ALIASES.items():
    for _name in (_unit, *_names):
        _LOOKUP[_name.lower()] = _unit


def canonical_unit(unit: str) -> str | None:
    """The canonical name of a unit, or ``None`` if it is unknown.

    Case-insensitive; spelled-out names and plurals of names of 3+ letters are accepted
    (``"Miles"`` -> ``"mi"``, ``"degrees Celsius"`` -> ``"C"``); ``"ms"`` is not metres.

    Args:
        unit: A unit name as an agent might write it.

    Returns:
        One of :data:`UNITS`, or ``None``.
    """
    if not isinstance(unit, str):
        return None
    key = " ".join(unit.strip().lower().replace("_", " ").split())
    # Strip a plural "s" only from stems of 3+ letters: "ms" must not become metres.
    for candidate in (key, key[:-1] if key.endswith("s") and len(key) > 3 else ""):
        if candidate and candidate in _LOOKUP:
            return _LOOKUP[candidate]
    return None


def _canonical(unit: str, role: str) -> str:
    """The canonical name of ``unit``, or a ToolCallError with a did-you-mean."""
    if not isinstance(unit, str):
        raise ToolCallError(f"`{role}` must be a unit name, got {unit!r}. Fix: e.g. \"km\".")
    found = canonical_unit(unit)
    if found is not None:
        return found
    near = closest(unit, sorted(set(UNITS) | set(_LOOKUP)))
    hint = f" Did you mean {' or '.join(repr(n) for n in near)}?" if near else ""
    raise ToolCallError(
        f"Unknown unit {unit!r} in `{role}`.{hint} Known units: {', '.join(UNITS)}."
    )


def _check_value(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ToolCallError(f"`value` must be a number, got {value!r}. Fix: e.g. 12.5.")
    if not math.isfinite(value) or abs(value) > MAX_VALUE:
        raise ToolCallError(
            f"`value` must be a finite number no larger than {MAX_VALUE:g} in magnitude, got "
            f"{value!r}. Fix: convert a smaller value."
        )
    return float(value)


def _to_celsius(value: Fraction, unit: str) -> Fraction:
    if unit == "F":
        return (value - 32) * 5 / 9
    if unit == "K":
        return value + _ABSOLUTE_ZERO_C
    return value


def _from_celsius(value: Fraction, unit: str) -> Fraction:
    if unit == "F":
        return value * 9 / 5 + 32
    if unit == "K":
        return value - _ABSOLUTE_ZERO_C
    return value


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """Convert ``value`` from one unit to another of the same dimension.

    Args:
        value: The amount, finite and at most :data:`MAX_VALUE` in magnitude.
        from_unit: Its unit, e.g. ``"mi"``, ``"miles"`` or ``"Fahrenheit"`` (see :data:`UNITS`).
        to_unit: The unit wanted.

    Returns:
        The amount in ``to_unit``.

    Raises:
        ToolCallError: A unit is unknown, the units measure different dimensions, the value is
            not a finite number within bounds, or a temperature lies below absolute zero.
    """
    amount = _check_value(value)
    source, target = _canonical(from_unit, "from_unit"), _canonical(to_unit, "to_unit")
    (source_dim, source_factor), (target_dim, target_factor) = _FACTORS[source], _FACTORS[target]
    if source_dim != target_dim:
        raise ToolCallError(
            f"Cannot convert {from_unit!r} ({source_dim}) to {to_unit!r} ({target_dim}): they "
            f"measure different things. Fix: pick a {source_dim} unit, one of "
            f"{', '.join(DIMENSIONS[source_dim])}."
        )
    if source_factor is not None and target_factor is not None:
        # Exact rational arithmetic, rounded once: 1 ft is 12 in, not 12.000000000000002.
        return float(Fraction(amount) * source_factor / target_factor)
    celsius = _to_celsius(Fraction(amount), source)
    if celsius < _ABSOLUTE_ZERO_C:
        raise ToolCallError(
            f"{value!r} {from_unit} is below absolute zero. Fix: check the value and its unit."
        )
    return float(_from_celsius(celsius, target))
