"""Entity catalogs that guidance can name: search keywords, audience interests, products.

Names are built from per-vertical word lists so a person can read them; each keyword and interest
has a seasonal trend profile (peak day of year, amplitude, width) that the market turns into
daily trend scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipelines.domain.vocabulary import VERTICALS
from pipelines.world import random as wr

_NOUNS = {
    "apparel": ("running shoes", "winter jacket", "summer dress", "jeans", "wool sweater",
                "sneakers", "swimwear", "leather boots", "rain coat", "yoga pants", "t-shirts",
                "handbags", "sunglasses", "pajamas", "scarves", "hoodies", "suits", "socks",
                "gift sets", "kids clothes"),
    "animals_pets": ("dog food", "cat litter", "dog bed", "pet insurance", "cat toys",
                     "dog grooming", "aquarium", "bird cage", "puppy training", "pet vet",
                     "dog leash", "cat tree", "pet sitter", "horse feed", "pet pharmacy",
                     "dog walker", "reptile lamp", "pet camera", "dog treats", "pet gifts"),
    "arts_entertainment": ("concert tickets", "theater shows", "art classes", "museum pass",
                           "comedy club", "escape room", "painting supplies", "music lessons",
                           "festival tickets", "movie night", "pottery class", "dance lessons",
                           "gallery tour", "magic show", "live jazz", "opera tickets",
                           "photo studio", "craft kits", "holiday shows", "gift cards"),
    "automotive": ("used cars", "car lease", "tire change", "oil change", "car repair",
                   "electric car", "winter tires", "car wash", "brake service", "suv deals",
                   "car insurance", "truck parts", "auto detailing", "car battery", "test drive",
                   "certified pre-owned", "car loan", "windshield repair", "car audio",
                   "roof rack"),
    "dental_health": ("teeth whitening", "dental implants", "invisalign", "emergency dentist",
                      "dental cleaning", "root canal", "kids dentist", "veneers", "braces",
                      "dentures", "wisdom teeth", "dental checkup", "gum treatment",
                      "orthodontist", "dental crown", "tooth filling", "night guard",
                      "cosmetic dentistry", "dental insurance", "sedation dentist"),
    "education": ("online courses", "mba program", "coding bootcamp", "language classes",
                  "tutoring", "test prep", "nursing degree", "data science course",
                  "online degree", "summer camp", "music school", "driving school",
                  "certification", "scholarships", "kids coding", "college admissions",
                  "adult education", "design course", "exam prep", "teacher training"),
    "finance": ("credit card", "personal loan", "mortgage rates", "savings account",
                "tax filing", "investment app", "retirement plan", "auto loan",
                "business loan", "refinance", "budget app", "credit score", "insurance quote",
                "life insurance", "student loan", "stock trading", "crypto wallet",
                "financial advisor", "home equity", "debt consolidation"),
    "fitness": ("gym membership", "personal trainer", "yoga studio", "home gym",
                "protein powder", "running club", "pilates class", "crossfit", "dumbbells",
                "fitness tracker", "spin class", "weight loss plan", "boxing gym",
                "resistance bands", "treadmill", "swimming lessons", "martial arts",
                "meal plan", "new year fitness", "online workouts"),
    "home_improvement": ("kitchen remodel", "roof repair", "hvac service", "plumber",
                         "electrician", "bathroom remodel", "flooring", "window replacement",
                         "solar panels", "painting service", "fence install", "garage door",
                         "gutter cleaning", "water heater", "deck builder", "landscaping",
                         "insulation", "smart thermostat", "home security", "christmas lights"),
    "legal": ("personal injury lawyer", "divorce attorney", "dui lawyer", "estate planning",
              "immigration lawyer", "business attorney", "bankruptcy lawyer",
              "criminal defense", "employment lawyer", "patent attorney", "will and trust",
              "car accident lawyer", "family lawyer", "tax attorney", "real estate lawyer",
              "workers comp", "medical malpractice", "child custody", "notary", "legal aid"),
    "real_estate": ("homes for sale", "apartments for rent", "realtor", "home value",
                    "condos", "new construction", "land for sale", "luxury homes",
                    "first time buyer", "property management", "open house", "townhouse",
                    "vacation rental", "commercial property", "moving company", "home inspection",
                    "mortgage broker", "sell my house", "rental listings", "beach house"),
    "travel": ("cheap flights", "hotel deals", "vacation packages", "cruise deals",
               "car rental", "ski resort", "beach resort", "city break", "travel insurance",
               "all inclusive", "last minute trips", "family vacation", "honeymoon",
               "road trip", "business travel", "hostels", "travel tours", "spring break",
               "winter getaway", "holiday travel"),
}
_KEYWORD_MODIFIERS = ("", "best", "cheap", "near me", "online", "sale", "deals", "reviews",
                      "2025", "top rated", "affordable", "local", "discount", "premium", "buy",
                      "how to choose", "open now", "for beginners", "black friday",
                      "christmas", "same day", "quote", "free shipping", "gift", "compare")
_INTEREST_QUALIFIERS = ("enthusiasts", "shoppers", "beginners", "professionals", "families",
                        "students", "seniors", "bargain hunters", "gift buyers", "fans",
                        "new parents", "frequent travelers", "homeowners", "early adopters",
                        "luxury buyers")
_PRODUCT_ADJECTIVES = ("Classic", "Pro", "Eco", "Deluxe", "Essential", "Urban", "Trail",
                       "Premium", "Everyday", "Signature", "Compact", "Heritage")
# Peak day of year of each vertical's demand (used as the centre of its keywords' trends).
VERTICAL_PEAK_DOY = {"apparel": 332, "animals_pets": 345, "arts_entertainment": 350,
                     "automotive": 150, "dental_health": 20, "education": 230, "finance": 60,
                     "fitness": 5, "home_improvement": 120, "legal": 40, "real_estate": 110,
                     "travel": 10}
MAX_PRODUCTS = 64


@dataclass(frozen=True)
class TrendEntities:
    """Keywords or interests: id, name, vertical index, base popularity and trend profile."""

    ids: np.ndarray
    names: list[str]
    vertical: np.ndarray
    popularity: np.ndarray
    peak_doy: np.ndarray
    amplitude: np.ndarray
    width: np.ndarray

    def trend(self, doy: np.ndarray) -> np.ndarray:
        """Search volume multipliers [entity, day] for the days of year `doy` (≥ 1)."""
        d = np.abs(np.asarray(doy)[None, :] - self.peak_doy[:, None])
        d = np.minimum(d, 365 - d)
        return 1.0 + self.amplitude[:, None] * np.exp(-0.5 * (d / self.width[:, None]) ** 2)


def _profiles(seed, kind, vertical, names, first_id):
    n = len(names)
    idx = np.arange(n)
    centre = np.array([VERTICAL_PEAK_DOY[VERTICALS[v]] for v in vertical], dtype=float)
    seasonal = wr.uniform(seed, f"{kind}.seasonal", idx) < 0.6
    peak = np.where(seasonal, centre + 25 * wr.normal(seed, f"{kind}.peak", idx),
                    365 * wr.uniform(seed, f"{kind}.peak_any", idx)) % 365
    holiday = np.array([("christmas" in s) or ("black friday" in s) or ("gift" in s)
                        or ("holiday" in s) for s in names])
    peak = np.where(holiday, 335 + 10 * wr.normal(seed, f"{kind}.holiday", idx), peak) % 365
    return TrendEntities(
        ids=first_id + idx,
        names=list(names),
        vertical=np.asarray(vertical),
        popularity=np.exp(0.8 * wr.normal(seed, f"{kind}.popularity", idx)),
        peak_doy=peak,
        amplitude=np.where(holiday, 2.5, 1.0) * np.exp(0.6 * wr.normal(seed, f"{kind}.amp", idx)),
        width=8 + 30 * wr.uniform(seed, f"{kind}.width", idx),
    )


def keywords(seed: int) -> TrendEntities:
    """All search keywords: every vertical's nouns crossed with the common modifiers."""
    names, vertical = [], []
    for v, name in enumerate(VERTICALS):
        for noun in _NOUNS[name]:
            for mod in _KEYWORD_MODIFIERS:
                names.append(f"{noun} {mod}".strip() if mod not in ("best", "cheap", "buy",
                             "affordable", "local", "discount", "premium", "top rated",
                             "how to choose", "compare") else f"{mod} {noun}")
                vertical.append(v)
    return _profiles(seed, "keyword", vertical, names, first_id=0)


def interests(seed: int) -> TrendEntities:
    """Audience interests: every vertical's topics crossed with audience qualifiers."""
    names, vertical = [], []
    for v, name in enumerate(VERTICALS):
        for noun in _NOUNS[name]:
            for q in _INTEREST_QUALIFIERS:
                names.append(f"{noun} {q}")
                vertical.append(v)
    return _profiles(seed, "interest", vertical, names, first_id=100_000)


def product_names(advertiser_id: int, count: int, vertical: str) -> list[str]:
    """Readable names for an advertiser's products (deterministic in the id)."""
    nouns = _NOUNS[vertical]
    return [f"{_PRODUCT_ADJECTIVES[(advertiser_id + 5 * j) % len(_PRODUCT_ADJECTIVES)]} "
            f"{nouns[(advertiser_id * 7 + j) % len(nouns)].title()}" for j in range(count)]
