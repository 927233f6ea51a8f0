"""The in-process scheduler of `yuqing serve`: crawls, analysis, alerts, mail, reports."""
