"""The Kubernetes test bed, started once per session for the tests that ask for it.

It needs the binaries `make k8s` builds (once per machine; `make test` runs it first).
Without them a test using the bed is skipped, saying so, when pytest is run by hand; in
CI (`CI` set) that is a failure, so a broken build never passes as skipped tests."""

from __future__ import annotations

import os

import pytest

from tests.k8s.testbed import TestBed, missing_binaries


@pytest.fixture(scope="session")
def k8s_bed(tmp_path_factory) -> TestBed:
    missing = missing_binaries()
    if missing:
        why = f"Kubernetes test bed not built (no {', '.join(missing)} in .bin/k8s): run `make k8s`"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    # Chaos Mesh too when its controller is built (`make k8s` builds it)
    bed = TestBed(tmp_path_factory.mktemp("k8s"), chaos_mesh=not missing_binaries(chaos_mesh=True))
    bed.start()
    yield bed
    bed.stop()
