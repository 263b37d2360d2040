from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API"

    def ready(self):
        from jobs import registry

        from .ingest import INGEST

        registry.register(INGEST)
