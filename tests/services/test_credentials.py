"""Passwords, keys and tokens (graphql_api/security.py), rule by rule.

Tests are ordered cheapest first (argon2 last), so that a mutant is found
without hashing where it can be.

Each check here is one that an attacker would probe: the password length
bounds, a token of the wrong type, an expired or foreign token, a missing
claim, a malformed Authorization header, the key file's mode.
"""

from __future__ import annotations

import dataclasses
import stat
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest

from core.errors import BadUserInput, Unauthenticated
from core.secret_files import load_or_create_secret
from services.credentials import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    TokenCodec,
    bearer_token,
    check_password_strength,
    hash_password,
    normalize_username,
    verify_password,
)

SECRET = "s" * 48
USER = uuid.UUID("12345678-1234-5678-1234-567812345678")


def codec(secret: str = SECRET) -> TokenCodec:
    return TokenCodec(secret, timedelta(minutes=5), timedelta(days=7))


def test_usernames_are_trimmed_and_lowered() -> None:
    assert normalize_username("  Ada.L-ovelace_1 ") == "ada.l-ovelace_1"


@pytest.mark.parametrize("raw", ["abc", "a" * 64, "0a_"])
def test_usernames_within_the_rules_pass(raw: str) -> None:
    assert normalize_username(raw) == raw


@pytest.mark.parametrize("raw", ["ab", "a" * 65, "_abc", ".abc", "a b c", "abc/", "ab\u00e9"])
def test_usernames_breaking_the_rules_are_refused(raw: str) -> None:
    with pytest.raises(BadUserInput, match="Usernames are 3 to 64"):
        normalize_username(raw)


def test_password_length_bounds() -> None:
    assert (MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH) == (10, 1024)
    check_password_strength("p" * MIN_PASSWORD_LENGTH)
    check_password_strength("p" * MAX_PASSWORD_LENGTH)
    with pytest.raises(BadUserInput, match="at least 10"):
        check_password_strength("p" * (MIN_PASSWORD_LENGTH - 1))
    with pytest.raises(BadUserInput, match="at most 1024"):
        check_password_strength("p" * (MAX_PASSWORD_LENGTH + 1))


