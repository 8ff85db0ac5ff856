"""Write the reference parts of docs/ from their sources, so they cannot drift from them.

- docs/topology.md, docs/experiments.md: a table of every field of every model, from
  the JSON Schema that `harness schema` prints (types, defaults and the descriptions
  written on the models);
- docs/cli.md: every command with its usage and options, from the commands' own help.

Each part sits between two markers in a hand-written page,
`<!-- BEGIN GENERATED name -->` and `<!-- END GENERATED name -->`; the prose around
it stays as written. The output depends only on the code (no terminal width, no clock),
so `--check` can say whether the committed pages are current (exit 1 if not), as
`harness slo generate --check` does for the rules.

    python scripts/gen_docs.py           # rewrite the generated parts
    python scripts/gen_docs.py --check   # exit 1 when a page is stale
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import typer
import typer.main
from pydantic import TypeAdapter
from typer.core import TyperArgument, TyperGroup

from harness.cli import app
from harness.specs import experiment, topology
from harness.specs.durations import Duration

ROOT = Path(__file__).resolve().parents[1]
COMMAND = "python scripts/gen_docs.py"
_DURATION = TypeAdapter(Duration).json_schema()["anyOf"]
_DURATION_NOTE = (
    "A *duration* is seconds (a number) or a string such as `500ms`, `30s`, `2m`, `1h` or "
    "`1m30s`, at most 24h."
)

Schema = dict[str, Any]


# -- field tables from a JSON Schema ---------------------------------------------------


def field_tables(schema: Schema, root: str) -> str:
    """One section per model: where it is used, what it is, and a row per field."""
    defs: dict[str, Schema] = schema.get("$defs", {})
    sections = [_section(root, schema, "(the file)", defs)]
    for name, where in _models_in_order(schema, defs):
        sections.append(_section(name, defs[name], where, defs))
    return _DURATION_NOTE + "\n\n" + "\n".join(sections)


def _models_in_order(schema: Schema, defs: dict[str, Schema]) -> list[tuple[str, str]]:
    """Every model reachable from the root, breadth first, with the first path that uses it."""
    found: dict[str, str] = {}
    queue: list[tuple[Schema, str]] = [(schema, "")]
    while queue:
        node, where = queue.pop(0)
        for field, prop in node.get("properties", {}).items():
            path = f"{where}.{field}" if where else field
            for ref, suffix in _refs(prop):
                if ref not in found:
                    found[ref] = path + suffix
                    queue.append((defs[ref], path + suffix))
    return list(found.items())


def _refs(prop: Schema, suffix: str = "") -> Iterator[tuple[str, str]]:
    """The models a property refers to, each with the path suffix that reaches it."""
    if "$ref" in prop:
        yield prop["$ref"].rsplit("/", 1)[-1], suffix
    for alt in (*prop.get("anyOf", ()), *prop.get("oneOf", ()), *prop.get("allOf", ())):
        yield from _refs(alt, suffix)
    if isinstance(prop.get("items"), dict):
        yield from _refs(prop["items"], suffix + "[]")
    if isinstance(prop.get("additionalProperties"), dict):
        yield from _refs(prop["additionalProperties"], suffix + ".<name>")


def _section(name: str, model: Schema, where: str, defs: dict[str, Schema]) -> str:
    required = set(model.get("required", ()))
    lines = [f"### {name}", "", f"At `{where}`." if where != "(the file)" else "The file itself."]
    if model.get("description"):
        lines += ["", _prose(" ".join(model["description"].split()))]
    lines += ["", "| field | type | default | description |", "| --- | --- | --- | --- |"]
    for field, prop in model.get("properties", {}).items():
        default = "required" if field in required else _default(prop)
        cells = [
            f"`{field}`",
            _type(prop, defs),
            default,
            " ".join(prop.get("description", "").split()),
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    for pattern, prop in model.get("patternProperties", {}).items():
        cells = [f"`{pattern}`", "any", "", prop.get("description", "")]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _type(prop: Schema, defs: dict[str, Schema]) -> str:
    """A property's type in words: models link to their section."""
    if prop.get("anyOf") == _DURATION:
        return "duration"
    if "$ref" in prop:
        ref = prop["$ref"].rsplit("/", 1)[-1]
        return f"[{ref}](#{ref.lower()})"
    if "const" in prop:
        return f"`{json.dumps(prop['const'])}`"
    if "enum" in prop:
        return "one of " + ", ".join(f"`{json.dumps(v)}`" for v in prop["enum"])
    alternatives = prop.get("anyOf") or prop.get("oneOf")
    if alternatives:
        shown = [_type(a, defs) for a in alternatives if a.get("type") != "null"]
        return " or ".join(dict.fromkeys(shown))
    kind = prop.get("type")
    if kind == "array":
        return "list of " + _type(prop.get("items", {}), defs)
    if kind == "object":
        values = prop.get("additionalProperties")
        return "map of name to " + (_type(values, defs) if isinstance(values, dict) else "any")
    return (kind or "any") + _constraints(prop)


