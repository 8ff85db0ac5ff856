"""The test bed's credentials: a CA and certificates made by `openssl`, service-account keys,
a static token file and kubeconfigs. The 1.34 API server has no insecure port, so every
client speaks TLS to it and authenticates with a bearer token (recipe, pitfall 2)."""

from __future__ import annotations

import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

# the names clients reach the API server by (recipe: SANs of the serving certificate)
SERVER_SANS = "IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc"
_EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


@dataclass(frozen=True)
class Credentials:
    """Files the components read, and the two users' tokens."""

    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    sa_key: Path
    sa_pub: Path
    token_file: Path
    admin_token: str
    limited_token: str

    # the user behind `limited_token`: authenticated, bound to no role
    LIMITED_USER = "chaos-nobody"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def make_credentials(directory: Path) -> Credentials:
    """Write a CA, a serving certificate signed by it, service-account keys and tokens."""
    directory.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req", "-x509", *_EC, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
        "-subj", "/CN=chaos-harness-testbed-ca",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )  # fmt: skip
    (directory / "server.ext").write_text(
        f"subjectAltName={SERVER_SANS}\nbasicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
    )
    _openssl("req", "-new", *_EC, "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=kube-apiserver", cwd=directory)  # fmt: skip
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "server.ext", "-out", "server.crt",
        cwd=directory,
    )  # fmt: skip
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-out", "sa.key", cwd=directory)  # fmt: skip
    _openssl("pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=directory)
    admin, limited = secrets.token_hex(16), secrets.token_hex(16)
    token_file = directory / "tokens.csv"
    token_file.write_text(
        f'{admin},chaos-admin,uid-admin,"system:masters"\n'
        f"{limited},{Credentials.LIMITED_USER},uid-nobody\n"
    )
    for path in directory.iterdir():
        path.chmod(0o600)
    return Credentials(
        ca_cert=directory / "ca.crt",
        ca_key=directory / "ca.key",
        server_cert=directory / "server.crt",
        server_key=directory / "server.key",
        sa_key=directory / "sa.key",
        sa_pub=directory / "sa.pub",
        token_file=token_file,
        admin_token=admin,
        limited_token=limited,
    )


def write_kubeconfig(path: Path, server: str, ca_cert: Path, user: str, token: str) -> Path:
    """One context, `testbed`, as `user` with a bearer token; mode 0600 (it holds a secret)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "testbed",
                "cluster": {"server": server, "certificate-authority": str(ca_cert)},
            }
        ],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [
            {
                "name": "testbed",
                "context": {"cluster": "testbed", "user": user, "namespace": "default"},
            }
        ],
        "current-context": "testbed",
    }
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
