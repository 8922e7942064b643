"""Password hashing with argon2id (RFC 9106), parameters in one place."""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# OWASP Password Storage Cheat Sheet's argon2id configuration m=19 MiB, t=2, p=1. RFC 9106's
# low-memory option (m=64 MiB, t=3, p=4) cost 0.4-0.7 s per hash on the 2-core machines we
# deploy on (docs/benchmarks.md): every login would be a denial-of-service lever. Raising
# the cost later is transparent: hashes are upgraded at the next successful login.
TIME_COST = 2
MEMORY_COST_KIB = 19 * 1024
PARALLELISM = 1

_hasher = PasswordHasher(
    time_cost=TIME_COST,
    memory_cost=MEMORY_COST_KIB,
    parallelism=PARALLELISM,
    hash_len=32,
    salt_len=16,
    type=Type.ID,
)

MIN_LENGTH = 10


def password_problem(password: str) -> str | None:
    """Why a new password is refused, in Chinese; ``None`` when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"密码至少 {MIN_LENGTH} 位"
    if len(password) > 256:
        return "密码过长"
    kinds = sum(
        [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
    )
    if kinds < 2:
        return "密码须包含字母、数字、符号中的至少两类"
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


# A hash of a random password: verifying against it when the user does not exist keeps the
# response time of an unknown user equal to that of a wrong password.
DUMMY_HASH = _hasher.hash("not-a-real-password-7f3a")
