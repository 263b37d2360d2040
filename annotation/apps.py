from django.apps import AppConfig


class AnnotationConfig(AppConfig):
    name = "annotation"
    verbose_name = "Annotation"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import post_migrate

        from .access import researcher_session_shorten
        from .groups import groups_sync

        user_logged_in.connect(researcher_session_shorten, dispatch_uid="annotation.researcher_session_shorten")
        post_migrate.connect(groups_sync, dispatch_uid="annotation.groups_sync")
