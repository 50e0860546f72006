"""``amplify-session sign-in``: a prompt for every step, and a sign-in a later run can resume.

Each step Cognito asks for is prompted in the terminal (codes, a new
password and its required attributes, MFA choices, the TOTP setup URI with a
QR code when segno is installed, the email to set up, custom challenges,
first factors). While a step waits, the sealed state and the key that seals
it are kept beside the session file (mode 0600, as the session itself), so
a run interrupted at a prompt (Ctrl-C, end of input) can be resumed with
``sign-in --resume`` within Cognito's 3 minutes. The TOTP secret is shown,
never kept.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import tempfile
import webbrowser
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import attrs
import click

from ._config import AuthConfig
from ._errors import InvalidParameterException, StorageException
from ._models import SignInNextStep, SignInResult
from ._sign_in_steps import Step

__all__ = ["PendingSignInFile", "prompt_for", "show_step", "show_url", "url_opener"]

# What a step's prompt needs, kept so a resumed run can ask it again.
_STEP_FIELDS = (
    "sign_in_step",
    "additional_info",
    "missing_attributes",
    "allowed_mfa_types",
    "available_challenges",
)


class PendingSignInFile:
    """The sign-in waiting at a prompt, beside the session file: its state and key."""

    def __init__(self, session_file: Path) -> None:
        self.path = session_file.with_name(session_file.name + ".sign-in")

    def __repr__(self) -> str:
        return f"PendingSignInFile({str(self.path)!r})"

    @staticmethod
    def new_key() -> str:
        """A key for a new sign-in's states (each CLI run is another process)."""
        return secrets.token_urlsafe(32)

    def save(self, key: str, client_id: str, result: SignInResult) -> None:
        """Keep the waiting step (atomically, owner-only).

        Raises:
            StorageException: The file cannot be written.
        """
        step = result.next_step
        record = {
            "client": client_id,
            "key": key,
            "state": step.state,
            "step": {name: _plain(getattr(step, name)) for name in _STEP_FIELDS},
        }
        with _storage_errors(self.path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # A temporary file of its own (mkstemp: mode 0600), so runs never share one.
            descriptor, temporary = tempfile.mkstemp(
                prefix=self.path.name + ".", suffix=".tmp", dir=self.path.parent
            )
            try:
                with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                    json.dump(record, file)
                os.replace(temporary, self.path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise

    def load(self, client_id: str) -> tuple[str, str, SignInNextStep]:
        """The key, the state and the step of the sign-in waiting for ``client_id``.

        Raises:
            InvalidParameterException: None is waiting, it is another app client's,
                or the file is not ours.
            StorageException: The file cannot be read.
        """
        try:
            with _storage_errors(self.path):
                text = self.path.read_text(encoding="utf-8")
        except StorageException as err:
            if isinstance(err.underlying_error, FileNotFoundError):
                raise InvalidParameterException(
                    "no sign-in is waiting to be resumed",
                    recovery_suggestion="Run `sign-in` first.",
                ) from None
            raise
        try:
            record = json.loads(text)
            fields = {k: v for k, v in record["step"].items() if k in _STEP_FIELDS}
            for name in ("missing_attributes", "allowed_mfa_types", "available_challenges"):
                fields[name] = tuple(fields.get(name, ()))
            step = SignInNextStep(**fields)
            key, state, client = str(record["key"]), str(record["state"]), record["client"]
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            raise InvalidParameterException(
                f"{self.path} does not hold a waiting sign-in", recovery_suggestion="Sign in again."
            ) from None
        if client != client_id:
            raise InvalidParameterException(
                "the waiting sign-in is another app client's",
                recovery_suggestion="Resume it with that client's configuration.",
            )
        return key, state, step

    def discard(self) -> None:
        """The sign-in ended (signed in, or refused): nothing is left to resume."""
        with contextlib.suppress(OSError):  # a leftover is refused by the next --resume
            self.path.unlink(missing_ok=True)

    @staticmethod
    def config_for(config: AuthConfig, key: str) -> AuthConfig:
        return attrs.evolve(config, sign_in_state_key=key)


@contextlib.contextmanager
def _storage_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except OSError as err:
        raise StorageException(
            f"the waiting sign-in's file {path} cannot be used ({err.strerror or err})",
            underlying_error=err,
        ) from None


def _plain(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) or hasattr(value, "items") else value


def show_step(step: SignInNextStep) -> None:
    """What the user needs to see before answering (where a code went, a TOTP setup...)."""
    destination = step.additional_info.get("CODE_DELIVERY_DESTINATION")
    if destination and step.sign_in_step != Step.CUSTOM_CHALLENGE:
        medium = step.additional_info.get("CODE_DELIVERY_DELIVERY_MEDIUM", "")
        click.echo(f"A code was sent{' by ' + medium if medium else ''} to {destination}.")
    if step.sign_in_step == Step.CUSTOM_CHALLENGE:
        for name, value in step.additional_info.items():
            click.echo(f"{name}: {value}")
    details = step.totp_setup_details
    if details is not None:
        # Shown to the user on purpose: this is how an authenticator app is set up.
        click.echo("Add this account to your authenticator app:")
        click.echo(f"  {details.setup_uri}")
        click.echo(f"  secret: {details.shared_secret}")
        qr = _qr_code(details.setup_uri)
        if qr:
            click.echo(qr)


def _qr_code(uri: str) -> str | None:
    """The URI as a QR code for the terminal, when segno is installed."""
    try:
        import segno
    except ImportError:
        return None
    out = io.StringIO()
    segno.make(uri, error="m").terminal(out=out, compact=True)
    return out.getvalue()


def prompt_for(step: SignInNextStep) -> tuple[str, dict[str, str]]:
    """Ask the user for the step's answer (and a new password's required attributes)."""
    name = step.sign_in_step
    if name == Step.MFA_SELECTION or name == Step.MFA_SETUP_SELECTION:
        choices = step.allowed_mfa_types or ("SMS", "TOTP", "EMAIL")
        verb = "to set up" if name == Step.MFA_SETUP_SELECTION else "type"
        return _choose(f"MFA {verb}", choices), {}
    if name == Step.FIRST_FACTOR_SELECTION:
        factors = [c for c in step.available_challenges if c != "WEB_AUTHN"]
        return _choose("Sign in with", tuple(factors or ("EMAIL_OTP", "SMS_OTP", "PASSWORD"))), {}
    if name == Step.NEW_PASSWORD:
        password = str(click.prompt("New password", hide_input=True))
        attributes = {a: str(click.prompt(f"User attribute {a}")) for a in step.missing_attributes}
        return password, attributes
    if name == Step.PASSWORD:
        return str(click.prompt("Password", hide_input=True)), {}
    if name == Step.EMAIL_SETUP:
        return str(click.prompt("Email address for MFA codes")), {}
    if name == Step.CUSTOM_CHALLENGE:
        return str(click.prompt("Answer")), {}
    if name == Step.TOTP_CODE or name == Step.TOTP_SETUP:
        return str(click.prompt("Code from your authenticator app")), {}
    return str(click.prompt("Code")), {}


def _choose(label: str, choices: tuple[str, ...]) -> str:
    return str(click.prompt(label, type=click.Choice(choices)))


def show_url(what: str, url: str) -> None:
    """Print a URL for the user to open (on stderr: stdout stays for results)."""
    click.echo(f"{what}:\n  {url}", err=True)


def url_opener(*, browser: bool) -> Callable[[str], Awaitable[None]]:
    """Show the hosted UI's URL, and open it in the web browser unless told not to."""

    async def open_url(url: str) -> None:
        show_url("open this URL to sign in", url)
        if browser:
            await anyio.to_thread.run_sync(webbrowser.open, url)

    return open_url
