from django.apps import AppConfig
from django.db.backends.signals import connection_created


class AnnotationConfig(AppConfig):
    name = "annotation"
    verbose_name = "Annotation"

    def ready(self):
        from . import services

        connection_created.connect(services.submit_statement_forget, dispatch_uid="annotation.submit_statement_forget")
