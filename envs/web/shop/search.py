"""BM25 search over the catalogue.

Each product is one document made of fields (title, product type, category, brand, attributes,
description). A term's frequency in a document is the weighted sum of its counts in the fields
(:data:`FIELD_WEIGHTS`, title highest) and the document length is the same weighted sum over all
its tokens; on these the usual Okapi BM25 applies::

    score(q, d) = Σ_{t ∈ q} idf(t) · tf(t, d)·(k1 + 1) / (tf(t, d) + k1·(1 − b + b·|d| / avgdl))
    idf(t) = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5))

(Lucene's non-negative idf.) A term counts once however often the query repeats it. Tokens are
lower-case runs of letters and digits (``16.9`` stays one token), with English stop words and the
words of a shopping request ("looking", "price", "dollars", ...) dropped and a light plural
stemmer applied (``boots`` → ``boot``, ``batteries`` → ``battery``). Every term's contributions
are computed once when the index is built, so a query costs a few array additions.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

import numpy as np

from agentgym.envs.web.shop.catalog import Catalog, Product
from agentgym.errors import ConfigError

__all__ = ["FIELD_WEIGHTS", "SearchIndex", "tokenize"]

#: Weight of each field in a document's term frequencies and length.
FIELD_WEIGHTS: dict[str, float] = {
    "title": 4.0, "product_type": 2.0, "category": 1.0, "brand": 2.0, "attributes": 2.0,
    "description": 1.0,
}
_TOKEN = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
_STOP = frozenset(
    "a an and are as at be but by for from has have i im in is it its looking m me my need "
    "of on or please s so some than that the their this to under us very want was we which "
    "will with would you your find buy get show price lower less dollars dollar cost costs "
    "should like".split()
)


def _stem(word: str) -> str:
    """A light plural stemmer, applied to documents and queries alike."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """The search terms of a text, in order (stop words dropped, plurals stemmed)."""
    return [_stem(w) for w in _TOKEN.findall(text.lower()) if w not in _STOP]


def _fields(product: Product) -> dict[str, str]:
    return {
        "title": product.title, "product_type": product.product_type,
        "category": product.category, "brand": product.brand,
        "attributes": " ".join(product.attributes), "description": product.description,
    }


class SearchIndex:
    """A BM25 index over the products of a catalogue.

    Args:
        catalog: The products to index.
        k1: Term-frequency saturation (> 0).
        b: Length normalisation, 0 (none) to 1 (full).
        field_weights: Weight of each field; defaults to :data:`FIELD_WEIGHTS`.

    Raises:
        ConfigError: A parameter is out of range or a field is unknown.
    """

    def __init__(self, catalog: Catalog, *, k1: float = 1.2, b: float = 0.75,
                 field_weights: dict[str, float] | None = None) -> None:
        weights = dict(FIELD_WEIGHTS if field_weights is None else field_weights)
        if k1 <= 0:
            raise ConfigError("k1", f"got {k1}, expected a positive number.", "the default is 1.2.")
        if not 0.0 <= b <= 1.0:
            raise ConfigError("b", f"got {b}, expected 0 to 1.", "the default is 0.75.")
        unknown = sorted(set(weights) - set(FIELD_WEIGHTS))
        if unknown:
            raise ConfigError.unknown_key("field_weights", unknown[0], FIELD_WEIGHTS)
        self.k1, self.b = k1, b
        self._pids = catalog.pids
        tfs, lengths = self._count(catalog, weights)
        self._postings = self._weigh(tfs, np.asarray(lengths, dtype=np.float64))

    @staticmethod
    def _count(catalog: Catalog, weights: dict[str, float]) -> tuple[list[Counter], list[float]]:
        """Weighted term frequencies and length of every document."""
        tfs, lengths = [], []
        for product in catalog:
            tf: Counter = Counter()
            for name, text in _fields(product).items():
                weight = weights.get(name, 0.0)
                for term in tokenize(text):
                    tf[term] += weight
            tfs.append(tf)
            lengths.append(sum(tf.values()))
        return tfs, lengths

    def _weigh(self, tfs: list[Counter],
               lengths: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per term: the documents holding it and its full BM25 contribution to each."""
        n = len(tfs)
        avgdl = float(lengths.mean()) if n and lengths.mean() > 0 else 1.0
        norm = self.k1 * (1.0 - self.b + self.b * lengths / avgdl)
        docs: dict[str, list[int]] = {}
        freqs: dict[str, list[float]] = {}
        for i, tf in enumerate(tfs):
            for term, f in tf.items():
                if f > 0:
                    docs.setdefault(term, []).append(i)
                    freqs.setdefault(term, []).append(f)
        postings = {}
        for term, idx in docs.items():
            ids = np.asarray(idx, dtype=np.int64)
            f = np.asarray(freqs[term], dtype=np.float64)
            idf = np.log(1.0 + (n - len(ids) + 0.5) / (len(ids) + 0.5))
            postings[term] = (ids, idf * f * (self.k1 + 1.0) / (f + norm[ids]))
        return postings

    def __len__(self) -> int:
        return len(self._pids)

    def scores(self, query: str) -> np.ndarray:
        """The BM25 score of every product (catalogue order) for ``query``."""
        scores = np.zeros(len(self._pids))
        for term in dict.fromkeys(tokenize(query)):
            posting = self._postings.get(term)
            if posting is not None:
                scores[posting[0]] += posting[1]
        return scores

    def search(self, query: str, *, k: int = 50) -> list[tuple[str, float]]:
        """The ``k`` best products for ``query``.

        Args:
            query: Free text.
            k: How many results at most (>= 1).

        Returns:
            ``(pid, score)`` pairs, best first (ties in catalogue order); only products with a
            positive score, so a query that matches nothing gives ``[]``.
        """
        if k < 1:
            raise ConfigError("k", f"got {k}, expected at least 1 result.", "pass k=50.")
        scores = self.scores(query)
        hits = np.flatnonzero(scores > 0)
        order = hits[np.lexsort((hits, -scores[hits]))][:k]
        return [(self._pids[i], float(scores[i])) for i in order]

    def terms(self) -> Iterable[str]:
        """Every term in the index (for diagnostics)."""
        return self._postings.keys()
