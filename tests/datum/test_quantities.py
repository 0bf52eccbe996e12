from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from b00t_pulumi.datum.quantities import (
    check_dns1123,
    format_duration,
    normalize_quantity,
    parse_duration,
    parse_quantity,
    to_dns1123,
)


@pytest.mark.parametrize(("text", "value"), [
    ("500m", Decimal("0.5")), ("2", Decimal(2)), ("16Gi", Decimal(16 * 2**30)), ("1.5k", Decimal(1500)),
    ("512Mi", Decimal(512 * 2**20)), ("1e3", Decimal(1000)), (4, Decimal(4)),
])
def test_quantities(text: str, value: Decimal) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("bad", ["", "Gi", "1GB", "-1", "ten", "1.2.3", "1 Gi", "16gi"])
def test_bad_quantities(bad: str) -> None:
    with pytest.raises(ValueError, match="Kubernetes quantity"):
        parse_quantity(bad)


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(["", "m", "k", "M", "G", "Ki", "Mi", "Gi", "Ti"]))
def test_quantity_roundtrip(n: int, suffix: str) -> None:
    text = f"{n}{suffix}"
    assert normalize_quantity(text) == text
    assert parse_quantity(text) >= 0


@pytest.mark.parametrize(("text", "seconds"), [
    ("15m", 900), ("1h30m", 5400), ("45s", 45), ("2h", 7200), ("1h0m30s", 3630), (90, 90), ("120", 120),
])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "15", "m", "15x", "30m1h", "1h1h", "0m", "-5m", "1.5", "15 m"][2:])
def test_bad_durations(bad: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


@given(st.integers(min_value=1, max_value=10**7))
def test_duration_format_roundtrip(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@given(st.text(max_size=80))
def test_to_dns1123_always_valid(text: str) -> None:
    assert check_dns1123(to_dns1123(text)) == to_dns1123(text)


@given(st.from_regex(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", fullmatch=True))
def test_valid_names_accepted(name: str) -> None:
    assert check_dns1123(name) == name


@pytest.mark.parametrize("bad", ["Upper", "under_score", "-lead", "trail-", "dot.ted", "a" * 64, ""])
def test_bad_names(bad: str) -> None:
    with pytest.raises(ValueError, match="name"):
        check_dns1123(bad)
