"""The generated world the tools work on: a shop's SQLite database and an encyclopedia corpus.

Everything is drawn from one seed, so every process builds the same world. The facts are
fictional (invented towns, towers, rivers and firms) so that an agent has to use the tools:
nothing it may have read elsewhere answers a question.

Database (``sqlite``):

* ``customers(id, name, city, joined)``: 240 customers in the world's 12 towns;
* ``products(id, name, category, price, weight_kg)``: 60 products in 6 categories;
* ``orders(id, customer_id, product_id, quantity, order_date)``: 2,400 orders, 2022-2024.

Corpus: one article per town, landmark, river and company, each stating its facts (heights in
metres, lengths in kilometres, opening and founding dates, the town it is in) among sentences
that carry none.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = ["Company", "Document", "Landmark", "River", "World", "build_world"]

_SYLLABLES = ("ar bel cor dan el fen gar hal is jor kel lin mor nor os pel quin ras sel tor ul "
              "var wen yor zan bro cal der fal gil hen").split()
_FIRST = ("Ada Bruno Clara Dario Elena Felix Greta Hugo Ines Jonas Kira Leon Mira Nils Olga "
          "Pavel Rosa Sven Tara Ugo Vera Wim Xena Yann Zoe").split()
_LANDMARK_KINDS = ("Tower", "Bridge", "Lighthouse", "Clock Tower", "Dam")
_COMPANY_KINDS = ("Works", "Mills", "Logistics", "Foods", "Instruments", "Textiles")
_CATEGORIES = {
    "garden": ("rake", "hose", "planter", "shears", "trowel", "watering can", "seed tray",
               "wheelbarrow", "sprinkler", "pruner"),
    "kitchen": ("kettle", "skillet", "blender", "toaster", "cutting board", "saucepan",
                "whisk", "colander", "tea pot", "knife set"),
    "office": ("desk lamp", "stapler", "monitor stand", "notebook", "desk chair", "paper tray",
               "whiteboard", "file cabinet", "pen set", "label maker"),
    "outdoor": ("tent", "sleeping bag", "camp stove", "lantern", "backpack", "cooler",
                "hammock", "trekking poles", "water filter", "folding chair"),
    "sports": ("yoga mat", "dumbbell", "jump rope", "tennis racket", "football", "bike helmet",
               "kettlebell", "swim goggles", "rowing gloves", "foam roller"),
    "toys": ("puzzle", "kite", "train set", "building blocks", "doll house", "board game",
             "yo-yo", "spinning top", "toy car", "marble run"),
}
_FILLER = (
    "Visitors often remark on the quiet streets around it.",
    "Local guides tell several stories about its early years.",
    "It appears on many postcards sold in the region.",
    "The surrounding area was farmland for most of the last century.",
    "A small museum nearby keeps old photographs and drawings.",
    "Its name comes from an old word used by the first settlers.",
    "Maintenance work is carried out every few years.",
    "School classes from neighbouring towns visit it in spring.",
)


@dataclass(frozen=True)
class Landmark:
    """A tower, bridge, lighthouse or dam: its height in metres and opening date."""

    name: str
    town: str
    height_m: float
    opened: str


@dataclass(frozen=True)
class River:
    """A river: its length in kilometres and the town at its mouth."""

    name: str
    length_km: float
    mouth_town: str


@dataclass(frozen=True)
class Company:
    """A firm: its founding date and head-office town."""

    name: str
    founded: str
    town: str


@dataclass(frozen=True)
class Document:
    """One article of the corpus."""

    doc_id: str
    title: str
    text: str


@dataclass(frozen=True)
class World:
    """The tools' world: towns, entities, the corpus and the database's setup script.

    Attributes:
        towns: Town names.
        landmarks / rivers / companies: The corpus's entities with their true facts.
        documents: The corpus (one article per town and entity).
        sql_script: SQL that creates and fills the database (trusted setup, run once per env).
        customers: ``(id, name, city, joined)`` rows, as in the database.
        categories: Product categories.
    """

    towns: tuple[str, ...]
    landmarks: tuple[Landmark, ...]
    rivers: tuple[River, ...]
    companies: tuple[Company, ...]
    documents: tuple[Document, ...]
    sql_script: str
    customers: tuple[tuple[int, str, str, str], ...]
    categories: tuple[str, ...]


def _names(rng: np.random.Generator, n: int, syllables: tuple[int, int], taken: set[str]
           ) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        k = int(rng.integers(syllables[0], syllables[1] + 1))
        name = "".join(_SYLLABLES[i] for i in rng.integers(len(_SYLLABLES), size=k)).title()
        if name not in taken and len(name) >= 4:
            taken.add(name)
            out.append(name)
    return out


def _date(rng: np.random.Generator, first: dt.date, last: dt.date) -> str:
    return (first + dt.timedelta(days=int(rng.integers((last - first).days + 1)))).isoformat()


def _article(rng: np.random.Generator, facts: list[str]) -> str:
    filler = [_FILLER[i] for i in rng.choice(len(_FILLER), size=2, replace=False)]
    return " ".join([facts[0], filler[0], *facts[1:], filler[1]])


def _entities(rng: np.random.Generator) -> tuple[tuple[str, ...], list[Landmark], list[River],
                                                 list[Company]]:
    taken: set[str] = set()
    towns = tuple(_names(rng, 12, (2, 3), taken))
    landmarks = [
        Landmark(f"{base} {_LANDMARK_KINDS[i % len(_LANDMARK_KINDS)]}", towns[i % len(towns)],
                 float(round(rng.uniform(18, 420), 1)),
                 _date(rng, dt.date(1850, 1, 1), dt.date(2015, 12, 31)))
        for i, base in enumerate(_names(rng, 100, (2, 2), taken))]
    rivers = [River(f"{base} River", float(round(rng.uniform(40, 2400), 1)),
                    towns[int(rng.integers(len(towns)))])
              for base in _names(rng, 40, (2, 2), taken)]
    companies = [Company(f"{base} {_COMPANY_KINDS[i % len(_COMPANY_KINDS)]}",
                         _date(rng, dt.date(1900, 1, 1), dt.date(2020, 12, 31)),
                         towns[int(rng.integers(len(towns)))])
                 for i, base in enumerate(_names(rng, 60, (2, 3), taken))]
    return towns, landmarks, rivers, companies


def _documents(rng: np.random.Generator, towns: tuple[str, ...], landmarks: list[Landmark],
               rivers: list[River], companies: list[Company]) -> list[Document]:
    docs = []
    for t in towns:
        sights = [m.name for m in landmarks if m.town == t][:3]
        docs.append((t, _article(rng, [f"{t} is a town of the northern plain.",
                                       f"Its best-known sights include {', '.join(sights)}."])))
    for m in landmarks:
        docs.append((m.name, _article(rng, [
            f"The {m.name} stands in {m.town}.", f"It is {m.height_m:g} metres tall.",
            f"It was opened on {m.opened}."])))
    for r in rivers:
        docs.append((r.name, _article(rng, [
            f"The {r.name} flows across the plain.",
            f"It is {r.length_km:g} kilometres long.", f"It reaches the sea at {r.mouth_town}."])))
    for c in companies:
        docs.append((c.name, _article(rng, [
            f"{c.name} is a firm with its head office in {c.town}.",
            f"It was founded on {c.founded}."])))
    return [Document(f"doc-{i:04d}", title, text) for i, (title, text) in enumerate(docs)]


def _sql(rng: np.random.Generator, towns: tuple[str, ...]
         ) -> tuple[str, list[tuple[int, str, str, str]]]:
    def quote(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    lines = ["CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
             "city TEXT NOT NULL, joined DATE NOT NULL);",
             "CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
             "category TEXT NOT NULL, price REAL NOT NULL, weight_kg REAL NOT NULL);",
             "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL "
             "REFERENCES customers(id), product_id INTEGER NOT NULL REFERENCES products(id), "
             "quantity INTEGER NOT NULL, order_date DATE NOT NULL);"]
    customers, seen = [], set()
    while len(customers) < 240:
        name = f"{_FIRST[int(rng.integers(len(_FIRST)))]} {_names(rng, 1, (2, 2), set())[0]}"
        if name in seen:
            continue
        seen.add(name)
        row = (len(customers) + 1, name, towns[len(customers) % len(towns)],
               _date(rng, dt.date(2019, 1, 1), dt.date(2021, 12, 31)))
        customers.append(row)
        lines.append(f"INSERT INTO customers VALUES ({row[0]}, {quote(row[1])}, "
                     f"{quote(row[2])}, '{row[3]}');")
    pid = 0
    for category, items in _CATEGORIES.items():
        for item in items:
            pid += 1
            lines.append(f"INSERT INTO products VALUES ({pid}, {quote(item)}, "
                         f"{quote(category)}, {rng.uniform(4, 250):.2f}, "
                         f"{rng.uniform(0.1, 25):.2f});")
    for oid in range(1, 2401):
        lines.append(f"INSERT INTO orders VALUES ({oid}, {int(rng.integers(1, 241))}, "
                     f"{int(rng.integers(1, pid + 1))}, {int(rng.integers(1, 6))}, "
                     f"'{_date(rng, dt.date(2022, 1, 1), dt.date(2024, 12, 31))}');")
    return "\n".join(lines) + "\n", customers


@lru_cache(maxsize=4)
def build_world(seed: int = 0) -> World:
    """The world of ``seed`` (cached: every env of a process shares it)."""
    rng = np.random.default_rng(seed)
    towns, landmarks, rivers, companies = _entities(rng)
    documents = _documents(rng, towns, landmarks, rivers, companies)
    script, customers = _sql(rng, towns)
    return World(towns=towns, landmarks=tuple(landmarks), rivers=tuple(rivers),
                 companies=tuple(companies), documents=tuple(documents), sql_script=script,
                 customers=tuple(customers), categories=tuple(_CATEGORIES))
