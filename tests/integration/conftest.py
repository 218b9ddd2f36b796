"""Fixtures for tests against real SSH test hosts (tests/testbed/testhosts.py).

* ``testbed`` (session): a factory. ``testbed(n, prefix="th") -> list[TestHost]`` brings up n
  fresh hosts on a subnet of their own; everything is torn down at the end of the session, or
  earlier with ``testbed.release(hosts)``.
* ``testhosts3``: three fresh hosts for one test (released after it).

Without root, sshd, ip or nsenter these tests skip with the reason. Every test that uses them
is marked ``testhosts`` (``-m "not testhosts"`` leaves them out).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

try:
    from tests.testbed.testhosts import Testbed, TestHost
except ImportError:  # run without the repository root on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.testbed.testhosts import Testbed, TestHost

TESTHOST_FIXTURES = {"testbed", "testhosts3"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if TESTHOST_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.testhosts)


class TestbedFactory:
    """``factory(n)`` -> n new test hosts (one Testbed, one subnet, per call)."""

    __test__ = False

    def __init__(self) -> None:
        self.testbeds: list[Testbed] = []

    def __call__(self, n: int, *, prefix: str = "th", timeout: float = 120) -> list[TestHost]:
        tb = Testbed()
        self.testbeds.append(tb)
        try:
            return tb.up(n, prefix=prefix, subnet_index=None, timeout=timeout)
        except BaseException:
            self.testbeds.remove(tb)
            tb.down()
            raise

    def testbed_of(self, hosts: list[TestHost]) -> Testbed | None:
        for tb in self.testbeds:
            if tb.hosts and hosts and tb.hosts[0].index == hosts[0].index:
                return tb
        return None

    def release(self, hosts: list[TestHost]) -> None:
        """Tear down the testbed these hosts came from, now."""
        tb = self.testbed_of(hosts)
        if tb is not None:
            self.testbeds.remove(tb)
            tb.down()

    def down(self) -> None:
        errors = []
        while self.testbeds:
            tb = self.testbeds.pop()
            try:
                tb.down()
            except Exception as e:  # noqa: BLE001 - tear the others down too
                errors.append(e)
        if errors:
            raise errors[0]


@pytest.fixture(scope="session")
def testbed():
    ok, why = Testbed.available()
    if not ok:
        pytest.skip(f"no SSH test hosts: {why}")
    # leftovers of an earlier run that was killed (not hosts from `hosts.sh up`, not live runs)
    Testbed.down_all(keep_persistent=True)
    factory = TestbedFactory()
    try:
        yield factory
    finally:
        factory.down()


@pytest.fixture
def testhosts3(testbed):
    hosts = testbed(3)
    try:
        yield hosts
    finally:
        testbed.release(hosts)
