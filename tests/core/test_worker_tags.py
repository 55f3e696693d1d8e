"""The worker tag grammar (core/worker_tags.py), a pure unit: what
SCRIPTBOX_WORKER_TAGS accepts, and what a run's `target` may be. The same
grammar on both sides, so any tag a worker carries can be asked for."""

from __future__ import annotations

import pytest

from core.errors import BadUserInput
from core.worker_tags import checked_tag, checked_target, parse_worker_tags, tag_problem

GOOD = ["gpu", "eu-west-1", "host.example.org", "rack:7", "A_1", "x" * 128]
BAD = ["", " gpu", "gpu ", "two words", "-x", ".x", "a/b", "a,b", "é", "x" * 129, "a\nb"]


@pytest.mark.parametrize("tag", GOOD)
def test_good_tags_pass_both_sides(tag: str) -> None:
    assert tag_problem(tag) is None
    assert checked_tag(tag) == tag
    assert parse_worker_tags(tag) == (tag,)


@pytest.mark.parametrize("tag", BAD)
def test_bad_tags_are_refused_on_both_sides(tag: str) -> None:
    with pytest.raises(BadUserInput):
        checked_tag(tag)
    # The environment's list is split at commas and trimmed first.
    if tag and tag == tag.strip() and "," not in tag:
        with pytest.raises(ValueError, match="SCRIPTBOX_WORKER_TAGS"):
            parse_worker_tags(tag)


def test_the_environment_list_is_split_trimmed_and_deduplicated() -> None:
    assert parse_worker_tags("eu, gpu,,eu ,") == ("eu", "gpu")
    assert parse_worker_tags("") == ()
    with pytest.raises(ValueError, match="SCRIPTBOX_WORKER_TAGS"):
        parse_worker_tags("eu,bad tag")


def test_no_target_means_any_worker() -> None:
    assert checked_target(None) is None
    assert checked_target("gpu") == "gpu"
