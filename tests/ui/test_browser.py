"""The web UI in a real Chromium: log in, explore (open a group, expand a hop, time travel), run, artifact and
model pages, the visual lineage diff, the audit view, another namespace's model refused, and XSS plants inert.

One server and one browser for the module; each test opens a fresh context (its own cookies)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.server.conftest import ServerProcess
from tests.ui.sample import FAN_IN, GATE_LABEL, OTHER_TEAMS_GATE, PLANT_IMG, PLANT_SCRIPT, Sample

Site = tuple[ServerProcess, Sample, dict[str, str]]
# one worker runs the whole module under `make test` (-n 2 --dist loadgroup): one server, one browser
pytestmark = pytest.mark.xdist_group("ui-browser")


@pytest.fixture
def admin_page(browser: Any, ui_site: Site) -> Iterator[Any]:
    yield from _logged_in(browser, ui_site, "admin")


@pytest.fixture
def team_page(browser: Any, ui_site: Site) -> Iterator[Any]:
    yield from _logged_in(browser, ui_site, "team")


def _logged_in(browser: Any, ui_site: Site, who: str) -> Iterator[Any]:
    server, _, tokens = ui_site
    context = browser.new_context(viewport={"width": 1280, "height": 760})
    page = context.new_page()
    page.goto(server.url + "/audit")
    assert "/login?next=%2Faudit" in page.url  # no session: the login page first, then back
    page.fill("#token", tokens[who])
    page.click("button[type=submit]")
    page.wait_for_url(server.url + "/audit")
    yield page
    context.close()


def _ready(page: Any) -> None:
    page.wait_for_selector("body[data-state=ready]")


def _view(page: Any) -> dict[str, Any]:
    return page.evaluate("window.mlineageUI.view")  # type: ignore[no-any-return]


def _click_node(page: Any, key: str) -> None:
    x, y = page.evaluate("(key) => window.mlineageUI.screenOf(key)", key)
    page.mouse.click(x, y)


def test_login_cookie_is_http_only_and_pages_carry_a_csp(browser: Any, ui_site: Site) -> None:
    server, _, tokens = ui_site
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.url + "/login")
    page.fill("#token", "not-a-token")
    page.click("button[type=submit]")
    page.wait_for_selector("#login-error:not([hidden])")
    page.fill("#token", tokens["team"])
    page.click("button[type=submit]")
    page.wait_for_url(server.url + "/")
    (cookie,) = context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["secure"]
    assert page.evaluate("document.cookie") == ""  # out of reach of scripts
    context.close()
    shell = httpx.get(server.url + "/", cookies={"mlineage_session": tokens["team"]})
    assert "script-src 'self'" in shell.headers["content-security-policy"]
    assert httpx.get(server.url + "/", follow_redirects=False).status_code == 303
    # the cookie reads, but never writes: a write needs the Authorization header
    refused = httpx.post(server.url + "/api/v1/events", cookies={"mlineage_session": tokens["admin"]},
                         json={"type": "ArtifactRecorded", "payload": {}})
    assert refused.status_code == 401


def test_explorer_opens_a_group_and_expands_a_hop(team_page: Any, ui_site: Site, shots: Path) -> None:
    server, sample, _ = ui_site
    page = team_page
    page.goto(f"{server.url}/lineage/{quote(sample.ensemble, safe='')}")
    _ready(page)
    view = _view(page)
    (group,) = [n for n in view["nodes"] if n["type"] == "group"]
    assert group["count"] == FAN_IN and group["label"] == f"+{FAN_IN} upstream"
    page.screenshot(path=str(shots / "explorer-grouped.png"))
    _click_node(page, group["key"])
    page.wait_for_function(f"() => window.mlineageUI.view.nodes.length > {FAN_IN}")
    assert not [n for n in _view(page)["nodes"] if n["type"] == "group"]
    assert "expand=up%3A" in page.url  # the opened group is part of the stable URL
    # expand one hop from a frontier node: the model v2's lineage one hop deep, then its run's inputs
    page.goto(f"{server.url}/lineage/{quote(sample.model_v2, safe='')}?depth=1")
    _ready(page)
    (run,) = [n for n in _view(page)["nodes"] if n["type"] == "run"]
    assert run["hidden_up"] == 1 and len(_view(page)["nodes"]) == 2
    _click_node(page, run["key"])
    page.click("button.expand[data-side=up]")
    page.wait_for_function("() => window.mlineageUI.view.nodes.length === 3")
    assert "train-data@2" in [n["label"] for n in _view(page)["nodes"]]
    page.screenshot(path=str(shots / "explorer-expanded.png"))


def test_time_travel_and_failed_runs(team_page: Any, ui_site: Site, shots: Path) -> None:
    server, sample, _ = ui_site
    page = team_page
    page.goto(f"{server.url}/lineage/raw-data?depth=4")
    _ready(page)
    now = _view(page)
    failed = [n for n in now["nodes"] if n.get("status") == "failed"]
    assert [n["id"] for n in failed] == [sample.failed_run]
    page.screenshot(path=str(shots / "explorer-failed-run.png"))
    _click_node(page, failed[0]["key"])  # its details, then its page with the error it recorded
    page.click("#panel >> text=Open run page")
    page.wait_for_selector("#run-error")
    assert "disk full" in page.text_content("#run-error") and page.text_content("#run-status") == "failed"
    page.goto(f"{server.url}/lineage/raw-data?depth=4&as_of={quote(sample.before_v2)}")
    _ready(page)
    before = _view(page)
    assert before["as_of_seq"] is not None and len(before["nodes"]) < len(now["nodes"])
    assert not [n for n in before["nodes"] if n.get("status") == "failed"]  # it ran after that moment
    page.fill("#as-of", "2020-01-01")  # the date picker: before anything was recorded
    page.wait_for_selector("#notes .refused")
    assert "did not exist yet" in page.text_content("#notes")


def test_model_page_diff_and_search(team_page: Any, ui_site: Site, shots: Path) -> None:
    server, _, _ = ui_site
    page = team_page
    page.goto(server.url + "/models/churn-model")
    page.wait_for_selector("text=diff with v1")
    assert "licence: pass" in page.text_content("main") and "fresher data" in page.text_content("main")
    # the verdicts `check` recorded on each version, newest version first; not another team's
    page.wait_for_selector("#evaluations td")
    rows = page.eval_on_selector_all(
        "#evaluations tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))")
    assert [(r[0], r[3], r[4]) for r in rows] == [
        ("2", GATE_LABEL, "pass"), ("2", PLANT_SCRIPT, "warn"), ("1", GATE_LABEL, "fail")]
    assert OTHER_TEAMS_GATE not in page.text_content("main")
    page.screenshot(path=str(shots / "model-page.png"), full_page=True)
    page.click("text=diff with v1")
    page.wait_for_url(f"{server.url}/diff/**")
    _ready(page)
    status = {n["label"]: n["status"] for n in _view(page)["nodes"]}
    assert status["train-data@2"] == "changed" and status["raw-data@1"] == "same"
    assert "train.lr" in page.text_content("table")
    page.screenshot(path=str(shots / "lineage-diff.png"), full_page=True)
    page.fill("#search-box", "churn")
    page.wait_for_selector("#search-hits a")
    assert page.text_content("#search-hits").startswith("churn-model")


def test_dataset_page_shows_its_profile_and_the_diff_with_the_version_before(
        team_page: Any, ui_site: Site, shots: Path) -> None:
    server, _, _ = ui_site
    page = team_page
    page.goto(server.url + "/artifacts/" + quote("train-data@2", safe=""))
    page.wait_for_selector("#dataset-diff dl")
    assert "rows3" in page.text_content("#profile").replace(" ", "")  # recorded by `profile`
    diff = page.text_content("#dataset-diff")
    assert "Diff with train-data@1" in diff and "2 → 3" in diff
    assert "minor" in page.text_content("#dataset-diff .badge")
    page.screenshot(path=str(shots / "dataset-page.png"), full_page=True)
    page.goto(server.url + "/artifacts/" + quote("train-data@1", safe=""))
    page.wait_for_selector("#profile")
    assert "No profile recorded" in page.text_content("#profile")
    assert page.query_selector("#dataset-diff") is None  # no version before the first


def test_another_namespaces_model_is_refused(team_page: Any, admin_page: Any, ui_site: Site,
                                             shots: Path) -> None:
    server, sample, _ = ui_site
    team_page.goto(f"{server.url}/models/{sample.secret_model}")
    team_page.wait_for_selector("#refused")
    assert "visible" in team_page.text_content("#refused")
    assert team_page.query_selector("table") is None
    team_page.screenshot(path=str(shots / "model-refused.png"))
    admin_page.goto(f"{server.url}/models/{sample.secret_model}")
    admin_page.wait_for_selector("table")
    assert admin_page.query_selector("#refused") is None


def test_audit_view(admin_page: Any, team_page: Any, ui_site: Site, shots: Path) -> None:
    server, _, _ = ui_site
    admin_page.goto(server.url + "/audit")
    admin_page.wait_for_selector("text=Recent events")
    assert "chain intact" in admin_page.text_content("#verify")
    assert "ModelRegistered" in admin_page.text_content("main")
    admin_page.screenshot(path=str(shots / "audit.png"))
    team_page.goto(server.url + "/audit")
    team_page.wait_for_selector("#events-refused")  # the raw ledger spans every team


def test_xss_plants_stay_text(browser: Any, ui_site: Site, shots: Path) -> None:
    """With the CSP switched off in this browser, so that only the pages' own care keeps plants inert: a
    name, a param (key and value) and a metric key are shown as text and never run."""
    server, sample, tokens = ui_site
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 760})
    page = context.new_page()
    page.goto(server.url + "/login")
    page.fill("#token", tokens["team"])
    page.click("button[type=submit]")
    page.wait_for_url(server.url + "/")

    def inert() -> None:
        assert page.evaluate("window.__xss") is None
        planted = "document.querySelectorAll('main script, main img, #search-hits img').length"
        assert page.evaluate(planted) == 0  # no element was made from a plant, so none can run later

    page.goto(f"{server.url}/runs/{sample.train_run}")
    page.wait_for_selector("#metrics td")
    assert PLANT_IMG in page.text_content("#params")  # a param value
    assert PLANT_SCRIPT in page.text_content("#params")  # a param key
    assert PLANT_SCRIPT in page.text_content("#metrics")  # a metric key
    inert()
    page.screenshot(path=str(shots / "run-page.png"), full_page=True)
    page.goto(f"{server.url}/models/churn-model")
    page.wait_for_selector("#evaluations td")
    assert PLANT_SCRIPT in page.text_content("#evaluations")  # a gate label
    inert()
    page.goto(f"{server.url}/artifacts/{sample.planted}")
    page.wait_for_selector("h1")
    assert PLANT_SCRIPT in page.text_content("h1")  # a name
    inert()
    page.goto(f"{server.url}/lineage/{quote(sample.planted, safe='')}")
    _ready(page)
    page.fill("#search-box", "<script")
    page.wait_for_selector("#search-hits a")
    assert PLANT_SCRIPT in page.text_content("#search-hits")
    inert()
    context.close()


def test_the_explore_api_and_names_on_the_namespace_view(ui_site: Site, tmp_path: Path) -> None:
    """Without a browser: the endpoints the pages call, for a team token (the other team's model stays out of
    search and views), and the remote store's name search."""
    from mlineage.stores.remote.http import RemoteStore

    server, sample, tokens = ui_site
    headers = {"Authorization": f"Bearer {tokens['team']}"}
    with httpx.Client(base_url=server.url + "/api/v1/explore", headers=headers, timeout=60) as api:
        view = api.get("/view", params={"ref": sample.ensemble}).json()
        assert [n["count"] for n in view["nodes"] if n["type"] == "group"] == [FAN_IN]
        assert api.get("/view", params={"ref": "secret-model"}).status_code == 404
        assert api.get("/search", params={"q": "secret"}).json() == {"hits": []}
        assert api.get("/hops", params={"ref": sample.model_v2}).json()["up"] == [1, 1, 1, 1]
        assert api.get("/view", params={"ref": sample.ensemble, "expand": "sideways:x"}).status_code == 400
    with httpx.Client(base_url=server.url + "/api/v1", headers=headers, timeout=60) as api:
        found = api.get("/gates/evaluations", params={"ref": "churn-model@2"}).json()
        assert found["digest"] == sample.model_v2
        assert [e["label"] for e in found["evaluations"]] == [GATE_LABEL, PLANT_SCRIPT]  # not team-b's
        assert api.get("/gates/evaluations", params={"ref": "secret-model@1"}).status_code == 404
        diff = api.get("/datasets/diff", params={"a": "train-data@1", "b": "train-data@2"}).json()
        assert diff["verdict"]["level"] == "minor" and diff["table"]["rows"]["added"] == 1
        # a side is a recorded version, never a path on the server's disk
        outside = api.get("/datasets/diff", params={"a": "/etc/hostname", "b": "train-data@2"})
        assert outside.status_code == 404
    # the login form sends nobody to another site
    login = httpx.post(server.url + "/login", data={"token": tokens["team"], "next": "//evil.example/x"})
    assert login.status_code == 303 and login.headers["location"] == "/"
    remote = RemoteStore(server.url, token=tokens["team"], spool_dir=tmp_path / "spool")
    try:
        assert remote.find_names("churn") == ["churn-model"]
        assert remote.find_names("secret") == []
    finally:
        remote._http.close()
