"""Reading a policy file, with errors that name the file, the key and what is wrong."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .schema import Policy


class PolicyError(Exception):
    """The policy file is missing, unreadable or invalid. The message is meant for the firm."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        lines = "\n  ".join(problems)
        super().__init__(f"{path}: invalid privacy policy:\n  {lines}")


def _key_path(loc: tuple[int | str, ...], data: Any) -> str:
    """Render a pydantic location as ``categories[2] (invoices).retention.period``."""
    out = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("key"), str):
                out += f' ("{node["key"]}")'
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out or "(top level)"


def parse_policy(data: dict[str, Any], path: Path) -> Policy:
    """Validate already-parsed TOML data.

    :raises PolicyError: listing every problem with its key.
    """
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            message = err["msg"].removeprefix("Value error, ")
            loc = tuple(err["loc"])
            if not loc and ": " in message:
                # Cross-reference checks carry their own location.
                where, message = message.split(": ", 1)
                problems.append(f"{_render_dotted(where, data)}: {message}")
                continue
            if err["type"] == "extra_forbidden":
                message = "unknown key (check the spelling against policy.example.toml)"
            elif err["type"] == "missing":
                message = "required but missing"
            elif err["type"] == "string_pattern_mismatch":
                hint = _PATTERN_HINTS.get(_last_name(loc), "valid")
                if str(err.get("ctx", {}).get("pattern", "")).startswith("^[a-z]"):
                    hint = _KEY_HINT
                message = f"{err['input']!r} is not {hint}"
            problems.append(f"{_key_path(loc, data)}: {message}")
        raise PolicyError(path, problems) from None


#: What a value of a pattern-checked key must look like, by the key's name.
_PATTERN_HINTS = {
    "kvk_number": 'a KvK number: eight digits, e.g. "12345678"',
    "country": 'a country code: two capital letters, e.g. "NL"',
    "fiscal_year_end": 'month-day, e.g. "12-31"',
    "url": 'a web address starting with https://, e.g. "https://autoriteitpersoonsgegevens.nl"',
    "privacy_url": 'a web address starting with https://, e.g. "https://example.com/privacy"',
}

_KEY_HINT = 'a key: lower-case letters, digits, "-" and "_", starting with a letter'


def _last_name(loc: tuple[int | str, ...]) -> str:
    """The last key name in a pydantic location (skipping list indexes)."""
    names = [part for part in loc if isinstance(part, str)]
    return names[-1] if names else ""


def _render_dotted(where: str, data: Any) -> str:
    """Turn ``categories[2].purposes`` into the same form as :func:`_key_path`."""
    loc: list[int | str] = []
    for part in where.split("."):
        name, _, rest = part.partition("[")
        loc.append(name)
        if rest:
            loc.append(int(rest.rstrip("]")))
    return _key_path(tuple(loc), data)


def load_policy(path: Path) -> Policy:
    """Read and validate a policy file.

    :raises PolicyError: if the file is missing, not TOML, or not a valid policy.
    """
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise PolicyError(path, ["file not found (copy instance/policy.example.toml)"]) from None
    except UnicodeDecodeError:
        raise PolicyError(path, ["not valid TOML: the file is not UTF-8 text"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(path, [_toml_problem(exc, text)]) from None
    return parse_policy(data, path)


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column \d+\)$")
_TOML_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")
_TOML_KEY = re.compile(r"^\s*([A-Za-z0-9_.\-\"' ]+?)\s*=")


def _toml_problem(exc: tomllib.TOMLDecodeError, text: str) -> str:
    """Describe a TOML syntax error with the key it concerns, e.g. a duplicate key.

    tomllib only reports a line and column; the firm needs the key, so it is read from the line
    and the table header above it (``[[purposes]]`` headers are counted to give the index).
    """
    message = str(exc)
    match = _TOML_POSITION.search(message)
    if not match:
        return f"not valid TOML: {message}"
    reason = message[: match.start()]
    if reason == "Cannot overwrite a value":
        reason = "duplicate key (each key may appear only once per table)"
    number = int(match[1])
    lines = text.splitlines()
    line = lines[number - 1] if 0 < number <= len(lines) else ""
    header = _TOML_HEADER.match(line)
    key_match = _TOML_KEY.match(line)
    table = ""
    for previous in reversed(lines[: number - 1]):
        found = _TOML_HEADER.match(previous)
        if found:
            table = found[2]
            if found[1] == "[[":
                opener = f"[[{table}]]"
                count = sum(1 for x in lines[: number - 1] if x.strip().startswith(opener))
                table = f"{table}[{count - 1}]"
            break
    if header:
        key = header[2]
    elif key_match:
        name = key_match[1].strip().strip("\"'")
        key = f"{table}.{name}" if table else name
    else:
        return f"line {number}: not valid TOML: {reason}"
    return f"{key}: not valid TOML at line {number}: {reason}"
