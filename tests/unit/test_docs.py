"""The docs cannot drift: generated parts match the code, links land, examples are the files.

The field tables and the command reference in docs/ are written by scripts/gen_docs.py;
a change to a model or an option without rerunning it fails here (and in `make lint`).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Literal

import pytest
import typer
from pydantic import BaseModel, ConfigDict, Field
from typer.core import TyperGroup

from harness.specs import experiment, topology
from harness.specs.durations import Duration
from scripts import gen_docs

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted([ROOT / "README.md", *DOCS.glob("*.md")])


def test_the_committed_docs_are_what_the_generator_writes():
    stale = [
        str(p.relative_to(ROOT))
        for p, text in gen_docs.pages(DOCS).items()
        if p.read_text() != text
    ]
    assert stale == [], f"stale: run `{gen_docs.COMMAND}`"


def test_check_says_1_for_a_stale_page_and_writing_makes_it_current(tmp_path, capsys):
    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs)
    page = docs / "topology.md"
    page.write_text(page.read_text().replace("| `live_path` |", "| `lively_path` |"))
    assert gen_docs.main(["--check", "--docs", str(docs)]) == 1
    assert "topology.md is not what" in capsys.readouterr().err
    assert gen_docs.main(["--docs", str(docs)]) == 0
    assert gen_docs.main(["--check", "--docs", str(docs)]) == 0
    assert (docs / "topology.md").read_text() == (DOCS / "topology.md").read_text()


def test_a_page_without_its_markers_is_an_error_not_a_silent_pass(tmp_path, capsys):
    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs)
    (docs / "cli.md").write_text("# The command line\n")
    assert gen_docs.main(["--check", "--docs", str(docs)]) == 3
    assert "BEGIN GENERATED cli-reference" in capsys.readouterr().err


def test_render_replaces_only_between_the_markers():
    page = "intro\n<!-- BEGIN GENERATED x -->\nold\n<!-- END GENERATED x -->\nafter\n"
    out = gen_docs.render(page, "x", "new table")
    assert out.startswith("intro\n<!-- BEGIN GENERATED x -->\n")
    assert "new table" in out and "old" not in out
    assert out.endswith("<!-- END GENERATED x -->\nafter\n")
    assert gen_docs.render(out, "x", "new table") == out


def _properties(node: object):
    if isinstance(node, dict):
        yield from (node.get("properties") or {})
        for child in node.values():
            yield from _properties(child)
    elif isinstance(node, list):
        for child in node:
            yield from _properties(child)


@pytest.mark.parametrize(
    ("page", "schema"),
    [("topology.md", topology.json_schema()), ("experiments.md", experiment.json_schema())],
)
def test_every_field_of_the_schema_has_a_row(page, schema):
    text = (DOCS / page).read_text()
    missing = [name for name in set(_properties(schema)) if f"| `{name}` |" not in text]
    assert missing == []


class _Inner(BaseModel):
    """An inner model."""

    model_config = ConfigDict(extra="forbid")
    port: int = Field(80, ge=1, le=65535, description="where | it listens")


class _Outer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["a", "b"] = Field(description="which")
    inner: _Inner = Field(_Inner(), description="nested")
    many: dict[str, tuple[_Inner, ...]] = Field({}, description="by name")
    path: str | None = Field(None, pattern="^/", description="optional")
    wait: Duration = Field(1.0, description="how long")


def test_field_tables_name_types_defaults_and_where_each_model_is_used():
    text = gen_docs.field_tables(_Outer.model_json_schema(), "Outer")
    assert "### Outer\n\nThe file itself." in text
    assert '| `kind` | one of `"a"`, `"b"` | required | which |' in text
    assert "| `inner` | [_Inner](#_inner) | its defaults | nested |" in text
    assert "| `many` | map of name to list of [_Inner](#_inner) | `{}` | by name |" in text
    assert "| `path` | string (matching `^/`) | `null` | optional |" in text
    assert "| `wait` | duration | `1.0` | how long |" in text
    assert "### _Inner\n\nAt `inner`.\n\nAn inner model." in text
    assert "| `port` | integer (1 to 65535) | `80` | where \\| it listens |" in text


def test_the_cli_reference_has_every_visible_command_and_option():
    command = typer.main.get_command(_tiny_app())
    text = gen_docs.cli_reference(command)
    assert "### harness greet\n\n```\nharness greet [OPTIONS] {names}...\n```\n\nSay hello." in text
    assert "| `{names}...` | `<list[str]>` | required | Who to greet. |" in text
    assert "| `--times`, `-t` | `<int>` | `1` | How often. |" in text
    assert "| `--loud` | flag |  | Shout it. |" in text
    assert "--secret" not in text and "### harness hidden" not in text


def _tiny_app() -> typer.Typer:
    tiny = typer.Typer(add_completion=False)

    @tiny.command()
    def greet(
        names: list[str] = typer.Argument(..., help="Who to greet."),
        times: int = typer.Option(1, "--times", "-t", help="How often."),
        loud: bool = typer.Option(False, "--loud", help="Shout it."),
        secret: str = typer.Option("", "--secret", hidden=True),
    ) -> None:
        """Say hello."""

    @tiny.command(hidden=True)
    def hidden() -> None:
        """Not shown."""

    return tiny


def test_the_real_cli_reference_lists_every_command():
    text = (DOCS / "cli.md").read_text()
    command = typer.main.get_command(gen_docs.app)
    assert isinstance(command, TyperGroup)
    names = command.list_commands(typer.Context(command, info_name="harness"))
    assert len(names) > 10
    assert [name for name in names if f"### harness {name}\n" not in text] == []


def _every_command(command, ctx):
    yield command, ctx
    if isinstance(command, TyperGroup):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            yield from _every_command(sub, typer.Context(sub, info_name=name, parent=ctx))


def test_every_command_and_every_visible_argument_and_option_has_help():
    root = typer.main.get_command(gen_docs.app)
    silent = []
    for command, ctx in _every_command(root, typer.Context(root, info_name="harness")):
        if not (command.help or "").strip():
            silent.append(ctx.command_path)
        silent += [
            f"{ctx.command_path} {p.name}"
            for p in command.params
            if not p.hidden and not (p.help or "").strip()
        ]
    assert silent == []


# -- links and examples -------------------------------------------------------------


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to dashes."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    found, fenced = set(), False
    for line in page.read_text().splitlines():
        fenced = fenced != line.startswith("```")
        if not fenced and line.startswith("#"):
            found.add(_slug(line.lstrip("#")))
    return found


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_relative_link_and_anchor_lands(page):
    broken = []
    prose = re.sub(r"`[^`\n]*`", "", page.read_text())  # a pattern in code is not a link
    for target in re.findall(r"\]\(([^)\s]+)\)", prose):
        if re.match(r"^[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists() or (anchor and dest.suffix == ".md" and anchor not in _anchors(dest)):
            broken.append(target)
    assert broken == []


def _blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, re.DOTALL)


def _without_leading_comments(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("# "))


def test_the_readme_shows_the_example_files_as_they_are():
    readme = _blocks((ROOT / "README.md").read_text(), "yaml")
    example = ROOT / "examples" / "httpbin"
    for path in (example / "stack.yaml", example / "experiments" / "kill-one-replica.yaml"):
        assert _without_leading_comments(path.read_text()) in readme


def test_the_readme_shows_the_two_commands_for_a_fresh_machine():
    first = _blocks((ROOT / "README.md").read_text(), "sh")[0]
    assert [line.split("#")[0].strip() for line in first.splitlines()] == ["make demo", "make test"]
