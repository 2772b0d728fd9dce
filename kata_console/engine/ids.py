"""Sandbox and container IDs: the rule Kata checks them with, and the sources of the IDs
the engine makes itself (Kata's random ones, and reproducible ones for tests and demos).

Device IDs are 8 random bytes in hex (Go `newDeviceID`); exec IDs are UUIDs in Go. A
seeded source gives the same IDs run after run, so plans, tests and screenshots agree.
"""

from __future__ import annotations

import random
import re
import secrets

from kata_console.engine import errors as E

#: katautils `validCIDRegex`: one character is not enough (`+`)
ID_PATTERN = re.compile(E.VALID_CID_REGEX)
#: kata-console's own bound (Go has none): an ID becomes one path component, NAME_MAX
MAX_ID_LENGTH = 255


class InvalidIdError(E.EngineError):
    """A sandbox or container ID that Kata refuses, or that could not be a directory name."""


def verify_container_id(value: str) -> str:
    """Go `katautils.VerifyContainerID` (the shim's check of every new sandbox and
    container), with its texts."""
    if value == "":
        raise InvalidIdError(E.ID_BLANK)
    # fullmatch: Go's `$` is end of text, Python's also matches before a final newline
    if not ID_PATTERN.fullmatch(value):
        raise InvalidIdError(E.INVALID_ID)
    return value


def validate_id(kind: str, value: object) -> str:
    """Kata's ID rule (`verify_container_id`) and, after it, two checks of our own that
    keep an ID one safe path component: it must be a string (plans are JSON) and at most
    MAX_ID_LENGTH characters long."""
    if not isinstance(value, str):
        raise InvalidIdError(f"{kind} ID must be a string, not {type(value).__name__}")
    verify_container_id(value)
    if len(value) > MAX_ID_LENGTH:
        raise InvalidIdError(
            f"{kind} ID is {len(value)} characters long; kata-console keeps IDs to "
            f"{MAX_ID_LENGTH}, the longest directory name (Kata itself has no limit)"
        )
    return value


class RandomIds:
    """Cryptographic randomness, like Go's `crypto/rand`."""

    def token_hex(self, nbytes: int) -> str:
        return secrets.token_hex(nbytes)


class SeededIds:
    """Pseudo-random but reproducible for a given seed."""

    def __init__(self, seed: int | str = 0) -> None:
        self._rng = random.Random(seed)

    def token_hex(self, nbytes: int) -> str:
        return self._rng.getrandbits(nbytes * 8).to_bytes(nbytes, "big").hex()


class FixedIds:
    """Hands out the given IDs in order (then repeats the last): for collision tests."""

    def __init__(self, *tokens: str) -> None:
        if not tokens:
            raise ValueError("FixedIds needs at least one token")
        self._tokens = list(tokens)
        self.calls = 0

    def token_hex(self, nbytes: int) -> str:
        token = self._tokens[min(self.calls, len(self._tokens) - 1)]
        self.calls += 1
        return token
