"""What every view under a campaign shares: the guard that loads the campaign for the method's action."""
from __future__ import annotations

from rest_framework import generics, mixins

from annotation.guards import CampaignAccess


class CampaignScopedApi(generics.GenericAPIView):
    """A view under /api/v1/campaigns/{slug}/: `self.campaign` is the campaign, loaded by the guard for
    the action the method needs (`campaign_actions`, see annotation.guards.method_action)."""

    permission_classes = [CampaignAccess]
    # The querysets' model, for the schema generator, which runs views without a campaign.
    schema_model = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.schema_model.objects.none()
        return self.campaign_queryset(self.campaign)

    def campaign_queryset(self, campaign):
        raise NotImplementedError


class CampaignScopedListApi(mixins.ListModelMixin, CampaignScopedApi):
    """A paginated, filtered list under a campaign (GET)."""

    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)


class CampaignScopedDetailApi(mixins.RetrieveModelMixin, CampaignScopedApi):
    """One record under a campaign (GET), found by its id among the campaign's."""

    lookup_url_kwarg = "pk"

    def get(self, request, *args, **kwargs):
        return self.retrieve(request, *args, **kwargs)
