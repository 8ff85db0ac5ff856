"""connect(): which kubeconfig and context, the timeout on every call, and a kubeconfig
that cannot be used as one line naming the file and field, never quoting the token."""

from __future__ import annotations

from pathlib import Path

import pytest
from lightkube.resources.core_v1 import Pod

from harness.errors import InvalidInput, StackError
from harness.runtime.kubernetes.connect import connect
from harness.specs.kubernetes import KubernetesSpec
from tests.fakekube import TOKEN, FakeKube, write_kubeconfig


def spec(**fields) -> KubernetesSpec:
    return KubernetesSpec(namespaces=("shop",), **fields)


def test_the_kubeconfig_is_read_relative_to_the_stack_file_and_every_call_is_bounded(tmp_path):
    (tmp_path / "kube").mkdir()
    write_kubeconfig(tmp_path / "kube" / "config", context="mine")
    kube = FakeKube()
    kube.add_pod("shop", "web-1")
    client = connect(
        spec(kubeconfig=Path("kube/config"), context="mine", request_timeout=3.5),
        tmp_path,
        transport=kube.transport,
    )
    assert client.get(Pod, "web-1", namespace="shop").metadata.name == "web-1"
    (sent,) = kube.requests
    assert sent.url.host == "kube.test"
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.extensions["timeout"] == {"connect": 3.5, "read": 3.5, "write": 3.5, "pool": 3.5}


def test_without_a_kubeconfig_KUBECONFIG_is_used(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "env-config")))
    kube = FakeKube()
    client = connect(spec(), tmp_path / "elsewhere", transport=kube.transport)
    assert client.config.fname == tmp_path / "env-config"


def test_no_configuration_anywhere_says_what_to_set(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    with pytest.raises(StackError, match=r"absent, which is not a file: set kubernetes.kubeconfig"):
        connect(spec(), tmp_path)


def test_a_missing_kubeconfig_names_the_file(tmp_path):
    with pytest.raises(InvalidInput) as err:
        connect(spec(kubeconfig=Path("nope.yaml")), tmp_path)
    assert (
        str(err.value)
        == f"{tmp_path / 'nope.yaml'}: no such kubeconfig file (kubernetes.kubeconfig)"
    )


def test_an_unknown_context_names_the_field(tmp_path):
    write_kubeconfig(tmp_path / "config")
    with pytest.raises(InvalidInput, match=r"config: contexts: Context 'other' not found"):
        connect(spec(kubeconfig=Path("config"), context="other"), tmp_path)


def test_broken_yaml_gives_the_line_and_never_quotes_the_file(tmp_path):
    path = tmp_path / "config"
    path.write_text(f"clusters: []\nusers:\n- name: u\n  user: {{token: {TOKEN}\n")
    with pytest.raises(InvalidInput) as err:
        connect(spec(kubeconfig=Path("config")), tmp_path)
    message = str(err.value)
    assert message.startswith(f"{path}:") and "not YAML" in message
    assert TOKEN not in message and "\n" not in message


@pytest.mark.parametrize(
    "content, field",
    [("- a list\n", ""), ("clusters: []\n", "contexts"), (f"token: {TOKEN}\n", "clusters")],
)
def test_a_file_that_is_no_kubeconfig_names_what_is_missing(tmp_path, content, field):
    (tmp_path / "config").write_text(content)
    with pytest.raises(InvalidInput) as err:
        connect(spec(kubeconfig=Path("config")), tmp_path)
    (issue,) = err.value.issues
    assert issue.field == field and TOKEN not in str(err.value)


def test_a_wrongly_typed_entry_names_its_path_not_its_value(tmp_path):
    write_kubeconfig(tmp_path / "config", token=12345)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as err:
        connect(spec(kubeconfig=Path("config")), tmp_path)
    assert "$.token" in str(err.value) and "12345" not in str(err.value)


def test_a_certificate_file_that_is_not_there_names_its_entry(tmp_path):
    path = write_kubeconfig(tmp_path / "config")
    path.write_text(
        path.read_text().replace("server:", "certificate-authority: ca.crt\n    server:")
    )
    with pytest.raises(InvalidInput) as err:
        connect(spec(kubeconfig=Path("config")), tmp_path)
    assert (
        str(err.value) == f"{path}: clusters.c.certificate-authority: no file {tmp_path / 'ca.crt'}"
    )
