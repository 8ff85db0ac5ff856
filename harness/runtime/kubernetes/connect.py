"""The client the Kubernetes runtime talks to the API server through.

Which cluster: the topology's kubeconfig (relative to the stack file) and context;
without one, the in-cluster service account, else $KUBECONFIG, else ~/.kube/config,
as kubectl looks. Every call gives up after `request_timeout` (decision 1). A
kubeconfig that cannot be used is one line naming the file and the field; nothing of
the file's content is ever quoted (it holds the token).
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import httpx2
import lightkube
import msgspec
import yaml
from lightkube.config.kubeconfig import DEFAULT_KUBECONFIG, KubeConfig, SingleConfig
from lightkube.core.exceptions import ConfigError

from harness.errors import InvalidInput, Issue, StackError
from harness.specs.kubernetes import KubernetesSpec

__all__ = ["connect", "kubeconfig_path"]

FIELD_MANAGER = "chaos-harness"


def connect(
    spec: KubernetesSpec, base_dir: Path, transport: httpx2.BaseTransport | None = None
) -> lightkube.Client:
    """A client for the cluster `spec` names, every call bounded by its request timeout."""
    config = _config(spec, base_dir)
    where = str(config.fname) if config.fname else "the in-cluster service account"
    _check_files(config, where)
    try:
        return lightkube.Client(
            config,
            timeout=httpx2.Timeout(spec.request_timeout),
            field_manager=FIELD_MANAGER,
            transport=transport,
        )
    except (ConfigError, OSError, ssl.SSLError, AssertionError, ValueError) as e:
        # e.g. a certificate-authority file that is not there (AssertionError: no user)
        raise _invalid(where, "", _reason(e)) from None


def kubeconfig_path(spec: KubernetesSpec, base_dir: Path) -> Path | None:
    """The kubeconfig file the topology names, resolved against the stack file's folder."""
    if spec.kubeconfig is None:
        return None
    path = spec.kubeconfig.expanduser()
    return path if path.is_absolute() else base_dir / path


def _config(spec: KubernetesSpec, base_dir: Path) -> SingleConfig:
    path = kubeconfig_path(spec, base_dir)
    if path is None:
        kube = _from_environment()
        path = kube.fname
    else:
        kube = _from_file(path)
    try:
        single = kube.get(spec.context)
    except ConfigError as e:
        raise _invalid(str(path or "the in-cluster config"), "contexts", _reason(e)) from None
    except KeyError as e:
        raise _invalid(str(path), "clusters", f"the context names no cluster or user {e}") from None
    if single is None:  # only with a default, which we never give
        raise _invalid(str(path), "current-context", "no context chosen")
    return single


def _check_files(config: SingleConfig, where: str) -> None:
    """The files the chosen context names are there (else: which entry names which)."""
    user = config.user
    named = {
        f"clusters.{config.context.cluster}.certificate-authority": config.cluster.certificate_auth,
        f"users.{config.context.user}.client-certificate": user.client_cert if user else None,
        f"users.{config.context.user}.client-key": user.client_key if user else None,
        f"users.{config.context.user}.tokenFile": user.token_file if user else None,
    }
    for field, name in named.items():
        if name and not Path(config.abs_file(name)).is_file():
            raise _invalid(where, field, f"no file {config.abs_file(name)}")


def _from_environment() -> KubeConfig:
    try:
        return KubeConfig.from_service_account()
    except (ConfigError, KeyError):  # not in a cluster
        pass
    env = os.environ.get("KUBECONFIG")
    path = Path(env.split(os.pathsep)[0] if env else DEFAULT_KUBECONFIG).expanduser()
    if not path.is_file():
        raise StackError(
            "no Kubernetes configuration: not running in a cluster, and "
            + (f"KUBECONFIG names {path}, which is not a file" if env else f"no {path}")
            + ": set kubernetes.kubeconfig in the topology"
        )
    return _from_file(path)


def _from_file(path: Path) -> KubeConfig:
    if not path.is_file():
        raise _invalid(str(path), "", "no such kubeconfig file (kubernetes.kubeconfig)")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.MarkedYAMLError as e:  # its snippet would quote the file: never
        line = e.problem_mark.line + 1 if e.problem_mark else None
        raise InvalidInput([Issue(str(path), line, "", f"not YAML: {e.problem}")]) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise _invalid(str(path), "", f"cannot be read: {type(e).__name__}") from None
    if not isinstance(data, dict):
        raise _invalid(str(path), "", "not a kubeconfig (a mapping with clusters and contexts)")
    for field in ("clusters", "contexts"):
        if not isinstance(data.get(field), list):
            raise _invalid(
                str(path), field, "missing: a kubeconfig lists its clusters and contexts"
            )
    try:
        return KubeConfig.from_dict(data, fname=path)
    except (KeyError, TypeError, msgspec.ValidationError) as e:
        raise _invalid(str(path), "", f"not a valid kubeconfig: {_reason(e)}") from None


def _invalid(file: str, field: str, message: str) -> InvalidInput:
    return InvalidInput([Issue(file, None, field, message)])


def _reason(e: BaseException) -> str:
    """What went wrong, in words that never carry a value from the file (a token)."""
    if isinstance(e, msgspec.ValidationError):
        return str(e)  # "Expected `str`, got `int` - at `$.token`": a path, no value
    if isinstance(e, KeyError):
        return f"an entry has no {e}"
    if isinstance(e, OSError) and e.filename:
        return f"cannot read {e.filename}: {e.strerror}"
    if isinstance(e, AssertionError):
        return "the context names no user"
    if isinstance(e, ConfigError | OSError | ssl.SSLError):
        return str(e) or type(e).__name__
    return type(e).__name__
