"""`IdSource` implementations: Kata's random IDs, and reproducible ones for tests and demos.

Device IDs are 8 random bytes in hex (Go `newDeviceID`); exec IDs are UUIDs in Go. A
seeded source gives the same IDs run after run, so plans, tests and screenshots agree.
"""

from __future__ import annotations

import random
import secrets


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
