"""Read untrusted YAML: no duplicate keys, no alias bombs, no deep nesting, no traceback,
and time and memory bounded whatever the input.

PyYAML on its own lets a second `faults:` block silently replace the first, expands
a "billion laughs" of aliases into memory, recurses until RecursionError on 20,000
nested brackets, and spends about 300 bytes of memory per byte of a long flow list
(an 11 MB file: 20 s and 1.1 GB). `read_yaml` refuses text over MAX_BYTES, counts the
nodes in one streaming pass (constant memory) and refuses more than MAX_NODES, then
composes the node tree (libyaml when it is there), walks it iteratively to enforce the
limits below, and only then builds the Python data. Every problem is an Issue with the
file and, where known, the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from harness.errors import InvalidInput, Issue

__all__ = [
    "MAX_ALIAS_NODES",
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "Document",
    "decode",
    "read_yaml",
    "too_large",
]

MAX_BYTES = 1 << 20  # 1 MiB: 50 times the largest file we ship (a 20 KB rule file)
MAX_NODES = 50_000  # values (keys and items) in a file: ~30 MB composed, a third of a second
MAX_DEPTH = 64  # experiment files nest about 6 deep; JSON bodies a little more
MAX_ALIAS_NODES = 10_000  # nodes that aliases may add to the document once expanded
_NODE_EVENTS = (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent, yaml.AliasEvent)
_MERGE = "tag:yaml.org,2002:merge"
# what the YAML spec does not allow in a stream (PyYAML's Reader.NON_PRINTABLE)
_NOT_YAML = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it
# what PyYAML's own constructors raise on `!!int x`, `!!timestamp x`, a 5,000-digit int
_BAD_SCALAR = (ValueError, KeyError, IndexError, AttributeError, TypeError, OverflowError)


class _Loader(_Base):
    def construct_object(self, node: Node, deep: bool = False) -> Any:
        """PyYAML's constructor, with its crashes on bad scalars as errors at their line."""
        try:
            return super().construct_object(node, deep)
        except _BAD_SCALAR as exc:
            tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
            shown = repr(node.value) if len(str(node.value)) <= 40 else repr(node.value[:37]) + "…"
            reason = f" ({str(exc).split(';')[0]})" if isinstance(exc, ValueError) else ""
            raise ConstructorError(
                None, None, f"cannot read {shown} as {tag}{reason}", node.start_mark
            ) from None


@dataclass
class Document:
    """The composed tree (for locating errors), the data, and duplicate keys found."""

    root: Node | None
    data: object
    duplicates: list[Issue] = field(default_factory=list)


