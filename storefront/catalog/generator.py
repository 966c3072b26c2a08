"""A deterministic demo catalog in the interchange format (same arguments, same bytes).

`catalog_lines(products=N, seed=S)` yields the lines of a realistic catalog:
a three-level category tree (about one category per 200 products), products
named from small word lists with prices, stock and attributes, and reviews by
a pool of customers, skewed (a few products have hundreds, most a handful,
about one in five none). Timestamps carry assorted UTC offsets so importers
must normalise them.

`nasty=True` mixes in strings that break careless code (right-to-left text,
emoji and ZWJ sequences, combining marks, quotes and backslashes, HTML and SQL
fragments, line and paragraph separators, control characters, BOMs), unicode
product slugs, descriptions over 100,000 characters, and edge values (prices
0.01 and 99999999.99, stock 0 and 2**31-1, integers beyond 2**53). The output
is still valid: the importer accepts every line.

Everything comes from one `random.Random(seed)`, consumed in a fixed order.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from django.utils.text import slugify

from storefront.catalog.interchange import CategoryRecord, ProductRecord, ReviewRecord, dump_line

PRODUCTS_PER_CATEGORY = 200

# (department, sku prefix, [(subcategory, [product nouns])])
DEPARTMENTS: list[tuple[str, str, list[tuple[str, list[str]]]]] = [
    (
        "Electronics",
        "ELC",
        [
            ("Audio", ["Headphones", "Speaker", "Soundbar", "Earbuds"]),
            ("Computers", ["Laptop", "Monitor", "Keyboard", "Mouse"]),
            ("Phones", ["Smartphone", "Charger", "Phone Case", "Power Bank"]),
            ("Cameras", ["Camera", "Lens", "Tripod", "Drone"]),
        ],
    ),
    (
        "Home & Kitchen",
        "HOM",
        [
            ("Cookware", ["Frying Pan", "Saucepan", "Dutch Oven", "Wok"]),
            ("Furniture", ["Chair", "Desk", "Bookshelf", "Sofa"]),
            ("Lighting", ["Desk Lamp", "Floor Lamp", "Pendant Light", "Bulb"]),
            ("Bedding", ["Duvet", "Pillow", "Sheet Set", "Blanket"]),
        ],
    ),
    (
        "Sports & Outdoors",
        "SPO",
        [
            ("Camping", ["Tent", "Sleeping Bag", "Lantern", "Backpack"]),
            ("Fitness", ["Yoga Mat", "Dumbbell", "Kettlebell", "Jump Rope"]),
            ("Cycling", ["Helmet", "Bike Light", "Saddle", "Pump"]),
            ("Running", ["Running Shoe", "Water Bottle", "Armband", "Cap"]),
        ],
    ),
    (
        "Fashion",
        "FAS",
        [
            ("Shoes", ["Sneaker", "Boot", "Sandal", "Loafer"]),
            ("Bags", ["Tote", "Wallet", "Duffel", "Crossbody Bag"]),
            ("Outerwear", ["Jacket", "Raincoat", "Parka", "Vest"]),
            ("Accessories", ["Scarf", "Watch", "Sunglasses", "Belt"]),
        ],
    ),
    (
        "Toys & Games",
        "TOY",
        [
            ("Board Games", ["Board Game", "Puzzle", "Card Game", "Chess Set"]),
            ("Building", ["Building Set", "Marble Run", "Train Set", "Robot Kit"]),
            ("Outdoor Play", ["Kite", "Water Blaster", "Frisbee", "Scooter"]),
            ("Plush", ["Teddy Bear", "Plush Fox", "Plush Unicorn", "Puppet"]),
        ],
    ),
    (
        "Beauty",
        "BEA",
        [
            ("Skincare", ["Moisturizer", "Cleanser", "Serum", "Sunscreen"]),
            ("Hair", ["Shampoo", "Hair Dryer", "Brush", "Conditioner"]),
            ("Fragrance", ["Eau de Parfum", "Body Mist", "Candle", "Diffuser"]),
            ("Tools", ["Mirror", "Tweezers", "Razor", "Nail Kit"]),
        ],
    ),
]
STYLES = ["Everyday", "Pro", "Travel", "Kids", "Eco", "Classic", "Premium", "Compact"]
BRANDS = ["Nordlys", "Acorn", "Kestrel", "Lumen", "Tidewater", "Oakridge", "Velo", "Brisa"]
BRANDS += ["Quill", "Harbor", "Fennec", "Solstice", "Granite", "Mistral", "Juniper", "Orbit"]
ADJECTIVES = ["Compact", "Portable", "Deluxe", "Smart", "Lightweight", "Durable", "Classic"]
ADJECTIVES += ["Wireless", "Foldable", "Ergonomic", "Waterproof", "Quiet", "Modular", "Slim"]
COLORS = ["Black", "White", "Slate Gray", "Navy", "Forest Green", "Sand", "Red", "Sky Blue"]
MATERIALS = ["aluminium", "recycled plastic", "oak", "stainless steel", "cotton", "bamboo"]
USES = ["everyday use", "travel", "small spaces", "families", "beginners", "professionals"]
FEATURES = ["a two-year warranty", "a soft-touch finish", "replaceable parts", "a carry pouch"]
FEATURES += ["fast setup", "low power use", "a machine-washable cover", "a magnetic clasp"]
CLOSERS = ["Ships in recyclable packaging.", "Free returns within 30 days."]
CLOSERS += ["Designed in-house and tested for a year.", "Spare parts available for ten years."]
FIRST_NAMES = ["ana", "ben", "chloe", "david", "emma", "farid", "grace", "hiro", "ines", "jonas"]
FIRST_NAMES += ["kofi", "lena", "mateo", "nora", "omar", "priya", "quinn", "rosa", "sven", "tara"]
LAST_NAMES = ["smith", "garcia", "muller", "rossi", "tanaka", "okafor", "nowak", "silva"]
LAST_NAMES += ["kim", "dubois", "jensen", "haddad", "ivanova", "costa", "brown", "larsen"]
DOMAINS = ["example.com", "example.org", "example.net", "mail.example"]
TITLES = {
    1: ["Disappointed", "Broke quickly", "Not as described"],
    2: ["Could be better", "Meh", "Some issues"],
    3: ["Okay", "Does the job", "Average"],
    4: ["Very good", "Happy with it", "Nice quality"],
    5: ["Excellent", "Love it", "Perfect", "Best purchase this year"],
}
REVIEW_SENTENCES = ["Arrived quickly.", "Exactly as pictured.", "Setup took five minutes."]
REVIEW_SENTENCES += ["The finish feels cheap.", "Bought a second one as a gift.", "Works well."]
REVIEW_SENTENCES += ["Customer service was helpful.", "Smaller than I expected."]
RATING_WEIGHTS = [5, 7, 12, 30, 46]
OFFSETS = [0, 60, 120, -300, -480, 330, 540, -210, 345, 840, -720]  # minutes from UTC
EPOCH = datetime(2022, 1, 1, tzinfo=UTC)
SPAN_SECONDS = 4 * 365 * 24 * 3600

HOSTILE = [
    "مرحبا بالعالم",
    "שלום עולם",
    "\u202eoverride\u202c left to right",
    "🔥 Hot deal 🔥",
    "👩\u200d👩\u200d👧\u200d👦 family pack",
    "🇩🇪 🇯🇵 🏳️\u200d🌈",
    "Z\u0351\u0358a\u0325l\u0316g\u0343o and e\u0301 vs \u00e9",
    'He said "hi" and it\'s fine',
    "C:\\path\\to\\file \\\\server\\share",
    "\\u0041 and \\n are not escapes",
    "<script>alert('xss')</script>",
    "<b>bold</b> &amp; &lt;tag&gt; <img src=x onerror=alert(1)>",
    "'; DROP TABLE catalog_product; --",
    "1' OR '1'='1",
    "%s %d {0} {{name}} ${HOME} %(x)s",
    "  padded with spaces  ",
    "tab\there line\nbreak\r\ncarriage",
    "line\u2028separator and paragraph\u2029separator and next\u0085line",
    "zero\u200bwidth\u00a0nbsp",
    "\ufeffBOM at the start",
    "bell\x07 and escape\x1b and delete\x7f",
    "中文 日本語 한국어",
    "𝕳𝖊𝖑𝖑𝖔 𝔀𝓸𝓻𝓵𝓭",  # noqa: RUF001 - look-alike letters on purpose
    "null",
]
UNICODE_SLUG_WORDS = ["café-crème", "日本語", "größe", "мир", "ñandú", "Ωmega"]


def _utf8(text: str) -> bytes:
    return text.encode("utf-8")  # the exporter's order: by code point, like C collation


def _article(word: str) -> str:
    return "an" if word[0].lower() in "aeiou" else "a"


@dataclass(slots=True)
class _Leaf:
    slug: str
    department: int
    nouns: list[str]


def catalog_lines(*, products: int, seed: int = 1, nasty: bool = False) -> Iterator[str]:
    """Yield the catalog's lines (without newlines): categories, products, reviews.

    Lines come in the exporter's order (categories by depth then slug, products
    by sku, reviews by sku then author), so exporting an import of the output
    gives it back line for line, up to timestamps normalised to UTC.
    """
    gen = _Generator(random.Random(seed), nasty=nasty)  # noqa: S311 - reproducible, not secret
    categories = sorted(gen.categories(products), key=lambda c: (c[0], c[1].slug))
    leaves = [leaf for _, _, leaf in categories if leaf is not None]
    for _, record, _ in categories:
        yield dump_line(record)
    picks = [gen.rng.randrange(len(leaves)) for _ in range(products)]
    # Numbered department by department, so the skus ("<code>-<number>") sort
    # in the order the products are written.
    picks.sort(key=lambda i: DEPARTMENTS[leaves[i].department][1])
    made: list[tuple[str, datetime]] = []
    for number, pick in enumerate(picks, start=1):
        record = gen.product(number, leaves[pick])
        made.append((record.sku, record.created_at))
        yield dump_line(record)
    authors = max(400, products // 2)
    for sku, created_at in made:
        for record in gen.reviews(sku, created_at, authors):
            yield dump_line(record)


class _Generator:
    def __init__(self, rng: random.Random, *, nasty: bool) -> None:
        self.rng = rng
        self.nasty = nasty

    def _hostile(self, text: str, chance: float = 0.05) -> str:
        """In nasty mode, sometimes put a hostile string before or after `text`."""
        if not self.nasty or self.rng.random() >= chance:
            return text
        bad = self.rng.choice(HOSTILE)
        return f"{bad} {text}" if self.rng.random() < 0.5 else f"{text} {bad}"

    def _timestamp(self, after: datetime | None = None) -> datetime:
        if after is None:
            instant = EPOCH + timedelta(seconds=self.rng.randrange(SPAN_SECONDS))
        else:
            instant = after + timedelta(seconds=self.rng.randrange(3600, 400 * 24 * 3600))
        offset = timezone(timedelta(minutes=self.rng.choice(OFFSETS)))
        return instant.astimezone(offset)

    # --- categories --------------------------------------------------------------

    def categories(self, products: int) -> Iterator[tuple[int, CategoryRecord, _Leaf | None]]:
        """(depth, record, leaf or None) for a three-level tree sized for `products`."""
        total = max(3, round(products / PRODUCTS_PER_CATEGORY))
        roots = min(len(DEPARTMENTS), max(1, math.ceil(total / 21)))
        mids = min(4, max(1, math.ceil((total / roots - 1) / 5)))
        leaves_per_mid = max(1, round((total - roots - roots * mids) / (roots * mids)))
        for d, (department, _, subs) in enumerate(DEPARTMENTS[:roots]):
            root_slug = slugify(department)
            yield (
                0,
                CategoryRecord(
                    slug=root_slug,
                    name=self._hostile(department, 0.2),
                    parent=None,
                    description=self._hostile(
                        f"Everything in {department.lower()}: "
                        + ", ".join(s.lower() for s, _ in subs[:mids])
                        + "."
                    ),
                ),
                None,
            )
            for sub, nouns in subs[:mids]:
                mid_slug = f"{root_slug}-{slugify(sub)}"
                yield (
                    1,
                    CategoryRecord(
                        slug=mid_slug,
                        name=self._hostile(sub, 0.2),
                        parent=root_slug,
                        description=f"{sub} in {department}.",
                    ),
                    None,
                )
                for n in range(leaves_per_mid):
                    style = STYLES[n % len(STYLES)]
                    round_ = n // len(STYLES)
                    name = f"{style} {sub}" + (f" {round_ + 1}" if round_ else "")
                    slug = f"{mid_slug}-{slugify(name)}"
                    yield (
                        2,
                        CategoryRecord(
                            slug=slug,
                            name=self._hostile(name, 0.2),
                            parent=mid_slug,
                            description=self._hostile(
                                f"Our {style.lower()} range of {sub.lower()}."
                            ),
                        ),
                        _Leaf(slug=slug, department=d, nouns=nouns),
                    )

    # --- products ----------------------------------------------------------------

    def product(self, number: int, leaf: _Leaf) -> ProductRecord:
        rng = self.rng
        brand, adjective, noun = rng.choice(BRANDS), rng.choice(ADJECTIVES), rng.choice(leaf.nouns)
        model = f"{rng.choice('ABCDEFGHJKLMNPQRSTUVWXZ')}{rng.randrange(100, 1000)}"
        name = self._hostile(f"{brand} {adjective} {noun} {model}")
        slug = f"{slugify(name, allow_unicode=True)[:200].strip('-_')}-{number}"
        if self.nasty and rng.random() < 0.02:
            slug = f"{rng.choice(UNICODE_SLUG_WORDS)}-{slug}"
        color = rng.choice(COLORS)
        description = self._description(brand, adjective, noun, color)
        price = Decimal(max(50, round(math.exp(rng.gauss(3.4, 1.1)) * 100))) / 100
        if rng.random() < 0.4:
            price = max(Decimal("0.99"), price.to_integral_value() - Decimal("0.01"))
        stock = 0 if rng.random() < 0.08 else rng.randrange(1, 500)
        attributes: dict[str, str | int | float | bool] = {
            "brand": brand,
            "color": color,
            "material": rng.choice(MATERIALS),
            "warranty_years": rng.randrange(1, 4),
            "weight_kg": round(rng.uniform(0.05, 25), 2),
            "gift_wrap": rng.random() < 0.3,
        }
        if self.nasty:
            price, stock = self._edge_values(number, price, stock, attributes)
            if number == 1 or rng.random() < 0.002:
                description = self._long_description(description)
        return ProductRecord(
            sku=f"{DEPARTMENTS[leaf.department][1]}-{number:07d}",
            slug=slug,
            name=name,
            description=description,
            category=leaf.slug,
            price=price,
            currency="USD",
            stock=stock,
            is_active=rng.random() < 0.95,
            is_featured=rng.random() < 0.03,
            attributes=attributes,
            created_at=self._timestamp(),
        )

    def _description(self, brand: str, adjective: str, noun: str, color: str) -> str:
        rng = self.rng
        parts = [
            f"The {brand} {noun} is {_article(adjective)} {adjective.lower()} {noun.lower()} "
            f"made for "
            f"{rng.choice(USES)}.",
            f"It comes in {color.lower()} and has {rng.choice(FEATURES)}.",
        ]
        parts += rng.sample(CLOSERS, rng.randrange(0, 3))
        if rng.random() < 0.05:
            return ""
        return self._hostile(" ".join(parts), 0.1)

    def _long_description(self, description: str) -> str:
        chunk = f"{description} {' '.join(HOSTILE)} "
        return (chunk * (110_000 // len(chunk) + 1)).rstrip()

    def _edge_values(
        self, number: int, price: Decimal, stock: int, attributes: dict
    ) -> tuple[Decimal, int]:
        rng = self.rng
        if number == 1 or rng.random() < 0.01:
            price = Decimal("0.01")
        elif number == 2 or rng.random() < 0.01:
            price = Decimal("99999999.99")
        if number == 2 or rng.random() < 0.005:
            stock = 2**31 - 1
        if number <= 3 or rng.random() < 0.02:
            attributes["serial"] = 2**53 + 1
            attributes["offset"] = -1.5
            attributes["zero"] = 0
            attributes["größe ✓"] = rng.choice(HOSTILE)
            attributes[""] = "empty key"
        return price, stock

    # --- reviews -----------------------------------------------------------------

    def _review_count(self, authors: int) -> int:
        rng = self.rng
        roll = rng.random()
        if roll < 0.2:
            return 0
        if roll < 0.995:
            return min(authors, 1 + int(rng.expovariate(1 / 3)))
        return min(authors, rng.randrange(100, 400))

    def _author(self, number: int) -> str:
        first = FIRST_NAMES[number % len(FIRST_NAMES)]
        last = LAST_NAMES[(number // len(FIRST_NAMES)) % len(LAST_NAMES)]
        domain = DOMAINS[number % len(DOMAINS)]
        if self.nasty and number % 50 == 7:
            return f"{first}.o'{last}+{number}@{domain}"
        if self.nasty and number % 50 == 13:
            return f"{first.title()}.{last.upper()}{number}@{domain}"
        return f"{first}.{last}{number}@{domain}"

    def reviews(self, sku: str, created_at: datetime, authors: int) -> Iterator[ReviewRecord]:
        rng = self.rng
        picked = rng.sample(range(authors), self._review_count(authors))
        for author in sorted((self._author(a) for a in picked), key=_utf8):
            rating = rng.choices(range(1, 6), weights=RATING_WEIGHTS)[0]
            body = " ".join(rng.sample(REVIEW_SENTENCES, rng.randrange(0, 4)))
            yield ReviewRecord(
                product=sku,
                author=author,
                rating=rating,
                title=self._hostile(rng.choice(TITLES[rating])),
                body=self._hostile(body),
                created_at=self._timestamp(after=created_at),
            )
