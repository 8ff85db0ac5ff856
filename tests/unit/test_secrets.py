"""Secrets: `${NAME}` and `${file:PATH}` resolved late, registered, and redacted wherever the
harness writes or prints; the syntax checked at validation, the values refused in preflight."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import pytest

from harness import secrets
from harness.cli.app import err, out
from harness.cli.display import PlainDisplay
from harness.safety.journal import Journal, read_events, render_json
from harness.schedule import history
from harness.schedule.history import Entry
from harness.secrets import (
    SecretError,
    authorization,
    expand,
    redact,
    redact_data,
    reference_problems,
    register,
    strip_credentials,
    url_credentials,
)

SECRET = "s3cr&t<\"pa'ss>"


@pytest.fixture(autouse=True)
def _forget() -> None:
    yield
    secrets.forget_all()


# -- syntax (what validation checks) -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Bearer ${TOKEN}", None),
        ("${file:secrets/token.txt}", None),
        ("${A}:${B_2}", None),
        ("no reference, {braces} and $dollars", None),
        ("${}", "give ${NAME}"),
        ("${1BAD}", "${1BAD}: give ${NAME}"),
        ("${A-B}", "${A-B}: give ${NAME}"),
        ("${file:}", "${file:PATH} needs a path"),
        ("Bearer ${TOKEN", "an unclosed or nested ${"),
        ("${A${B}}", "an unclosed or nested ${"),
    ],
)
def test_the_syntax_is_checked_without_resolving(text, problem):
    found = reference_problems(text)
    assert (found == []) if problem is None else (problem in found[0])


# -- resolving -----------------------------------------------------------------------


def test_an_environment_variable_and_a_file_relative_to_the_experiment(tmp_path, monkeypatch):
    monkeypatch.setenv("API_TOKEN", "tok-123")
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "pw.txt").write_text("  hunter2\n")
    assert expand("Bearer ${API_TOKEN}", tmp_path) == "Bearer tok-123"
    assert expand("${file:keys/pw.txt}", tmp_path) == "hunter2"
    assert redact("tok-123 and hunter2") == "*** and ***"


def test_braces_in_a_value_survive_a_later_fill(tmp_path, monkeypatch):
    monkeypatch.setenv("T", "a{b}c")
    assert expand("x-${T}-{n}", tmp_path, braces=True).format(n=1) == "x-a{b}c-1"


@pytest.mark.parametrize(
    ("template", "said"),
    [
        ("${NOT_SET_ANYWHERE}", "${NOT_SET_ANYWHERE}: the environment variable NOT_SET_ANYWHERE"),
        ("${EMPTY_ONE}", "the environment variable EMPTY_ONE is not set (or empty)"),
        ("${file:missing.txt}", "${file:missing.txt}: cannot read"),
        ("${file:blank.txt}", "blank.txt is empty"),
    ],
)
def test_a_reference_that_does_not_resolve_is_named_never_valued(
    tmp_path, monkeypatch, template, said
):
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    monkeypatch.setenv("EMPTY_ONE", "")
    (tmp_path / "blank.txt").write_text("\n")
    with pytest.raises(SecretError) as exc:
        expand(template, tmp_path)
    assert said in str(exc.value)


# -- redaction -------------------------------------------------------------------------


def test_every_form_a_value_takes_in_our_outputs_is_redacted():
    register(SECRET)
    escaped = [
        SECRET,
        json.dumps(SECRET)[1:-1],
        html.escape(SECRET),
        html.escape(SECRET, quote=False),
        "s3cr&amp;t&lt;&#34;pa&#39;ss&gt;",  # Jinja's autoescape
        "s3cr%26t%3C%22pa%27ss%3E",  # in a URL
    ]
    for form in escaped:
        assert redact(f"before {form} after") == "before *** after", form


def test_basic_auth_redacts_the_password_and_its_base64():
    header = authorization("alice", "open-sesame")
    token = base64.b64encode(b"alice:open-sesame").decode()
    assert header == f"Basic {token}"
    assert redact(f"{header} / open-sesame") == "Basic *** / ***"
    assert "alice" in redact("alice")  # a user name written out is no secret


def test_a_password_in_any_url_is_redacted_even_unregistered():
    text = "GET http://bob:pw%40x@127.0.0.1:80/a failed; see https://host/x@y and mailto:a@b"
    assert redact(text) == (
        "GET http://bob:***@127.0.0.1:80/a failed; see https://host/x@y and mailto:a@b"
    )


def test_redact_data_walks_every_string_and_leaves_numbers():
    register("hush")
    data = {"a": ["hush", 1, 2.5, None, True, {"hush": ("x hush",)}], "b": Path("/hush")}
    assert redact_data(data) == {
        "a": ["***", 1, 2.5, None, True, {"***": ["x ***"]}],
        "b": "/***",
    }


# -- URLs --------------------------------------------------------------------------------


def test_url_credentials_are_taken_out_and_cannot_move_the_host(tmp_path, monkeypatch):
    monkeypatch.setenv("PW", "p@evil.example:80/x#")
    url, auth = url_credentials("http://svc:${PW}@127.0.0.1:8080/api", tmp_path)
    assert url == "http://127.0.0.1:8080/api"
    assert auth == authorization("svc", "p@evil.example:80/x#")
    assert url_credentials("http://127.0.0.1:1", tmp_path) == ("http://127.0.0.1:1", None)
    assert strip_credentials("http://u:${file:a/b@c}@[::1]:9/x") == "http://[::1]:9/x"


# -- the journal, the terminal, the display ----------------------------------------------


def test_the_journal_redacts_at_its_write_boundary(tmp_path):
    register("tok-abc")
    journal = Journal.create(tmp_path / "journal.jsonl", "harness", source="exp.yaml")
    journal.record("check", detail="GET http://u:tok-abc@127.0.0.1/x", nested={"k": ["tok-abc"]})
    raw = (tmp_path / "journal.jsonl").read_text() + render_json(journal.path).read_text()
    assert "tok-abc" not in raw
    (_, check) = read_events(journal.path)
    assert check["detail"] == "GET http://u:***@127.0.0.1/x" and check["nested"] == {"k": ["***"]}


def test_whatever_the_cli_prints_is_redacted(capsys):
    register("tok-xyz")
    out.print("the token is tok-xyz", markup=False)
    err.print("error: http://a:tok-xyz@127.0.0.1 refused", markup=False)
    PlainDisplay(out, "exp").phase("load", "with tok-xyz")
    seen = capsys.readouterr()
    assert "tok-xyz" not in seen.out + seen.err
    assert "the token is ***" in seen.out and "http://a:***@127.0.0.1" in seen.err


def test_the_schedules_history_redacts_what_a_reason_quotes(tmp_path):
    register("tok-sched")
    entry = Entry("2026-01-01T00:00", 1.0, "nightly", "ran", reason="exp: error: tok-sched")
    history.append(tmp_path, entry)
    assert "tok-sched" not in (tmp_path / history.HISTORY_FILE).read_text()
    assert history.read_entries(tmp_path)[0].reason == "exp: error: ***"
