"""Core subcommands: init, user, token."""

from __future__ import annotations

import importlib
import sys

import click
from sqlalchemy.exc import OperationalError

from core.config import get_settings
from core.db import get_engine, session_scope
from core.errors import UserError
from core.models import ROLES

# steps other packages contribute to `yuqing init` (loaded lazily; skipped if absent)
INIT_STEPS = (
    "analysis.setup:load_defaults",
    "alerts.setup:load_defaults",
    "analysis.setup:ensure_model",
)


def _masked_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def run_init_steps(*, echo: bool = True, skip_model: bool = False) -> None:
    """Run the optional init steps of the other packages."""
    for target in INIT_STEPS:
        if skip_model and target.endswith(":ensure_model"):
            continue
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        step = getattr(module, attr, None)
        if step is not None:
            step(echo=echo)


@click.command(name="init")
@click.option("--skip-model", is_flag=True, help="Do not train the model if it is missing.")
def init_cmd(skip_model: bool) -> None:
    """Create or upgrade the database (Alembic) and load default data."""
    from core.migrate import upgrade

    settings = get_settings()
    engine = get_engine(settings)
    try:
        before, after = upgrade(engine)
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise UserError(
            f"cannot reach the database {_masked_url(settings.db_url)}: {reason}"
        ) from exc
    if before == after:
        click.echo(f"数据库已是最新 (schema at {after})")
    else:
        click.echo(f"数据库已升级 {before or '(empty)'} -> {after}")
    run_init_steps(skip_model=skip_model)
    click.echo(f"database: {_masked_url(settings.db_url)}")


def _read_password() -> str:
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise UserError("no password given on standard input")
    return password


@click.group(name="user")
def user_group() -> None:
    """Manage users."""


@user_group.command(name="add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="staff", show_default=True)
@click.option("--email", default="", help="Email address (for alert mail to on-duty staff).")
@click.option("--on-duty", is_flag=True, help="Receive urgent alert mail.")
def user_add(name: str, role: str, email: str, on_duty: bool) -> None:
    """Add a user; the password is read from standard input."""
    from core import users

    password = _read_password()
    with session_scope() as session:
        user = users.create_user(
            session=session, name=name, role=role, password=password, email=email
        )
        user.on_duty = on_duty
    click.echo(f"已添加用户 {name} ({role})")


@user_group.command(name="list")
def user_list() -> None:
    """List users."""
    from core import users

    with session_scope() as session:
        rows = users.list_users(session=session)
        if not rows:
            click.echo("(no users; add one with `yuqing user add NAME --role admin`)")
        for user in rows:
            state = "active" if user.active else "inactive"
            last = user.last_login_at.isoformat(timespec="minutes") if user.last_login_at else "-"
            click.echo(f"{user.name:<20} {user.role:<6} {state:<8} last login {last}")


@user_group.command(name="passwd")
@click.argument("name")
def user_passwd(name: str) -> None:
    """Set a user's password, read from standard input."""
    from core import users

    password = _read_password()
    with session_scope() as session:
        user = users.get_by_name(session=session, name=name)
        if user is None:
            raise UserError(f"no user named {name!r}")
        users.set_password(session=session, user=user, password=password)
    click.echo(f"已更新 {name} 的密码")


@click.group(name="token")
def token_group() -> None:
    """Manage API tokens."""


@token_group.command(name="create")
@click.argument("name")
@click.option("--label", default="", help="What the token is for.")
def token_create(name: str, label: str) -> None:
    """Create an API token for user NAME; the token is printed alone on the last line."""
    from core import users

    with session_scope() as session:
        user = users.get_by_name(session=session, name=name)
        if user is None:
            raise UserError(f"no user named {name!r}")
        token = users.create_token(session=session, user=user, name=label)
    click.echo(f"API token for {name} (shown once, store it safely):", err=True)
    click.echo(token)
