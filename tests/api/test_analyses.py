"""Analysis runs through the API: start one with parameters, follow its job, read its results."""
from __future__ import annotations

import pytest

from analysis import selectors
from analysis.models import AnalysisRun

from .conftest import api_client

pytestmark = pytest.mark.django_db


def test_an_analyst_starts_a_run_and_reads_the_results_the_dashboard_shows(world, django_capture_on_commit_callbacks):
    client = api_client(world, "analyst")
    url = f"/api/v1/campaigns/{world.campaign.slug}/analyses/"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"parameters": {"seed": 7, "consistency_repetitions": 3}}, format="json")
    assert response.status_code == 202, response.json()
    started = response.json()
    assert (started["version"], started["trigger"], started["parameters"]["seed"]) == (2, "api", 7)
    run = AnalysisRun.objects.get(job_id=started["job"])
    assert run.requested_by == world.users["analyst"] and run.status == "completed"

    detail = client.get(url + "2/").json()
    assert detail["status"] == "completed" and list(detail["stage_seconds"]) == list(selectors.run_stage_seconds(run))
    assert detail["results"] == selectors.run_results(run) and len(detail["results"]["videos"]["video"]) == 4
    assert detail["summary"] == run.summary and detail["parameters"]["consistency_repetitions"] == 3
    listed = client.get(url).json()
    assert [r["version"] for r in listed["results"]] == [2, 1]
    job = client.get(f"/api/v1/jobs/{started['job']}/").json()
    assert (job["kind"], job["status"], job["done"], job["total"]) == ("analysis", "completed", job["total"], len(selectors.run_stage_seconds(run)))


def test_parameters_out_of_range_or_unknown_are_refused_and_start_nothing(world):
    client = api_client(world, "owner")
    url = f"/api/v1/campaigns/{world.campaign.slug}/analyses/"
    for parameters, field in (({"confidence": 2}, "confidence"), ({"seed": -1}, "seed"), ({"consistency_sizes": ["x"]}, "consistency_sizes")):
        response = client.post(url, {"parameters": parameters}, format="json")
        assert response.status_code == 400 and response.json()["code"] == "invalid", parameters
        assert field in str(response.json()["fields"])
    assert AnalysisRun.objects.filter(campaign=world.campaign).count() == 1
    # Unknown keys are dropped by the serializer, not passed on: the stored parameters are the defaults.
    run = client.post(url, {"parameters": {"colour": "red"}}, format="json").json()
    assert "colour" not in run["parameters"] and run["parameters"]["seed"] == 0


def test_a_version_that_does_not_exist_is_not_found(world):
    response = api_client(world, "viewer").get(f"/api/v1/campaigns/{world.campaign.slug}/analyses/9/")
    assert response.status_code == 404 and "v9" in response.json()["error"]
