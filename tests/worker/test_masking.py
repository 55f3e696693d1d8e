"""Secret masking in output (worker/masking.py), chunk boundaries included.

A secret printed by a script must never reach a subscriber or the stored
output, however the runner happened to cut the stream into chunks.
"""

from __future__ import annotations

import pytest

from worker.masking import MASK, OutputMasker


def _stream(masker: OutputMasker, chunks: list[str]) -> str:
    return "".join(masker.feed(chunk) for chunk in chunks) + masker.flush()


def test_a_secret_in_one_chunk_is_masked() -> None:
    assert OutputMasker(["hunter2"]).feed("pw=hunter2!") == f"pw={MASK}!"
    assert MASK == "***"


def test_every_occurrence_is_masked() -> None:
    assert OutputMasker(["s3"]).feed("s3 and s3") == f"{MASK} and {MASK}"


def test_every_secret_is_masked() -> None:
    assert OutputMasker(["one", "two"]).mask("one two three") == f"{MASK} {MASK} three"


@pytest.mark.parametrize("cut", range(1, 7))
def test_a_secret_split_across_two_chunks_is_masked(cut: int) -> None:
    text = "[abcdefg]"
    chunks = [text[: cut + 1], text[cut + 1 :]]
    assert _stream(OutputMasker(["abcdefg"]), chunks) == f"[{MASK}]"


def test_a_secret_split_into_single_characters_is_masked() -> None:
    assert _stream(OutputMasker(["abcdefg"]), list("xabcdefgx")) == f"x{MASK}x"


def test_a_possible_start_of_a_secret_is_held_back() -> None:
    masker = OutputMasker(["abcdefg"])
    assert masker.feed("x abc") == "x "
    assert masker.feed("de") == ""
    assert masker.feed("fg y") == f"{MASK} y"


def test_a_held_tail_that_is_no_secret_comes_out_with_the_next_chunk() -> None:
    masker = OutputMasker(["abcdefg"])
    assert masker.feed("x abc") == "x "
    assert masker.feed("zz") == "abczz"


def test_a_held_tail_comes_out_on_flush() -> None:
    masker = OutputMasker(["abcdefg"])
    assert masker.feed("x abcdef") == "x "
    assert masker.flush() == "abcdef"
    assert masker.flush() == ""


def test_the_longest_possible_start_of_any_secret_is_held() -> None:
    masker = OutputMasker(["zzzzzzab", "abcq"])
    # "ab" could start "abcq"; "zab"... could not start either, so only "ab" waits.
    assert masker.feed("zab") == "z"
    assert masker.feed("cq") == MASK


def test_a_shorter_start_does_not_hide_a_longer_one() -> None:
    masker = OutputMasker(["xy", "abcdef"])
    assert masker.feed("-abcd") == "-"
    assert masker.feed("ef") == MASK
    masker = OutputMasker(["abcdef", "dx"])
    assert masker.feed("-abcd") == "-"
    assert masker.feed("ef") == MASK


def test_the_longer_of_two_overlapping_secrets_is_masked_whole() -> None:
    assert OutputMasker(["abc", "abcdef"]).mask("xabcdefy") == f"x{MASK}y"
    assert OutputMasker(["abcdef", "abc"]).mask("xabcdefy") == f"x{MASK}y"


def test_empty_secrets_are_ignored() -> None:
    masker = OutputMasker(["", "tok"])
    assert masker.feed("a tok b") == f"a {MASK} b"
    assert OutputMasker([""]).feed("abc") == "abc"
    assert OutputMasker([""]).mask("abc") == "abc"


def test_without_secrets_text_passes_unchanged_and_nothing_is_held() -> None:
    masker = OutputMasker([])
    assert masker.feed("a") == "a"
    assert masker.mask("b") == "b"
    assert masker.flush() == ""


def test_mask_masks_a_whole_text() -> None:
    assert OutputMasker(["tok"]).mask("tok-tok") == f"{MASK}-{MASK}"


def test_a_secret_that_repeats_its_own_start_is_held_at_its_longest_start() -> None:
    # "aba" could start "abab", and so could its tail "a": the longer one must
    # be held, or "ab" goes out and the secret is shown split.
    masker = OutputMasker(["abab"])
    assert masker.feed("xaba") == "x"
    assert masker.feed("b") == MASK


def test_no_more_than_a_proper_start_of_a_secret_is_held() -> None:
    # After masking, the text can end in the whole secret only when the
    # secret is made of the mask's own characters; that is not a start of
    # one still to come beyond its longest proper prefix.
    masker = OutputMasker(["**"])
    assert masker.feed("x**") == "x**"
    assert masker.flush() == "*"
