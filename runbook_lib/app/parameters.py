"""Parameters of a headless run: read, typed and checked for the whole suite up front.

``runbook run -p ... -f ...`` hands every parameter to every notebook, and papermill writes them
into each executed notebook and its HTML. So they are checked here, once, before the first
notebook runs or is written: names must be known to the suite (a typo gets the closest known
name), values get the type their notebooks declare (a boolean is true/false/yes/no/1/0 and
nothing else), and anything that looks like a secret is refused without being echoed.

``-p KEY=VALUE`` values and ``-f`` files are read by the same YAML reader, so one value means
the same thing either way. That reader resolves no implicit types but null (``yes``, ``on``,
``1:30`` and ``0x1f`` stay text until the declared type decides) and refuses aliases.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import fields
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from runbook_lib.app import suite
from runbook_lib.core import redact
from runbook_lib.core.errors import (
    InputError,
    ParameterError,
    SecretParameterError,
    UnknownParameterError,
)
from runbook_lib.core.param_rules import (
    PAIR_FIELDS,
    SECRET_ENV_PREFIX,
    secret_fix,
    secret_reason,
)
from runbook_lib.core.params import Params

MAX_FILE_BYTES = 1_000_000
TRUE_WORDS = frozenset({"true", "yes", "1"})
FALSE_WORDS = frozenset({"false", "no", "0"})
_DECLARATION = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*:\s*([A-Za-z_][\w\[\], .]*?)\s*=")


# -- what the suite declares ----------------------------------------------------------------------


@cache
def _declared_in(path: Path) -> tuple[tuple[str, str], ...]:
    """(name, type) of each line of a notebook's parameters cell: ``name: type = default``."""
    try:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError):
        return ()
    found: list[tuple[str, str]] = []
    for cell in cells:
        if "parameters" not in cell.get("metadata", {}).get("tags", []):
            continue
        source = cell.get("source", "")
        for line in ("".join(source) if isinstance(source, list) else source).splitlines():
            match = _DECLARATION.match(line)
            if match:
                found.append((match[1], match[2].strip()))
    return tuple(found)


def known_parameters() -> dict[str, str]:
    """Every parameter of the suite and its kind: bool, int, str or list.

    The shared model's fields decide their own kind (a list field accepts ``a,b`` or a YAML
    list); the notebooks' parameters cells declare the rest.
    """
    kinds: dict[str, str] = {}
    for nb in suite.NOTEBOOKS:
        for name, annotation in _declared_in(nb.path):
            kinds.setdefault(name, _kind(annotation))
    for f in fields(Params):
        if f.name != "extra":
            kinds[f.name] = _kind(str(f.type))
    return kinds


def _kind(annotation: str) -> str:
    if annotation in ("bool", "int", "str"):
        return annotation
    return "list" if annotation.startswith(("tuple", "list", "dict")) else "any"


# -- reading -------------------------------------------------------------------------------------


class _ParameterLoader(yaml.SafeLoader):
    """Safe YAML with null as the only implicit type, and no aliases."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "holds an alias (*name)",
                event.start_mark)
        return super().compose_node(parent, index)


_ParameterLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag == "tag:yaml.org,2002:null"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


_FILE_FIX = "pass a UTF-8 YAML file that maps parameter names to values (app_name: shop)"


def parse_yaml(text: str, where: str) -> Any:
    """YAML text as data, or an InputError saying where it broke (never what it held)."""
    try:
        return yaml.load(text, Loader=_ParameterLoader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        raise InputError(where, "…", "nests too deeply to be a parameter value",
                         _FILE_FIX) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or "not valid YAML"
        fix = ("write each value out: anchors and aliases are not accepted in parameters"
               if "alias" in problem else
               "quote a value that holds [ ] { } : # or starts with * & ! | > % @, for "
               "example -p 'app_name=\"[x\"'")
        raise InputError(where, "…", f"is not valid YAML ({problem}{at})", fix) from None


def read_file(path: Path) -> dict[str, Any]:
    """A ``-f`` parameters file: a UTF-8 YAML mapping of parameter names to values."""
    where = f"--params-file {path}"
    try:
        if path.is_dir():
            raise InputError(where, str(path), "is a folder, not a YAML file", _FILE_FIX)
        data = path.read_bytes()[: MAX_FILE_BYTES + 1]
    except OSError as err:
        raise InputError(where, str(path), f"cannot be read ({err.strerror})",
                         _FILE_FIX) from None
    if len(data) > MAX_FILE_BYTES:
        raise InputError(where, str(path), "is over 1 MB, too big for a parameters file",
                         _FILE_FIX)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(where, str(path), "is not a UTF-8 text file (binary?)",
                         _FILE_FIX) from None
    loaded = parse_yaml(text, where) if text.strip() else {}
    if not isinstance(loaded, dict) or not all(isinstance(k, str) for k in loaded):
        raise InputError(where, str(path), "does not hold a YAML mapping of names to values",
                         _FILE_FIX)
    return loaded


def read_pairs(pairs: Iterable[str]) -> dict[str, Any]:
    """``-p KEY=VALUE`` pairs; each value is read as YAML, like a value in a ``-f`` file."""
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InputError(f"-p {_shown_pair(pair)}", "…", "is not KEY=VALUE",
                             "write -p NAME=VALUE, for example -p app_name=shop")
        _refuse_secret_name(key)  # values are checked once read, as those of a file are
        values[key] = _pair_value(key, raw)
    return values


def _pair_value(key: str, raw: str) -> Any:
    """A ``-p`` value read as YAML. For a text parameter, a sentence with ``: `` in it
    (``summary=Staging checked: all good``, which YAML reads as a mapping or refuses) is the
    text as typed; flow collections and quoted text (``[a]``, ``{a: b}``, ``"x"``) are read
    as YAML, as they are in a ``-f`` file."""
    if not raw.strip():
        return ""
    sentence = (known_parameters().get(key) == "str" and ": " in raw
                and raw.lstrip()[:1] not in ("[", "{", '"', "'"))
    try:
        value = parse_yaml(raw, f"-p {key}")
    except InputError:
        if sentence:
            return raw
        raise
    return raw if sentence and isinstance(value, dict) else value


def _shown_pair(pair: str) -> str:
    return pair if not redact.looks_like_secret_value(pair) else "…"


# -- checking ------------------------------------------------------------------------------------


def check_parameters(values: Mapping[str, Any]) -> dict[str, Any]:
    """Names known, no secrets, values of their declared kind; then the shared model's rules."""
    known = known_parameters()
    typed: dict[str, Any] = {}
    for name, value in values.items():
        if name not in known:
            _refuse_secret_name(name)
            raise UnknownParameterError(name, _closest(name, known), sorted(known))
        _refuse_secret_value(name, value)
        typed[name] = coerce(name, known[name], value)
    Params.from_mapping(typed)  # the shared model's rules, cross-field ones included
    return typed


