"""Read `child_data.yaml`: the partnership's column names for each list and its words for needs and settings.

Problems are reported like every other config file, as a ConfigError naming the file, line and field:

    config/demo-county/child_data.yaml, line 51, field primary_need.Autism: 'AUT' is not a DfE primary need
    code (use one of SPLD, MLD, SLD, PMLD, SEMH, SLCN, HI, VI, MSI, PD, ASD, OTH, NSA)

The loader's YAML reading and pydantic messages are reused (send_inspection.config.loader), so this
file reads and reports exactly like partnership.yaml, register.yaml and timeline.yaml.
"""

from __future__ import annotations

import difflib
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, PrivateAttr, ValidationError, field_validator, model_validator

from send_inspection.childdata.codes import NEED_CODES, SETTING_TYPES, ListKind
from send_inspection.config import loader
from send_inspection.config.loader import ConfigError, ConfigProblem, default_config_dir
from send_inspection.config.models import Loc, Problem, Strict, raise_problems

CHILD_DATA_FILE = "child_data.yaml"


@lru_cache(maxsize=65536)
def normalise(text: str) -> str:
    """Return `text` as compared with the config: spaces collapsed, case ignored."""
    return re.sub(r"\s+", " ", str(text)).strip().casefold()


def _need_code(value: str) -> str:
    code = value.strip().upper()
    if code not in NEED_CODES:
        close = difflib.get_close_matches(code, list(NEED_CODES), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(NEED_CODES)}"
        raise ValueError(f"{value!r} is not a DfE primary need code ({hint})")
    return code


