"""Load YAML into pydantic models with errors that name file, line and field.

PyYAML's composed node tree keeps the line of every mapping key and value; we walk
it alongside pydantic's error locations so a user reads `stack.yaml:12: services.
api.replicas: Input should be greater than 0` instead of a traceback. Reading
the YAML safely (size, duplicates, aliases, nesting, encoding) is harness.specs.yamlsafe's
job; a file over its size limit is refused here before more than the limit is read.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from harness.errors import InvalidInput, Issue
from harness.specs.yamlsafe import MAX_BYTES, decode, read_yaml, too_large

__all__ = [
    "MAX_ISSUES",
    "FieldError",
    "Loc",
    "Problem",
    "load_model",
    "locate",
    "parse_model",
    "read_limited",
    "refuse_old_key",
]

M = TypeVar("M", bound=BaseModel)
Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]  # a location relative to the model, and what is wrong there
MAX_ISSUES = 50  # per file: past that the rest is one "and N more"


class FieldError(ValueError):
    """Raise from a model validator to report cross-field problems at precise fields.

    pydantic reports model-level errors at the model's root; each problem's `loc`
    (relative to the validated model) lets the message name `services.api.
    depends_on` and its line. `FieldError.of` carries several problems at once.
    """

    def __init__(self, loc: Loc, message: str) -> None:
        super().__init__(message)
        self.problems: list[Problem] = [(loc, message)]

    @classmethod
    def of(cls, problems: Sequence[Problem]) -> FieldError:
        err = cls(*problems[0])
        err.problems = list(problems)
        return err


def refuse_old_key(data: Any, key: str, message: str) -> Any:
    """For a `mode="before"` validator: a key a file format no longer has is an error at
    that key's line saying what replaced it, not a generic "extra input"."""
    if isinstance(data, dict) and key in data:
        raise FieldError((key,), message)
    return data


def load_model(
    path: Path,
    model: type[M],
    check: Callable[[M], Iterable[Problem]] | None = None,
    partial: Callable[[Any], Iterable[Problem]] | None = None,
) -> M:
    """Read `path` and validate it as `model`, raising InvalidInput with every issue."""
    return parse_model(decode(read_limited(path), str(path)), str(path), model, check, partial)


