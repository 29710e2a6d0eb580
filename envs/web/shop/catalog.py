"""The shop's catalogue: products generated from hand-written vocabularies and a seed.

Every product belongs to a product type (``hiking boot``) of a category (``shoes``), has a brand of
that category, 2–4 attributes from its type's list (``waterproof``, ``machine washable``), 0–3
option groups (``size``, ``color``, ``pack``, ...) with a few values each, a price in its type's
range, a rating, a description, feature bullets and reviews. Titles are unique: brand, model word,
the first attribute and the product type (``Northpeak Summit Waterproof Hiking Boot``).
:func:`generate_catalog` is a pure function of ``(n, seed)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from agentgym.errors import ConfigError, UnknownNameError

__all__ = [
    "CATEGORIES", "PRODUCT_TYPES", "Catalog", "Product", "TypeSpec", "article", "generate_catalog",
    "noun_phrase",
]


@dataclass(frozen=True)
class Product:
    """One product of the shop.

    Attributes:
        pid: Ten characters, ``'B0'`` and eight of ``0-9A-Z`` (like an ASIN).
        title: Unique in the catalogue.
        category: E.g. ``'shoes'``.
        product_type: E.g. ``'hiking boot'``.
        brand: E.g. ``'Northpeak'``.
        attributes: Lower-case properties, e.g. ``('waterproof', 'lightweight')``.
        options: Option group → the values offered, e.g. ``{'size': ('8', '9'), 'color': (...)}``;
            0–3 groups.
        price: Dollars.
        rating: Stars, 1.0–5.0 with one decimal.
        description: A few sentences.
        features: Bullet points.
        reviews: ``(stars, text)`` pairs.
    """

    pid: str
    title: str
    category: str
    product_type: str
    brand: str
    attributes: tuple[str, ...]
    options: dict[str, tuple[str, ...]]
    price: float
    rating: float
    description: str
    features: tuple[str, ...]
    reviews: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class TypeSpec:
    """A product type: its category, price range, attributes and option groups."""

    name: str
    category: str
    price: tuple[float, float]
    attributes: tuple[str, ...]
    options: tuple[str, ...]  # keys of _VALUES: 'group:list'


def _t(name: str, category: str, lo: float, hi: float, attrs: str, options: str = "") -> TypeSpec:
    return TypeSpec(name, category, (lo, hi), tuple(attrs.split("|")), tuple(options.split()))


#: Option values by ``group:list``; the group is the part before the colon.
_VALUES: dict[str, tuple[str, ...]] = {k: tuple(v.split("|")) for k, v in {
    "size:clothing": "x-small|small|medium|large|x-large|xx-large",
    "size:shoe": "6|6.5|7|7.5|8|8.5|9|9.5|10|10.5|11|12",
    "size:bedding": "twin|full|queen|king|california king",
    "size:gear": "small|medium|large|x-large",
    "size:watch": "40mm|41mm|44mm|45mm",
    "size:pan": "8 inch|10 inch|12 inch|14 inch",
    "size:pillow": "16 x 16 inch|18 x 18 inch|20 x 20 inch|24 x 24 inch",
    "size:volume": "3.4 fl oz|8 fl oz|12 fl oz|16.9 fl oz|33.8 fl oz",
    "size:oil": "250 ml|500 ml|750 ml|1 liter|3 liter",
    "size:food": "8 ounce|12 ounce|16 ounce|2 pound|5 pound",
    "size:petfood": "4 pound|8 pound|15 pound|30 pound",
    "size:litter": "10 pound|20 pound|28 pound|40 pound",
    "color:basic": "black|white|navy|grey|red|blue|green|beige|pink|olive|brown|purple",
    "color:tech": "black|white|silver|space grey|blue|rose gold|midnight green",
    "color:home": "white|grey|beige|sage green|navy|charcoal|blush pink|ivory",
    "color:outdoor": "black|olive|tan|grey|orange|forest green|navy",
    "color:lip": "ruby red|nude|coral|berry|mauve|rose pink|plum",
    "pack:small": "pack of 1|pack of 2|pack of 3|pack of 4",
    "pack:large": "pack of 1|pack of 3|pack of 6|pack of 12|pack of 24",
    "flavor:coffee": "original|french vanilla|hazelnut|caramel|mocha|dark roast",
    "flavor:tea": "jasmine|mint|lemon ginger|honey|matcha|peach",
    "flavor:snack": "chocolate chip|peanut butter|sea salt|almond|cinnamon|mixed berry",
    "flavor:chocolate": "sea salt|almond|orange|mint|raspberry|espresso",
    "flavor:pet": "chicken|beef|salmon|lamb|turkey",
    "scent:care": "unscented|lavender|coconut|eucalyptus|citrus|rose|vanilla",
    "scent:home": "unscented|lavender|vanilla|fresh linen|cedarwood|sea breeze",
    "capacity:battery": "5000mah|10000mah|20000mah|26800mah",
    "capacity:bottle": "12 oz|18 oz|24 oz|32 oz|40 oz",
    "capacity:storage": "32gb|64gb|128gb|256gb|512gb",
    "capacity:tent": "1 person|2 person|3 person|4 person|6 person",
    "capacity:bag": "20 liter|30 liter|40 liter|55 liter|65 liter",
    "model:phone": "iphone 13|iphone 14|iphone 15|galaxy s23|galaxy s24|pixel 8",
    "style:switch": "red switch|blue switch|brown switch",
    "style:pen": "fine point|medium point|bold point",
    "style:notebook": "college ruled|wide ruled|dot grid|blank",
    "thickness:yoga": "1/4 inch|1/3 inch|1/2 inch",
    "weight:dumbbell": "5 pound|10 pound|15 pound|20 pound|25 pound|30 pound",
}.items()}

PRODUCT_TYPES: tuple[TypeSpec, ...] = (
    _t("t-shirt", "clothing", 9, 35,
       "cotton|short sleeve|crew neck|machine washable|moisture wicking|relaxed fit"
       "|organic cotton|tagless",
       "size:clothing color:basic"),
    _t("hoodie", "clothing", 25, 70,
       "fleece lined|pullover|machine washable|relaxed fit|kangaroo pocket|cotton blend"
       "|zip up",
       "size:clothing color:basic"),
    _t("jeans", "clothing", 30, 90,
       "slim fit|straight leg|stretch denim|high waist|machine washable|relaxed fit"
       "|button fly",
       "size:clothing color:basic"),
    _t("rain jacket", "clothing", 40, 160,
       "waterproof|packable|hooded|breathable|lightweight|windproof|seam sealed",
       "size:clothing color:outdoor"),
    _t("summer dress", "clothing", 20, 65,
       "floral print|sleeveless|v neck|midi length|machine washable|flowy|with pockets",
       "size:clothing color:basic"),
    _t("leggings", "clothing", 15, 55,
       "high waist|squat proof|moisture wicking|four way stretch|with pockets"
       "|tummy control|breathable",
       "size:clothing color:basic"),
    _t("crew socks", "clothing", 8, 28,
       "cushioned|moisture wicking|cotton|arch support|breathable|odor resistant"
       "|merino wool",
       "size:gear pack:large"),
    _t("hiking boot", "shoes", 45, 190,
       "waterproof|lightweight|slip resistant|leather|breathable|ankle support"
       "|vibram sole",
       "size:shoe color:outdoor"),
    _t("running shoe", "shoes", 40, 160,
       "lightweight|breathable|cushioned|wide toe box|non slip|arch support|mesh upper",
       "size:shoe color:basic"),
    _t("sandal", "shoes", 15, 70,
       "adjustable strap|arch support|waterproof|non slip|quick drying|cushioned footbed"
       "|lightweight",
       "size:shoe color:basic"),
    _t("house slipper", "shoes", 12, 45,
       "memory foam|fuzzy|non slip|machine washable|open toe|indoor outdoor"
       "|with warm lining",
       "size:shoe color:home"),
    _t("canvas sneaker", "shoes", 25, 80,
       "low top|lace up|canvas|rubber sole|vegan|classic|breathable",
       "size:shoe color:basic"),
    _t("rain boot", "shoes", 25, 95,
       "waterproof|rubber|mid calf|non slip|slip on|lined|lightweight",
       "size:shoe color:outdoor"),
    _t("shampoo", "beauty", 6, 32,
       "sulfate free|paraben free|for dry hair|volumizing|color safe|vegan|cruelty free",
       "size:volume scent:care"),
    _t("face moisturizer", "beauty", 9, 60,
       "fragrance free|with hyaluronic acid|spf 30|oil free|for sensitive skin"
       "|non comedogenic|with vitamin c",
       "size:volume"),
    _t("lipstick", "beauty", 6, 38,
       "long lasting|matte finish|moisturizing|cruelty free|vegan|smudge proof"
       "|satin finish",
       "color:lip pack:small"),
    _t("sunscreen", "beauty", 7, 30,
       "spf 50|water resistant|reef safe|mineral|fragrance free|broad spectrum"
       "|non greasy",
       "size:volume pack:small"),
    _t("hair dryer", "beauty", 20, 140,
       "ionic|lightweight|fast drying|foldable handle|low noise|with diffuser|ceramic",
       "color:tech"),
    _t("body wash", "beauty", 5, 22,
       "moisturizing|sulfate free|with natural ingredients|for sensitive skin"
       "|paraben free|cruelty free",
       "scent:care pack:small"),
    _t("electric toothbrush", "beauty", 20, 120,
       "rechargeable|with 2 minute timer|pressure sensor|waterproof|with travel case"
       "|sonic|with long battery life",
       "color:tech"),
    _t("wireless earbuds", "electronics", 20, 200,
       "noise cancelling|bluetooth 5.3|waterproof|with long battery life"
       "|with wireless charging|with built in microphone|sweat resistant",
       "color:tech"),
    _t("bluetooth speaker", "electronics", 20, 180,
       "portable|waterproof|with long battery life|with loud bass|wireless"
       "|with built in microphone|shockproof",
       "color:tech"),
    _t("phone case", "electronics", 8, 45,
       "shockproof|slim|clear|magsafe compatible|drop tested|anti scratch"
       "|with raised edges",
       "model:phone color:basic"),
    _t("usb-c charger", "electronics", 12, 55,
       "fast charging|65w|with foldable plug|compact|gan|dual port|travel friendly",
       "color:tech pack:small"),
    _t("power bank", "electronics", 15, 80,
       "fast charging|portable|usb-c|slim|with led display|airline approved|dual output",
       "capacity:battery color:tech"),
    _t("smartwatch", "electronics", 40, 300,
       "with heart rate monitor|gps|waterproof|with sleep tracking"
       "|with long battery life|bluetooth|with always on display",
       "size:watch color:tech"),
    _t("gaming mouse", "electronics", 15, 90,
       "wireless|rgb lighting|ergonomic|with programmable buttons|lightweight|high dpi"
       "|rechargeable",
       "color:tech"),
    _t("mechanical keyboard", "electronics", 35, 160,
       "rgb lighting|hot swappable|wireless|compact|tenkeyless|bluetooth"
       "|with aluminum frame",
       "style:switch color:tech"),
    _t("memory card", "electronics", 8, 70,
       "high speed|4k video|waterproof|shockproof|with adapter|class 10|durable",
       "capacity:storage pack:small"),
    _t("coffee maker", "home and kitchen", 25, 180,
       "programmable|12 cup|with thermal carafe|with auto shut off|stainless steel"
       "|single serve|dishwasher safe",
       "color:tech"),
    _t("frying pan", "home and kitchen", 15, 90,
       "nonstick|stainless steel|induction compatible|oven safe|dishwasher safe"
       "|cast iron|pfoa free",
       "size:pan"),
    _t("chef knife", "home and kitchen", 15, 120,
       "stainless steel|high carbon|ergonomic handle|full tang|razor sharp|german steel"
       "|rust resistant"),
    _t("water bottle", "home and kitchen", 10, 45,
       "insulated|stainless steel|leak proof|bpa free|dishwasher safe|with straw lid"
       "|double wall",
       "capacity:bottle color:basic"),
    _t("bed sheet set", "home and kitchen", 25, 120,
       "100% cotton|deep pocket|breathable|microfiber|machine washable|wrinkle resistant"
       "|cooling",
       "size:bedding color:home"),
    _t("throw pillow cover", "home and kitchen", 8, 35,
       "linen|decorative|with hidden zipper|machine washable|velvet|boho|farmhouse",
       "size:pillow color:home pack:small"),
    _t("bath towel set", "home and kitchen", 20, 80,
       "100% cotton|quick drying|absorbent|soft|machine washable|hotel quality"
       "|turkish cotton",
       "color:home"),
    _t("blender", "home and kitchen", 30, 200,
       "high speed|bpa free|dishwasher safe|portable|with glass jar|stainless steel"
       "|quiet",
       "color:tech"),
    _t("scented candle", "home and kitchen", 8, 40,
       "soy wax|long burning|natural|lead free wick|gift ready|cotton wick",
       "scent:home pack:small"),
    _t("coffee beans", "grocery", 8, 35,
       "whole bean|organic|fair trade|medium roast|single origin|low acid|arabica",
       "flavor:coffee size:food"),
    _t("green tea", "grocery", 4, 25,
       "organic|decaf|loose leaf|non gmo|antioxidant rich|caffeine free|bagged",
       "flavor:tea pack:large"),
    _t("protein bar", "grocery", 10, 40,
       "gluten free|high protein|low sugar|keto friendly|vegan|non gmo|plant based",
       "flavor:snack pack:large"),
    _t("trail mix", "grocery", 6, 28,
       "gluten free|non gmo|no added sugar|in resealable bag|vegan|roasted"
       "|individually wrapped",
       "size:food pack:small"),
    _t("olive oil", "grocery", 8, 45,
       "extra virgin|cold pressed|organic|non gmo|first harvest|single origin"
       "|in glass bottle",
       "size:oil pack:small"),
    _t("dark chocolate", "grocery", 4, 30,
       "70% cacao|organic|fair trade|vegan|dairy free|gluten free|low sugar",
       "flavor:chocolate pack:large"),
    _t("yoga mat", "sports and outdoors", 15, 90,
       "non slip|eco friendly|extra thick|lightweight|with carrying strap"
       "|sweat resistant|reversible",
       "thickness:yoga color:basic"),
    _t("camping tent", "sports and outdoors", 45, 320,
       "waterproof|easy setup|lightweight|windproof|double layer|with mesh windows"
       "|freestanding",
       "capacity:tent color:outdoor"),
    _t("sleeping bag", "sports and outdoors", 25, 150,
       "lightweight|compact|machine washable|water resistant|mummy style|3 season"
       "|down filled",
       "color:outdoor"),
    _t("hiking backpack", "sports and outdoors", 30, 170,
       "water resistant|lightweight|hydration compatible|with padded straps"
       "|with rain cover|with ventilated back|with multiple pockets",
       "capacity:bag color:outdoor"),
    _t("dumbbell set", "sports and outdoors", 20, 200,
       "adjustable|neoprene coated|non slip grip|cast iron|hexagon|rubber coated",
       "weight:dumbbell"),
    _t("bike helmet", "sports and outdoors", 25, 120,
       "lightweight|adjustable fit|ventilated|with led light|removable visor|mips"
       "|impact resistant",
       "size:gear color:basic"),
    _t("dog bed", "pet supplies", 20, 110,
       "orthopedic|machine washable|non slip bottom|waterproof|memory foam"
       "|with removable cover|with raised edges",
       "size:gear color:home"),
    _t("dry dog food", "pet supplies", 12, 75,
       "grain free|high protein|with natural ingredients|for puppies|for senior dogs"
       "|with no artificial flavors",
       "flavor:pet size:petfood"),
    _t("cat litter", "pet supplies", 8, 40,
       "clumping|low dust|odor control|unscented|lightweight|natural|flushable",
       "size:litter"),
    _t("dog leash", "pet supplies", 8, 35,
       "reflective|padded handle|heavy duty|nylon|retractable|hands free|waterproof",
       "size:gear color:basic"),
    _t("cat scratching post", "pet supplies", 15, 90,
       "sisal rope|with stable base|multi level|with toy|tall|easy assembly"),
    _t("spiral notebook", "office products", 4, 25,
       "hardcover|acid free paper|with perforated pages|with pocket folder|durable"
       "|recycled paper",
       "style:notebook pack:small"),
    _t("gel pen set", "office products", 5, 25,
       "quick drying|smooth writing|retractable|in assorted colors|smear proof"
       "|with comfortable grip",
       "style:pen pack:large"),
    _t("desk lamp", "office products", 15, 90,
       "dimmable|led|with usb charging port|adjustable arm|eye caring|touch control"
       "|energy efficient",
       "color:tech"),
    _t("office chair", "office products", 60, 350,
       "ergonomic|lumbar support|adjustable height|breathable mesh|swivel"
       "|with padded armrests|high back",
       "color:basic"),
    _t("laptop stand", "office products", 15, 70,
       "adjustable height|aluminum|foldable|portable|ventilated|non slip",
       "color:tech"),
)
CATEGORIES: tuple[str, ...] = tuple(dict.fromkeys(t.category for t in PRODUCT_TYPES))

_BRANDS: dict[str, tuple[str, ...]] = {k: tuple(v.split("|")) for k, v in {
    "clothing": "Threadline|Northwear|Urban Loom|Kestrel & Co|Softfield|Bramble|Tidewater"
                "|Loomcraft",
    "shoes": "Stridewell|Northpeak|Trailforge|Solewise|Footnote|Packrun|Groundwork|Pathmaker",
    "beauty": "Purebloom|Dewlane|Glowhaus|Verdant Skin|Silkroot|Clearwell|Mira Belle|Oakmoss Lab",
    "electronics": "Voltix|Soundcrest|Nexon|Arcwave|Pixelon|Zentek|Brightcore|Quanta Labs",
    "home and kitchen": "Hearthstone|Kitchenly|Casa Verde|Homefield|Copperleaf|Nestwell|Brewmaster"
                        "|Linenhaus",
    "grocery": "Golden Acre|Harvest Lane|Mountain Roast|Wild Orchard|Sunny Grove|Old Mill|Pantry Co"
               "|Greenfield Farms",
    "sports and outdoors": "Peakform|Trailhead|Ironclad|Flexcore|Summitgear|Wayfarer Outdoors"
                           "|Pacecraft|Basecamp",
    "pet supplies": "Pawsome|Happy Tails|Furbelle|Barkwell|Whisker Co|Goodboy Goods|Petgrove"
                    "|Snugglepaw",
    "office products": "Deskcraft|Papermill|Inkwell|Worksmith|Brightdesk|Notable|Scribe & Co"
                       "|Officeline",
}.items()}
# Model words avoid colours, flavours and attributes so that they never answer a goal by accident.
_MODELS = tuple(
    "Summit Nova Aero Drift Terra Echo Pulse Zenith Orbit Vista Apex Luma Breeze Cedar Harbor "
    "Meadow Ridge Canyon Glacier Ember Falcon Otter Maple Willow Aspen Atlas Comet Quartz Onyx "
    "Sierra Tundra Haven Nimbus Solstice Trek Voyager Pioneer Prairie Cascade Lagoon Mesa Dune "
    "Spruce Juniper Fern Birch Horizon Tempo Kinetic Strata Vertex Arbor Boulder Current Delta "
    "Fjord Granite Keystone Lumen Monarch Northstar Pinnacle Quest Rover Sequoia Timber Vector "
    "Wander Yukon Zephyr Alder Beacon Compass Crest Everest".split()
)
_USES = {
    "clothing": "everyday wear", "shoes": "long days on your feet", "beauty": "a daily routine",
    "electronics": "work, travel and play", "home and kitchen": "a busy home",
    "grocery": "the pantry", "sports and outdoors": "training and weekend adventures",
    "pet supplies": "happy, healthy pets", "office products": "a productive desk",
}
_GENERIC_FEATURES = (
    "Backed by a one year warranty", "Ships in recyclable packaging", "Easy to clean",
    "Designed and tested in-house", "Great gift idea", "Satisfaction guaranteed or your money back",
)
_REVIEWS = {
    5: ("Love this {type}! Exactly as described.", "Really {attr}, would buy again.",
        "Best {type} I have owned so far."),
    4: ("Good {type} for the price.", "Nice and {attr}; shipping took a while.",
        "Solid {type}, minor quirks."),
    3: ("It is okay. Not as {attr} as I hoped.", "Average {type}, does the job."),
    2: ("Disappointed, the {type} wore out quickly.", "Not really {attr} in my experience."),
    1: ("Would not buy this {type} again.", "Arrived damaged and support was slow."),
}
_TITLE_WORDS = {"t-shirt": "T-Shirt", "usb-c": "USB-C", "gps": "GPS", "rgb": "RGB", "led": "LED",
                "spf": "SPF", "bpa": "BPA", "pfoa": "PFOA", "gan": "GaN", "mips": "MIPS"}


def _title_case(text: str) -> str:
    return " ".join(
        w if w in _SMALL_WORDS else _TITLE_WORDS.get(w, w[:1].upper() + w[1:]) for w in text.split()
    )


_SMALL_WORDS = frozenset({"for", "with", "in", "and", "of", "on"})
_POST = ("for ", "with ", "in ")


def article(phrase: str) -> str:
    """``'a'`` or ``'an'`` for the phrase (good enough for this catalogue's words)."""
    first = phrase.split()[0] if phrase.split() else ""
    vowel_sound = first.startswith(("a", "e", "i", "o", "un", "ul", "um", "8", "11", "18"))
    return "an" if vowel_sound else "a"


def noun_phrase(product_type: str, attributes: Sequence[str]) -> str:
    """The type with its attributes as a phrase: ``'waterproof, lightweight hiking boot'``.

    Attributes that read after a noun (``'for dry hair'``, ``'with pockets'``, ``'in glass
    bottle'``) come after the type: ``'vegan shampoo for dry hair'``.
    """
    pre = [a for a in attributes if not a.startswith(_POST)]
    post: list[str] = []
    last = ""
    for a in sorted((a for a in attributes if a.startswith(_POST)), key=_post_rank):
        head, _, rest = a.partition(" ")
        post.append(rest if head == last else a)  # 'with pockets and hood', not '... and with hood'
        last = head
    return " ".join(filter(None, [", ".join(pre), product_type, " and ".join(post)]))


def _post_rank(attribute: str) -> int:
    return _POST.index(attribute.split()[0] + " ")


class Catalog:
    """The products of the shop, in generation order, with lookup by product id.

    Args:
        products: The products; their ``pid`` values must be unique.
    """

    def __init__(self, products: Sequence[Product]) -> None:
        self._products = tuple(products)
        self._by_pid = {p.pid: p for p in self._products}
        if len(self._by_pid) != len(self._products):
            raise ValueError("Catalog: product ids must be unique.")
        self._by_type: dict[str, tuple[Product, ...]] = {}
        for p in self._products:
            self._by_type[p.product_type] = self._by_type.get(p.product_type, ()) + (p,)

    def __len__(self) -> int:
        return len(self._products)

    def __iter__(self) -> Iterator[Product]:
        return iter(self._products)

    def __contains__(self, pid: object) -> bool:
        return pid in self._by_pid

    def __getitem__(self, pid: str) -> Product:
        """The product with id ``pid``; an unknown id raises :class:`UnknownNameError`."""
        try:
            return self._by_pid[pid]
        except KeyError:
            raise UnknownNameError("product id", pid, self._by_pid,
                                   fix="Product ids come from Catalog.pids.") from None

    def get(self, pid: str) -> Product | None:
        """The product with id ``pid``, or ``None``."""
        return self._by_pid.get(pid)

    @property
    def pids(self) -> tuple[str, ...]:
        """Every product id, in catalogue order."""
        return tuple(p.pid for p in self._products)

    def by_type(self, product_type: str) -> tuple[Product, ...]:
        """The products of one type, in catalogue order (empty for an unknown type)."""
        return self._by_type.get(product_type, ())


def _pick(rng: np.random.Generator, seq: Sequence[str]) -> str:
    return seq[int(rng.integers(len(seq)))]


def _sample(rng: np.random.Generator, seq: Sequence[str], k: int) -> list[str]:
    """``k`` distinct items of ``seq``, kept in ``seq``'s order."""
    idx = sorted(rng.choice(len(seq), size=min(k, len(seq)), replace=False).tolist())
    return [seq[i] for i in idx]


def _pid(rng: np.random.Generator, taken: set[str]) -> str:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    while True:
        pid = "B0" + "".join(alphabet[i] for i in rng.integers(len(alphabet), size=8))
        if pid not in taken:
            taken.add(pid)
            return pid


def _title(rng: np.random.Generator, spec: TypeSpec, brand: str, key: str, taken: set[str]) -> str:
    named = _title_case(noun_phrase(spec.name, [key]))
    for attempt in range(40):
        model = _pick(rng, _MODELS) + ("" if attempt < 20 else f" {attempt - 18}")
        title = f"{brand} {model} {named}"
        if title not in taken:
            taken.add(title)
            return title
    raise AssertionError("40 draws of a model name all collided")  # cannot happen at n <= 50,000


_GROUP_PLURALS = {"size": "sizes", "color": "colors", "pack": "pack sizes", "flavor": "flavors",
                  "scent": "scents", "capacity": "capacities", "style": "styles",
                  "weight": "weights", "model": "models",
                  "thickness": "thicknesses"}


def _text(rng: np.random.Generator, spec: TypeSpec, brand: str, title: str,
          attrs: list[str], options: dict[str, tuple[str, ...]]) -> tuple[str, tuple[str, ...]]:
    """The description and the feature bullets of a product."""
    model = title.split()[len(brand.split())]
    phrase = noun_phrase(spec.name, attrs)
    sentences = [f"{brand} {model}: {phrase}, made for {_USES[spec.category]}."]
    sentences += [f"Available {_GROUP_PLURALS[g]}: {', '.join(v)}." for g, v in options.items()]
    features = [f"{_title_case(noun_phrase(spec.name, [a]))} by {brand}" for a in attrs]
    features += _sample(rng, _GENERIC_FEATURES, int(rng.integers(1, 3)))
    return " ".join(sentences), tuple(features)


def _reviews(rng: np.random.Generator, spec: TypeSpec, attrs: list[str],
             rating: float) -> tuple[tuple[int, str], ...]:
    reviews = []
    pre = [a for a in attrs if not a.startswith(_POST)]
    for _ in range(int(rng.integers(0, 5))):
        stars = int(np.clip(round(rating + rng.normal(0, 1)), 1, 5))
        templates = [t for t in _REVIEWS[stars] if pre or "{attr}" not in t]
        text = _pick(rng, templates).format(type=spec.name, attr=_pick(rng, pre) if pre else "")
        reviews.append((stars, text))
    return tuple(reviews)


def _product(rng: np.random.Generator, pids: set[str], titles: set[str]) -> Product:
    spec = PRODUCT_TYPES[int(rng.integers(len(PRODUCT_TYPES)))]
    brand = _pick(rng, _BRANDS[spec.category])
    attrs = _sample(rng, spec.attributes, int(rng.integers(2, 5)))
    rng.shuffle(attrs)  # the first one names the product; any of them may
    options: dict[str, tuple[str, ...]] = {}
    for key in spec.options:
        values = _VALUES[key]
        options[key.split(":")[0]] = tuple(_sample(rng, values, int(rng.integers(2, 6))))
    lo, hi = spec.price
    price = max(round(float(np.exp(rng.uniform(np.log(lo), np.log(hi))))) - 0.01, 0.99)
    rating = round(float(np.clip(rng.normal(4.2, 0.5), 1.0, 5.0)), 1)
    title = _title(rng, spec, brand, attrs[0], titles)
    description, features = _text(rng, spec, brand, title, attrs, options)
    return Product(
        pid=_pid(rng, pids), title=title, category=spec.category, product_type=spec.name,
        brand=brand, attributes=tuple(attrs), options=options, price=price, rating=rating,
        description=description, features=features, reviews=_reviews(rng, spec, attrs, rating),
    )


def generate_catalog(*, n: int = 1200, seed: int = 0) -> Catalog:
    """Generate a catalogue of ``n`` products, a pure function of ``(n, seed)``.

    Args:
        n: Number of products (1–50,000).
        seed: Seed of the generator.

    Returns:
        The catalogue; the first ``m`` products of ``(n, seed)`` do not depend on ``n``.

    Raises:
        ConfigError: ``n`` is out of range.
    """
    if not 1 <= n <= 50_000:
        raise ConfigError("n", f"got {n}, expected 1 to 50,000 products.", "the default is 1200.")
    rng = np.random.default_rng([seed, 0x5409])
    pids: set[str] = set()
    titles: set[str] = set()
    return Catalog([_product(rng, pids, titles) for _ in range(n)])
