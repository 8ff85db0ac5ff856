"""Files too big to be honest are refused fast and in bounded memory: by size before any
parsing, by their number of values before composing them, aliases before expanding them."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from harness.errors import InvalidInput
from harness.specs.experiment import load_experiment
from harness.specs.yamlload import parse_model
from harness.specs.yamlsafe import MAX_ALIAS_NODES, MAX_BYTES, MAX_NODES
from tests.unit.test_spec_and_plan import EXAMPLE
from tests.unit.test_yamlload import Small

FAST = 2.0  # seconds: generous for a loaded 2-core machine; these took 18-20 s before


def _refused(fn, *args) -> tuple[list[str], float]:
    started = time.monotonic()
    with pytest.raises(InvalidInput) as exc:
        fn(*args)
    return [str(i) for i in exc.value.issues], time.monotonic() - started


def test_an_11_mb_experiment_is_refused_by_its_size_before_it_is_parsed(tmp_path):
    path = tmp_path / "huge.yaml"
    padding = "  - {name: up, query: up, op: '>=', threshold: 1}\n" * 220_000
    path.write_text(EXAMPLE.read_text() + "guardrails:\n" + padding)
    size = path.stat().st_size
    assert size > 11 * 10**6
    issues, seconds = _refused(load_experiment, path)
    assert issues == [
        f"{path}: the file is {size:,} bytes, over the {MAX_BYTES:,}-byte limit (1 MiB) "
        "for harness files: refusing to read it"
    ]
    assert seconds < 1.0


def test_a_file_at_the_size_limit_is_still_read(tmp_path):
    path = tmp_path / "padded.yaml"
    text = EXAMPLE.read_text()
    path.write_text(text + "#" * (MAX_BYTES - len(text.encode()) - 1) + "\n")
    assert path.stat().st_size == MAX_BYTES
    assert load_experiment(path).name


def test_a_long_flow_list_is_refused_by_its_values_in_bounded_memory():
    text = "name: a\nbody: [" + "0," * (MAX_BYTES // 2 - 16) + "0]\n"
    assert len(text) <= MAX_BYTES
    tracemalloc.start()
    try:
        issues, seconds = _refused(parse_model, text, "f.yaml", Small)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert issues == [f"f.yaml:2: more than {MAX_NODES:,} values (keys and items): refusing it"]
    assert peak < 40 * 2**20  # composing it took ~300 MB
    assert seconds < FAST


def test_many_keys_are_refused_at_the_line_that_crosses_the_limit():
    text = "name: a\n" + "".join(f"k{i}: {i}\n" for i in range(MAX_NODES // 2 + 10))
    issues, seconds = _refused(parse_model, text, "f.yaml", Small)
    # the top mapping, name and its value are 3 values, each k line 2 more: line 25,000's
    # value is the 50,001st
    assert issues == [
        f"f.yaml:{MAX_NODES // 2}: more than {MAX_NODES:,} values (keys and items): refusing it"
    ]
    assert seconds < FAST


def test_an_alias_bomb_is_refused_fast():
    lines = ["name: lol", "body:", "  a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 12):  # 10**12 nodes once expanded
        lines.append(f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    issues, seconds = _refused(parse_model, "\n".join(lines) + "\n", "f.yaml", Small)
    (issue,) = issues
    assert f"aliases expand to more than {MAX_ALIAS_NODES} nodes" in issue
    assert seconds < FAST
