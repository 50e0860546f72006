"""The ``amplify-session`` command line (extra ``cli``, built on click).

Configuration comes from flags, from ``AMPLIFY_SESSION_*`` environment
variables, or from ``--outputs amplify_outputs.json``. The session lives in
a FileStorage under the user's config directory unless ``--session-file``
says otherwise; the AWS credentials ``credentials`` prints are kept beside it
until they near expiry (see :mod:`._cli_credentials`). Errors are one line on
stderr with a distinct exit code; the library's log (retries included, at
DEBUG) goes to stderr only with ``--verbose``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from ._cli_credentials import CredentialsCache
from ._cli_sign_in import PendingSignInFile, prompt_for, show_step, show_url, url_opener
from ._config import AuthConfig
from ._errors import (
    AuthError,
    CodeMismatchException,
    InvalidConfigurationException,
    InvalidParameterException,
    InvalidTokenException,
    NetworkError,
    NoCredentialsException,
    StorageException,
    UserUnAuthenticatedException,
)
from ._jwt import decode_jwt
from ._manager import SessionManager
from ._models import AWSCredentials, SignInNextStep, SignInResult, credentials_of
from ._oauth_config import OAuthConfig
from ._sign_in_steps import FIRST_FACTORS, SUPPORTED_FLOWS, uses_password
from .storage import FileStorage

__all__ = ["EXIT_CODES", "main"]

_T = TypeVar("_T")

#: Exit codes by kind of failure (click itself exits 2 on usage errors).
EXIT_CODES: dict[type[AuthError], int] = {
    UserUnAuthenticatedException: 3,
    NoCredentialsException: 3,
    InvalidTokenException: 5,
    NetworkError: 6,
    InvalidConfigurationException: 7,
    StorageException: 8,
}
_AUTH_REFUSED = 4  # any other error Cognito answered (wrong password, revoked token...)


def _default_session_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "amplify-session" / "session.json"


def _exit_code(error: AuthError) -> int:
    for cls, code in EXIT_CODES.items():
        if isinstance(error, cls):
            return code
    return _AUTH_REFUSED


def _run(coroutine: Awaitable[_T]) -> _T:
    """Run ``coroutine``; an AuthError becomes one line on stderr and an exit code."""
    try:
        return asyncio.run(coroutine)  # type: ignore[arg-type]
    except AuthError as error:
        _fail(error)


def _fail(error: AuthError) -> NoReturn:
    """Exit with ``error`` (and its hint) on one line of stderr."""
    text = f"error: {error}"
    if error.recovery_suggestion:
        text += f" (hint: {error.recovery_suggestion})"
    click.echo(" ".join(text.split()), err=True)  # a server's message may hold newlines
    sys.exit(_exit_code(error))


class _Context:
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options

    def config(self) -> AuthConfig:
        fields = {
            "user_pool_id": self.options["user_pool_id"],
            "user_pool_client_id": self.options["client_id"],
            "identity_pool_id": self.options["identity_pool_id"],
            "region": self.options["region"],
            "user_pool_endpoint": self.options["user_pool_endpoint"],
            "identity_pool_endpoint": self.options["identity_pool_endpoint"],
        }
        given = {k: v for k, v in fields.items() if v is not None}
        if self.options["oauth_domain"] is not None:
            given["oauth"] = OAuthConfig(
                domain=self.options["oauth_domain"],
                scopes=self.options["scopes"] or (),
                redirect_sign_in=self.options["redirect_uri"] or (),
                redirect_sign_out=self.options["sign_out_uri"] or (),
            )
        if self.options["outputs"] is not None:
            return AuthConfig.from_amplify_outputs(self.options["outputs"], **given)
        for name, flag in (
            ("user_pool_id", "--user-pool-id"),
            ("user_pool_client_id", "--client-id"),
        ):
            if name not in given:
                raise InvalidConfigurationException(
                    f"{flag} is required (or its AMPLIFY_SESSION_ variable, or --outputs)"
                )
        return AuthConfig(**given)

    def session_file(self) -> Path:
        return Path(self.options["session_file"] or _default_session_file())

    def manager(self, config: AuthConfig | None = None) -> SessionManager:
        return SessionManager(config or self.config(), storage=FileStorage(self.session_file()))

    def credentials_cache(self) -> CredentialsCache:
        return CredentialsCache(self.session_file(), self.config())


def _run_sync(action: Callable[[], _T]) -> _T:
    """Call ``action``; an AuthError becomes one line on stderr and an exit code."""
    try:
        return action()
    except AuthError as error:
        _fail(error)


async def _managed(
    config: AuthConfig, context: _Context, action: Callable[[SessionManager], Awaitable[None]]
) -> None:
    """Run ``action`` with a manager of ``config``, open."""
    async with context.manager(config) as manager:
        await action(manager)


def _with_manager(
    action: Callable[[SessionManager], Awaitable[None]],
) -> Callable[[_Context], None]:
    """A command body that runs ``action`` with an open manager."""

    @functools.wraps(action)
    def command(context: _Context) -> None:
        async def run() -> None:
            async with context.manager() as manager:
                await action(manager)

        _run(run())

    return command


_ENV = "AMPLIFY_SESSION_"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--user-pool-id", envvar=f"{_ENV}USER_POOL_ID", help="e.g. us-east-1_AbC123")
@click.option("--client-id", envvar=f"{_ENV}CLIENT_ID", help="The app client id.")
@click.option("--identity-pool-id", envvar=f"{_ENV}IDENTITY_POOL_ID", help="For AWS credentials.")
@click.option("--region", envvar=f"{_ENV}REGION", help="Defaults to the user pool's.")
@click.option("--user-pool-endpoint", envvar=f"{_ENV}USER_POOL_ENDPOINT", help="For emulators.")
@click.option("--identity-pool-endpoint", envvar=f"{_ENV}IDENTITY_POOL_ENDPOINT", help="Ditto.")
@click.option("--outputs", type=click.Path(dir_okay=False), help="An amplify_outputs.json.")
@click.option(
    "--oauth-domain",
    envvar=f"{_ENV}OAUTH_DOMAIN",
    help="The pool's domain, for --hosted-ui (e.g. my-app.auth.us-east-1.amazoncognito.com).",
)
@click.option(
    "--scopes",
    envvar=f"{_ENV}SCOPES",
    help="OAuth scopes, space-separated (default: all the app client allows).",
)
@click.option(
    "--redirect-uri",
    envvar=f"{_ENV}REDIRECT_URI",
    help="The loopback callback URL registered for the app client (http://localhost:PORT/...).",
)
@click.option(
    "--sign-out-uri", envvar=f"{_ENV}SIGN_OUT_URI", help="A sign-out URL registered for it."
)
@click.option(
    "--session-file",
    type=click.Path(dir_okay=False),
    envvar=f"{_ENV}SESSION_FILE",
    help="Where the session is kept (default: ~/.config/amplify-session/session.json).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log what happens (retries too) to stderr.")
@click.pass_context
def cli(context: click.Context, /, verbose: bool, **options: Any) -> None:
    """Sign in to an AWS Cognito user pool and use the session from the shell."""
    context.obj = _Context(options)
    if verbose:
        context.call_on_close(_log_to_stderr())


def _log_to_stderr() -> Callable[[], None]:
    """Send the library's log to stderr; returns the undo (the CLI may run in-process)."""
    logger = logging.getLogger("amplify_session")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)

    def undo() -> None:
        logger.removeHandler(handler)
        logger.setLevel(level)

    return undo


