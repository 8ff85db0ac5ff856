"""Files that are wrong: every bad input ends as InvalidInput with file (and line), never a traceback."""

import time

import pytest
from pydantic import BaseModel, ConfigDict

from harness.errors import InvalidInput
from harness.specs.experiment import Experiment
from harness.specs.yamlload import MAX_ISSUES, load_model, parse_model
from harness.specs.yamlsafe import MAX_ALIAS_NODES, MAX_DEPTH
from tests.unit.test_spec_and_plan import EXAMPLE


class Small(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    body: object = None


def _issues(text: str, model: type[BaseModel] = Small) -> list[str]:
    with pytest.raises(InvalidInput) as exc:
        parse_model(text, "f.yaml", model)
    return [str(i) for i in exc.value.issues]


def test_a_second_faults_block_is_a_duplicate_naming_both_lines():
    text = EXAMPLE.read_text() + "faults:\n  - {type: kill, target: slow-orders, duration: 30s}\n"
    assert _issues(text, Experiment) == ["f.yaml:68: faults: duplicate key (first at line 14)"]


def test_duplicates_are_found_at_any_depth_and_all_reported():
    text = "name: a\nbody:\n  x: 1\n  y: [{k: 1, k: 2}]\n  x: 3\nname: b\n"
    assert _issues(text) == [
        "f.yaml:4: body.y.0.k: duplicate key (first at line 4)",
        "f.yaml:5: body.x: duplicate key (first at line 3)",
        "f.yaml:6: name: duplicate key (first at line 1)",
    ]


def test_keys_equal_once_built_are_duplicates_but_merge_overrides_are_not():
    assert _issues("name: a\nbody: {1: a, 0x1: b}\n") == [
        "f.yaml:2: body.0x1: duplicate key (first at line 2)"
    ]
    merged = parse_model("base: &b {k: 1, j: 2}\n", "f.yaml", _Any)
    assert merged.base == {"k": 1, "j": 2}
    over = parse_model("base: &b {k: 1}\nmine: {<<: *b, k: 2}\n", "f.yaml", _Any)
    assert over.mine == {"k": 2}


class _Any(BaseModel):
    model_config = ConfigDict(extra="allow")


def _laughs(levels: int) -> str:
    lines = ["name: lol", "body:", "  a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        lines.append(f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_at_the_line_of_the_alias():
    started = time.monotonic()
    issues = _issues(_laughs(9))
    assert issues == [f"f.yaml:6: body.a3.7: aliases expand to more than {MAX_ALIAS_NODES} nodes"]
    assert time.monotonic() - started < 5


def test_a_few_aliases_are_fine():
    assert parse_model(_laughs(3), "f.yaml", Small).name == "lol"


def test_billion_laughs_in_route_choices_is_refused():
    bomb = ", ".join(
        ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
        + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    )
    text = EXAMPLE.read_text().replace(
        "choices: {product_id: [1, 2, 3, 4, 5]}", f"choices: {{{bomb}}}"
    )
    issues = _issues(text, Experiment)
    assert len(issues) == 1 and "aliases expand to more than" in issues[0]
    assert issues[0].startswith("f.yaml:26: load.routes.1.choices.a3.7: ")


def test_an_alias_inside_itself_is_refused():
    assert _issues("name: a\nbody: &b [1, *b]\n") == [
        "f.yaml:2: body.1: an alias refers to a node that contains it"
    ]


@pytest.mark.parametrize(
    ("text", "issue"),
    [
        ("name: " + "[" * 20_000 + "]" * 20_000, "f.yaml:1: invalid YAML:"),
        ("name: a\nbody: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5), "nested more than"),
        ("", "f.yaml:1: the file is empty: expected a mapping"),
        ("# only a comment\n", "f.yaml:1: the file is empty"),
        ("- a\n- b\n", "f.yaml:1: expected a mapping at the top level, not list"),
        ("just text\n", "f.yaml:1: expected a mapping at the top level, not str"),
        ("---\n", "f.yaml:1: expected a mapping at the top level, not nothing"),
        ("name: a\n---\nname: b\n", "f.yaml:2: invalid YAML:"),
        ("name: a\nbody: \x00\x01\x02\n", "f.yaml:2: not a YAML text file (U+0000)"),
        ("name: \ud800\n", "f.yaml:1: not a YAML text file (U+D800)"),
        ("name: a\nbody: 1" + "0" * 5000 + "\n", "f.yaml:2: invalid YAML: cannot read '1000"),
        ("name: a\nbody: !!int x\n", "f.yaml:2: invalid YAML: cannot read 'x' as !!int"),
        ("name: a\nbody: 2023-02-30\n", "as !!timestamp (day is out of range for month)"),
        ("name: a\n!!bool x: 1\n", "f.yaml:2: invalid YAML: cannot read 'x' as !!bool"),
        ("name: !!python/object:os.system x\n", "f.yaml:1: invalid YAML:"),
        ("name: [a\n", "f.yaml:2: invalid YAML:"),
    ],
)
def test_hostile_text_is_one_issue_not_a_traceback(text, issue):
    issues = _issues(text)
    assert len(issues) == 1 and issue in issues[0], issues


def test_invalid_utf8_names_the_line_of_the_bad_byte(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"name: a\nbody: caf\xe9\n")
    with pytest.raises(InvalidInput) as exc:
        load_model(path, Small)
    assert [str(i) for i in exc.value.issues] == [
        f"{path}:2: not UTF-8 text (byte 0xe9 at offset 17)"
    ]


def test_binary_file_and_directory_are_invalid_input(tmp_path):
    binary = tmp_path / "app.bin"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InvalidInput, match=r"app\.bin:2: not UTF-8"):
        load_model(binary, Small)
    with pytest.raises(InvalidInput, match="cannot read file"):
        load_model(tmp_path, Small)


def test_a_byte_order_mark_is_fine(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfname: a\n")
    assert load_model(path, Small).name == "a"


def test_20000_unknown_keys_are_located_in_linear_time_and_capped():
    text = "name: a\n" + "".join(f"k{i}: {i}\n" for i in range(20_000))
    started = time.monotonic()
    issues = _issues(text)
    assert time.monotonic() - started < 10  # quadratic location took minutes
    assert len(issues) == MAX_ISSUES + 1
    assert issues[0] == "f.yaml:2: k0: Extra inputs are not permitted"
    assert (
        issues[MAX_ISSUES - 1]
        == f"f.yaml:{MAX_ISSUES + 1}: k{MAX_ISSUES - 1}: Extra inputs are not permitted"
    )
    assert issues[-1] == f"f.yaml: and {20_000 - MAX_ISSUES} more"
