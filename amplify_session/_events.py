"""Session events: names (Amplify's Hub names), listeners, and event streams.

Every subscriber has a mailbox of bounded size. When a subscriber falls
behind and its mailbox is full, the **oldest** undelivered event is dropped
(and a warning logged): the newest state always gets through, and a slow
subscriber never holds up a refresh or other subscribers.

Listeners run on the manager's task group, one worker per listener so each
sees its events in order. An async listener that takes longer than
``listener_timeout`` is cancelled; one that raises is logged and kept.
"""

from __future__ import annotations

import enum
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Collection

import anyio
import attrs

from ._errors import AuthError
from ._models import AuthSession

__all__ = ["EventHub", "EventName", "EventStream", "Listener", "Mailbox", "SessionEvent"]

_log = logging.getLogger("amplify_session.events")


class EventName(str, enum.Enum):
    """What happened to the session; each value is Amplify's Hub event name.

    Attributes:
        SIGNED_IN: ``signedIn``: a user signed in (in another process too,
            when the storage is shared).
        SIGNED_OUT: ``signedOut``: the session ended (a sign-out, or a refresh
            Cognito refused for good).
        TOKEN_REFRESH: ``tokenRefresh``: new tokens.
        TOKEN_REFRESH_FAILURE: ``tokenRefresh_failure``: a token refresh failed.
        CREDENTIALS_REFRESH: ``credentialsRefresh``: new AWS credentials.
        CREDENTIALS_REFRESH_FAILURE: ``credentialsRefresh_failure``: a
            credentials refresh failed.
    """

    SIGNED_IN = "signedIn"
    SIGNED_OUT = "signedOut"
    TOKEN_REFRESH = "tokenRefresh"  # noqa: S105 (an event name, not a secret)
    TOKEN_REFRESH_FAILURE = "tokenRefresh_failure"  # noqa: S105
    CREDENTIALS_REFRESH = "credentialsRefresh"
    CREDENTIALS_REFRESH_FAILURE = "credentialsRefresh_failure"

    def __str__(self) -> str:
        """Amplify's Hub name (``print(event.name)`` shows ``signedIn``)."""
        return str(self.value)


@attrs.frozen(kw_only=True)
class SessionEvent:
    """One change of the session: the new session, or the error that stopped it.

    Attributes:
        name: What happened.
        session: The session after the change.
        error: The error, for the ``..._failure`` events (and for a ``signedOut``
            caused by unreadable storage).
    """

    name: EventName
    session: AuthSession | None = None
    error: AuthError | None = None


Listener = Callable[[SessionEvent], Awaitable[None] | None]


class Mailbox:
    """A bounded queue of events that drops the oldest when full."""

    def __init__(self, size: int, names: Collection[EventName] | None) -> None:
        self._events: deque[SessionEvent] = deque(maxlen=size)
        self._names = frozenset(names) if names is not None else None
        self._arrived = anyio.Event()
        self._closed = False
        self.dropped = 0

    def __repr__(self) -> str:
        return f"Mailbox(queued={len(self._events)}, dropped={self.dropped})"

    def put(self, event: SessionEvent) -> None:
        """Queue ``event`` if this mailbox wants it; never blocks."""
        if self._closed or (self._names is not None and event.name not in self._names):
            return
        if len(self._events) == self._events.maxlen:
            self.dropped += 1
            _log.warning("a session event subscriber is behind; dropped the oldest event")
        self._events.append(event)
        self._arrived.set()

    def close(self) -> None:
        """Let the reader finish once the queue is empty."""
        self._closed = True
        self._arrived.set()

    async def get(self) -> SessionEvent | None:
        """The next event, or None once closed and empty."""
        while not self._events:
            if self._closed:
                return None
            self._arrived = anyio.Event()
            await self._arrived.wait()
        return self._events.popleft()


class EventStream:
    """Session events as an async iterator; ``aclose()`` (or ``async with``) unsubscribes."""

    def __init__(self, mailbox: Mailbox, unsubscribe: Callable[[], None]) -> None:
        self._mailbox = mailbox
        self._unsubscribe = unsubscribe

    def __repr__(self) -> str:
        return f"EventStream({self._mailbox!r})"

    @property
    def dropped(self) -> int:
        """How many events were dropped because the reader fell behind."""
        return self._mailbox.dropped

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> SessionEvent:
        event = await self._mailbox.get()
        if event is None:
            raise StopAsyncIteration
        return event

    async def aclose(self) -> None:
        """Unsubscribe; iteration ends once the queued events are read."""
        self._unsubscribe()
        self._mailbox.close()

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class EventHub:
    """Fans session events out to listeners and streams."""

    def __init__(self, *, buffer: int = 100, listener_timeout: float = 5.0) -> None:
        self._buffer = buffer
        self._listener_timeout = listener_timeout
        self._mailboxes: set[Mailbox] = set()
        #: Every subscribed listener; a worker runs each while a task group is attached.
        self._listeners: dict[Mailbox, Listener] = {}
        self._task_group: anyio.abc.TaskGroup | None = None

    def __repr__(self) -> str:
        return f"EventHub(subscribers={len(self._mailboxes)})"

    def emit(self, event: SessionEvent) -> None:
        """Deliver ``event`` to every subscriber's mailbox; never blocks."""
        for mailbox in list(self._mailboxes):
            mailbox.put(event)

    def subscribe(
        self, listener: Listener, events: Collection[EventName] | None = None
    ) -> Callable[[], None]:
        """Call ``listener`` for each event (of ``events``, or all); returns unsubscribe."""
        mailbox = Mailbox(self._buffer, events)
        self._mailboxes.add(mailbox)
        self._listeners[mailbox] = listener
        if self._task_group is not None:
            self._task_group.start_soon(self._deliver, listener, mailbox)

        def unsubscribe() -> None:
            self._mailboxes.discard(mailbox)
            self._listeners.pop(mailbox, None)
            mailbox.close()

        return unsubscribe

    def stream(self, events: Collection[EventName] | None = None) -> EventStream:
        """An async iterator of events from now on (subscribed at once)."""
        mailbox = Mailbox(self._buffer, events)
        self._mailboxes.add(mailbox)
        return EventStream(mailbox, lambda: self._mailboxes.discard(mailbox))

    def attach(self, task_group: anyio.abc.TaskGroup) -> None:
        """Start delivering to every listener on ``task_group`` (the manager's)."""
        self._task_group = task_group
        for mailbox, listener in list(self._listeners.items()):
            task_group.start_soon(self._deliver, listener, mailbox)

    def detach(self) -> None:
        """Stop delivering (the task group is closing); listeners keep their mailboxes,
        and a later :meth:`attach` delivers what they missed meanwhile."""
        self._task_group = None

    async def _deliver(self, listener: Listener, mailbox: Mailbox) -> None:
        while (event := await mailbox.get()) is not None:
            try:
                with anyio.move_on_after(self._listener_timeout) as scope:
                    result = listener(event)
                    if inspect.isawaitable(result):
                        await result
                if scope.cancelled_caught:
                    _log.warning("a session event listener timed out on %s", event.name.value)
            except Exception:  # noqa: BLE001 (a listener may raise anything; others go on)
                _log.exception("a session event listener raised on %s", event.name.value)
