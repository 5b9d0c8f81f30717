"""Load a partnership's config folder, reporting every problem with its file, line and field.

A coordinator edits the YAML by hand, under time pressure, so each problem says exactly where it is:

    config/demo-county/register.yaml, line 42, field items[3].evidence_lead: 'xyz' is not a person id

PyYAML is used in two passes: `compose` keeps every node's line and column, which gives a map from a
YAML path (`("items", 3, "evidence_lead")`) to its position; the nodes are then built into plain data
for pydantic. A pydantic error's `loc` is the same path, so it maps back to a line (or to the nearest
parent that exists when the field itself is missing).
"""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.error import Mark, MarkedYAMLError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from send_inspection import PROJECT_ROOT
from send_inspection.calendar import LONDON, WorkingCalendar
from send_inspection.config.models import Loc, PartnershipConfig, format_loc
from send_inspection.timeline import compute_timeline

CONFIG_ENV = "SEND_INSPECTION_CONFIG"

# Section of PartnershipConfig -> the file it is read from.
FILES: dict[str, str] = {
    "partnership": "partnership.yaml",
    "annex_a": "register.yaml",
    "timeline": "timeline.yaml",
    "tracked_cases": "tracked_cases.yaml",
    "onsite": "onsite.yaml",
    "retention": "retention.yaml",
}

_MERGE_TAG = "tag:yaml.org,2002:merge"

# PyYAML's wording of common slips -> what to do about them.
_SYNTAX_HINTS = {
    "mapping values are not allowed here": "put text that contains ': ' in quotes",
    "expected <block end>": "check the indentation of this line",
    "found character '\\t'": "indent with spaces, not tabs",
    "could not find expected ':'": "a line is missing its ':' or a quote is not closed",
}


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with the config: where it is (file, 1-based line and column, field) and what."""

    file: str
    line: int | None
    column: int | None
    field: str
    message: str

    def __str__(self) -> str:
        """Return `file, line L, field F: message` (the column is shown when no field is named)."""
        parts = [self.file]
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.column is not None and not self.field:
            parts.append(f"column {self.column}")
        if self.field:
            parts.append(f"field {self.field}")
        return f"{', '.join(parts)}: {self.message}"


class ConfigError(Exception):
    """The config folder cannot be used; `problems` lists everything found wrong."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        """Return one problem per line."""
        return "\n".join(str(p) for p in self.problems)


# ---------------------------------------------------------------- YAML with positions


class _ConfigYamlLoader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1 surprises: `17:00` stays a string and `no`/`on` are not booleans."""


def _without_implicit(tags: set[str]) -> dict[str, list[tuple[str, re.Pattern[str]]]]:
    resolvers = yaml.SafeLoader.yaml_implicit_resolvers
    return {first: [(t, rx) for t, rx in pairs if t not in tags] for first, pairs in resolvers.items()}


_ConfigYamlLoader.yaml_implicit_resolvers = _without_implicit(
    {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
)
_ConfigYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
# As YAML 1.1 but without base 60 ("17:00" would otherwise load as the integer 1020).
_ConfigYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)
_ConfigYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def _construct_timestamp(loader: SafeConstructor, node: ScalarNode) -> Any:
    """Build a date, reporting an impossible one (2024-02-30) at its position."""
    try:
        return SafeConstructor.construct_yaml_timestamp(loader, node)
    except ValueError as exc:
        message = f"{node.value!r} is not a valid date ({exc})"
        raise ConstructorError(None, None, message, node.start_mark) from exc


_ConfigYamlLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


class _FastConfigYamlLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The same loader on libyaml's parser: a flow run reads the whole config at every start, ten times faster."""

    yaml_implicit_resolvers = _ConfigYamlLoader.yaml_implicit_resolvers
    yaml_constructors = _ConfigYamlLoader.yaml_constructors


@dataclass
class _Document:
    """One YAML file: its data, the position of every path in it, and what was wrong with it."""

    display: str
    data: Any = None
    marks: dict[Loc, Mark] = field(default_factory=dict)
    parsed: bool = False
    problems: list[ConfigProblem] = field(default_factory=list)

    def problem(self, path: Loc, message: str) -> ConfigProblem:
        """Return a problem placed at `path`, or at its nearest parent found in the file."""
        mark = self._mark_for(path)
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        return ConfigProblem(self.display, line, column, format_loc(path), message)

    def _mark_for(self, path: Loc) -> Mark | None:
        for end in range(len(path), -1, -1):
            for key in (path[:end], tuple(str(p) for p in path[:end])):
                if key in self.marks:
                    return self.marks[key]
        return None


