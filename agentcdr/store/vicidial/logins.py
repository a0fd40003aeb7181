"""Logging in with VICIdial users (setting ``vicidial_auth``), beside agentcdr's own API users.

A VICIdial user may use the report when it is active, has report rights (``user_level >= 7``
and ``view_reports = '1'``, VICIdial's own rule for its reports) and its password matches:
the plain ``pass`` column, or, when ``system_settings.pass_hash_enabled`` is on, the
``pass_hash`` column computed the way VICIdial's ``bp.pl`` does (bcrypt ``$2a$`` with
``pass_cost`` and the 16-character ``pass_key`` as the salt, keeping characters 29..59).

The tenant scope comes from the user's group: ``ADMIN``, or a group whose
``allowed_campaigns`` holds ``-ALL-CAMPAIGNS-``, sees every tenant; any other group sees the
portfolios of the campaigns it lists plus those of the campaigns it owns
(``vicidial_campaigns.user_group``).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from agentcdr.errors import ConfigError
from agentcdr.records import ApiUser
from agentcdr.store.vicidial.eksblowfish import bcrypt_base64, eksblowfish

if TYPE_CHECKING:
    from agentcdr.store.vicidial.store import VicidialStore

log = logging.getLogger(__name__)

MIN_USER_LEVEL: Final = 7
_USER_SQL: Final = (
    "SELECT user, pass, pass_hash, active, user_level, view_reports, user_group "
    "FROM vicidial_users WHERE user = %s"
)
HASHING_SQL: Final = "SELECT pass_hash_enabled, pass_key, pass_cost FROM system_settings LIMIT 1"
# bcrypt libraries start at cost 4; below, and up to 6 (a few milliseconds), agentcdr's own
# EksBlowfish computes the hash; above, only bcrypt is fast enough.
_OWN_MAX_COST: Final = 6
_NEEDS_BCRYPT: Final = (
    "VICIdial pass_hash with pass_cost > 6 needs bcrypt: pip install 'agentcdr[vicidial]'"
)
_GROUP_SQL: Final = "SELECT allowed_campaigns FROM vicidial_user_groups WHERE user_group = %s"


def vicidial_pass_hash(password: str, pass_key: str, cost: int) -> str:
    """The 31-character ``pass_hash`` VICIdial stores for a password (``bp.pl``)."""
    secret = password.encode()
    salt = pass_key.encode("latin-1")
    if cost >= 4:
        try:
            import bcrypt
        except ImportError:
            pass
        else:
            full = bcrypt.hashpw(secret, b"$2a$%02d$" % cost + bcrypt_base64(salt))
            return full[29:60].decode()
        if cost > _OWN_MAX_COST:
            raise ConfigError(_NEEDS_BCRYPT)
    # VICIdial's default pass_cost is 2, which bcrypt libraries refuse (they start at 4)
    # while Perl's Crypt::Eksblowfish, used by bp.pl, accepts it.
    return bcrypt_base64(eksblowfish(secret, salt, cost))[:31].decode()


def check_hashing(system: Sequence[tuple[Any, ...]]) -> None:
    """At start-up: a ``ConfigError`` when the dialer's ``system_settings`` ask for hashes this
    install cannot compute (bcrypt missing), rather than a failure at every login."""
    if not system or str(system[0][0]) != "1" or int(system[0][2] or 0) <= _OWN_MAX_COST:
        return
    try:
        import bcrypt  # noqa: F401
    except ImportError:
        raise ConfigError(_NEEDS_BCRYPT) from None


# -- the login -------------------------------------------------------------------------------


def _password_matches(password: str, user: tuple[Any, ...] | None, system: Any) -> bool:
    """Runs in a worker thread: a bcrypt hash takes milliseconds to a second."""
    hash_enabled, pass_key, pass_cost = system or ("0", "", 2)
    if str(hash_enabled) == "1":
        pass_key = str(pass_key or "")
        if len(pass_key) != 16:
            # bp.pl uses the key as the salt only when it has exactly 16 characters.
            log.warning("VICIdial pass_hash is on but pass_key is not 16 characters long")
            return False
        computed = vicidial_pass_hash(password, pass_key, int(pass_cost or 0))
        stored = str(user[2] or "") if user else ""
        return bool(stored) and hmac.compare_digest(computed.encode(), stored.encode())
    stored = str(user[1] or "") if user else ""
    return bool(stored) and hmac.compare_digest(password.encode(), stored.encode())


class VicidialLogins:
    """The ``logins`` of a VICIdial store opened with ``vicidial_auth``."""

    def __init__(self, store: VicidialStore) -> None:
        self._store = store

    async def verify(self, name: str, password: str) -> ApiUser | None:
        """The API user for a VICIdial login, or None (wrong password, inactive, no report
        rights). The result has ``password_hash`` "" and ``version`` 0: it is not an
        agentcdr user and cannot be edited."""
        if not name or not password:
            return None
        store = self._store
        async with store.read() as conn:
            users = await store.fetch_all(_USER_SQL, (name,), conn)
            system = await store.fetch_all(HASHING_SQL, (), conn)
        # The dialer's collation compares loosely (case, trailing spaces): only the user of
        # exactly this name may log in with it.
        user = next((u for u in users if u[0] == name), None)
        if not await asyncio.to_thread(
            _password_matches, password, user, system[0] if system else None
        ):
            return None
        assert user is not None  # a password never matches a missing user
        stored_name, _, _, active, level, view_reports, group = user
        if str(active) != "Y" or int(level or 0) < MIN_USER_LEVEL or str(view_reports) != "1":
            return None
        all_tenants, tenants = await _scope(store, str(group or ""))
        return ApiUser(
            name=str(stored_name),
            password_hash="",
            all_tenants=all_tenants,
            tenants=tenants,
            active=True,
            version=0,
        )


async def _scope(store: VicidialStore, group: str) -> tuple[bool, frozenset[str]]:
    if group.upper() == "ADMIN":
        return True, frozenset()
    rows = await store.fetch_all(_GROUP_SQL, (group,)) if group else []
    allowed = " ".join(str(r[0] or "") for r in rows).split()
    if any("-ALL-CAMPAIGNS-" in item.upper() for item in allowed):
        return True, frozenset()
    listed = {item.upper() for item in allowed if item != "-"}
    portfolios = {
        store.tenant_of(campaign_name, owner)[0]
        for campaign_id, campaign_name, owner in await store.campaigns()
        if campaign_id.upper() in listed or (group and owner.upper() == group.upper())
    }
    return False, frozenset(p for p in portfolios if p)


__all__ = ["VicidialLogins", "vicidial_pass_hash"]
