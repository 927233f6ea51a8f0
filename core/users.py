"""Users and API tokens: create, list, authenticate."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.db import utcnow
from core.errors import UserError
from core.models import ROLES, ApiToken, User
from core.security import (
    MIN_PASSWORD_LENGTH,
    hash_password,
    hash_token,
    new_token,
    verify_password,
)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password too short: at least {MIN_PASSWORD_LENGTH} characters")


def get_by_name(*, session: Session, name: str) -> User | None:
    """The user with this login name, if any."""
    return session.scalar(select(User).where(User.name == name))


def create_user(
    *,
    session: Session,
    name: str,
    role: str,
    password: str,
    email: str = "",
    display_name: str = "",
    actor: User | None = None,
) -> User:
    """Add a user with an argon2 password hash; refuses duplicates and bad roles."""
    name = name.strip()
    if not name or len(name) > 64 or any(c.isspace() for c in name):
        raise UserError("user name must be 1-64 characters without spaces")
    if role not in ROLES:
        raise UserError(f"role must be one of: {', '.join(ROLES)}")
    _check_password(password)
    if get_by_name(session=session, name=name):
        raise UserError(f"user {name!r} already exists")
    user = User(
        name=name,
        role=role,
        password_hash=hash_password(password),
        email=email,
        display_name=display_name or name,
    )
    session.add(user)
    session.flush()
    audit.record(
        session=session,
        user=actor,
        action="user.create",
        entity_type="user",
        entity_id=user.id,
        after={"name": name, "role": role},
    )
    return user


def list_users(*, session: Session) -> list[User]:
    """All users, by name."""
    return list(session.scalars(select(User).order_by(User.name)))


def authenticate(*, session: Session, name: str, password: str) -> User | None:
    """The active user with this name and password, or None."""
    user = get_by_name(session=session, name=name)
    if user is None or not user.active or not verify_password(user.password_hash, password):
        return None
    user.last_login_at = utcnow()
    return user


def set_password(*, session: Session, user: User, password: str, actor: User | None = None) -> None:
    """Replace a user's password."""
    _check_password(password)
    user.password_hash = hash_password(password)
    audit.record(
        session=session, user=actor, action="user.password", entity_type="user", entity_id=user.id
    )


def update_user(
    *,
    session: Session,
    user: User,
    actor: User | None = None,
    role: str | None = None,
    active: bool | None = None,
    email: str | None = None,
    on_duty: bool | None = None,
) -> User:
    """Change a user's role, active flag, email or on-duty flag, audited."""
    before = {
        "role": user.role,
        "active": user.active,
        "email": user.email,
        "on_duty": user.on_duty,
    }
    if role is not None:
        if role not in ROLES:
            raise UserError(f"role must be one of: {', '.join(ROLES)}")
        user.role = role
    if active is not None:
        user.active = active
    if email is not None:
        user.email = email
    if on_duty is not None:
        user.on_duty = on_duty
    after = {"role": user.role, "active": user.active, "email": user.email, "on_duty": user.on_duty}
    audit.record(
        session=session,
        user=actor,
        action="user.update",
        entity_type="user",
        entity_id=user.id,
        before=before,
        after=after,
    )
    return user


def create_token(*, session: Session, user: User, name: str = "") -> str:
    """Create an API token for the user; returns the token, storing only its hash."""
    token = new_token()
    session.add(
        ApiToken(user_id=user.id, name=name, token_hash=hash_token(token), prefix=token[:8])
    )
    audit.record(
        session=session,
        action="token.create",
        entity_type="user",
        entity_id=user.id,
        after={"name": name, "prefix": token[:8]},
    )
    return token


def user_for_token(*, session: Session, token: str) -> User | None:
    """The active user owning this unrevoked token, or None."""
    row = session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == hash_token(token), ApiToken.revoked.is_(False)
        )
    )
    if row is None or not row.user.active:
        return None
    row.last_used_at = utcnow()
    return row.user
