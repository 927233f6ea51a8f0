"""Import every domain's models so Base.metadata knows all tables."""

import alerts.models
import alerts.reports.models  # noqa: F401
import analysis.models  # noqa: F401
import api.scheduler.models  # noqa: F401
import core.models  # noqa: F401
import crawlers.models  # noqa: F401