def display_path(path: Path) -> str:
    """Return `path` relative to the project root when it is inside it, else as given."""
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(PROJECT_ROOT.resolve()).as_posix()
    except ValueError:
        return str(path)


def _index_marks(node: Node, path: Loc, doc: _Document, *, stack: frozenset[int] = frozenset()) -> None:
    """Record the position of every key and list item under `node`; report duplicate keys."""
    if id(node) in stack:  # a recursive alias
        return
    stack = stack | {id(node)}
    if isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            doc.marks[(*path, index)] = item.start_mark
            _index_marks(item, (*path, index), doc, stack=stack)
    elif isinstance(node, MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG or not isinstance(key_node, ScalarNode):
                continue
            child = (*path, key_node.value)
            doc.marks[child] = key_node.start_mark
            if key_node.value in seen:
                message = f"duplicate key {key_node.value!r}: only the last would be used; remove one"
                doc.problems.append(doc.problem(child, message))
            seen.add(key_node.value)
            _index_marks(value_node, child, doc, stack=stack)


def _syntax_problem(display: str, exc: MarkedYAMLError) -> ConfigProblem:
    mark = exc.problem_mark or exc.context_mark
    message = exc.problem or "not valid YAML"
    if exc.context and exc.context_mark is not None:
        message += f" ({exc.context} at line {exc.context_mark.line + 1})"
    message += "".join(f"; {hint}" for start, hint in _SYNTAX_HINTS.items() if message.startswith(start))
    line = mark.line + 1 if mark else None
    column = mark.column + 1 if mark else None
    return ConfigProblem(display, line, column, "", message)


def _read_text(path: Path, doc: _Document) -> str | None:
    """Return the file's text, or None after noting why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        message = f"file not found: {path.name} is required"
    except (OSError, UnicodeDecodeError) as exc:
        message = f"cannot read the file ({exc})"
    doc.problems.append(ConfigProblem(doc.display, None, None, "", message))
    return None


def _parse(text: str, doc: _Document) -> None:
    """Parse YAML text into `doc`: positions first (from the node tree), then the data.

    libyaml reads a good file; a file it refuses is read again by PyYAML's own parser, whose wording says what is
    wrong where (and which the hints know), so a mistake is reported exactly as before.
    """
    try:
        _compose(_FastConfigYamlLoader, text, fast := _Document(doc.display))
        doc.data, doc.marks, doc.parsed = fast.data, fast.marks, True
        doc.problems += fast.problems
    except MarkedYAMLError:
        try:
            _compose(_ConfigYamlLoader, text, doc)
            doc.parsed = True
        except MarkedYAMLError as exc:
            doc.problems.append(_syntax_problem(doc.display, exc))
    if doc.parsed and not isinstance(doc.data, dict):
        message = "the file is empty" if doc.data is None else "expected 'key: value' lines at the top"
        doc.problems.append(doc.problem((), message))
        doc.parsed = False


def _compose(loader_class: type[yaml.SafeLoader], text: str, doc: _Document) -> None:
    """Record the position of every path of `text` in `doc`, then build its data; raise MarkedYAMLError."""
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            doc.marks[()] = node.start_mark
            _index_marks(node, (), doc)
            doc.data = loader.construct_document(node)
    finally:
        loader.dispose()


def read_document(path: Path) -> _Document:
    """Read and parse one YAML file, collecting rather than raising its problems."""
    doc = _Document(display_path(path))
    text = _read_text(path, doc)
    if text is not None:
        _parse(text, doc)
    return doc


# ---------------------------------------------------------------- pydantic errors -> problems


def unwrap_type(tp: Any) -> Any:
    """Return the non-None member of an optional type, else the type itself."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(tp) if a is not type(None)]
        return members[0] if len(members) == 1 else tp
    return tp


def child_type(tp: Any, key: str | int) -> Any:
    """Return the type found at `key` inside a model, list or dict type (None if unknown)."""
    tp = unwrap_type(tp)
    origin = typing.get_origin(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        info = tp.model_fields.get(str(key))
        return info.annotation if info else None
    if origin is list:
        return typing.get_args(tp)[0]
    if origin is dict:
        return typing.get_args(tp)[1]
    return None


def _fields_at(loc: Loc) -> list[str]:
    """Return the field names allowed in the mapping at `loc` of PartnershipConfig."""
    tp: Any = PartnershipConfig
    for key in loc:
        tp = child_type(tp, key)
        if tp is None:
            return []
    tp = unwrap_type(tp)
    return list(tp.model_fields) if isinstance(tp, type) and issubclass(tp, BaseModel) else []


def pydantic_message(error: dict[str, Any], loc: Loc) -> str:
    """Turn a pydantic error into a sentence a coordinator can act on."""
    kind, msg, value = error["type"], error["msg"], error.get("input")
    name = loc[-1] if loc else ""
    if kind == "extra_forbidden":
        allowed = _fields_at(loc[:-1])
        close = difflib.get_close_matches(str(name), allowed, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"allowed here: {', '.join(allowed)}"
        return f"unknown field {name!r} ({hint})"
    if kind == "missing":
        return f"required field {name!r} is missing"
    if kind in ("value_error", "assertion_error", "reference"):
        return re.sub(r"^(Value error|Assertion failed), ", "", msg)
    if kind == "string_type" and isinstance(value, int | float) and not isinstance(value, bool):
        return f'{msg}: write it in quotes, e.g. "{value}"'
    if isinstance(value, dict | list) or value is None:
        return msg
    return f"{msg} (got {value!r})"


def _validation_problems(
    exc: ValidationError, docs: dict[str, _Document], *, prefix: Loc = ()
) -> list[ConfigProblem]:
    """Map each pydantic error to the file and line of its field."""
    problems = []
    for error in exc.errors(include_url=False):
        loc: Loc = (*prefix, *error["loc"])
        section, path = str(loc[0]), tuple(p for p in loc[1:] if p != "[key]")
        problems.append(docs[section].problem(path, pydantic_message(error, loc)))
    return problems


def _validate(docs: dict[str, _Document]) -> tuple[PartnershipConfig | None, list[ConfigProblem]]:
    """Validate the whole config, or each parsed file alone when another file could not be read."""
    if all(doc.parsed for doc in docs.values()):
        try:
            return PartnershipConfig.model_validate({s: d.data for s, d in docs.items()}), []
        except ValidationError as exc:
            return None, _validation_problems(exc, docs)
    problems: list[ConfigProblem] = []
    for section, doc in docs.items():
        if not doc.parsed:
            continue
        model = PartnershipConfig.model_fields[section].annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        try:
            model.model_validate(doc.data)
        except ValidationError as exc:
            problems += _validation_problems(exc, docs, prefix=(section,))
    return None, problems


# ---------------------------------------------------------------- public API


def load_config(folder: Path) -> PartnershipConfig:
    """Load the partnership's YAML files (see FILES) from `folder`; raise ConfigError if anything is wrong."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError([ConfigProblem(display_path(folder), None, None, "", "config folder not found")])
    docs = {section: read_document(folder / name) for section, name in FILES.items()}
    config, problems = _validate(docs)
    problems = [p for doc in docs.values() for p in doc.problems] + problems
    if problems or config is None:
        order = {doc.display: i for i, doc in enumerate(docs.values())}
        raise ConfigError(sorted(problems, key=lambda p: (order.get(p.file, -1), p.line or 0)))
    return config


def default_config_dir() -> Path:
    """Return the config folder: $SEND_INSPECTION_CONFIG if set, else the shipped Demo County."""
    configured = os.environ.get(CONFIG_ENV)
    return Path(configured) if configured else PROJECT_ROOT / "config" / "demo-county"


def calendar_for(config: PartnershipConfig) -> WorkingCalendar:
    """Return the working calendar with the partnership's own bank-holiday corrections."""
    tl = config.timeline
    return WorkingCalendar(extra_holidays=tl.extra_bank_holidays, not_holidays=tl.not_bank_holidays)


def timeline_for(config: PartnershipConfig, notified_at: datetime) -> dict[str, datetime]:
    """Return every milestone for a notification at `notified_at` (naive means Europe/London wall time)."""
    if notified_at.tzinfo is None:
        notified_at = notified_at.replace(tzinfo=LONDON)
    return compute_timeline(notified_at, config.timeline.rules(), calendar_for(config))
