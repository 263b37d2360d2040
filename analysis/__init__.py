"""Analysis of opinion scores: statistics, the Celery pipeline and the quality-control dashboards."""
