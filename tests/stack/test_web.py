"""The stack's nginx: HTTPS on loopback with a certificate for its server name, a health URL answered by nginx
itself (the console need not run), files that nginx -t accepts, a broken value refused with nginx's own
message, and a changed setting taking effect through reload().

Against the session stack's real nginx; the requests are made by hand (ssl + http.client) so the test sees the
certificate nginx really serves.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailadmin.configfiles import atomic_write, is_hand_edited
from mailadmin.configfiles.nginx import HEALTH_PATH
from mailadmin.stack import Stack, StackError
from mailadmin.stack.web import Nginx

BODY_2K = b"x" * 2048


@pytest.fixture
def nginx(stack: Stack) -> Nginx:
    svc = stack.service("nginx")
    assert isinstance(svc, Nginx)
    return svc


@pytest.fixture
def restored(nginx: Nginx) -> Iterator[Nginx]:
    """Whatever a test writes into nginx.conf, the stored values' file is back (and loaded) afterwards."""
    yield nginx
    for name, text in nginx.render(nginx.stored()).items():
        atomic_write(nginx.config_path(name), text)
    nginx.reload()


def served_certificate(port: int, server_name: str) -> str:
    """The certificate nginx presents for `server_name`, as openssl prints its subject and names."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der
    pem = ssl.DER_cert_to_PEM_cert(der)
    return subprocess.run(
        ["openssl", "x509", "-noout", "-subject", "-ext", "subjectAltName", "-nameopt", "RFC2253"],
        input=pem,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout


def test_health_url_answers_over_https_with_the_server_names_certificate(stack: Stack, nginx: Nginx) -> None:
    name, port = nginx.server_name(), nginx.port()
    assert stack.env()["HTTPS_URL"] == f"https://{name}:{port}/"
    answer = nginx.request("GET", HEALTH_PATH, verify=True)  # checked against the certificate file
    assert (answer.status, answer.body) == (200, b"ok\n")
    printed = served_certificate(port, name)
    assert f"subject=CN={name}" in printed
    assert f"DNS:{name}" in printed
    assert name in nginx.smoke()
    # the check is real: the same certificate is not valid for another name
    ctx = ssl.create_default_context(cafile=str(nginx.certificate_for(name)[0]))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        ctx.wrap_socket(raw, server_hostname="other.invalid")


def test_key_is_root_only_and_the_file_is_ours(nginx: Nginx) -> None:
    crt, key = nginx.certificate_for(nginx.server_name())
    assert key.stat().st_mode & 0o777 == 0o600 and key.stat().st_uid == 0
    assert crt.parent.stat().st_mode & 0o777 == 0o700
    text = nginx.config_path("nginx.conf").read_text()
    assert not is_hand_edited(text)
    assert f"listen 127.0.0.1:{nginx.port()} ssl;" in text
    # what the menu would render from the stored values is exactly what runs
    assert nginx.render(nginx.stored())["nginx.conf"] == text


def test_nginx_accepts_the_rendered_file(nginx: Nginx) -> None:
    result = subprocess.run(
        ["/usr/sbin/nginx", "-t", "-e", "stderr", "-c", str(nginx.config_path("nginx.conf"))],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


def test_a_broken_value_is_refused_with_nginx_s_message(nginx: Nginx, tmp_path: Path) -> None:
    # the registry would refuse "abc"; the renderer only keeps the file's structure intact, nginx -t judges
    for name, text in nginx.render({"client_max_body_size": "abc"}).items():
        atomic_write(tmp_path / name, text)
    with pytest.raises(StackError) as refused:
        nginx.validate_dir(tmp_path)
    assert '"client_max_body_size" directive invalid value' in str(refused.value)
    assert str(tmp_path / "nginx.conf") in str(refused.value)
    # a sound staging copy passes
    for name, text in nginx.render(nginx.stored()).items():
        atomic_write(tmp_path / name, text)
    nginx.validate_dir(tmp_path)


def test_a_changed_setting_is_seen_after_reload(restored: Nginx) -> None:
    nginx = restored
    # no file /static/x: 404 while 2 kB are within the limit
    assert nginx.request("POST", "/static/x", BODY_2K).status == 404
    settings = {**nginx.stored(), "client_max_body_size": "1k"}
    atomic_write(nginx.config_path("nginx.conf"), nginx.render(settings)["nginx.conf"])
    nginx.reload()
    assert nginx.request("POST", "/static/x", BODY_2K).status == 413
    assert nginx.request("POST", "/static/x", b"x" * 512).status == 404
    assert nginx.values_of(None)["client_max_body_size"] == "1k"


def test_gunicorn_workers_go_to_their_own_file(nginx: Nginx) -> None:
    files = nginx.render({"gunicorn_workers": "5"})
    assert "GUNICORN_WORKERS=5\n" in files["gunicorn.env"]
    assert "gunicorn" not in files["nginx.conf"]
    assert nginx.config_path("gunicorn.env") == nginx.layout.gunicorn_env
