"""BM25 search over the tools' encyclopedia corpus (in memory, built once per corpus)."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from agentgym.envs.tools.world import Document

__all__ = ["DocumentIndex", "Hit"]

_WORD = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")
_STOP = frozenset("a an and are as at be by for from how in is it its of on or the to was were "
                  "what when where which who with".split())


def _terms(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP]


@dataclass(frozen=True)
class Hit:
    """One search result: the document and its BM25 score."""

    doc: Document
    score: float


class DocumentIndex:
    """Okapi BM25 over titles and texts (a title counts twice).

    Args:
        documents: The corpus.
        k1: Term-frequency saturation.
        b: Length normalisation (0: none, 1: full).
    """

    def __init__(self, documents: Sequence[Document], *, k1: float = 1.2, b: float = 0.75
                 ) -> None:
        self.documents = tuple(documents)
        self.k1, self.b = k1, b
        self._tf = [Counter(_terms(f"{d.title} {d.title} {d.text}")) for d in self.documents]
        self._length = [sum(tf.values()) for tf in self._tf]
        self._mean_length = sum(self._length) / max(1, len(self._length))
        df: Counter[str] = Counter()
        for tf in self._tf:
            df.update(tf.keys())
        n = len(self.documents)
        self._idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self._postings: dict[str, list[int]] = {}
        for i, tf in enumerate(self._tf):
            for term in tf:
                self._postings.setdefault(term, []).append(i)

    def search(self, query: str, k: int = 3) -> list[Hit]:
        """The ``k`` best documents for ``query`` (ties by corpus order); none when no term hits."""
        scores: dict[int, float] = {}
        for term in set(_terms(query)):
            idf = self._idf.get(term)
            if idf is None:
                continue
            for i in self._postings[term]:
                tf = self._tf[i][term]
                norm = self.k1 * (1 - self.b + self.b * self._length[i] / self._mean_length)
                scores[i] = scores.get(i, 0.0) + idf * tf * (self.k1 + 1) / (tf + norm)
        best = sorted(scores, key=lambda i: (-scores[i], i))[:k]
        return [Hit(self.documents[i], scores[i]) for i in best]
