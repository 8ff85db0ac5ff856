"""The Kubernetes test bed, started once per session for the tests that ask for it.

It needs binaries that `make test` does not build yet (`make k8s` does, once per machine):
without them every test using the bed is skipped, saying so."""

from __future__ import annotations

import pytest

from tests.k8s.testbed import TestBed, missing_binaries


@pytest.fixture(scope="session")
def k8s_bed(tmp_path_factory) -> TestBed:
    missing = missing_binaries()
    if missing:
        pytest.skip(
            f"Kubernetes test bed not built (no {', '.join(missing)} in .bin/k8s): run `make k8s`"
        )
    # Chaos Mesh too when its controller is built (`make k8s` builds it)
    bed = TestBed(tmp_path_factory.mktemp("k8s"), chaos_mesh=not missing_binaries(chaos_mesh=True))
    bed.start()
    yield bed
    bed.stop()
