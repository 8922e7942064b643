"""Finding subjects by identity number without ever storing or logging the number."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.errors import Conflict, InvalidInput, NotFound
from xinyong.identity.numbers import (
    OTHER_PERSON_DOCUMENTS,
    IdNumberError,
    IdType,
    normalize_other_id,
    parse_credit_code,
    parse_id_type,
    parse_resident_id,
)
from xinyong.identity.protection import IdentityProtector
from xinyong.subjects.models import Subject, SubjectAlias, SubjectLink


def blind_index_for(protector: IdentityProtector, number: str, id_type: str | None = None) -> str:
    """Validate a number typed by someone and return its blind index.

    Without a type, an 18-character value is tried as a resident identity number, then as
    a credit code.
    """
    kind = parse_id_type(id_type or "")
    if id_type and kind is None:
        raise InvalidInput("未知的证件类型", code="unknown_id_type")
    try:
        if id_type is None and len(number.strip()) == 18 and not number.strip()[:17].isdigit():
            return protector.blind_index(IdType.CREDIT_CODE.value, parse_credit_code(number))
        if kind is IdType.RESIDENT_ID or kind is IdType.SOCIAL_SECURITY:
            # The social security card number is the resident identity number (DOMAIN §17).
            rid = parse_resident_id(number)
            return protector.blind_index(IdType.RESIDENT_ID.value, rid.number)
        if kind is IdType.CREDIT_CODE:
            return protector.blind_index(IdType.CREDIT_CODE.value, parse_credit_code(number))
        assert kind is not None
        return protector.blind_index(kind.value, normalize_other_id(number))
    except IdNumberError as exc:
        raise InvalidInput(exc.message, code=exc.code) from exc


def find_subject(
    session: Session, protector: IdentityProtector, number: str, id_type: str | None = None
) -> Subject | None:
    """The archive a number names: its own, or the person's whose alias (护照, 港澳台 permit…)
    it is."""
    index = blind_index_for(protector, number, id_type)
    return subject_by_index(session, index)


def is_other_document(id_type: str | None) -> bool:
    """Whether a certificate type names a person's other document (an alias)."""
    return parse_id_type(id_type or "") in OTHER_PERSON_DOCUMENTS


def archive_index(session: Session, index: str) -> str:
    """The blind index of the archive an alias belongs to (the index itself otherwise)."""
    person = session.scalar(
        select(Subject.id_index)
        .join(SubjectAlias, SubjectAlias.subject_id == Subject.id)
        .where(SubjectAlias.id_index == index)
    )
    return person or index


def subject_by_index(session: Session, index: str) -> Subject | None:
    subject = session.scalar(select(Subject).where(Subject.id_index == index))
    if subject is None:
        subject = session.scalar(
            select(Subject)
            .join(SubjectAlias, SubjectAlias.subject_id == Subject.id)
            .where(SubjectAlias.id_index == index)
        )
    return subject


def get_subject(session: Session, subject_id: int) -> Subject:
    subject = session.get(Subject, subject_id)
    if subject is None:
        raise NotFound("信用主体不存在", code="subject_not_found")
    return subject


def reveal_number(protector: IdentityProtector, subject: Subject) -> str:
    """The clear identity number, for the person themself or an authorized report only."""
    return protector.decrypt(subject.id_cipher, subject.id_index)


def links_of(session: Session, subject: Subject) -> list[SubjectLink]:
    column = (
        SubjectLink.organisation_id if subject.kind == "organisation" else SubjectLink.person_id
    )
    return list(session.scalars(select(SubjectLink).where(column == subject.id)))


def link_alias(
    session: Session,
    protector: IdentityProtector,
    person: Subject,
    id_type: str,
    number: str,
    *,
    source_batch_id: int | None = None,
) -> SubjectAlias:
    """Link a person's other document (护照, 港澳台 permit…) to their archive, as the import
    does when a row carries both; a lookup by the document then finds the person."""
    kind = parse_id_type(id_type)
    if kind not in OTHER_PERSON_DOCUMENTS or person.kind != "person":
        raise InvalidInput("只有自然人的护照、港澳台通行证等证件可关联到档案", code="not_an_alias")
    assert kind is not None
    try:
        clean = normalize_other_id(number)
    except IdNumberError as exc:
        raise InvalidInput(exc.message, code=exc.code) from exc
    index = protector.blind_index(kind.value, clean)
    alias = session.scalar(select(SubjectAlias).where(SubjectAlias.id_index == index))
    if alias is not None:
        if alias.subject_id != person.id:
            raise Conflict("该证件已关联到另一档案", code="alias_of_another")
        return alias
    alias = SubjectAlias(
        subject_id=person.id,
        id_type=kind.value,
        id_index=index,
        id_cipher=protector.encrypt(clean, index),
        source_batch_id=source_batch_id,
    )
    session.add(alias)
    session.flush()
    return alias


def ensure_person(
    session: Session, protector: IdentityProtector, number: str, name: str
) -> Subject:
    """The person's archive, created empty when they have no record yet (e.g. on sign-up)."""
    try:
        rid = parse_resident_id(number)
    except IdNumberError as exc:
        raise InvalidInput(exc.message, code=exc.code) from exc
    index = protector.blind_index(IdType.RESIDENT_ID.value, rid.number)
    subject = session.scalar(select(Subject).where(Subject.id_index == index))
    if subject is not None:
        return subject
    subject = Subject(
        kind="person",
        id_type=IdType.RESIDENT_ID.value,
        id_index=index,
        id_cipher=protector.encrypt(rid.number, index),
        name=name.strip(),
        birth_date=rid.birth_date,
        sex=rid.sex,
        region_code=rid.region_code,
    )
    session.add(subject)
    session.flush()
    return subject