def coerce(name: str, kind: str, value: Any) -> Any:
    """A value of the declared kind; strings from YAML become booleans and numbers here only."""
    if kind == "bool":
        return _boolean(name, value)
    if kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d{1,9}\s*", value):
            return int(value)
        raise ParameterError(name, value, "must be a whole number", "30")
    if kind == "str":
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        raise ParameterError(name, _brief(value), "must be a single text value, not a list or "
                             "mapping (quote it if it holds , [ ] { } or :)", "text")
    return value


def _boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower() if isinstance(value, str | int) else None
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ParameterError(name, _brief(value), "must be true or false (also yes/no, 1/0, in "
                         "any case); anything else is refused rather than guessed", "false")


def _brief(value: Any) -> Any:
    text = repr(value)
    return value if len(text) <= 60 else text[:57] + "..."


def _entries(value: Any) -> Iterable[tuple[str, str]]:
    """(entry name, text) of every string in a value: KEY=VALUE entries and mappings give their
    key as the name, so a refusal can say which entry, never what it held."""
    if isinstance(value, str):
        for part in value.split(","):
            key, sep, text = part.partition("=")
            yield (key.strip(), text) if sep else ("", part)
        if "," in value:
            yield "", value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield "", str(key)
            yield from ((str(key), text) for _, text in _entries(item))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _entries(item)


def _refuse_secret_name(name: str) -> None:
    if name.upper().startswith(SECRET_ENV_PREFIX) or (
            redact.looks_like_secret_name(name) and name not in known_parameters()):
        raise SecretParameterError(name, f"{name}=…", secret_reason(name, ""),
                                   secret_fix(name))


def _refuse_secret_value(name: str, value: Any) -> None:
    """Refuse a credential-shaped value, whole or as one word of a longer text or entry."""
    for entry, text in _entries(value):
        words = [text, *re.split(r"[\s,;=&?/\"']+", text)]
        if any(redact.looks_like_secret_value(word) for word in words):
            shown = f"{entry}=…" if entry else f"{name}=…"
            names_field = PAIR_FIELDS.get(name, ("", "", "secret_names"))[2]
            raise SecretParameterError(name, shown, secret_reason("", text),
                                       secret_fix(entry, names_field))


def _closest(name: str, known: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return matches[0] if matches else None


def load(params_file: Path | None, pairs: Iterable[str], target: str,
         base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The run's parameters: ``base`` (runbook.toml), the ``-f`` file over it, then ``-p``
    pairs, then ``--target``; checked."""
    values: dict[str, Any] = dict(base or {})
    if params_file:
        values.update(read_file(Path(params_file)))
    values.update(read_pairs(pairs))
    if values.get("target", target) != target:
        raise InputError("parameter target", str(values["target"]), f"differs from --target "
                         f"{target}, which decides where the run goes",
                         f"pass --target {values['target']} instead of a target parameter")
    values["target"] = target
    return check_parameters(values)
