"""The README's Python client, run as written against a live server: create, upload, watch, analyse, export."""
from __future__ import annotations

import re

import pandas as pd
import pytest
from rest_framework.authtoken.models import Token

from annotation.models import Rating

from ..analysis.factories import rated_campaign
from ..conftest import ROOT
from ..roles import member, researcher

MARKER = "<!-- api-client-example:"


def readme_example() -> str:
    """The Python block that follows the marker in README.md."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    after = text[text.index(MARKER):]
    return re.search(r"```python\n(.*?)```", after, re.S).group(1)


@pytest.mark.django_db(transaction=True)
def test_the_readme_client_works_against_a_live_server(live_server, video_library, settings, tmp_path):
    settings.JOBS_ARTIFACT_ROOT = tmp_path / "jobs"
    folder, _ = video_library
    example = {"__name__": "readme_example"}
    exec(compile(readme_example(), "README.md", "exec"), example)  # noqa: S102 - our own README's code
    user = researcher("scripter")
    dream = example["Dream"](live_server.url + "/api/v1", Token.objects.create(user=user).key)

    created = dream.campaign_create("my-study", "My study", consent_text="We keep your ratings.")
    assert (created["role"], created["consent_version"]) == ("owner", 1)

    metadata = tmp_path / "metadata.csv"
    metadata.write_text("file,identity_pair,method,is_real,gold_score\nregular_04.mp4,id0,fs0,false,\n"
                        "checker_01.mp4,id1,bad,false,1\nmissing.mp4,id2,fs2,false,\n", encoding="utf-8")
    report = dream.videos_upload("my-study", folder, metadata)
    assert report["created"] == ["checker_01.mp4", "regular_04.mp4"]
    assert [e["row"] for e in report["errors"]] == [4] and "missing.mp4" in report["errors"][0]["error"]

    rated = rated_campaign(n_annotators=6, n_videos=5)
    member(user, rated, "analyst")
    run = dream.analysis_run("rated", seed=1)
    assert run["status"] == "completed" and len(run["results"]["videos"]["video"]) == 5 and run["parameters"]["seed"] == 1

    saved = dream.export_download("rated", tmp_path / "export", splits=0)
    names = {path.relative_to(tmp_path / "export").as_posix() for path in saved}
    assert {"manifest.json", "ratings.csv", "ratings.parquet", "videos.csv", "sureal/dataset.json"} <= names
    assert len(pd.read_parquet(tmp_path / "export" / "ratings.parquet")) == Rating.objects.filter(
        video__campaign=rated, attempt__outcome="qualified").count()
    with pytest.raises(example["ApiError"], match="^404 not_found"):  # a campaign the scripter is not in
        dream.analysis_run("nobody-else")