@cli.command("sign-in")
@click.argument("username", required=False)
@click.option(
    "--auth-flow",
    "--flow",
    "auth_flow",
    type=click.Choice(SUPPORTED_FLOWS),
    default=SUPPORTED_FLOWS[0],
    show_default=True,
)
@click.option(
    "--challenge",
    "preferred_challenge",
    type=click.Choice(FIRST_FACTORS),
    help="With --flow USER_AUTH: the first factor to try (else you choose).",
)
@click.option(
    "--client-metadata",
    multiple=True,
    metavar="KEY=VALUE",
    help="For the pool's Lambda triggers (repeatable).",
)
@click.option("--resume", is_flag=True, help="Answer the step an interrupted sign-in waits on.")
@click.option("--hosted-ui", is_flag=True, help="Sign in in a browser (hosted UI / managed login).")
@click.option("--provider", help="With --hosted-ui: go straight to this identity provider.")
@click.option("--no-browser", is_flag=True, help="With --hosted-ui: only print the URL to open.")
@click.pass_obj
def sign_in(
    context: _Context,
    username: str | None,
    auth_flow: str,
    preferred_challenge: str | None,
    client_metadata: tuple[str, ...],
    resume: bool,
    hosted_ui: bool,
    provider: str | None,
    no_browser: bool,
) -> None:
    """Sign USERNAME in, prompting for every step Cognito asks for.

    A password is asked only by the flows that use one (read from stdin when it
    is not a terminal); it is never an argument. Interrupted at a prompt, the
    sign-in can be finished with --resume within 3 minutes. With --hosted-ui
    the browser signs in (federated providers too) and comes back to a
    listener on 127.0.0.1.
    """
    if hosted_ui:
        if username is not None or resume:
            raise click.UsageError("--hosted-ui takes no USERNAME and no --resume")

        async def in_browser(manager: SessionManager) -> None:
            await context.credentials_cache().clear()  # an earlier session's
            await manager.sign_in_with_redirect(
                provider=provider, open_url=url_opener(browser=not no_browser)
            )
            click.echo(f"signed in as {(await manager.get_current_user()).username}")

        _with_manager(in_browser)(context)
        return
    if provider is not None or no_browser:
        raise click.UsageError("--provider and --no-browser go with --hosted-ui")
    if preferred_challenge is not None and auth_flow != "USER_AUTH":
        raise click.UsageError("--challenge goes with --flow USER_AUTH")
    if not resume and username is None:
        raise click.UsageError("USERNAME is required (or --resume)")
    waiting = PendingSignInFile(context.session_file())
    metadata = _metadata_of(client_metadata)
    config = _run_sync(context.config)
    client_id = config.user_pool_client_id
    if resume:
        key, state, step = _run_sync(lambda: waiting.load(client_id))
    else:
        key, state, step = waiting.new_key(), None, None
        password = _password() if uses_password(auth_flow, preferred_challenge) else None

    async def run(manager: SessionManager) -> None:
        # Credentials kept for an earlier session are not this one's.
        await context.credentials_cache().clear()
        if step is not None:
            result = await _answer(manager, step, metadata, state)
        else:
            assert username is not None
            result = await manager.sign_in(
                username,
                password,
                auth_flow=auth_flow,
                preferred_challenge=preferred_challenge,
                client_metadata=metadata,
            )
        while not result.is_signed_in:
            waiting.save(key, client_id, result)
            result = await _answer(manager, result.next_step, metadata, None)
        click.echo(f"signed in as {(await manager.get_current_user()).username}")

    try:
        _run(_managed(PendingSignInFile.config_for(config, key), context, run))
    except click.Abort:
        if waiting.path.exists():
            click.echo(
                "the sign-in waits; finish it with `amplify-session sign-in --resume`"
                " within 3 minutes",
                err=True,
            )
        raise
    except SystemExit:
        waiting.discard()  # refused or failed: nothing is left to resume
        raise
    waiting.discard()


