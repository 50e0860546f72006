"""The compliance suite every storage backend must pass, for your own backend to run.

Subclass a suite in one of your test modules and give it the fixture it
asks for; pytest then runs every test of the suite against your backend:

    import pytest
    from amplify_session.testing.storage_suite import (
        BatchKeyValueStorageSuite,
        LockingStorageSuite,
    )


    class TestMyStorage(BatchKeyValueStorageSuite):
        @pytest.fixture
        async def storage(self):
            store = MyStorage(...)  # empty
            yield store
            await store.aclose()


    class TestMyStorageLocks(LockingStorageSuite):
        @pytest.fixture
        async def locking(self):
            # Two objects sharing one store, as two processes would.
            yield MyStorage(...), MyStorage(...)

- :class:`KeyValueStorageSuite` needs ``storage``: an empty
  ``KeyValueStorage``.
- :class:`BatchKeyValueStorageSuite` (the suite above and ``update_items``)
  needs ``storage``: an empty ``BatchKeyValueStorage``.
- :class:`LockingStorageSuite` needs ``locking``: two ``LockingStorage``
  objects over one shared store.

The tests are coroutines marked ``anyio``: anyio's pytest plugin (it comes
with anyio, a dependency of amplify-session) runs them, on the backend your
``anyio_backend`` fixture names (asyncio unless you override it). Neither
class name starts with ``Test``, so importing one collects nothing by itself.
"""

from __future__ import annotations

import pytest

from ..storage import BatchKeyValueStorage, KeyValueStorage, LockingStorage

__all__ = ["BatchKeyValueStorageSuite", "KeyValueStorageSuite", "LockingStorageSuite"]


@pytest.mark.anyio
class KeyValueStorageSuite:
    """What every KeyValueStorage must do; subclass it and provide a ``storage`` fixture."""

    async def test_set_get_remove(self, storage: KeyValueStorage) -> None:
        assert await storage.get_item("a") is None
        await storage.set_item("a", "1")
        await storage.set_item("b", "two words ✓")
        assert await storage.get_item("a") == "1"
        assert await storage.get_item("b") == "two words ✓"
        await storage.set_item("a", "3")
        assert await storage.get_item("a") == "3"
        await storage.remove_item("a")
        await storage.remove_item("never-set")
        assert await storage.get_item("a") is None
        assert await storage.get_item("b") == "two words ✓"

    async def test_clear(self, storage: KeyValueStorage) -> None:
        await storage.set_item("a", "1")
        await storage.set_item("b", "2")
        await storage.clear()
        assert await storage.get_item("a") is None
        assert await storage.get_item("b") is None
        await storage.set_item("c", "3")
        assert await storage.get_item("c") == "3"

    async def test_long_values(self, storage: KeyValueStorage) -> None:
        value = "x" * 20_000  # an id token with many groups
        await storage.set_item("token", value)
        assert await storage.get_item("token") == value


class BatchKeyValueStorageSuite(KeyValueStorageSuite):
    """What every BatchKeyValueStorage must do; provide a ``storage`` fixture."""

    async def test_batch_update_sets_and_removes_together(self, storage: KeyValueStorage) -> None:
        assert isinstance(storage, BatchKeyValueStorage)
        await storage.set_item("old", "x")
        await storage.update_items({"a": "1", "b": "2", "old": None})
        assert [await storage.get_item(k) for k in ("a", "b", "old")] == ["1", "2", None]


@pytest.mark.anyio
class LockingStorageSuite:
    """What every LockingStorage must do; provide a ``locking`` fixture.

    ``locking`` yields two storage objects sharing one store, as two
    processes would have them.
    """

    async def test_is_a_locking_storage_with_a_ttl(
        self, locking: tuple[LockingStorage, LockingStorage]
    ) -> None:
        first, _ = locking
        assert isinstance(first, LockingStorage)
        assert first.lock_ttl > 0

    async def test_the_lock_is_exclusive_and_released_after_the_block(
        self, locking: tuple[LockingStorage, LockingStorage]
    ) -> None:
        first, second = locking
        async with first.lock("refresh", wait=0) as held:
            assert held
            async with second.lock("refresh", wait=0.2) as other:
                assert not other
            await first.update_items({"k": "written while holding the lock"})
        async with second.lock("refresh", wait=0) as after:
            assert after
        assert await second.get_item("k") == "written while holding the lock"

    async def test_the_lock_is_released_when_the_block_raises(
        self, locking: tuple[LockingStorage, LockingStorage]
    ) -> None:
        first, second = locking

        async def fail_while_holding() -> None:
            async with first.lock("refresh", wait=0) as held:
                assert held
                raise ZeroDivisionError

        with pytest.raises(ZeroDivisionError):
            await fail_while_holding()
        async with second.lock("refresh", wait=0) as after:
            assert after
