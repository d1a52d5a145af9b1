"""The params schema explained: each key's description, type, default and allowed values, read from the pydantic
models of :mod:`tracer1kit.params` (``Field(description=…)`` and constraints), for ``tracer1kit check --explain``
and the generated ``docs/params.md`` (``scripts/params_doc.py``)."""

from __future__ import annotations

import difflib
import json
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from .params import Params, ParamsError

MISSING_DESCRIPTION = "(no description yet)"


@dataclass(frozen=True)
class KeyDoc:
    """One params key: a value (``section`` False) or a section of keys, with its default in ``Params()``."""

    key: str
    description: str
    type: str
    default: str
    allowed: str
    section: bool


def is_section(annotation: Any) -> bool:
    """Whether a field's annotation is a nested section (a pydantic model) rather than a value."""
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def key_docs(model: BaseModel | None = None, prefix: str = "") -> list[KeyDoc]:
    """Every key of ``model`` (default: ``Params()``) and, depth first, of its sections, in schema order.

    Defaults are read from the instance, so a section whose default differs from its class's (``train.sft``)
    shows its own."""
    model = Params() if model is None else model
    docs: list[KeyDoc] = []
    for name, info in type(model).model_fields.items():
        key, value = prefix + name, getattr(model, name)
        section = is_section(info.annotation)
        docs.append(KeyDoc(key, (info.description or "").strip(), type_name(info.annotation),
                           "" if section else value_text(value), "" if section else allowed_text(info), section))
        if section:
            docs += key_docs(value, key + ".")
    return docs


def type_name(annotation: Any) -> str:
    """A short readable type: ``int``, ``list[str]``, ``str | None``; a ``Literal`` as its values' type (the values
    are in :func:`allowed_text`), or as the quoted values beside other types (``list[str] | "all-linear"``)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return " | ".join(dict.fromkeys(type(a).__name__ for a in args))
    if origin in (typing.Union, types.UnionType):
        if any(typing.get_origin(a) is not Literal and a is not type(None) for a in args):
            return " | ".join(" | ".join(json.dumps(v) for v in typing.get_args(a)) if typing.get_origin(a) is Literal
                              else type_name(a) for a in args)
        return " | ".join(type_name(a) for a in args)
    if annotation is type(None):
        return "None"
    if origin is not None:
        return f"{getattr(origin, '__name__', str(origin))}[{', '.join(type_name(a) for a in args)}]"
    return getattr(annotation, "__name__", str(annotation))


def allowed_text(info: FieldInfo) -> str:
    """The values a field accepts beyond its type: a ``Literal``'s choices, or the range its bounds set."""
    parts = [a for a in (typing.get_args(info.annotation) or (info.annotation,)) if a is not type(None)]
    if typing.get_origin(info.annotation) is Literal:
        parts = [info.annotation]
    if all(typing.get_origin(a) is Literal for a in parts):
        return "one of " + ", ".join(json.dumps(c) for a in parts for c in typing.get_args(a))
    bounds = {name: getattr(b, name) for b in info.metadata for name in ("ge", "gt", "le", "lt") if hasattr(b, name)}
    low = f"[{bounds['ge']}" if "ge" in bounds else f"({bounds['gt']}" if "gt" in bounds else ""
    high = f"{bounds['le']}]" if "le" in bounds else f"{bounds['lt']})" if "lt" in bounds else ""
    if low and high:
        return f"{low}, {high}"
    if low:
        return ("≥ " if low[0] == "[" else "> ") + low[1:]
    if high:
        return ("≤ " if high[-1] == "]" else "< ") + high[:-1]
    return ""


def value_text(value: Any) -> str:
    """A default as it would be written in YAML (JSON flow style); a run of consecutive integers abbreviated."""
    if isinstance(value, (list, tuple)) and len(value) > 4 and all(type(v) is int for v in value) \
            and list(value) == list(range(value[0], value[0] + len(value))):
        return f"[{value[0]}, {value[1]}, …, {value[-1]}] ({len(value)} values)"
    return json.dumps(value, ensure_ascii=False)


def explain(key: str, params: Params | None = None, source: str = "") -> str:
    """What ``key`` (dotted, e.g. ``planner.horizon``) means, as lines of text; with ``params`` also its value
    there (``source`` names where they came from). An unknown key raises :class:`ParamsError` with close
    matches."""
    docs = {d.key: d for d in key_docs()}
    doc = docs.get(key)
    if doc is None:
        raise ParamsError(f"--explain {key}: unknown params key{_suggestions(key, list(docs))}")
    lines = [doc.key, f"  {doc.description or MISSING_DESCRIPTION}"]
    if doc.section:
        lines.append("  keys: " + ", ".join(d.key.removeprefix(key + ".") for d in docs.values()
                                             if d.key.rpartition(".")[0] == key))
    else:
        lines += [f"  type: {doc.type}", f"  default: {doc.default}"]
        lines += [f"  allowed: {doc.allowed}"] if doc.allowed else []
        if params is not None:
            value: Any = params
            for part in key.split("."):
                value = getattr(value, part)
            lines.append(f"  value in {source or 'these params'}: {value_text(value)}")
    return "\n".join(lines)


def _suggestions(key: str, keys: list[str]) -> str:
    """`` (did you mean: a, b?)`` from keys close to ``key`` or ending in its last part; else how to list keys."""
    leaf = key.rpartition(".")[2]
    close = difflib.get_close_matches(key, keys, n=3, cutoff=0.6)
    close += [k for k in keys if k.rpartition(".")[2] == leaf and k not in close][:5 - len(close)]
    if close:
        return f" (did you mean: {', '.join(close)}?)"
    return f" (sections: {', '.join(k for k in keys if '.' not in k)}; see docs/params.md)"


def markdown() -> str:
    """``docs/params.md``: a heading and a table of keys per section, in schema order."""
    docs = key_docs()
    out = ["# Parameters", "",
           "Every key a params file (`params/*.yaml`) may set, generated from the schema in `tracer1kit/params.py` "
           "by `python scripts/params_doc.py`: edit the descriptions there, not this file. "
           "`tracer1kit check --explain KEY` prints one key. Defaults are the values a file that omits the key gets; "
           "allowed ranges are closed `[a, b]` or open `(a, b)` at each end.", ""]
    for section, description in [("", ""), *((d.key, d.description) for d in docs if d.section)]:
        rows = [d for d in docs if not d.section and d.key.rpartition(".")[0] == section]
        subsections = [d.key for d in docs if d.section and d.key.rpartition(".")[0] == section]
        if section:
            out += [f"## `{section}`", "", description or MISSING_DESCRIPTION, ""]
        if subsections:
            out += ["Sections: " + ", ".join(f"`{s}`" for s in subsections) + ".", ""]
        if rows:
            out += ["| key | type | default | allowed | description |", "|---|---|---|---|---|"]
            out += [f"| `{d.key}` | {_cell(d.type)} | {_cell(d.default, code=True)} | {_cell(d.allowed)} | "
                    f"{_cell(d.description or MISSING_DESCRIPTION)} |" for d in rows]
            out.append("")
    return "\n".join(out)


def _cell(text: str, code: bool = False) -> str:
    """``text`` safe inside a Markdown table cell (``|`` escaped, one line); ``code`` sets it in backticks."""
    text = text.replace("|", "\\|").replace("\n", " ")
    return f"`{text}`" if code and text else text