def read_limited(path: Path) -> bytes:
    """The file's bytes, or InvalidInput without reading past MAX_BYTES: an 11 MB file is
    refused in a millisecond, not parsed for 20 s."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
            size = max(os.fstat(fh.fileno()).st_size, len(raw))
    except OSError as exc:
        raise InvalidInput(
            [Issue(str(path), None, "", f"cannot read file: {exc.strerror}")]
        ) from exc
    if len(raw) > MAX_BYTES:
        raise too_large(size, str(path))
    return raw


def parse_model(
    text: str,
    filename: str,
    model: type[M],
    check: Callable[[M], Iterable[Problem]] | None = None,
    partial: Callable[[Any], Iterable[Problem]] | None = None,
) -> M:
    """Validate YAML `text` as `model`; `filename` is only used in messages.

    `check` adds problems the model cannot see alone (the topology, for selectors);
    they are located in the file like pydantic's own errors. When the model itself
    fails, `partial` (if given) checks the raw data for what can still be checked.
    """
    doc = read_yaml(text, filename)
    if doc.root is None:
        raise InvalidInput([Issue(filename, 1, "", "the file is empty: expected a mapping")])
    if not isinstance(doc.data, dict):
        found = "nothing" if doc.data is None else type(doc.data).__name__
        raise InvalidInput(
            [Issue(filename, 1, "", f"expected a mapping at the top level, not {found}")]
        )
    where = _Locator(doc.root, filename)
    issues = list(doc.duplicates)
    try:
        result = model.model_validate(doc.data)
    except ValidationError as exc:
        issues += _issues(exc, where)
        issues += [
            where.issue(list(loc), msg) for loc, msg in (partial(doc.data) if partial else ())
        ]
        raise InvalidInput(_capped(issues, filename)) from exc
    issues += [where.issue(list(loc), message) for loc, message in (check(result) if check else ())]
    if issues:
        raise InvalidInput(_capped(issues, filename))
    return result


def locate(source: str | Path, problems: Iterable[Problem]) -> list[Issue]:
    """Problems found after a file was loaded (the planner's), located in it as loading
    locates its own: the file is read again. Where it cannot be (gone, changed, not a
    file), the issues name the file and the field, without a line. Ordered as loading
    orders its own, so a message reads the same whichever found it."""
    problems = list(problems)
    try:
        doc = read_yaml(decode(read_limited(Path(source)), str(source)), str(source))
    except InvalidInput:
        doc = None
    if doc is None or doc.root is None:
        issues = [Issue(str(source), None, ".".join(map(str, loc)), m) for loc, m in problems]
    else:
        where = _Locator(doc.root, str(source))
        issues = [where.issue(list(loc), message) for loc, message in problems]
    return _capped(issues, str(source))


def _capped(issues: list[Issue], filename: str) -> list[Issue]:
    """Every issue once, by line; past MAX_ISSUES a last line says how many are left."""
    ordered = sorted(set(issues), key=lambda i: (i.line or 0, i.field, i.message))
    if len(ordered) <= MAX_ISSUES:
        return ordered
    rest = len(ordered) - MAX_ISSUES
    return [*ordered[:MAX_ISSUES], Issue(filename, None, "", f"and {rest} more")]


def _issues(exc: ValidationError, where: _Locator) -> list[Issue]:
    errors = exc.errors(include_url=False)
    failed_within = {tuple(e["loc"][:n]) for e in errors for n in range(len(e["loc"]))}
    issues = []
    for err in errors:
        if err["type"] == "too_short" and tuple(err["loc"]) in failed_within:
            continue  # a container's "too short" is noise when one of its items failed
        cause = err.get("ctx", {}).get("error")
        if isinstance(cause, FieldError):
            issues += [where.issue([*err["loc"], *loc], msg) for loc, msg in cause.problems]
        else:
            issues.append(where.issue(list(err["loc"]), _message(err)))
    return issues


def _message(err: Any) -> str:
    return str(err["msg"]).removeprefix("Value error, ")


class _Locator:
    """Finds the line of a pydantic location in the node tree, in time linear overall.

    Each mapping's keys are indexed once (by node id), so 100,000 unknown keys cost
    100,000 dictionary look-ups, not a scan of the mapping per key.
    """

    def __init__(self, root: yaml.Node, filename: str) -> None:
        self.root, self.filename = root, filename
        self._keys: dict[int, dict[str, tuple[yaml.Node, yaml.Node]]] = {}

    def issue(self, loc: list[Any], message: str) -> Issue:
        line, path = self.locate(loc)
        return Issue(self.filename, line, ".".join(str(p) for p in path), message)

    def locate(self, loc: list[Any]) -> tuple[int | None, list[Any]]:
        """The 1-based line of the deepest node of `loc` in the document, and the user's path.

        pydantic puts the chosen member of a union in `loc` (the `type` tag of a fault, or
        "function-after[...]"); those parts are not in the user's file and are dropped.
        """
        node: yaml.Node | None = self.root
        line, path = self.root.start_mark.line + 1, []
        for part in loc:
            if _is_union_tag(part) or self._is_type_tag(node, part):
                continue
            path.append(part)
            child = self._child(node, part) if node is not None else None
            node = child
            if child is not None:
                line = child.start_mark.line + 1
        return line, path

    def _index(self, node: yaml.MappingNode) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        keys = self._keys.get(id(node))
        if keys is None:  # later keys win, as when the data was built
            keys = {str(k.value): (k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)}
            self._keys[id(node)] = keys
        return keys

    def _is_type_tag(self, node: yaml.Node | None, part: object) -> bool:
        if not isinstance(node, yaml.MappingNode) or not isinstance(part, str):
            return False
        keys = self._index(node)
        tag = keys.get("type")
        return part not in keys and tag is not None and getattr(tag[1], "value", None) == part

    def _child(self, node: yaml.Node, part: Any) -> yaml.Node | None:
        if isinstance(node, yaml.MappingNode):
            pair = self._index(node).get(str(part))
            return None if pair is None else _keyed(*pair)
        if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            return node.value[part]
        return None


def _is_union_tag(part: object) -> bool:
    """pydantic's own member tags, and ours (`union:` prefix, see harness.specs.experiment)."""
    return isinstance(part, str) and (
        "[" in part or part.startswith("function-") or part.startswith("union:")
    )


def _keyed(key: yaml.Node, value: yaml.Node) -> yaml.Node:
    # a scalar value on its own line (block style) is still reported at its key's line
    if not isinstance(value, yaml.ScalarNode) or value.start_mark.line == key.start_mark.line:
        return value
    return key
