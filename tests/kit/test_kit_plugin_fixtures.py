"""The pytest plugin's fixtures (registered as the ``rapport`` pytest11 entry point), in a suite
of a site owner's own run by pytester in a subprocess."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

SUITE = """
import json
import urllib.request


def test_a_site_for_the_tests_origin(rapport_server, rapport_site, rapport_endpoint):
    site = rapport_site("http://localhost:8123")
    assert site.site_key.startswith("pk_") and site.admin_token.startswith("sk_")
    assert rapport_endpoint == rapport_server.endpoint
    with urllib.request.urlopen(rapport_endpoint + "/healthz") as answer:
        assert answer.status == 200
    [listed] = json.loads(rapport_server.cli("site", "list", "--json"))
    assert listed["origins"] == ["http://localhost:8123"] and listed["id"] == site.site_id
    assert f'data-site="{site.site_key}"' in rapport_server.tag(site)
"""

GIVEN = """
def test_the_given_endpoint_and_key(rapport_site, rapport_endpoint):
    site = rapport_site("https://shop.example")
    assert site.site_key == "pk_given123" and rapport_endpoint == "https://rapport.example"
"""


def test_the_plugin_starts_a_real_server_with_a_site_for_the_tests_origin(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(SUITE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=300)
    result.assert_outcomes(passed=1)


def test_the_plugin_uses_a_given_endpoint_and_key_instead(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(GIVEN)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider",
        "--rapport-endpoint", "https://rapport.example/", "--rapport-site-key", "pk_given123",
    )  # fmt: skip
    result.assert_outcomes(passed=1)
