"""The COP's users and sessions repository (``trilink.store.users``) on both engines."""

from __future__ import annotations

from trilink.store import Store
from trilink.store.users import StoredSession, User, UserRepository

T0 = "2026-11-23T06:00:00.000000Z"
T1 = "2026-11-23T14:00:00.000000Z"


def test_users_are_added_once_and_listed_by_name(store: Store) -> None:
    users = UserRepository(store)
    assert users.add("watch", "$argon2id$hash-1", "viewer", T0)
    assert not users.add("watch", "$argon2id$other", "admin", T1)  # taken: nothing written
    assert users.add("ana", "$argon2id$hash-2", "analyst", T0)
    assert users.all() == [User("ana", "analyst", T0, False), User("watch", "viewer", T0, False)]
    assert users.get("nobody") is None
    assert users.with_password_hash("watch") == (
        User("watch", "viewer", T0, False),
        "$argon2id$hash-1",
    )
    assert users.with_password_hash("nobody") is None


def test_sessions_join_their_user_and_end(store: Store) -> None:
    users = UserRepository(store)
    users.add("watch", "h", "viewer", T0)
    users.add_session("digest-1", "watch", "csrf-1", T0, T1)
    users.add_session("digest-2", "watch", "csrf-2", T0, T1)
    found = users.session("digest-1")
    assert found == StoredSession(User("watch", "viewer", T0, False), "csrf-1", T1)
    users.end_session("digest-1")
    assert users.session("digest-1") is None and users.session("digest-2") is not None
    # a new session clears those that expired before it began
    users.add_session("digest-3", "watch", "csrf-3", "2026-11-24T00:00:00.000000Z", T1)
    assert users.session("digest-2") is None and users.session("digest-3") is not None


def test_disabling_or_a_new_password_ends_sessions(store: Store) -> None:
    users = UserRepository(store)
    users.add("watch", "h", "viewer", T0)
    users.add_session("d1", "watch", "c1", T0, T1)
    users.set_password_hash("watch", "h2", end_sessions=False)  # a rehash keeps them
    assert users.session("d1") is not None
    users.set_disabled("watch", True)
    assert users.session("d1") is None
    user = users.get("watch")
    assert user is not None and user.disabled
    users.set_disabled("watch", False)
    users.add_session("d2", "watch", "c2", T0, T1)
    users.set_password_hash("watch", "h3", end_sessions=True)
    assert users.session("d2") is None
    assert users.with_password_hash("watch") == (User("watch", "viewer", T0, False), "h3")


def test_roles_are_ordered() -> None:
    analyst = User("ana", "analyst", T0, False)
    assert analyst.may("viewer") and analyst.may("analyst") and not analyst.may("admin")
