"""Reading a policy file: TOML (`.toml`) or YAML (`.yaml`/`.yml`), amounts as exact decimals,
every problem reported as `file:line: where: what`. `PolicySource` re-reads the file when it
changes, so workers pick up a new policy without a restart; a saga records the version it used.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from activities.policy.model import NO_POLICY, Policy

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")
_ASSIGNMENT = re.compile(r"^\s*([A-Za-z0-9_\-.\"' ]+?)\s*=")


class PolicyFileError(ValueError):
    """Raised when a policy file cannot be read or breaks a rule; the message has every problem
    with its line."""


def load_policy(path: Path) -> Policy:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PolicyFileError(f"{path}: cannot read the policy file: {error.strerror}") from error
    return parse_policy(text, path)


def parse_policy(text: str, path: Path) -> Policy:
    yaml_file = path.suffix.lower() in (".yaml", ".yml")
    data, lines = _parse_yaml(text, path) if yaml_file else _parse_toml(text, path)
    try:
        policy = Policy.model_validate(data)
    except ValidationError as error:
        problems = [
            f"{path}:{_line_of(lines, problem['loc'])}: "
            f"{'.'.join(map(str, problem['loc']))}: {_message(problem)}"
            for problem in error.errors()
        ]
        raise PolicyFileError("\n".join(problems)) from None
    if policy.version is None:
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        policy = policy.model_copy(update={"version": f"sha256:{digest}"})
    return policy


def _message(problem: Any) -> str:
    message = str(problem["msg"])
    return message.removeprefix("Value error, ")


# --- TOML ---------------------------------------------------------------------------------------


def _parse_toml(text: str, path: Path) -> tuple[Any, dict[tuple[str | int, ...], int]]:
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as error:
        raise PolicyFileError(f"{path}: {error}") from None
    return data, _toml_lines(text)


def _toml_lines(text: str) -> dict[tuple[str | int, ...], int]:
    """Where each table and key starts (tomllib keeps no positions): enough to point at the
    line of a rule that breaks, with `[[array]]` tables numbered as they appear."""
    lines: dict[tuple[str | int, ...], int] = {}
    table: tuple[str | int, ...] = ()
    arrays: dict[tuple[str | int, ...], int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if header := _HEADER.match(line):
            name = tuple(_dotted(header.group(2)))
            if header.group(1) == "[[":
                index = arrays.get(name, -1) + 1
                arrays[name] = index
                table = (*name, index)
            else:
                table = name
            lines.setdefault(table, number)
        elif assignment := _ASSIGNMENT.match(line):
            lines.setdefault((*table, *_dotted(assignment.group(1))), number)
    return lines


def _dotted(key: str) -> list[str]:
    return [part.strip().strip("\"'") for part in key.split(".")]


# --- YAML ---------------------------------------------------------------------------------------


class _DecimalLoader(yaml.SafeLoader):
    """YAML's floats as exact decimals: 0.1 stays 0.1."""


_DecimalLoader.add_constructor(
    "tag:yaml.org,2002:float",
    lambda loader, node: Decimal(loader.construct_scalar(node)),  # type: ignore[arg-type]
)


def _parse_yaml(text: str, path: Path) -> tuple[Any, dict[tuple[str | int, ...], int]]:
    try:
        data = yaml.load(text, Loader=_DecimalLoader)  # noqa: S506 - a SafeLoader subclass
        root = yaml.compose(text, Loader=_DecimalLoader)
    except yaml.YAMLError as error:
        raise PolicyFileError(f"{path}: {error}".replace("\n", " ")) from None
    lines: dict[tuple[str | int, ...], int] = {}
    _yaml_lines(root, (), lines)
    return data or {}, lines


def _yaml_lines(
    node: yaml.Node | None, where: tuple[str | int, ...], lines: dict[tuple[str | int, ...], int]
) -> None:
    if node is None:
        return
    lines.setdefault(where, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            lines[(*where, str(key.value))] = key.start_mark.line + 1
            _yaml_lines(value, (*where, str(key.value)), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, value in enumerate(node.value):
            _yaml_lines(value, (*where, index), lines)


def _line_of(lines: dict[tuple[str | int, ...], int], loc: tuple[str | int, ...]) -> int:
    """The line of the deepest part of `loc` the file names (1 when it names none of it)."""
    for end in range(len(loc), 0, -1):
        if (line := lines.get(tuple(loc[:end]))) is not None:
            return line
    return 1


# --- reloading ----------------------------------------------------------------------------------


@dataclass
class _Loaded:
    stamp: tuple[int, int]
    policy: Policy


class PolicySource:
    """The worker's current policy: re-read when the file's size or mtime changes. A file
    that has become invalid raises, so the admission activity fails and Temporal retries it
    until the file is fixed, rather than pay under rules nobody checked."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._loaded: _Loaded | None = None
        if path is not None:
            self.current()  # fail at start-up on a bad file

    def use(self, path: Path | None) -> None:
        """Read the policy from `path` from now on (checked at once)."""
        self.path, self._loaded = path, None
        self.current()

    def current(self) -> Policy:
        if self.path is None:
            return NO_POLICY
        try:
            stat = self.path.stat()
        except OSError as error:
            raise PolicyFileError(f"{self.path}: {error.strerror}") from error
        stamp = (stat.st_mtime_ns, stat.st_size)
        if self._loaded is None or self._loaded.stamp != stamp:
            self._loaded = _Loaded(stamp, load_policy(self.path))
        return self._loaded.policy
