"""Users, bearer tokens and referral codes."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from materials.errors import Conflict, Invalid
from materials.models import ROLES, SELLER, ApiToken, User
from materials.platform.db import Database

# No look-alikes: no 0/O, 1/I/L. Codes are read aloud and typed from printed cards.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 7
CODE_RE = re.compile(f"^[{CODE_ALPHABET}]{{6,8}}$")
NAME_RE = re.compile(r"^[\w.\-\u4e00-\u9fff]{1,64}$")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_referral_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def is_referral_code(code: str) -> bool:
    return bool(CODE_RE.match(code))


def create_user(
    db: Database, name: str, role: str, password: str | None = None
) -> tuple[User, str]:
    """A new user and a fresh bearer token (shown once; only its hash is kept)."""
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}", field="role", rule="choice")
    if not NAME_RE.match(name):
        raise Invalid("name: 1-64 letters, digits, _ . - or Chinese", field="name", rule="format")
    for _attempt in range(10):
        try:
            return _insert_user(db, name, role, password)
        except IntegrityError as exc:
            if _name_taken(db, name):
                raise Conflict(f"user {name!r} exists", field="name", rule="unique") from exc
            # Otherwise a referral code collided: draw again.
    raise RuntimeError("could not draw a unique referral code")


def _insert_user(db: Database, name: str, role: str, password: str | None) -> tuple[User, str]:
    token = secrets.token_urlsafe(32)
    with db.transaction() as s:
        user = User(name=name, role=role)
        if role == SELLER:
            user.referral_code = new_referral_code()
        if password:
            user.password_hash = hash_password(password)
        s.add(user)
        s.flush()
        s.add(ApiToken(user_id=user.id, token_hash=hash_token(token)))
    return user, token


def _name_taken(db: Database, name: str) -> bool:
    with db.read() as s:
        return s.scalar(select(User.id).where(User.name == name)) is not None


def user_for_token(db: Database, token: str) -> User | None:
    """The token's user (detached from the session: readable after it closes)."""
    with db.read() as s:
        row = s.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
        return _detached(s, row.user if row else None)


def user_by_id(db: Database, user_id: int) -> User | None:
    with db.read() as s:
        return _detached(s, s.get(User, user_id))


def user_by_name(db: Database, name: str) -> User | None:
    with db.read() as s:
        return _detached(s, s.scalar(select(User).where(User.name == name)))


def _detached(s: Session, user: User | None) -> User | None:
    if user is not None:
        s.expunge(user)
    return user


def seller_by_code(s: Session, code: str) -> User | None:
    if not is_referral_code(code):
        return None
    return s.scalar(select(User).where(User.referral_code == code, User.role == SELLER))


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def check_password(user: User | None, password: str) -> bool:
    """Whether `password` is `user`'s. An unknown user costs one hash too (against a dummy made
    on first use, not at import), so a miss takes as long as a wrong password."""
    if user is None or not user.password_hash:
        check_password_hash(_dummy_hash(), password)
        return False
    return check_password_hash(user.password_hash, password)


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash("sucai-no-such-user")
