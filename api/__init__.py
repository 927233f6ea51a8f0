"""Web: FastAPI JSON API, Chinese HTML pages, the scheduler and the demo."""