def _password() -> str:
    if sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True))
    return sys.stdin.readline().rstrip("\n")


async def _answer(
    manager: SessionManager,
    step: SignInNextStep,
    metadata: Mapping[str, str] | None,
    state: str | None,
) -> SignInResult:
    """Prompt for the step until an answer is taken; a wrong code is asked again."""
    show_step(step)
    while True:
        answer, attributes = prompt_for(step)
        try:
            return await manager.confirm_sign_in(
                answer, user_attributes=attributes, client_metadata=metadata, state=state
            )
        except (CodeMismatchException, InvalidParameterException) as error:
            if state is not None and "state" in error.message:
                raise
            click.echo(f"error: {error} (try again)", err=True)


def _metadata_of(pairs: tuple[str, ...]) -> dict[str, str] | None:
    if not pairs:
        return None
    metadata = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--client-metadata")
        metadata[name] = value
    return metadata


@cli.command()
@click.pass_obj
def status(context: _Context) -> None:
    """Who is signed in, and how long the tokens and credentials last (no secrets)."""

    async def run(manager: SessionManager) -> None:
        session = await manager.fetch_auth_session()
        if session.tokens is None:
            click.echo("signed out")
            return
        user = await manager.get_current_user()
        click.echo(f"user:        {user.username} ({user.user_id})")
        click.echo(f"tokens:      {_countdown(session.tokens.access_token.payload['exp'])}")
        if session.credentials is not None and session.credentials.expiration is not None:
            expiration = session.credentials.expiration.timestamp()
            click.echo(f"credentials: {_countdown(expiration)}")
            click.echo(f"identity:    {session.identity_id}")

    _with_manager(run)(context)


