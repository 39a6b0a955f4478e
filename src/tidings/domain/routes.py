"""Which connection a message goes out through (DESIGN.md, Channels and providers).

The sandbox is the route of every channel until the account makes a connection for it:
a send element may name its `connection`; otherwise the account's default for the
channel (the connection most recently marked default) is the route; otherwise the
sandbox. A connection of provider `sandbox` is the sandbox too. A named connection that
was deleted since the flow was launched falls back to the default route.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

SANDBOX = "sandbox"


@dataclass(frozen=True)
class Routes:
    providers: Mapping[int, tuple[int, str]] = field(default_factory=dict)
    """Connection id -> (account, provider)."""
    defaults: Mapping[tuple[int, str], int] = field(default_factory=dict)
    """(account, channel) -> the default connection's id."""
    accounts: frozenset[int] = frozenset()
    """Accounts with any connection that is not the sandbox."""

    @classmethod
    def of(cls, rows: Iterable[tuple[int, int, str, tuple[str, ...], int | None]]) -> Routes:
        """From (id, account, provider, channels, default since) of every connection."""
        providers: dict[int, tuple[int, str]] = {}
        latest: dict[tuple[int, str], tuple[int, int]] = {}
        for connection, account, provider, channels, since in rows:
            providers[connection] = (account, provider)
            if since is None:
                continue
            for channel in channels:
                key = (account, channel)
                if key not in latest or (since, connection) > latest[key]:
                    latest[key] = (since, connection)
        defaults = {key: connection for key, (_, connection) in latest.items()}
        real = frozenset(a for a, p in providers.values() if p != SANDBOX)
        return cls(providers, defaults, real)

    def route(self, account: int, channel: str | None, named: int | None = None) -> int | None:
        """The connection a message of `account` on `channel` goes through; None: the
        sandbox. `named`: the element's own `connection`."""
        if account not in self.accounts:
            return None
        if named is not None:
            found = self.providers.get(named)
            if found is not None and found[0] == account:
                return None if found[1] == SANDBOX else named
        if channel is None:
            return None
        chosen = self.defaults.get((account, channel))
        if chosen is None or self.providers[chosen][1] == SANDBOX:
            return None
        return chosen
