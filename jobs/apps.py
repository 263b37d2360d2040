from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"

    def ready(self):
        # The one place that wires the Celery queue into the services: `services` never imports
        # `tasks` (tasks call services), so the default way to queue a new job is handed over here.
        from . import services, tasks

        services.enqueue_default_set(tasks.enqueue_job)
