"""`make run`'s demo city shows hydrants on the map, with pressure and one open work order."""

from api.demo.seed import DEMO_PASSWORD


def test_the_demo_city_has_hydrants_for_the_maintainer_and_the_grid_worker(runner, client):
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0

    def login(phone):
        resp = client.post("/api/v1/auth/login", json={"phone": phone, "password": DEMO_PASSWORD})
        return {"Authorization": f"Bearer {resp.get_json()['access_token']}"}

    maintainer, grid_worker = login("13800000006"), login("13800000003")
    items = client.get("/api/v1/hydrants?limit=500", headers=maintainer).get_json()["items"]
    assert len(items) == 60 and all(h["latest_pressure_mpa"] for h in items)
    assert [h["code"] for h in items if h["pressure_low"]] == ["JA-XHS-005"]
    assert [h["code"] for h in items if h["status"] == "damaged"] == ["JA-XHS-003"]
    orders = client.get("/api/v1/work-orders", headers=maintainer).get_json()["items"]
    assert len(orders) == 1 and orders[0]["report"]["category"] == "cap_missing"
    near = client.get("/api/v1/hydrants/nearest?lat=27.11&lng=114.985", headers=grid_worker).get_json()["items"]
    assert near and near[0]["distance_m"] <= near[-1]["distance_m"]
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0  # a second seed adds nothing
    assert len(client.get("/api/v1/hydrants?limit=500", headers=maintainer).get_json()["items"]) == 60
