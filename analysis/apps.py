from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    name = "analysis"

    def ready(self):
        from jobs import registry

        from .export.stages import EXPORT
        from .ingest import INGEST
        from .job_stages import ANALYSIS

        registry.register(ANALYSIS)
        registry.register(EXPORT)
        registry.register(INGEST)

        from annotation.signals import annotator_withdrawn

        from .withdrawals import results_of_withdrawn_remove

        annotator_withdrawn.connect(results_of_withdrawn_remove, dispatch_uid="analysis.withdrawals")
