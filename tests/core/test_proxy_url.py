"""``proxy = "http://host:port"``: what a sink and [fleet] accept as their proxy, and what not."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from campus_core.proxy import ProxyUrl

PROXY = TypeAdapter(ProxyUrl)


def test_an_http_proxy_with_its_port_is_taken() -> None:
    assert PROXY.validate_python("http://proxy.school.example:3128/") == "http://proxy.school.example:3128"


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("https://proxy.example:3128", "must be the proxy's http:// URL"),
        ("proxy.example:3128", "must be the proxy's http:// URL"),
        ("http://user:secret@proxy.example:3128", "put no credentials in the URL"),
        ("http://proxy.example:99999", "the port must be a number"),
    ],
)
def test_what_is_no_usable_proxy_is_refused_saying_why(given: str, says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        PROXY.validate_python(given)
