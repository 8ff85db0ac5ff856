"""A missing program is reported with the command that installs it."""

import pytest

from harness.errors import PreflightError
from harness.runtime.local import binaries


def test_missing_postgres_names_the_fix(monkeypatch, tmp_path):
    monkeypatch.setattr(binaries, "_postgres_bin_dir", lambda: None)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("TOXIPROXY_SERVER", "/bin/true")
    with pytest.raises(PreflightError) as exc:
        binaries.find_binaries(tmp_path)
    assert str(exc.value) == "postgres not found: run `make install` (it installs what is missing)"
