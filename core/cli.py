"""The `yuqing` command. Subcommands live in their domain packages and load on first use."""

from __future__ import annotations

import os

# OpenBLAS threads spin against each other on busy cores and made model training up to 8x slower
# (scipy issue #23191) for identical results; it must be set before numpy/scipy are imported
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import importlib
import logging
import sys
from typing import Any

import click

from core import __version__
from core.config import ConfigError
from core.errors import UserError

# name -> "module:attribute"; loaded lazily so `yuqing normalize` does not import Scrapy or FastAPI
COMMANDS: dict[str, str] = {
    "init": "core.commands:init_cmd",
    "user": "core.commands:user_group",
    "token": "core.commands:token_group",
    "crawl": "crawlers.cli:crawl",
    "sources": "crawlers.cli:sources",
    "export": "core.cli:export_group",
    "normalize": "analysis.cli:normalize",
    "classify": "analysis.cli:classify",
    "train": "analysis.cli:train",
    "analyze": "analysis.cli:analyze",
    "alerts": "alerts.cli:alerts_group",
    "outbox": "alerts.cli:outbox_group",
    "report": "alerts.reports.cli:report_group",
    "serve": "api.cli:serve",
    "schedule": "api.cli:schedule_group",
    "run-once": "api.cli:run_once",
    "demo": "api.demo.cli:demo",
}

EXPORTS: dict[str, str] = {
    "posts": "crawlers.cli:export_posts",
    "alerts": "alerts.cli:export_alerts",
}


def _load(target: str) -> click.Command:
    module_name, attr = target.split(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr)


class LazyGroup(click.Group):
    """A click group whose subcommands are imported only when used."""

    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            try:
                return _load(self.lazy[cmd_name])
            except (ImportError, AttributeError) as exc:
                if (
                    isinstance(exc, ModuleNotFoundError)
                    and exc.name
                    and not exc.name.startswith(self.lazy[cmd_name].split(".")[0])
                ):
                    raise
                return _unavailable(cmd_name, exc)
        return super().get_command(ctx, cmd_name)


def _unavailable(name: str, exc: Exception) -> click.Command:
    @click.command(name=name, help="(not available in this build)")
    def cmd() -> None:
        raise UserError(f"`yuqing {name}` is not available in this build ({exc})")

    return cmd


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="yuqing")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def cli(verbose: bool) -> None:
    """舆情哨兵 yuqing: public-opinion monitoring for population and family-planning work."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@click.group(cls=LazyGroup, lazy=EXPORTS, name="export")
def export_group() -> None:
    """Export posts or alerts as JSON Lines, CSV or XLSX."""


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script: user mistakes become one-line errors."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    try:
        cli.main(args=argv, prog_name="yuqing", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("已取消 (aborted)", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ConfigError as exc:
        click.echo(f"Error: invalid settings: {exc}", err=True)
        sys.exit(2)
    except (OperationalError, ProgrammingError) as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        click.echo(
            f"Error: database problem: {reason} (is the database reachable and initialised? "
            "run `yuqing init`)",
            err=True,
        )
        sys.exit(3)
    except KeyboardInterrupt:
        click.echo("已中断 (interrupted)", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)
    except SystemExit:
        raise
    else:
        sys.exit(0)


if __name__ == "__main__":
    main()
