"""File keys and names (engine/files.py), each rule at its edge.

A file's key becomes a storage path and, flattened, a file name in a run's
`/job/in/`: no key may climb out of its prefix, hide as a dot file, carry
characters a shell or a file system reads specially, or grow without bound.
"""

from __future__ import annotations

import pytest

from core.errors import BadUserInput
from services.files import MAX_KEY, MAX_SEGMENT, content_type_for, file_key, sanitize_segment


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("report.csv", "report.csv"),
        ("../../etc/passwd", "etc_passwd"),
        ("..", "file"),
        ("", "file"),
        ("._", "file"),
        (".hidden", "hidden"),
        ("name.", "name"),
        ("__x__", "x"),
        ("-dash-", "-dash-"),
        ("a  b;c", "a_b_c"),
        ("é.txt", "e.txt"),
        ("ﬁle.txt", "file.txt"),
        ("日本.txt", "txt"),
    ],
)
def test_a_segment_keeps_only_safe_characters(raw: str, safe: str) -> None:
    assert sanitize_segment(raw) == safe


def test_a_segment_is_cut_at_its_maximum_length() -> None:
    assert MAX_SEGMENT == 128
    assert sanitize_segment("s" * MAX_SEGMENT) == "s" * MAX_SEGMENT
    assert sanitize_segment("s" * (MAX_SEGMENT + 1)) == "s" * MAX_SEGMENT


@pytest.mark.parametrize(
    ("prefix", "filename", "key"),
    [
        (None, "data.json", "data.json"),
        ("", "data.json", "data.json"),
        ("in/2026", "data.json", "in/2026/data.json"),
        ("a//b/ /", "c.txt", "a/b/c.txt"),
        ("../../", "x", "file/file/x"),
        (None, "C:\\Users\\me\\x.txt", "x.txt"),
        (None, "dir/sub/y.txt", "y.txt"),
        ("p q", "r s", "p_q/r_s"),
    ],
)
def test_a_key_is_its_prefixs_safe_segments_and_the_files_base_name(
    prefix: str | None, filename: str, key: str
) -> None:
    assert file_key(prefix, filename) == key


# 510 characters of segments no longer than MAX_SEGMENT: with "/" and a
# one-character name, exactly MAX_KEY.
LONG_PREFIX = "/".join(["p" * 127] * 3 + ["q" * 126])


def test_a_key_of_the_maximum_length_is_accepted() -> None:
    assert MAX_KEY == 512
    assert len(file_key(LONG_PREFIX, "n")) == MAX_KEY


def test_a_key_one_character_too_long_is_refused() -> None:
    with pytest.raises(BadUserInput) as refused:
        file_key(LONG_PREFIX, "nn")
    assert refused.value.message == "File keys may be at most 512 characters."


@pytest.mark.parametrize(
    ("name", "given", "expected"),
    [
        ("a.csv", "text/plain", "text/plain"),
        ("a.csv", None, "text/csv"),
        ("a.csv", "", "text/csv"),
        ("a.csv", "application/octet-stream", "text/csv"),
        ("a.csv", "text/plaîn", "text/csv"),
        ("a.csv", "application/json", "application/json"),
        ("a.unknownext", None, "application/octet-stream"),
        ("noext", "application/octet-stream", "application/octet-stream"),
    ],
)
def test_the_content_type_is_the_clients_unless_it_says_nothing(
    name: str, given: str | None, expected: str
) -> None:
    assert content_type_for(name, given) == expected