def _countdown(expiry: float) -> str:
    left = int(expiry - datetime.now(timezone.utc).timestamp())
    when = datetime.fromtimestamp(expiry).astimezone().isoformat(timespec="seconds")
    return f"expire in {left // 60} min {left % 60} s ({when})"


@cli.command()
@click.option("--access", "which", flag_value="access", default=True, help="The access token.")
@click.option("--id", "which", flag_value="id", help="The id token.")
@click.pass_obj
def token(context: _Context, which: str) -> None:
    """Print the raw token for scripts, refreshed first if needed."""

    async def run(manager: SessionManager) -> None:
        tokens = (await manager.fetch_auth_session()).tokens
        jwt = (
            None if tokens is None else (tokens.id_token if which == "id" else tokens.access_token)
        )
        if jwt is None:
            raise UserUnAuthenticatedException("nobody is signed in", "Run `sign-in` first.")
        click.echo(jwt.to_string())

    _with_manager(run)(context)


@cli.command()
@click.argument("jwt")
def decode(jwt: str) -> None:
    """Print a token's header and claims (not verified), with its expiry in local time."""
    try:
        decoded = decode_jwt(jwt)
    except AuthError as error:
        _fail(error)
    claims = dict(decoded.payload)
    document: dict[str, Any] = {"header": dict(decoded.header), "payload": claims}
    if isinstance(claims.get("exp"), (int, float)):
        document["expires"] = datetime.fromtimestamp(claims["exp"]).astimezone().isoformat()
    click.echo(json.dumps(document, indent=2, sort_keys=True))


@cli.command()
@click.argument("jwt")
@click.option("--token-use", type=click.Choice(["access", "id"]), default="access")
@click.option(
    "--jwks-url",
    help="Where the keys are (default: <user pool endpoint>/<pool id>/.well-known/jwks.json "
    "with an endpoint override, else the issuer's).",
)
@click.pass_obj
def verify(context: _Context, jwt: str, token_use: str, jwks_url: str | None) -> None:
    """Verify a token's signature, issuer, client and expiry; print its claims."""
    config = context.config()
    from ._verifier import TokenVerifier  # only this command needs python-jose and the JWKS

    async def run() -> None:
        async with TokenVerifier(
            user_pool_id=config.user_pool_id,
            client_id=config.user_pool_client_id,
            token_use="id" if token_use == "id" else "access",  # noqa: S105 (a token kind)
            jwks_url=jwks_url,
            user_pool_endpoint=config.user_pool_endpoint,
        ) as verifier:
            verified = await verifier.verify(jwt)
        click.echo(json.dumps(dict(verified.payload), indent=2, sort_keys=True))

    _run(run())


@cli.command()
@click.option(
    "--format",
    "output",
    type=click.Choice(["credential-process"]),
    default="credential-process",
    show_default=True,
)
@click.pass_obj
def credentials(context: _Context, output: str) -> None:
    """Print the session's AWS credentials as the AWS CLI's credential_process reads them.

    They are kept (beside the session file, mode 0600) and printed again by
    later runs while well before their expiry, without calling Cognito.
    """

    async def run() -> None:
        cache = context.credentials_cache()
        creds = await cache.get()
        if creds is None:
            async with context.manager() as manager:
                session = await manager.fetch_auth_session()
            creds = credentials_of(session)
            await cache.put(creds, session.identity_id)
        click.echo(_credential_process_document(creds))

    _run(run())


