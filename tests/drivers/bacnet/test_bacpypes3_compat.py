"""What drivers/bacnet/link.py reaches inside bacpypes3, pinned to the version checked.

bacpypes3 is 0.0.x and its internals move between releases. The link binds the socket
itself (bacpypes3 retries a failed bind for ever, silently) and renews a foreign-device
registration early (bacpypes3 renews only once the TTL ran out). When a test here fails
after an upgrade, check those two places in link.py against the new release first.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version

from bacpypes3.ipv4 import IPv4DatagramServer
from bacpypes3.ipv4.service import BIPForeign

#: The bacpypes3 release link.py was checked against (pyproject pins the same).
CHECKED = "0.0.110"


def test_the_installed_bacpypes3_is_the_one_checked() -> None:
    assert version("bacpypes3") == CHECKED, (
        f"bacpypes3 {version('bacpypes3')} is not the checked {CHECKED}: re-check drivers/bacnet/link.py"
    )


def test_the_foreign_link_still_has_the_hooks_the_early_renewal_uses() -> None:
    for name in ("_start_tracking_registration", "_stop_tracking_registration", "_start_registration"):
        assert callable(getattr(BIPForeign, name, None)), name


def test_the_datagram_server_still_takes_a_socket_bound_elsewhere() -> None:
    assert "bind_socket" in inspect.signature(IPv4DatagramServer.__init__).parameters