def test_an_explicit_secret_wins(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("from-file")
    assert load_or_create_secret("explicit", key_file) == "explicit"


def test_a_secret_is_generated_once_private_and_then_reused(tmp_path: Path) -> None:
    key_file = tmp_path / "deep" / "er" / "key"
    first = load_or_create_secret(None, key_file)
    assert len(first) == 64  # 48 random bytes
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_or_create_secret(None, key_file) == first
    assert load_or_create_secret("", key_file) == first


def test_a_given_generated_secret_is_the_one_written(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    assert load_or_create_secret(None, key_file, generated="chosen") == "chosen"
    assert key_file.read_text() == "chosen"


def test_a_stored_secret_is_read_without_surrounding_white_space(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("  stored\n")
    assert load_or_create_secret(None, key_file) == "stored"


@pytest.mark.parametrize(
    ("kind", "ttl"), [("access", timedelta(minutes=5)), ("refresh", timedelta(days=7))]
)
def test_issued_tokens_decode_to_their_claims(kind: Any, ttl: timedelta) -> None:
    before = datetime.now(UTC)
    token, claims = codec().issue(USER, kind, family="fam-1")
    decoded = codec().decode(token, kind)
    assert decoded.user_id == USER and decoded.token_type == kind
    assert decoded.jti == claims.jti and len(claims.jti) == 32
    assert decoded.family == "fam-1"
    assert before + ttl - timedelta(seconds=2) <= claims.expires_at <= datetime.now(UTC) + ttl
    assert abs(decoded.expires_at - claims.expires_at) < timedelta(seconds=1)
    payload = jwt.decode(token, SECRET, algorithms=["HS256"], issuer="scriptbox")
    assert payload["iat"] <= payload["exp"] - ttl.total_seconds() + 1
    assert payload["sub"] == str(USER) and payload["typ"] == kind


def test_a_secret_written_by_another_process_meanwhile_is_the_one_used(tmp_path: Path) -> None:
    class WrittenJustAfterTheCheck(type(tmp_path)):  # type: ignore[misc]
        """The race of two first starts: the file appears between the
        exists() check and the exclusive create."""

        def exists(self, *, follow_symlinks: bool = True) -> bool:
            return False

    key_file = tmp_path / "key"
    key_file.write_text("theirs\n")
    assert load_or_create_secret(None, WrittenJustAfterTheCheck(key_file)) == "theirs"
    assert key_file.read_text() == "theirs\n"


def test_claims_cannot_be_changed_after_decoding() -> None:
    token, _ = codec().issue(USER, "access")
    claims = codec().decode(token, "access")
    with pytest.raises(dataclasses.FrozenInstanceError):
        claims.token_type = "refresh"  # type: ignore[misc]


def test_a_token_without_family_has_none() -> None:
    token, _ = codec().issue(USER, "access")
    assert "fam" not in jwt.decode(token, SECRET, algorithms=["HS256"], issuer="scriptbox")
    assert codec().decode(token, "access").family is None


def test_each_token_has_its_own_id() -> None:
    assert codec().issue(USER, "access")[1].jti != codec().issue(USER, "access")[1].jti


@pytest.mark.parametrize(("issued", "expected"), [("access", "refresh"), ("refresh", "access")])
def test_a_token_of_the_other_type_is_refused(issued: Any, expected: Any) -> None:
    token, _ = codec().issue(USER, issued)
    with pytest.raises(Unauthenticated, match=f"not an {expected} token"):
        codec().decode(token, expected)


def test_an_expired_token_is_refused_as_expired() -> None:
    token, _ = TokenCodec(SECRET, timedelta(seconds=-60), timedelta(days=1)).issue(USER, "access")
    with pytest.raises(Unauthenticated, match="expired"):
        codec().decode(token, "access")


def test_a_token_signed_with_another_key_is_refused() -> None:
    token, _ = codec("another key" * 4).issue(USER, "access")
    with pytest.raises(Unauthenticated, match="not valid"):
        codec().decode(token, "access")


def _forged(**claims: Any) -> str:
    payload = {
        "sub": str(USER),
        "typ": "access",
        "jti": "j",
        "iss": "scriptbox",
        "exp": int((datetime.now(UTC) + timedelta(minutes=5)).timestamp()),
    }
    payload.update(claims)
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, SECRET, "HS256")


@pytest.mark.parametrize(
    "claims",
    [{"iss": "elsewhere"}, {"sub": "not-a-uuid"}, {"exp": None}, {"sub": None}, {"typ": None}],
    ids=["issuer", "subject", "no exp", "no sub", "no typ"],
)
def test_forged_or_incomplete_tokens_are_refused(claims: dict[str, Any]) -> None:
    assert codec().decode(_forged(), "access").user_id == USER
    with pytest.raises(Unauthenticated, match="not valid"):
        codec().decode(_forged(**claims), "access")


def test_an_unsigned_token_is_refused() -> None:
    header = jwt.utils.base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
    body = _forged().split(".")[1]
    with pytest.raises(Unauthenticated, match="not valid"):
        codec().decode(f"{header}.{body}.", "access")


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("  BEARER   abc  ", "abc"),
        (None, None),
        ("", None),
        ("Bearer", None),
        ("Bearer    ", None),
        ("Basic abc", None),
        ("Bearerabc", None),
        ("Token abc", None),  # sorts after "bearer"
        ("Digest abc", None),
    ],
)
def test_bearer_tokens_are_read_from_the_header(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


def test_the_right_password_verifies_and_a_wrong_one_does_not() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "correct horse") is True
    assert verify_password(stored, "correct horsf") is False


def test_an_unknown_user_never_verifies() -> None:
    assert verify_password(None, "anything at all") is False


def test_a_broken_stored_hash_does_not_verify() -> None:
    assert verify_password("not-a-hash", "correct horse") is False


def test_a_password_over_the_maximum_is_refused_before_hashing() -> None:
    longest = "p" * MAX_PASSWORD_LENGTH
    assert verify_password(hash_password(longest), longest) is True
    too_long = "p" * (MAX_PASSWORD_LENGTH + 1)
    assert verify_password(hash_password(too_long), too_long) is False
