"""Campaigns: list and create, read and edit, open and close, progress, members."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from annotation import access, selectors, services
from annotation.access import Action
from annotation.errors import ApplicationError
from annotation.models import Campaign, CampaignMembership

from .. import filters
from ..schema import ErrorSerializer
from ..serializers import (
    CampaignCreateSerializer,
    CampaignSerializer,
    CampaignStatusSerializer,
    CampaignWriteSerializer,
    MemberSerializer,
    MemberWriteSerializer,
)
from .base import CampaignScopedApi, CampaignScopedListApi


TAKEN = OpenApiResponse(ErrorSerializer, description="The slug is taken.")
LAST_OWNER = OpenApiResponse(ErrorSerializer, description="The campaign would be left without an owner.")


def _listed(request, campaign: Campaign) -> Campaign:
    """The campaign again, with the user's role and its consent version, as the list shows it."""
    return selectors.campaigns_listed(Campaign.objects.filter(pk=campaign.pk), request.user).get()


@extend_schema_view(get=extend_schema(summary="The campaigns you may view"), post=extend_schema(summary="Create a campaign (you become its owner)"))
class CampaignListCreateApi(generics.ListAPIView):
    """The campaigns you may view; a new campaign (you become its owner)."""

    permission_classes = [IsAuthenticated]
    serializer_class = CampaignSerializer
    filterset_class = filters.CampaignFilter
    ordering_fields = ["slug", "title", "created_at"]

    def get_queryset(self):
        return selectors.campaigns_listed(access.campaigns_visible(self.request.user), self.request.user)

    @extend_schema(request=CampaignCreateSerializer, responses={201: CampaignSerializer, 409: TAKEN})
    def post(self, request):
        if not access.can_create_campaign(request.user):
            raise ApplicationError("forbidden", f"Your account lacks the permission {access.CREATE_PERMISSION} needed to create campaigns.", status=403)
        data = CampaignCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        campaign = services.campaign_create(owner=request.user, **data.validated_data)
        return Response(CampaignSerializer(_listed(request, campaign), context={"request": request}).data, status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(summary="A campaign's settings"), patch=extend_schema(summary="Change a campaign's settings (owners)"))
class CampaignDetailApi(CampaignScopedApi):
    """One campaign's settings; change them (owners)."""

    serializer_class = CampaignSerializer

    def get(self, request, slug):
        return Response(self.get_serializer(_listed(request, self.campaign)).data)

    @extend_schema(request=CampaignWriteSerializer, responses=CampaignSerializer)
    def patch(self, request, slug):
        data = CampaignWriteSerializer(self.campaign, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        campaign = services.campaign_update(campaign=self.campaign, **data.validated_data)
        return Response(self.get_serializer(_listed(request, campaign)).data)


class _CampaignOpenSetApi(CampaignScopedApi):
    serializer_class = CampaignSerializer
    campaign_actions = {"POST": Action.CHANGE}
    is_open: bool

    @extend_schema(request=None, responses=CampaignSerializer)
    def post(self, request, slug):
        services.campaign_open_set(campaigns=[self.campaign], is_open=self.is_open)
        return Response(self.get_serializer(_listed(request, self.campaign)).data)


class CampaignOpenApi(_CampaignOpenSetApi):
    """Open the campaign to new annotators (owners)."""

    is_open = True


class CampaignCloseApi(_CampaignOpenSetApi):
    """Close the campaign to new annotators; those in a session may finish it (owners)."""

    is_open = False


class CampaignStatusApi(CampaignScopedApi):
    """Progress: qualified ratings per video against the target, sessions, disqualifications, redo share."""

    serializer_class = CampaignStatusSerializer

    def get(self, request, slug):
        return Response(self.get_serializer(selectors.campaign_status(self.campaign).as_dict()).data)


@extend_schema_view(get=extend_schema(summary="The campaign's members (owners)"), post=extend_schema(summary="Add a member or change their role (owners)"))
class CampaignMemberListApi(CampaignScopedListApi):
    """The campaign's researchers and their roles; add one or change a role (owners)."""

    serializer_class = MemberSerializer
    schema_model = CampaignMembership
    campaign_actions = {"GET": Action.MANAGE, "POST": Action.MANAGE}
    ordering_fields = ["created_at", "role"]

    def campaign_queryset(self, campaign):
        return campaign.memberships.select_related("user").order_by("id")

    @extend_schema(request=MemberWriteSerializer, responses={200: MemberSerializer, 409: LAST_OWNER})
    def post(self, request, slug):
        data = MemberWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.membership_set(campaign=self.campaign, user=data.validated_data["username"], role=data.validated_data["role"])
        return Response(self.get_serializer(membership).data)


class CampaignMemberDetailApi(CampaignScopedApi):
    """Take a researcher out of the campaign (owners; never its last owner)."""

    serializer_class = MemberSerializer
    campaign_actions = {"DELETE": Action.MANAGE}

    @extend_schema(responses={204: None, 409: LAST_OWNER})
    def delete(self, request, slug, username):
        user = get_object_or_404(get_user_model(), **{get_user_model().USERNAME_FIELD: username})
        services.membership_remove(campaign=self.campaign, user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)
