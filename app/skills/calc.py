"""Exact arithmetic and unit conversion: numbers the LLM must never guess.

Sums are parsed from the spoken words into an expression tree and evaluated on fractions, so
"one third times three" is exactly 1.  Units are converted by pint (temperatures included).
"""

from __future__ import annotations

import ast
import functools
import math
import operator
import re
from fractions import Fraction
from typing import Any

from text_to_num import alpha2digit

# Spoken operators -> Python operators, longest first (applied to normalized text).
_OPERATORS = (
    (r"\bto the power of\b|\braised to(?: the power of)?\b|\bto the\b(?= \d)", "**"),
    (r"\bmultiplied by\b|\btimes\b|\bx\b|×", "*"),
    (r"\bdivided by\b|\bover\b|÷", "/"),
    (r"\bplus\b|\badd\b|\band\b", "+"),
    (r"\bminus\b|\btake away\b|\bless\b", "-"),
    (r"\bmod(?:ulo)?\b", "%"),
)
_UNARY = (
    (re.compile(r"\bthe square root of (\S+)|\bsquare root of (\S+)"), r"sqrt(\1\2)"),
    (re.compile(r"(\S+) squared\b"), r"(\1)**2"),
    (re.compile(r"(\S+) cubed\b"), r"(\1)**3"),
    (re.compile(r"(\d+(?:\.\d+)?) ?% of\b"), r"\1/100*"),
    (re.compile(r"(\d+(?:\.\d+)?) percent of\b"), r"\1/100*"),
    (re.compile(r"\bhalf of\b"), "1/2*"),
    (re.compile(r"\b(?:a )?third of\b"), "1/3*"),
    (re.compile(r"\b(?:a )?quarter of\b"), "1/4*"),
    (re.compile(r"\bdouble\b"), "2*"),
    (re.compile(r"\btriple\b"), "3*"),
)
_ALLOWED = re.compile(r"^[\d\s.+\-*/%()sqrt]+$")
_BINOPS: dict[type, Any] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}


class CalcError(ValueError):
    """The words are a sum that cannot be done (division by zero, a number too large)."""


def expression(words: str) -> str | None:
    """The arithmetic expression in ``words`` (normalized text, the question phrase removed),
    as Python syntax, or None if it is not purely a sum."""
    t = alpha2digit(words, "en", threshold=0)
    t = re.sub(r"\b(?:exactly|please|equal|equals|is|the answer|the result)\b", " ", t)
    t = t.replace("−", "-")
    for pat, rep in _UNARY:
        t = pat.sub(rep, t)
    for pat, rep in _OPERATORS:
        t = re.sub(pat, f" {rep} ", t)
    t = re.sub(r"\s+", " ", t).strip()
    if not t or not _ALLOWED.match(t) or not re.search(r"\d", t):
        return None
    if not re.search(r"[+\-*/%]|sqrt", t):
        return None  # a lone number is no sum
    try:
        ast.parse(t, mode="eval")
    except SyntaxError:
        return None
    return t


def _eval(node: ast.AST) -> Fraction | float:
    if isinstance(node, ast.Expression):
        return _eval(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return Fraction(str(node.value))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        v = _eval(node.operand)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        a, b = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow):
            if abs(b) > 64 or abs(a) > 10**12:
                raise CalcError("that number is too large to say")
            if isinstance(b, Fraction) and b.denominator == 1:
                return Fraction(a) ** int(b)
            return float(a) ** float(b)
        if isinstance(node.op, ast.Div | ast.Mod) and b == 0:
            raise CalcError("you can't divide by zero")
        return _BINOPS[type(node.op)](a, b)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "sqrt"
        and len(node.args) == 1
    ):
        v = _eval(node.args[0])
        if v < 0:
            raise CalcError("a negative number has no real square root")
        root = math.isqrt(int(v)) if isinstance(v, Fraction) and v.denominator == 1 else None
        if root is not None and root * root == v:
            return Fraction(root)
        return math.sqrt(float(v))
    raise CalcError("not a sum")


def evaluate(expr: str) -> Fraction | float:
    """The value of an expression from ``expression`` (exact where the operations are)."""
    return _eval(ast.parse(expr, mode="eval"))


@functools.cache
def _units() -> Any:
    import pint  # a few hundred ms to build its registry: only when a conversion is asked for

    return pint.UnitRegistry()


_UNIT_WORDS = {
    "degrees fahrenheit": "degF",
    "degree fahrenheit": "degF",
    "fahrenheit": "degF",
    "degrees celsius": "degC",
    "degree celsius": "degC",
    "celsius": "degC",
    "centigrade": "degC",
    "degrees": "degC",
    "kelvin": "kelvin",
    "kilometers per hour": "km/h",
    "kilometres per hour": "km/h",
    "miles per hour": "mph",
    "kph": "km/h",
    "k": "kilometer",
    "kilos": "kilogram",
    "kilo": "kilogram",
    "lbs": "pound",
    "lb": "pound",
    "oz": "ounce",
    "fluid ounces": "fluid_ounce",
    "fluid ounce": "fluid_ounce",
    "litres": "liter",
    "litre": "liter",
    "metres": "meter",
    "metre": "meter",
    "kilometres": "kilometer",
    "kilometre": "kilometer",
    "centimetres": "centimeter",
    "millimetres": "millimeter",
    "stones": "stone",
    "tablespoons": "tablespoon",
    "teaspoons": "teaspoon",
    "cups": "cup",
}


def unit(name: str) -> Any | None:
    """The pint unit a spoken unit name means, or None."""
    key = re.sub(r"\s+", " ", name.strip())
    for candidate in (_UNIT_WORDS.get(key.lower(), key), key.lower()):
        try:
            return _units().parse_units(candidate.replace(" ", "_"))
        except Exception:  # noqa: BLE001, S112 - pint raises several kinds for unknown names
            continue
    return None


def spoken_unit(u: Any, value: float) -> str:
    """ "kilometers", "degrees Fahrenheit", "pound" (singular for exactly one)."""
    name = str(u)
    special = {
        "degree_Fahrenheit": "degrees Fahrenheit",
        "degree_Celsius": "degrees Celsius",
        "kelvin": "kelvin",
        "kilometer / hour": "kilometers per hour",
        "mile / hour": "miles per hour",
        "mile_per_hour": "miles per hour",
        "kilometer_per_hour": "kilometers per hour",
    }
    if name in special:
        return special[name]
    name = name.replace("_", " ")
    if name.endswith(("inch",)) and value != 1:
        return name + "es"
    if name == "foot" and value != 1:
        return "feet"
    return name if value == 1 or name.endswith("s") else name + "s"


def convert(value: float, src: Any, dst: Any) -> float:
    """``value`` in unit ``src`` expressed in ``dst`` (raises CalcError if they don't match)."""
    import pint

    q = _units().Quantity(value, src)
    try:
        return float(q.to(dst).magnitude)
    except pint.DimensionalityError as e:
        raise CalcError(f"{spoken_unit(src, 2)} can't be turned into {spoken_unit(dst, 2)}") from e
