"""Random text matching a regular expression (for generated bench samples).

Walks the parse tree of Python's own regex parser; repeats are capped at 64 past
their minimum, anchors and lookarounds produce nothing. Enough for the token regexes
of secret-scanner rule generators, not a general tool.
"""

from __future__ import annotations

import random
import re._constants as C  # noqa: N812
import re._parser as P  # noqa: N812
import string

_ANY = string.ascii_letters + string.digits
_CATEGORIES = {C.CATEGORY_DIGIT: string.digits, C.CATEGORY_WORD: _ANY + "_",
               C.CATEGORY_SPACE: " ", C.CATEGORY_NOT_SPACE: _ANY, C.CATEGORY_NOT_DIGIT: "ab",
               C.CATEGORY_NOT_WORD: "-"}


class RegexGen:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def generate(self, pattern: str) -> str:
        return self._seq(P.parse(pattern))

    def _seq(self, items: object) -> str:
        return "".join(self._one(op, av) for op, av in items)  # type: ignore[attr-defined]

    def _one(self, op: object, av: object) -> str:
        if op is C.LITERAL:
            return chr(av)  # type: ignore[arg-type]
        if op is C.ANY:
            return self.rng.choice(_ANY)
        if op is C.IN:
            return self.rng.choice(self._charset(av))  # type: ignore[arg-type]
        if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            lo, hi, sub = av  # type: ignore[misc]
            n = self.rng.randint(lo, min(hi, lo + 64) if hi != C.MAXREPEAT else lo + 16)
            return "".join(self._seq(sub) for _ in range(n))
        if op is C.SUBPATTERN:
            return self._seq(av[-1])  # type: ignore[index]
        if op is C.BRANCH:
            return self._seq(self.rng.choice(av[1]))  # type: ignore[index]
        if op is C.CATEGORY:
            return self.rng.choice(_CATEGORIES.get(av, _ANY))  # type: ignore[call-overload]
        if op is C.ATOMIC_GROUP:
            return self._seq(av)
        return ""  # AT (anchors), ASSERT, ASSERT_NOT, GROUPREF...

    def _charset(self, items: list[tuple[object, object]]) -> str:
        chars: list[str] = []
        negate = False
        for op, av in items:
            if op is C.NEGATE:
                negate = True
            elif op is C.LITERAL:
                chars.append(chr(av))  # type: ignore[arg-type]
            elif op is C.RANGE:
                lo, hi = av  # type: ignore[misc]
                chars += [chr(c) for c in range(lo, hi + 1)]
            elif op is C.CATEGORY:
                chars += list(_CATEGORIES.get(av, _ANY))  # type: ignore[call-overload]
        if negate:
            return "".join(c for c in _ANY if c not in chars) or "a"
        return "".join(chars) or "a"
