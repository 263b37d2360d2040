"""Pseudonymous names: stable, keyed per campaign and kind, unrelated to ids or content."""
from django.test import override_settings

from annotation import pseudonyms


def test_names_are_stable_keyed_and_do_not_show_the_id():
    first = pseudonyms.video_name(1, 42)
    assert first == pseudonyms.video_name(1, 42) and first.startswith("v") and len(first) == 17
    assert first != pseudonyms.video_name(2, 42) != pseudonyms.video_name(1, 43)
    assert pseudonyms.annotator_name(1, 42)[1:] != first[1:13] and len(pseudonyms.annotator_name(1, 42)) == 13
    with override_settings(SECRET_KEY="another-deployment-key"):
        assert pseudonyms.video_name(1, 42) != first
