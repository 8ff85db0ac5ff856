"""Load YAML into pydantic models with errors that name file, line and field.

PyYAML's composed node tree keeps the line of every mapping key and value; we walk
it alongside pydantic's error locations so a user reads `stack.yaml:12: services.
orders.replicas: Input should be greater than 0` instead of a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from harness.errors import InvalidInput, Issue

__all__ = ["FieldError", "load_model", "parse_model"]

M = TypeVar("M", bound=BaseModel)


class FieldError(ValueError):
    """Raise from a model validator to report a cross-field problem at a precise field.

    pydantic reports model-level errors at the model's root; `loc` (relative to the
    validated model) lets the message name `services.orders.depends_on` and its line.
    """

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


def load_model(path: Path, model: type[M]) -> M:
    """Read `path` and validate it as `model`, raising InvalidInput with every issue."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(
            [Issue(str(path), None, "", f"cannot read file: {exc.strerror}")]
        ) from exc
    return parse_model(text, str(path), model)


def parse_model(text: str, filename: str, model: type[M]) -> M:
    """Validate YAML `text` as `model`; `filename` is only used in messages."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise InvalidInput([Issue(filename, line, "", f"invalid YAML: {problem}")]) from exc
    if not isinstance(data, dict):
        raise InvalidInput([Issue(filename, 1, "", "expected a mapping at the top level")])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(_issues(exc, node, filename)) from exc


def _issues(exc: ValidationError, root: yaml.Node | None, filename: str) -> list[Issue]:
    errors = exc.errors(include_url=False)
    issues = []
    for err in errors:
        if _redundant(err, errors):
            continue
        loc = list(err["loc"])
        cause = err.get("ctx", {}).get("error")
        if isinstance(cause, FieldError):
            loc += list(cause.loc)
        line, path = _locate(root, loc)
        issues.append(Issue(filename, line, ".".join(str(p) for p in path), _message(err)))
    return sorted(set(issues), key=lambda i: (i.line or 0, i.field, i.message))


def _redundant(err: Any, errors: list[Any]) -> bool:
    """A container's "too short" error is noise when one of its items failed."""
    if err["type"] != "too_short":
        return False
    n = len(err["loc"])
    return any(len(o["loc"]) > n and tuple(o["loc"][:n]) == tuple(err["loc"]) for o in errors)


def _message(err: Any) -> str:
    return str(err["msg"]).removeprefix("Value error, ")


def _locate(node: yaml.Node | None, loc: list[Any]) -> tuple[int | None, list[Any]]:
    """The 1-based line of the deepest node of `loc` in the document, and the user's path.

    pydantic puts the chosen member of a union in `loc` (the `type` tag of a fault, or
    "function-after[...]"); those parts are not in the user's file and are dropped.
    """
    if node is None:
        return None, [p for p in loc if not _is_union_tag(p)]
    line, path = node.start_mark.line + 1, []
    for part in loc:
        if _is_union_tag(part) or _is_type_tag(node, part):
            continue
        path.append(part)
        child = _child(node, part) if node is not None else None
        if child is None:
            node = None
            continue
        node, line = child, child.start_mark.line + 1
    return line, path


def _is_union_tag(part: object) -> bool:
    """pydantic's own member tags, and ours (`union:` prefix, see harness.spec)."""
    return isinstance(part, str) and (
        "[" in part or part.startswith("function-") or part.startswith("union:")
    )


def _is_type_tag(node: yaml.Node | None, part: object) -> bool:
    if not isinstance(node, yaml.MappingNode) or not isinstance(part, str):
        return False
    keys = {k.value: v for k, v in node.value}
    return part not in keys and getattr(keys.get("type"), "value", None) == part


def _child(node: yaml.Node, part: Any) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == str(part):
                return value if not isinstance(value, yaml.ScalarNode) else _keyed(key, value)
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part]
    return None


def _keyed(key: yaml.Node, value: yaml.Node) -> yaml.Node:
    # a scalar value on its own line (block style) is still reported at its key's line
    return value if value.start_mark.line == key.start_mark.line else key
