"""Real-name verification (实名核验): binding a person's account to their identity number.

A production deployment plugs in a verifier that asks an authoritative source (公安人口库
身份核验, 电子社保卡, 支付宝/微信实名 …). It implements :class:`RealNameVerifier` and is
named in the setting ``XINYONG_REALNAME_VERIFIER`` as ``package.module:ClassName``; the
class is constructed without arguments and must be thread-safe.

The demo verifier accepts exactly the people of the demo city: the identity number must
belong to a person in the archive and the name must match the archive's name.
"""

from __future__ import annotations

import importlib
from typing import Protocol

from sqlalchemy.orm import Session

from xinyong.config import get_settings
from xinyong.errors import ConfigurationError
from xinyong.identity.protection import IdentityProtector
from xinyong.subjects.services import find_subject


class RealNameVerifier(Protocol):
    def verify(
        self, session: Session, protector: IdentityProtector, id_number: str, name: str
    ) -> bool:
        """Whether ``name`` is the real holder of ``id_number``. Never logs the number."""
        ...


class DocumentsVerifier(RealNameVerifier, Protocol):
    """A verifier whose source also knows the person's other documents (护照, 港澳台
    permits…): each is linked to the archive as an alias when the person signs up."""

    def other_documents(
        self, session: Session, protector: IdentityProtector, id_number: str
    ) -> list[tuple[str, str]]:
        """(证件类型, 证件号码) of the verified person's other documents."""
        ...


class DemoCityVerifier:
    """Accepts a person already in the archive whose name matches (the demo city's people)."""

    def verify(
        self, session: Session, protector: IdentityProtector, id_number: str, name: str
    ) -> bool:
        subject = find_subject(session, protector, id_number, "身份证")
        return subject is not None and subject.kind == "person" and subject.name == name.strip()


def configured_verifier() -> RealNameVerifier:
    spec = get_settings().realname_verifier
    if spec == "demo":
        return DemoCityVerifier()
    module_name, _, class_name = spec.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigurationError(f"无法加载实名核验组件“{spec}”") from exc
    verifier: RealNameVerifier = cls()
    return verifier
