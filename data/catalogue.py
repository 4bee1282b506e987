"""Reference data for the generator: regions, store formats, categories and their demand mechanics.

Every number here is a parameter of the simulation, and the tests read them back to check that the
mechanics can be recovered from the generated data (weekday profiles, promotion uplift).
"""

from __future__ import annotations

from dataclasses import dataclass

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Region:
    name: str
    school_zone: str
    summer_factor: float  # demand multiplier during the summer school holidays
    cities: tuple[str, ...]


REGIONS: tuple[Region, ...] = (
    Region("Île-de-France", "C", 0.80, ("Paris", "Boulogne-Billancourt", "Saint-Denis", "Créteil")),
    Region("Auvergne-Rhône-Alpes", "A", 0.95, ("Lyon", "Grenoble", "Clermont-Ferrand", "Annecy")),
    Region("Provence-Alpes-Côte d'Azur", "B", 1.25, ("Marseille", "Nice", "Toulon", "Avignon")),
    Region("Occitanie", "C", 1.20, ("Toulouse", "Montpellier", "Nîmes", "Perpignan")),
    Region("Nouvelle-Aquitaine", "A", 1.15, ("Bordeaux", "La Rochelle", "Biarritz", "Limoges")),
    Region("Hauts-de-France", "B", 0.95, ("Lille", "Amiens", "Roubaix", "Dunkerque")),
    Region("Bretagne", "B", 1.20, ("Rennes", "Brest", "Quimper", "Saint-Malo")),
    Region("Grand Est", "B", 0.95, ("Strasbourg", "Reims", "Metz", "Nancy")),
)


@dataclass(frozen=True)
class StoreFormat:
    name: str
    traffic: float  # demand multiplier against a supermarket
    size_sqm: tuple[int, int]
    share: float  # share of stores


FORMATS: tuple[StoreFormat, ...] = (
    StoreFormat("hypermarket", 2.6, (6000, 12000), 0.25),
    StoreFormat("supermarket", 1.0, (1500, 3500), 0.45),
    StoreFormat("proximity", 0.45, (200, 700), 0.30),
)


@dataclass(frozen=True)
class Category:
    """One product category and the mechanics of its demand."""

    name: str
    subcategories: tuple[str, ...]
    price_range: tuple[float, float]  # EUR, base shelf price
    weekday_profile: tuple[float, ...]  # Monday..Sunday, relative (normalised to mean 1)
    season_amplitude: float  # yearly cosine amplitude; peak on season_peak_day
    season_peak_day: int  # day of year
    events: tuple[
        tuple[str, float], ...
    ]  # ("christmas"|"easter"|"new_year"|"back_to_school", strength)
    promo_beta: float  # promotion uplift = exp(promo_beta * discount)
    price_elasticity: float  # response to regular price changes
    dispersion: float  # negative-binomial shape k (smaller = noisier)
    lead_time: tuple[int, int]  # supplier lead time in days
    review_days: int  # the store orders every review_days days
    pack_sizes: tuple[int, ...]
    brands: tuple[str, ...]
    trend: float  # yearly growth of the category

    @property
    def weekday_weights(self) -> tuple[float, ...]:
        mean = sum(self.weekday_profile) / 7
        return tuple(w / mean for w in self.weekday_profile)


# fmt: off
_GROCERY_WEEK = (0.85, 0.85, 0.95, 0.95, 1.15, 1.45, 0.80)

