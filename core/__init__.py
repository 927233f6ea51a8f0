"""Core: settings, database, users, audit log and the `yuqing` command."""

__version__ = "0.1.0"
