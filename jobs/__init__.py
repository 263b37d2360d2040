"""The job runner: versioned job records, their stages chained on Celery, and each job's artifact files."""
