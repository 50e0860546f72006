"""cognito-local (the Cognito emulator from npm) on 127.0.0.1, installed on first use.

It is installed once into ``.cache/cognito-local/<version>/`` in the repository
(git-ignored) and started per test module in a temporary directory, where it
keeps its state (``.cognito/``). It needs Node.js and npm.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import boto3

from amplify_session import AuthConfig

__all__ = ["VERSION", "CognitoLocal", "LocalPool", "ensure_installed", "running"]

#: Pinned: the tests assert what this release does (no SRP, no GlobalSignOut).
VERSION = "5.3.0"
CACHE = Path(__file__).resolve().parents[2] / ".cache" / "cognito-local"
_MISSING = (
    "cognito-local needs Node.js and npm, and {tool} is not installed"
    " (apt-get install -y nodejs npm)"
)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(_MISSING.format(tool=name))
    return path


def _launcher(install_dir: Path) -> Path:
    return install_dir / "node_modules" / ".bin" / "cognito-local"


def ensure_installed(cache: Path = CACHE) -> Path:
    """Install cognito-local ``VERSION`` unless it is there; return its launcher."""
    _tool("node")  # checked first: without it an installed copy is no use either
    install_dir = cache / VERSION
    launcher = _launcher(install_dir)
    if launcher.exists():
        return launcher
    npm = _tool("npm")
    cache.mkdir(parents=True, exist_ok=True)
    # Install beside, then rename: an interrupted or concurrent install never
    # leaves a half-installed directory that looks installed.
    staging = Path(tempfile.mkdtemp(prefix=f".{VERSION}-", dir=cache))
    try:
        _npm_install(npm, staging)
        staging.chmod(0o755)  # mkdtemp made it private; it is a plain cache
        try:
            staging.rename(install_dir)
        except OSError:
            if not launcher.exists():  # not a concurrent install that won
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return launcher


def _npm_install(npm: str, prefix: Path) -> None:
    command = [
        npm,
        "install",
        "--prefix",
        str(prefix),
        "--no-audit",
        "--no-fund",
        "--ignore-scripts",  # aws-sdk's only script prints a notice
        f"cognito-local@{VERSION}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"npm install cognito-local@{VERSION} failed:\n{done.stderr[-2000:]}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class CognitoLocal:
    """One cognito-local process on a free port, its state in ``data_dir``."""

    def __init__(self, launcher: Path, data_dir: Path) -> None:
        self._launcher = launcher
        self._data_dir = data_dir
        self._log = data_dir / "cognito-local.log"
        self.port = _free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(self.port)}
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(
                [_tool("node"), str(self._launcher)],
                cwd=self._data_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_until_it_answers()

    def _wait_until_it_answers(self, limit: float = 30.0) -> None:
        deadline = time.monotonic() + limit
        while not self._answers():
            assert self._process is not None
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = self._log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"cognito-local did not start on {self.url}:\n{tail}")
            time.sleep(0.05)

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=1) as answer:
                return bool(answer.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def client(self) -> Any:
        """A boto3 cognito-idp client for it (it ignores region and keys)."""
        return boto3.client(
            "cognito-idp",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def provision(self, *, token_validity: int = 3600) -> LocalPool:
        """A pool, an app client whose tokens live ``token_validity`` s, a confirmed user."""
        idp = self.client()
        # cognito-local's pools sign in by email by default (Username is then a UUID).
        pool_id = idp.create_user_pool(PoolName=f"pool-{uuid.uuid4().hex[:8]}")["UserPool"]["Id"]
        client_id = idp.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName="app",
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            AccessTokenValidity=token_validity,
            IdTokenValidity=token_validity,
            TokenValidityUnits={"AccessToken": "seconds", "IdToken": "seconds"},
        )["UserPoolClient"]["ClientId"]
        email = f"user-{uuid.uuid4().hex[:8]}@example.com"
        password = f"Pw-{uuid.uuid4().hex}-9!"
        user = idp.admin_create_user(
            UserPoolId=pool_id,
            Username=email,
            UserAttributes=[
                {"Name": "email", "Value": email},
                {"Name": "email_verified", "Value": "true"},
                {"Name": "name", "Value": "Alice Local"},
            ],
            MessageAction="SUPPRESS",
        )["User"]
        idp.admin_set_user_password(
            UserPoolId=pool_id, Username=email, Password=password, Permanent=True
        )
        return LocalPool(
            endpoint=self.url,
            user_pool_id=pool_id,
            client_id=client_id,
            email=email,
            username=user["Username"],
            password=password,
        )

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(10)
        self._process = None


@attrs.frozen(kw_only=True)
class LocalPool:
    """What :meth:`CognitoLocal.provision` made."""

    endpoint: str
    user_pool_id: str
    client_id: str
    email: str  # what the user signs in with
    username: str  # cognito-local's name for the user: a UUID
    password: str = attrs.field(repr=False)

    def config(self, **overrides: Any) -> AuthConfig:
        """The library's configuration for this pool (no Identity Pool: it has none)."""
        fields: dict[str, Any] = {
            "user_pool_id": self.user_pool_id,
            "user_pool_client_id": self.client_id,
            "user_pool_endpoint": self.endpoint,
        }
        fields.update(overrides)
        return AuthConfig(**fields)


@contextmanager
def running(launcher: Path | None = None) -> Iterator[CognitoLocal]:
    """cognito-local, installed if need be, running with a fresh state until the block ends."""
    launcher = launcher or ensure_installed()
    with tempfile.TemporaryDirectory(prefix="cognito-local-") as data_dir:
        server = CognitoLocal(launcher, Path(data_dir))
        server.start()
        try:
            yield server
        finally:
            server.stop()