CATEGORIES: tuple[Category, ...] = (
    Category(
        "Fruits & Vegetables", ("Fruits", "Vegetables", "Salads"), (0.9, 4.5), _GROCERY_WEEK,
        0.15, 190, (), 2.6, -1.6, 8.0, (1, 2), 1, (6, 10, 12),
        ("Les Vergers", "Saveurs du Jardin", "Bio Village"), 0.02,
    ),
    Category(
        "Dairy", ("Milk", "Yogurts", "Cheese", "Butter & Cream"), (0.9, 6.5),
        (0.95, 0.9, 1.0, 0.95, 1.1, 1.3, 0.8), 0.05, 20, (("christmas", 0.3),), 2.4, -1.4, 10.0,
        (2, 3), 1, (6, 12), ("Laiterie Nantaise", "Val d'Alpage", "Pâturages"), 0.01,
    ),
    Category(
        "Bakery", ("Bread", "Viennoiseries", "Cakes"), (0.8, 5.0),
        (0.9, 0.85, 0.9, 0.9, 1.05, 1.3, 1.35), 0.0, 1, (), 2.2, -1.2, 9.0, (1, 1), 1, (8, 10),
        ("Fournil d'Antan", "Maison Blé", "Pain de Nos Régions"), 0.0,
    ),
    Category(
        "Beverages", ("Water", "Soft drinks", "Juices"), (0.5, 4.0), _GROCERY_WEEK, 0.35, 200,
        (), 3.0, -1.8, 7.0, (3, 4), 3, (6, 12, 24),
        ("Source Claire", "Pétillante", "Jus du Soleil"), 0.03,
    ),
    Category(
        "Beer & Wine", ("Beer", "Red wine", "White & Rosé", "Champagne"), (2.5, 25.0),
        (0.7, 0.7, 0.8, 0.9, 1.35, 1.75, 0.8), 0.10, 200, (("christmas", 1.0), ("new_year", 1.6)),
        3.2, -2.0, 5.0, (4, 6), 7, (6, 12), ("Château Lune", "Brasserie du Nord", "Côtes d'Or"),
        0.02,
    ),
    Category(
        "Ice cream", ("Cones", "Tubs", "Sorbets"), (2.0, 7.0), (0.8, 0.8, 0.9, 0.9, 1.1, 1.45, 1.2),
        0.85, 205, (), 2.8, -1.6, 4.0, (3, 4), 3, (6, 8), ("Glacier Alpin", "Sorbetière"), 0.04,
    ),
    Category(
        "Chocolate & Confectionery", ("Chocolate bars", "Gift boxes", "Sweets"), (1.2, 12.0),
        _GROCERY_WEEK, 0.15, 10, (("christmas", 2.2), ("easter", 1.8)), 2.9, -1.7, 5.0, (5, 7), 7,
        (10, 12), ("Chocolaterie Lyonnaise", "Douceurs", "Cacao & Co"), 0.02,
    ),
    Category(
        "Grocery", ("Pasta & Rice", "Canned food", "Breakfast", "Sauces"), (0.8, 5.5),
        _GROCERY_WEEK, 0.05, 30, (), 2.5, -1.5, 9.0, (4, 6), 7, (12, 24),
        ("Épicerie Fine", "Bon Panier", "Terroir"), 0.01,
    ),
    Category(
        "Frozen", ("Frozen vegetables", "Pizzas", "Ready meals"), (1.8, 8.0), _GROCERY_WEEK, 0.12,
        20, (), 2.7, -1.6, 7.0, (3, 5), 3, (6, 8), ("Grand Froid", "Surgelés Marins"), 0.02,
    ),
    Category(
        "Household", ("Cleaning", "Paper", "Laundry"), (1.5, 12.0),
        (0.9, 0.9, 0.95, 0.95, 1.1, 1.45, 0.75), 0.0, 1, (), 3.1, -1.9, 6.0, (6, 9), 7, (6, 12),
        ("Maison Nette", "Blanc Lessive"), 0.0,
    ),
    Category(
        "Personal care", ("Hygiene", "Hair care", "Sun care"), (1.8, 14.0), _GROCERY_WEEK, 0.10,
        195, (), 2.9, -1.8, 5.0, (6, 9), 7, (6, 12), ("Douceur de Peau", "Soin Nature"), 0.01,
    ),
    Category(
        "School supplies", ("Notebooks", "Pens", "Bags"), (1.0, 25.0),
        (1.0, 1.0, 1.05, 1.0, 1.05, 1.35, 0.55), 0.0, 1, (("back_to_school", 6.0),), 2.4, -1.4,
        3.0, (8, 12), 7, (10, 20), ("Cahier Malin", "École Plus"), 0.0,
    ),
)

# fmt: on

SLOW_MOVER_SHARE = 0.15  # share of products with intermittent demand

# Customer segments: category weights (in CATEGORIES order), typical ages and household sizes.
# fmt: off
SEGMENTS: tuple[tuple[str, tuple[float, ...], tuple[str, ...], tuple[int, int]], ...] = (
    ("families", (1.0, 1.4, 1.0, 1.2, 0.4, 1.5, 1.3, 1.2, 1.3, 1.0, 0.8, 1.6), ("25-34", "35-44"), (3, 5)),
    ("gourmets", (1.5, 1.5, 1.2, 0.6, 2.2, 0.3, 0.8, 0.9, 0.3, 0.5, 0.7, 0.1), ("45-54", "55-64"), (1, 3)),
    ("students", (0.4, 0.7, 0.8, 1.6, 1.4, 1.0, 1.4, 1.5, 1.8, 0.5, 0.8, 0.6), ("18-24",), (1, 2)),
    ("seniors", (1.8, 1.6, 1.5, 0.8, 0.8, 0.3, 0.6, 1.0, 0.6, 1.2, 0.9, 0.1), ("65+",), (1, 2)),
    ("health", (2.2, 1.4, 0.5, 1.2, 0.3, 0.3, 0.3, 0.8, 0.4, 0.8, 1.6, 0.2), ("25-34", "35-44"), (1, 3)),
    ("budget", (0.8, 1.0, 1.0, 1.2, 1.0, 0.8, 1.0, 1.8, 1.4, 1.5, 1.0, 0.8), ("35-44", "45-54"), (2, 4)),
)
# fmt: on
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
LOYALTY_TIERS = ("bronze", "silver", "gold")