def _setting_type(value: str) -> str:
    if value not in SETTING_TYPES:
        close = difflib.get_close_matches(value, SETTING_TYPES, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"use one of: {'; '.join(SETTING_TYPES)}"
        raise ValueError(f"{value!r} is not a setting type ({hint})")
    return value


NeedCode = Annotated[str, AfterValidator(_need_code)]


class _Columns(Strict):
    """The partnership's column heading for each canonical field of one list."""

    def headers(self) -> dict[str, str]:
        """Return canonical field -> the partnership's heading, for the fields this list uses."""
        return {name: value for name, value in self if value is not None}

    @model_validator(mode="after")
    def _distinct(self) -> _Columns:
        seen: dict[str, str] = {}
        problems: list[Problem] = []
        for name, header in self.headers().items():
            key = normalise(header)
            if key in seen:
                message = f"column {header!r} is already used for {seen[key]}: each field needs its own column"
                problems.append(((name,), message, header))
            seen.setdefault(key, name)
        raise_problems(type(self).__name__, problems)
        return self


class ChildColumns(_Columns):
    """Column headings of a list of children (the SEN support list)."""

    child_id: str
    first_name: str
    last_name: str
    date_of_birth: str
    primary_need: str
    setting_name: str
    setting_type: str
    setting_urn: str | None = None


class EhcPlanColumns(ChildColumns):
    """Column headings of the EHC plan list: a list of children with the plan's start date."""

    ehcp_start_date: str | None = None


class ProviderColumns(_Columns):
    """Column headings of the providers and settings list."""

    setting_name: str
    setting_type: str
    setting_urn: str | None = None
    postcode: str | None = None


class EhcPlanList(Strict):
    """Where the EHC plan list is (which sheet of a workbook; the first if not given) and its columns."""

    sheet: str | None = None
    columns: EhcPlanColumns


class SenSupportList(Strict):
    """Where the SEN support list is and its columns."""

    sheet: str | None = None
    columns: ChildColumns


class ProvidersList(Strict):
    """Where the providers and settings list is and its columns."""

    sheet: str | None = None
    columns: ProviderColumns


class Lists(Strict):
    """The three lists of Annex A child-level data."""

    ehc_plans: EhcPlanList
    sen_support: SenSupportList
    providers: ProvidersList


class SettingSpec(Strict):
    """What one of the partnership's words for a setting means: a setting type, perhaps out of area."""

    type: Annotated[str, AfterValidator(_setting_type)]
    out_of_area: bool = False


class ChildDataConfig(Strict):
    """The contents of child_data.yaml."""

    lists: Lists
    # The partnership's words (and any code it writes differently) -> DfE primary need code.
    primary_need: dict[str, NeedCode] = Field(default_factory=dict)
    # The partnership's words -> setting type (and whether it is out of area).
    setting_type: dict[str, SettingSpec] = Field(default_factory=dict)

    _needs: dict[str, str] = PrivateAttr(default_factory=dict)
    _settings: dict[str, SettingSpec] = PrivateAttr(default_factory=dict)

    @field_validator("setting_type", mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        """Let `Word: special school` stand for `Word: {type: special school}`."""
        if isinstance(value, dict):
            return {k: {"type": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ChildDataConfig:
        needs, need_problems = _lookup(self.primary_need, {c: c for c in NEED_CODES}, "primary_need")
        known = {t: SettingSpec(type=t) for t in SETTING_TYPES}
        settings, setting_problems = _lookup(self.setting_type, known, "setting_type")
        raise_problems("ChildDataConfig", need_problems + setting_problems)
        self._needs, self._settings = needs, settings
        return self

    def columns(self, kind: ListKind) -> dict[str, str]:
        """Return canonical field -> the partnership's column heading for list `kind`."""
        return getattr(self.lists, kind).columns.headers()

    def sheet(self, kind: ListKind) -> str | None:
        """Return the sheet to read list `kind` from (None: the first sheet)."""
        return getattr(self.lists, kind).sheet

    def need_code(self, value: str) -> str | None:
        """Return the DfE code the partnership's primary need `value` means, or None if unknown."""
        return self._needs.get(normalise(value))

    def setting(self, value: str) -> SettingSpec | None:
        """Return the setting type the partnership's `value` means, or None if unknown."""
        return self._settings.get(normalise(value))

    def words_for_need(self, code: str) -> list[str]:
        """Return the partnership's own words for DfE code `code` (the code first)."""
        return [
            code,
            *(word for word, c in self.primary_need.items() if c == code and normalise(word) != normalise(code)),
        ]

    def words_for_setting(self, spec: SettingSpec) -> list[str]:
        """Return the partnership's own words meaning `spec`."""
        return [word for word, s in self.setting_type.items() if s == spec]


def _lookup(words: dict[str, Any], builtin: dict[str, Any], section: str) -> tuple[dict[str, Any], list[Problem]]:
    """Return normalised word -> meaning (built-in names first), reporting a word that means two things."""
    meanings: dict[str, tuple[str, Any]] = {normalise(name): (name, value) for name, value in builtin.items()}
    problems: list[Problem] = []
    for word, value in words.items():
        first = meanings.setdefault(normalise(word), (word, value))
        if first[1] == value:
            continue
        if first[0] in builtin and isinstance(value, str):
            message = f"{word!r} is the DfE code {first[1]!r}: it cannot mean {value!r}"
        elif isinstance(value, str):
            message = (
                f"{word!r} is the same word as {first[0]!r}, which means {first[1]!r}: it cannot also mean {value!r}"
            )
        else:
            message = f"{word!r} is the same word as {first[0]!r}, which means something else"
        problems.append(((section, word), message, word))
    return {key: value for key, (_, value) in meanings.items()}, problems


def required_fields(kind: ListKind) -> list[str]:
    """Return the canonical fields list `kind` must have."""
    model = _COLUMNS[kind]
    return [name for name, info in model.model_fields.items() if info.is_required()]


def optional_fields(kind: ListKind) -> list[str]:
    """Return the canonical fields list `kind` may have."""
    model = _COLUMNS[kind]
    return [name for name, info in model.model_fields.items() if not info.is_required()]


_COLUMNS: dict[ListKind, type[_Columns]] = {
    "ehc_plans": EhcPlanColumns,
    "sen_support": ChildColumns,
    "providers": ProviderColumns,
}


def _allowed_fields(loc: Loc) -> list[str]:
    """Return the field names allowed in the mapping at `loc` of ChildDataConfig."""
    tp: Any = ChildDataConfig
    for key in loc:
        tp = loader.child_type(tp, key)
        if tp is None:
            return []
    tp = loader.unwrap_type(tp)
    return list(tp.model_fields) if isinstance(tp, type) and issubclass(tp, BaseModel) else []


def _message(error: dict[str, Any], loc: Loc) -> str:
    """Turn a pydantic error into a sentence a coordinator can act on."""
    if error["type"] == "extra_forbidden":
        name, allowed = str(loc[-1]), _allowed_fields(loc[:-1])
        close = difflib.get_close_matches(name, allowed, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"allowed here: {', '.join(allowed)}"
        return f"unknown field {name!r} ({hint})"
    return loader.pydantic_message(error, loc)


def load_child_data_config(folder: Path | None = None) -> ChildDataConfig:
    """Load child_data.yaml from `folder` (default: the config folder); raise ConfigError if wrong."""
    folder = default_config_dir() if folder is None else Path(folder)
    doc = loader.read_document(folder / CHILD_DATA_FILE)
    problems: list[ConfigProblem] = list(doc.problems)
    if doc.parsed:
        try:
            config = ChildDataConfig.model_validate(doc.data)
            if not problems:
                return config
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                loc: Loc = tuple(p for p in error["loc"] if p != "[key]")
                problems.append(doc.problem(loc, _message(error, loc)))
    raise ConfigError(sorted(problems, key=lambda p: p.line or 0))


def child_data_config_if_any(folder: Path) -> ChildDataConfig | None:
    """Load child_data.yaml from `folder` if the partnership has one; raise ConfigError if it is wrong."""
    return load_child_data_config(folder) if (Path(folder) / CHILD_DATA_FILE).exists() else None
