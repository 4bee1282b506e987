from __future__ import annotations

import pytest

from dashboard import components


@pytest.mark.parametrize(
    ("current", "previous", "is_increase_good", "expected"),
    [
        (110.0, 100.0, True, ("+10.0%", "good")),
        (90.0, 100.0, True, ("-10.0%", "bad")),
        (110.0, 100.0, False, ("+10.0%", "bad")),
        (100.0, 100.0, True, ("+0.0%", "neutral")),
        (99.99, 100.0, True, ("+0.0%", "neutral")),
        (10.0, None, True, (None, "neutral")),
        (10.0, 0.0, True, (None, "neutral")),
        (None, 10.0, True, (None, "neutral")),
    ],
)
def test_format_relative_change_signs_and_judges(
    current: float | None,
    previous: float | None,
    is_increase_good: bool,
    expected: tuple[str | None, str],
) -> None:
    result = components.format_relative_change(current, previous, is_increase_good=is_increase_good)
    assert result == expected


@pytest.mark.parametrize(
    ("current", "previous", "expected"),
    [
        (0.088, 0.032, ("+5.6 pp", "bad")),
        (0.02, 0.03, ("-1.0 pp", "good")),
        (0.0300001, 0.03, ("+0.0 pp", "neutral")),
        (0.02, None, (None, "neutral")),
    ],
)
def test_format_point_change_in_percentage_points(
    current: float | None, previous: float | None, expected: tuple[str | None, str]
) -> None:
    assert components.format_point_change(current, previous, is_increase_good=False) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(15262.03, "15,262 EUR"), (0.4, "0 EUR"), (1234567.5, "1,234,568 EUR"), (None, "-")],
)
def test_format_eur_whole_euros(value: float | None, expected: str) -> None:
    assert components.format_eur(value) == expected


def test_format_percent_one_decimal() -> None:
    assert [components.format_percent(v) for v in (0.08809, 0.0, None)] == ["8.8%", "0.0%", "-"]


def test_build_navigation_links_come_from_relative_paths() -> None:
    pages = [
        {"name": "Overview", "relative_path": "/analytics/", "module": "dashboard.pages.overview"},
        {"name": "Forecast", "relative_path": "/analytics/forecast", "module": "x.forecast"},
    ]
    links = components.build_navigation(pages)
    assert [(link.label, link.href, link.id) for link in links] == [
        ("Overview", "/analytics/", "nav-overview"),
        ("Forecast", "/analytics/forecast", "nav-forecast"),
    ]


def test_build_kpi_card_gives_value_and_detail_stable_ids() -> None:
    card = components.build_kpi_card(
        value_id="x-kpi", label="Revenue", value="10 EUR", detail="+1.0%", trend="good"
    )
    label, value, detail = card.children
    assert (label.children, value.id, value.children) == ("Revenue", "x-kpi", "10 EUR")
    assert (detail.id, detail.children, detail.c) == ("x-kpi-detail", "+1.0%", "teal.7")