def _credential_process_document(creds: AWSCredentials) -> str:
    document = {
        "Version": 1,
        "AccessKeyId": creds.access_key_id,
        "SecretAccessKey": creds.secret_access_key,
        "SessionToken": creds.session_token,
    }
    if creds.expiration is not None:
        document["Expiration"] = creds.expiration.isoformat().replace("+00:00", "Z")
    return json.dumps(document)


@cli.command("sign-out")
@click.option("--global", "everywhere", is_flag=True, help="Sign out on every device.")
@click.pass_obj
def sign_out(context: _Context, everywhere: bool) -> None:
    """Sign out: revoke the refresh token and forget the session."""

    async def run(manager: SessionManager) -> None:
        try:
            result = await manager.sign_out(global_sign_out=everywhere)
        finally:
            await context.credentials_cache().clear()
        if result.error is not None:
            click.echo(f"signed out locally; Cognito was not told ({result.error})", err=True)
        else:
            click.echo("signed out")
        if result.hosted_ui_logout_url is not None:
            show_url("to end the hosted UI's session too, open", result.hosted_ui_logout_url)

    _with_manager(run)(context)


@cli.group()
def devices() -> None:
    """The signed-in user's devices (pools with device tracking)."""


@devices.command("list")
@click.pass_obj
def devices_list(context: _Context) -> None:
    """List the devices Cognito tracks for the user: key, remembered, name, last sign-in."""

    async def run(manager: SessionManager) -> None:
        for device in await manager.fetch_devices():
            used = device.last_authenticated_date
            click.echo(
                "\t".join(
                    [
                        _printable(device.id),
                        "remembered" if device.remembered else "not-remembered",
                        _printable(device.name or "-"),
                        used.isoformat() if used is not None else "-",
                    ]
                )
            )

    _with_manager(run)(context)


def _printable(text: str) -> str:
    """A server's text made safe for a terminal: no control codes, no lone surrogates."""
    return "".join(c if c.isprintable() else "?" for c in text)


@devices.command("remember")
@click.pass_obj
def devices_remember(context: _Context) -> None:
    """Ask Cognito to remember this device (signing in on it then skips MFA)."""

    async def run(manager: SessionManager) -> None:
        await manager.remember_device()
        click.echo("this device is remembered")

    _with_manager(run)(context)


@devices.command("forget")
@click.option("--device-key", help="The device to forget (from `devices list`); default: this one.")
@click.pass_obj
def devices_forget(context: _Context, device_key: str | None) -> None:
    """Make Cognito forget a device; this one by default (its next sign-in asks for MFA)."""

    async def run(manager: SessionManager) -> None:
        await manager.forget_device(device_key)
        click.echo("the device is forgotten")

    _with_manager(run)(context)


@cli.command()
def demo() -> None:
    """Sign in against the embedded emulator and show the session (needs the emulator extra)."""
    try:
        # Imported here: the emulator is opt-in (moto); no other command needs it.
        from .emulator import Emulator
    except ModuleNotFoundError as error:
        if error.name != "moto":
            raise
        raise click.ClickException(
            "the demo needs the embedded emulator: pip install 'amplify-session[emulator]'"
        ) from error

    with Emulator() as emulator:
        pool = emulator.provision()

        async def run() -> None:
            async with SessionManager(pool.config()) as manager:
                await manager.sign_in(pool.username, pool.password)
                session = await manager.fetch_auth_session()
                click.echo(f"signed in to {pool.user_pool_id} as {pool.username}")
                click.echo(f"session (secrets redacted): {session!r}")
                await manager.sign_out()

        _run(run())


def main() -> None:
    """The ``amplify-session`` entry point."""
    cli(prog_name="amplify-session")
