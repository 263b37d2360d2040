from django.apps import AppConfig
from django.db.backends.signals import connection_created


class AnnotationConfig(AppConfig):
    name = "annotation"
    verbose_name = "Annotation"

    def ready(self):
        from .store import statements

        connection_created.connect(statements.statements_forget, dispatch_uid="annotation.prepared_statements_forget")
