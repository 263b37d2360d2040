from django.apps import AppConfig


class AnnotationConfig(AppConfig):
    name = "annotation"
    verbose_name = "Annotation"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from .access import researcher_session_shorten

        user_logged_in.connect(researcher_session_shorten, dispatch_uid="annotation.researcher_session_shorten")
