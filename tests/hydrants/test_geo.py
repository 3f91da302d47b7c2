"""WGS-84 → GCJ-02 and distances, against published reference points."""

import pytest

from api.hydrants.geo import bounding_box, haversine_m, wgs84_to_gcj02


def test_wgs84_to_gcj02_matches_the_tiananmen_reference():
    # Tiananmen: WGS-84 (39.9087, 116.3975) is drawn at about (39.9101, 116.4037) on Chinese tiles
    lat, lng = wgs84_to_gcj02(39.9087, 116.3975)
    assert lat == pytest.approx(39.9101, abs=1e-4) and lng == pytest.approx(116.4037, abs=1e-4)


@pytest.mark.parametrize("wgs", [(27.1136, 114.9795), (31.2304, 121.4737), (22.5431, 114.0579), (43.8171, 125.3235)])
def test_the_shift_inside_china_is_hundreds_of_metres(wgs):
    lat, lng = wgs84_to_gcj02(*wgs)
    assert 100 < haversine_m(*wgs, lat, lng) < 1000


@pytest.mark.parametrize("point", [(48.8584, 2.2945), (40.6892, -74.0445), (35.6586, 139.7454), (-33.8568, 151.2153)])
def test_points_outside_china_are_unchanged(point):
    assert wgs84_to_gcj02(*point) == point


def test_haversine_known_distances():
    assert haversine_m(39.9087, 116.3975, 39.9087, 116.3975) == 0
    beijing_shanghai = haversine_m(39.9042, 116.4074, 31.2304, 121.4737)
    assert beijing_shanghai == pytest.approx(1_067_000, rel=0.01)
    # one degree of latitude is about 111.2 km everywhere
    assert haversine_m(27.0, 115.0, 28.0, 115.0) == pytest.approx(111_195, rel=0.001)


def test_bounding_box_holds_the_circle():
    lat, lng, r = 27.11, 114.99, 500
    min_lat, max_lat, min_lng, max_lng = bounding_box(lat, lng, r)
    for dlat, dlng in ((max_lat - lat, 0), (0, max_lng - lng), (min_lat - lat, 0), (0, min_lng - lng)):
        assert haversine_m(lat, lng, lat + dlat, lng + dlng) == pytest.approx(r, rel=0.01)
