"""Who is acting: passed explicitly to every service that reads or writes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Actor:
    name: str
    role: str  # admin, department, system, cli…
    department_id: int | None = None
    department_code: str | None = None
    channel: str = "api"

    @property
    def is_admin(self) -> bool:
        return self.role in ("admin", "system")


SYSTEM = Actor(name="system", role="system", channel="cli")


def cli_operator(name: str = "cli") -> Actor:
    """The operator at the server's console: acts with the credit office's authority."""
    return Actor(name=f"cli:{name}", role="admin", channel="cli")
