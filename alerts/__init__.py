"""Alerts: rules, lifecycle, notifications through the email outbox, and reports."""