def _constraints(prop: Schema) -> str:
    low, high = prop.get("minimum"), prop.get("maximum")
    said = [f"{low} to {high}"] if low is not None and high is not None else []
    if not said:
        said += [f"at least {low}"] if low is not None else []
        said += [f"at most {high}"] if high is not None else []
    if prop.get("exclusiveMinimum") is not None:
        said.append(f"above {prop['exclusiveMinimum']}")
    if prop.get("exclusiveMaximum") is not None:
        said.append(f"below {prop['exclusiveMaximum']}")
    if "pattern" in prop:
        said.append(f"matching `{prop['pattern']}`")
    if prop.get("format") == "path":
        said.append("a path")
    return f" ({', '.join(said)})" if said else ""


def _default(prop: Schema) -> str:
    if "default" not in prop:
        return ""
    value = prop["default"]
    if isinstance(value, dict) and value:
        return "its defaults"
    return f"`{json.dumps(value)}`"


def _cell(text: str) -> str:
    """Table cells may not hold a bare `|` (GitHub splits on it, even in code)."""
    return _prose(text).replace("|", "\\|")


def _prose(text: str) -> str:
    """Text as Markdown shows it: `<name>` outside code is not taken for an HTML tag."""
    parts = text.split("`")
    for i in range(0, len(parts), 2):  # the even parts lie outside code spans
        parts[i] = re.sub(r"<(?=[A-Za-z/!])", "&lt;", parts[i])
    return "`".join(parts)


# -- the command reference from the commands' help ---------------------------------


def cli_reference(root: Any) -> str:
    """Every visible command, depth first in `--help` order: usage, help, options."""
    return "\n".join(_command(cmd, ctx) for cmd, ctx in _commands(root, None, "harness"))


def _commands(
    cmd: Any, parent: typer.Context | None, name: str
) -> Iterator[tuple[Any, typer.Context]]:
    ctx = typer.Context(cmd, info_name=name, parent=parent)
    yield cmd, ctx
    if isinstance(cmd, TyperGroup):
        for sub_name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, sub_name)
            if sub is not None and not sub.hidden:
                yield from _commands(sub, ctx, sub_name)


def _command(cmd: Any, ctx: typer.Context) -> str:
    """A command as its `--help` shows it: usage, help text, then a row per parameter."""
    usage = " ".join([ctx.command_path, *cmd.collect_usage_pieces(ctx)])
    lines = [f"### {ctx.command_path}", "", "```", usage, "```"]
    if cmd.help:
        lines += ["", _prose(" ".join(cmd.help.split()))]
    params = [p for p in cmd.params if not p.hidden]
    if params:
        lines += ["", "| argument or option | value | default | description |"]
        lines.append("| --- | --- | --- | --- |")
        lines += [_param_row(p, ctx) for p in params]
    return "\n".join(lines) + "\n"


def _param_row(param: Any, ctx: typer.Context) -> str:
    if isinstance(param, TyperArgument):
        names = " ".join(f"`{u}`" for u in param.get_usage_pieces(ctx))
    else:
        names = ", ".join(f"`{o}`" for o in (*param.opts, *param.secondary_opts))
    flag = getattr(param, "is_flag", False)
    value = "flag" if flag else f"`{param.display_type(ctx)}`"
    helptext = " ".join((param.help or "").split())
    if getattr(param, "envvar", None):
        helptext += f" (env: `{param.envvar}`)"
    cells = [names, value, _default_of(param), helptext]
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _default_of(param: Any) -> str:
    if param.required:
        return "required"
    value = param.default
    if value is None or value is False or value == () or not param.show_default:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(f"`{v}`" for v in value)
    return f"`{value}`"


# -- the pages --------------------------------------------------------------------


def generated() -> dict[str, tuple[str, Callable[[], str]]]:
    """Marker name -> (page under docs/, what goes between its markers)."""
    command = typer.main.get_command(app)
    return {
        "topology-fields": (
            "topology.md",
            lambda: field_tables(topology.json_schema(), "Topology"),
        ),
        "experiment-fields": (
            "experiments.md",
            lambda: field_tables(experiment.json_schema(), "Experiment"),
        ),
        "cli-reference": ("cli.md", lambda: cli_reference(command)),
    }


def render(page: str, marker: str, body: str) -> str:
    """`page` with the text between `marker`'s two comments replaced by `body`."""
    begin, end = f"<!-- BEGIN GENERATED {marker} -->", f"<!-- END GENERATED {marker} -->"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if len(pattern.findall(page)) != 1:
        raise ValueError(f"expected one {begin} … {end} block")
    note = f"<!-- generated by `{COMMAND}` from the code: edit the code, then run it -->"
    return pattern.sub(lambda _: f"{begin}\n{note}\n\n{body.rstrip()}\n\n{end}", page)


def pages(docs: Path) -> dict[Path, str]:
    """Every page with a generated part, as the generator would write it."""
    texts: dict[Path, str] = {}
    for marker, (name, make) in generated().items():
        path = docs / name
        texts[path] = render(texts.get(path, path.read_text(encoding="utf-8")), marker, make())
    return texts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a page is stale")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs", help="the docs directory")
    args = parser.parse_args(argv)
    try:
        texts = pages(args.docs)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    stale = [p for p, text in texts.items() if p.read_text(encoding="utf-8") != text]
    if args.check:
        for path in stale:
            print(f"{path} is not what `{COMMAND}` writes: run it", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.write_text(texts[path], encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