def decode(raw: bytes, filename: str) -> str:
    """UTF-8 text, or InvalidInput naming the line of the first bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        message = f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        raise InvalidInput([Issue(filename, line, "", message)]) from None


def too_large(size: int, filename: str) -> InvalidInput:
    """The one-line refusal of a file over MAX_BYTES, before anything parses it."""
    message = (
        f"the file is {size:,} bytes, over the {MAX_BYTES:,}-byte limit (1 MiB) for "
        "harness files: refusing to read it"
    )
    return InvalidInput([Issue(filename, None, "", message)])


def read_yaml(text: str, filename: str) -> Document:
    """Compose, check and construct one YAML document; InvalidInput on any problem."""
    if len(text) > MAX_BYTES:
        raise too_large(len(text.encode()), filename)
    bad = _NOT_YAML.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        char = f"U+{ord(bad.group()):04X}"
        raise InvalidInput([Issue(filename, line, "", f"not a YAML text file ({char})")])
    try:
        _count_nodes(text, filename)
    except yaml.YAMLError as exc:
        raise InvalidInput([_yaml_issue(exc, filename)]) from None
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        duplicates = _check_tree(root, loader, filename) if root is not None else []
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        raise InvalidInput([_yaml_issue(exc, filename)]) from None
    except RecursionError:  # only without libyaml, which stops at 1000 levels itself
        raise InvalidInput([Issue(filename, None, "", "nested too deeply")]) from None
    finally:
        loader.dispose()
    return Document(root, data, duplicates)


def _count_nodes(text: str, filename: str) -> None:
    """Refuse more than MAX_NODES nodes, streaming the parser's events (none is kept):
    composing them first would take the memory this limit is there to bound."""
    loader = _Loader(text)
    count = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, _NODE_EVENTS):
                count += 1
                if count > MAX_NODES:
                    line = event.start_mark.line + 1 if event.start_mark else None
                    message = f"more than {MAX_NODES:,} values (keys and items): refusing it"
                    raise InvalidInput([Issue(filename, line, "", message)])
    finally:
        loader.dispose()


def _yaml_issue(exc: yaml.YAMLError, filename: str) -> Issue:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(exc, "problem", None) or str(exc)
    return Issue(filename, line, "", f"invalid YAML: {problem}")


@dataclass
class _Visit:
    node: Node
    path: tuple[str | int, ...]
    depth: int
    line: int  # where the node is written
    alias_line: int  # where an alias of it would be: the key's line, or its list's
    done: bool = False


def _check_tree(root: Node, loader: _Loader, filename: str) -> list[Issue]:
    """Enforce depth and alias limits; return duplicate keys. Iterative, linear in nodes.

    Aliases make the tree a graph: a node seen again is an alias use, and adds the
    size of its subtree (computed once, after the node is done) to the expansion.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    expanded, duplicates = 0, []
    top = root.start_mark.line + 1
    stack = [_Visit(root, (), 1, top, top)]
    while stack:
        visit = stack.pop()
        key = id(visit.node)
        if visit.done:
            sizes[key] = 1 + sum(sizes[id(child)] for child in _nodes(visit.node))
            open_nodes.discard(key)
            continue
        if key in open_nodes:
            _fail(filename, visit, "an alias refers to a node that contains it")
        if key in sizes:
            expanded += sizes[key]
            if expanded > MAX_ALIAS_NODES:
                visit.line = visit.alias_line
                _fail(filename, visit, f"aliases expand to more than {MAX_ALIAS_NODES} nodes")
            continue
        if visit.depth > MAX_DEPTH:
            _fail(filename, visit, f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(visit.node, ScalarNode):
            sizes[key] = 1
            continue
        open_nodes.add(key)
        visit.done = True
        stack.append(visit)
        if isinstance(visit.node, MappingNode):
            duplicates += _duplicates(visit, loader, filename)
        stack += reversed(_children(visit))
    return duplicates


def _nodes(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    return [n for pair in node.value for n in pair] if isinstance(node, MappingNode) else []


def _children(visit: _Visit) -> list[_Visit]:
    node, path, depth = visit.node, visit.path, visit.depth + 1
    if isinstance(node, SequenceNode):
        return [
            _Visit(item, (*path, i), depth, item.start_mark.line + 1, visit.line)
            for i, item in enumerate(node.value)
        ]
    if not isinstance(node, MappingNode):
        return []
    out = []
    for k, v in node.value:
        here, line = (
            (*path, str(k.value) if isinstance(k, ScalarNode) else "?"),
            k.start_mark.line + 1,
        )
        out += [_Visit(k, here, depth, line, line), _Visit(v, here, depth, line, line)]
    return out


def _duplicates(visit: _Visit, loader: _Loader, filename: str) -> list[Issue]:
    """Keys equal once constructed (`1` and `0x1` too); merge keys (`<<`) may be overridden."""
    first: dict[object, Node] = {}
    found = []
    for k, _ in visit.node.value:
        if not isinstance(k, ScalarNode) or k.tag == _MERGE:
            continue
        # a key that cannot be built raises here, as it would while building the data
        earlier = first.setdefault(loader.construct_object(k, deep=True), k)
        if earlier is not k:
            where = ".".join(str(p) for p in (*visit.path, k.value))
            message = f"duplicate key (first at line {earlier.start_mark.line + 1})"
            found.append(Issue(filename, k.start_mark.line + 1, where, message))
    return found


def _fail(filename: str, visit: _Visit, message: str) -> None:
    field_ = ".".join(str(p) for p in visit.path)
    raise InvalidInput([Issue(filename, visit.line, field_, message)])
