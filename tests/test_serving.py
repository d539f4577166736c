"""A wheelhouse served by real static servers on loopback, and installed from (docs/serving.md).

``python -m http.server`` as the docs show it, and nginx (Debian's) running the very
configuration block of docs/serving.md, which negotiates PEP 691 JSON.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from conda_envs import CondaEnvironments, conda_environments
from pip_hook_support import ENV_SPECS, condawheel, env_a_wheelhouse, site_packages
from syncing import CONDA_LINUX_64_PIP, cli_environment, pip_command

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["conda_environments", "env_a_wheelhouse"]  # fixtures, imported for pytest

pytestmark = [pytest.mark.slow, pytest.mark.corpus]

REPO_ROOT = Path(__file__).resolve().parent.parent
PEP_691_JSON = "application/vnd.pypi.simple.v1+json"
# What pip 24 sends for an index page.
PIP_ACCEPT = f"{PEP_691_JSON}, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
REQUESTS = "requests-2.32.3-1_pyhd8ed1ab_1-py3-none-conda.whl"


def get(url: str, accept: str) -> tuple[str, bytes, str]:
    """Return the content type, body and ``Vary`` header of a GET (urllib, no proxies)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, headers={"Accept": accept})  # noqa: S310 - loopback
    with opener.open(request, timeout=30) as response:
        return response.headers.get_content_type(), response.read(), response.headers["Vary"]


def wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    """Wait until something accepts connections on ``port`` (the server started)."""
    for _ in range(200):
        assert process.poll() is None, "the server exited"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"nothing listens on 127.0.0.1:{port}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def http_server(env_a_wheelhouse: Path) -> Iterator[str]:
    """``python -m http.server`` serving the wheelhouse, as docs/serving.md runs it."""
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1",
         "--directory", str(env_a_wheelhouse)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        # Its first line names the port it bound: "Serving HTTP on 127.0.0.1 port N ...".
        match = re.search(rb" port (\d+) ", process.stdout.readline())
        assert match, "http.server did not start"
        yield f"http://127.0.0.1:{int(match.group(1))}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        assert process.stdout is not None
        process.stdout.close()


def documented_nginx_block() -> str:
    """The ``nginx`` block of docs/serving.md, as a user copies it."""
    text = (REPO_ROOT / "docs" / "serving.md").read_text()
    [block] = re.findall(r"```nginx\n(.*?)```", text, flags=re.DOTALL)
    return str(block)


@pytest.fixture(scope="module")
def nginx_server(env_a_wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """nginx running docs/serving.md's block over the wheelhouse, in the foreground."""
    binary = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if binary is None:
        pytest.fail("nginx not found: `apt-get install nginx-light` (`.ci/run` does)")
    port = free_port()
    block = documented_nginx_block()
    assert "listen 8080;" in block
    assert "root /srv/wheelhouse;" in block
    block = block.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    block = block.replace("root /srv/wheelhouse;", f'root "{env_a_wheelhouse}";')
    prefix = tmp_path_factory.mktemp("nginx")
    # What a stock nginx.conf around it provides; one process (no user to switch to, so
    # the wheelhouse under the test's private temporary folder stays readable).
    temp = "\n".join(
        f"    {kind}_temp_path {prefix / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (prefix / "nginx.conf").write_text(
        f"daemon off;\nmaster_process off;\npid {prefix / 'nginx.pid'};\n"
        f"error_log {prefix / 'error.log'} warn;\nevents {{}}\n"
        f"http {{\n    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n"
        f"    access_log {prefix / 'access.log'};\n{temp}\n{block}\n}}\n"
    )
    process = subprocess.Popen(
        [binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "error.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        assert process.stderr is not None
        process.stderr.close()


def pip_install(target: Path, index_url: str) -> subprocess.CompletedProcess[str]:
    """pip installs requests, for a linux-64 CPython 3.12 conda environment, into ``target``."""
    command = [
        *pip_command(), "install", "--isolated", "--no-cache-dir", "--target", str(target),
        "--index-url", index_url, *CONDA_LINUX_64_PIP, "requests",
    ]  # fmt: skip
    return subprocess.run(
        command, capture_output=True, text=True, env=cli_environment(), timeout=300, check=False
    )


def test_pip_installs_from_python_http_server(http_server: str, tmp_path: Path) -> None:
    done = pip_install(tmp_path / "target", f"{http_server}/simple/")

    assert done.returncode == 0, done.stderr
    installed = {path.name for path in (tmp_path / "target").glob("*.dist-info")}
    assert "requests-2.32.3.dist-info" in installed
    assert "urllib3-2.3.0.dist-info" in installed  # its dependency, found on the same index
    assert (tmp_path / "target" / "requests" / "__init__.py").is_file()


def test_http_server_serves_html_and_the_front_page(http_server: str) -> None:
    # No negotiation: HTML for everyone, which every client reads; the JSON is there by name.
    kind, _, _ = get(f"{http_server}/simple/requests/", PIP_ACCEPT)
    assert kind == "text/html"
    _, body, _ = get(f"{http_server}/simple/requests/index.json", PIP_ACCEPT)
    assert REQUESTS in body.decode()
    kind, page, _ = get(f"{http_server}/", BROWSER_ACCEPT)
    assert (kind, b"<title>Wheelhouse</title>" in page) == ("text/html", True)


def test_condawheel_install_from_python_http_server(
    conda_environments: CondaEnvironments, http_server: str, tmp_path: Path
) -> None:
    prefix = conda_environments.create(tmp_path / "env", ENV_SPECS)

    done = condawheel(
        "install", "requests", "--prefix", str(prefix), "--index-url", f"{http_server}/simple/",
        "--system-config", str(tmp_path / "none"),
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert f"installed requests 2.32.3 ({REQUESTS})" in done.stdout.splitlines()
    assert (site_packages(prefix) / "requests" / "__init__.py").is_file()


def test_nginx_negotiates_pep_691_json(env_a_wheelhouse: Path, nginx_server: str) -> None:
    simple = env_a_wheelhouse / "simple"
    for path in ("simple/", "simple/requests/", "simple-conda/requests/"):
        kind, body, vary = get(f"{nginx_server}/{path}", PIP_ACCEPT)
        assert (kind, body, vary) == (
            PEP_691_JSON,
            (env_a_wheelhouse / path / "index.json").read_bytes(),
            "Accept",
        ), path
        kind, body, _ = get(f"{nginx_server}/{path}", BROWSER_ACCEPT)
        assert (kind, body) == ("text/html", (env_a_wheelhouse / path / "index.html").read_bytes())
    assert (simple / "index.json").is_file()
    kind, page, _ = get(f"{nginx_server}/", BROWSER_ACCEPT)
    assert (kind, page) == ("text/html", (env_a_wheelhouse / "index.html").read_bytes())


def test_pip_installs_from_nginx(nginx_server: str, tmp_path: Path) -> None:
    done = pip_install(tmp_path / "target", f"{nginx_server}/simple/")

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "target" / "requests-2.32.3.dist-info").is_dir()
