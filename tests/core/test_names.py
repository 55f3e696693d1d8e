"""Name and path rules (models/names.py), each at its edge.

Every folder and script name becomes part of a storage key and a path the
user sees, so each rule is pinned where it starts to bite: one character
under and over each limit, and each refused character class on its own.
"""

from __future__ import annotations

import pytest

from core.errors import BadUserInput
from core.languages import Language
from core.names import (
    MAX_NAME_LENGTH,
    MAX_PATH_LENGTH,
    infer_language,
    split_path,
    validate_name,
)


def test_a_name_of_the_maximum_length_is_accepted() -> None:
    assert validate_name("n" * MAX_NAME_LENGTH) == "n" * MAX_NAME_LENGTH
    assert MAX_NAME_LENGTH == 255


def test_a_name_one_character_too_long_is_refused() -> None:
    with pytest.raises(BadUserInput, match="at most 255"):
        validate_name("n" * (MAX_NAME_LENGTH + 1))


@pytest.mark.parametrize("raw", ["", " ", "\t \t"])
def test_empty_and_blank_names_are_refused(raw: str) -> None:
    with pytest.raises(BadUserInput, match="must not be empty"):
        validate_name(raw)


@pytest.mark.parametrize("raw", [" a", "a ", "a\t"])
def test_surrounding_white_space_is_refused(raw: str) -> None:
    with pytest.raises(BadUserInput, match="white space"):
        validate_name(raw)


@pytest.mark.parametrize("raw", ["a/b", "a\\b", "/", "\\"])
def test_separators_are_refused(raw: str) -> None:
    with pytest.raises(BadUserInput, match="must not contain '/'"):
        validate_name(raw)


@pytest.mark.parametrize("raw", [".", ".."])
def test_dot_segments_are_refused(raw: str) -> None:
    with pytest.raises(BadUserInput, match=r"must not be '\.' or '\.\.'"):
        validate_name(raw)


@pytest.mark.parametrize(
    "raw",
    ["a\x00b", "a\x1fb", "a\x7fb", "a\u200bb", "a\u2028b", "a\u2029b"],
    ids=["NUL", "C0", "DEL", "format (Cf)", "line separator", "paragraph separator"],
)
def test_control_and_invisible_characters_are_refused(raw: str) -> None:
    with pytest.raises(BadUserInput, match="control characters"):
        validate_name(raw)


@pytest.mark.parametrize("raw", ["...", ".hidden", "a.b", "name with spaces", "ünïcode"])
def test_ordinary_names_pass(raw: str) -> None:
    assert validate_name(raw) == raw


def test_names_are_normalised_to_nfc() -> None:
    decomposed = "e\u0301"
    assert validate_name(decomposed) == "\u00e9"


def test_the_subject_of_the_message_is_the_callers() -> None:
    with pytest.raises(BadUserInput, match=r"^Folder name must not be empty"):
        validate_name("", "Folder name")


def test_a_path_is_split_into_validated_segments() -> None:
    assert split_path("/geology/e\u0301/analysis.py/") == ["geology", "\u00e9", "analysis.py"]


def test_a_path_with_a_bad_segment_is_refused() -> None:
    with pytest.raises(BadUserInput, match=r"^Each path segment"):
        split_path("geology/../etc")
    with pytest.raises(BadUserInput, match=r"^Each path segment"):
        split_path("geology//etc")


def _path_of_length(length: int) -> str:
    segment = "s" * 200
    path = "/".join([segment] * (length // 201 + 1))[:length]
    return path.rstrip("/") + "x" * (length - len(path.rstrip("/")))


def test_a_path_of_the_maximum_length_is_accepted() -> None:
    path = _path_of_length(MAX_PATH_LENGTH)
    assert len(path) == MAX_PATH_LENGTH == 4096
    assert "".join(split_path(path)) == path.replace("/", "")


def test_a_path_one_character_too_long_is_refused() -> None:
    path = _path_of_length(MAX_PATH_LENGTH + 1)
    with pytest.raises(BadUserInput, match="at most 4096"):
        split_path(path)


@pytest.mark.parametrize(
    ("name", "language"),
    [
        ("a.py", Language.PYTHON),
        ("A.PY", Language.PYTHON),
        ("a.sh", Language.SHELL),
        ("B.Sh", Language.SHELL),
    ],
)
def test_the_language_follows_the_suffix(name: str, language: Language) -> None:
    assert infer_language(name, None) is language


def test_a_given_language_wins_over_the_suffix() -> None:
    assert infer_language("a.py", Language.SHELL) is Language.SHELL
    assert infer_language("notes", Language.PYTHON) is Language.PYTHON


@pytest.mark.parametrize("name", ["notes", "a.pyc", "a.py.txt", "sh"])
def test_a_name_without_a_known_suffix_needs_a_language(name: str) -> None:
    with pytest.raises(BadUserInput, match="Cannot tell the script's language"):
        infer_language(name, None)
