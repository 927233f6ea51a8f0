"""Errors a user can fix; the command prints them as one line, never a traceback."""

import click


class UserError(click.ClickException):
    """A mistake in input, configuration or environment, explained in one line."""

    exit_code = 2
