"""Schemathesis generates requests from /openapi.json: no input may cause a server error."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hsettings
from schemathesis.checks import not_a_server_error

from core import users
from core.models import User
from tests.api.conftest import Sample


@pytest.fixture
def api_token(session, sample: Sample) -> str:  # type: ignore[no-untyped-def]
    """A bearer token of the staff user."""
    token = users.create_token(
        session=session, user=session.get(User, sample.staff_id), name="schemathesis"
    )
    session.commit()
    return token


@pytest.fixture
def api_schema(app, api_token: str):  # type: ignore[no-untyped-def]
    """The app's schema, fetched with the token (the schema is not public)."""
    return schemathesis.openapi.from_asgi(
        "/openapi.json", app, headers={"Authorization": f"Bearer {api_token}"}
    )


def test_api_never_answers_with_a_server_error(api_schema, api_token: str) -> None:  # type: ignore[no-untyped-def]
    from hypothesis import given

    headers = {"Authorization": f"Bearer {api_token}"}
    tested = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        tested.append(operation.label)

        @hsettings(
            max_examples=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,
        )
        @given(case=operation.as_strategy())
        def check(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        check()
    assert len(tested) >= 11, tested
