"""The harness on its own: namespace, venv, PAA, commissioning, a read.

Runs only when MATTER_TEST_DEVICE_CMD names a Matter device (e.g. an rs-matter
example built outside this repository); scripts/matter-test.sh then runs this
file instead of the lock's tests. The device must print
`matter: commissioning open discriminator=D passcode=P qr=… manual=…` when it
is commissionable and bind its mDNS to the interface in $MDNS_IFACE.
"""

import os
import shlex

import pytest

from conftest import Device

pytestmark = pytest.mark.skipif(
    not os.environ.get("MATTER_TEST_DEVICE_CMD"), reason="MATTER_TEST_DEVICE_CMD not set"
)


@pytest.fixture
def device(iface, tmp_path):
    dev = Device(
        shlex.split(os.environ["MATTER_TEST_DEVICE_CMD"]),
        tmp_path / "device",
        env={"MDNS_IFACE": iface, "RUST_LOG": os.environ.get("RUST_LOG", "info")},
    )
    try:
        yield dev
    finally:
        dev.stop()


def test_smoke_discover_commission_read(device, controller):
    """R-MTR-1 (harness): discover by long discriminator, commission, read."""
    import chip.clusters as Clusters

    codes = device.codes(timeout=30)
    device.wait_ready()

    found = controller.discover(codes.discriminator)
    assert found, "the device is not found over mDNS by its long discriminator"
    assert any(n.longDiscriminator == codes.discriminator for n in found)

    node_id = controller.commission(codes)

    vendor = controller.read(node_id, 0, Clusters.BasicInformation.Attributes.VendorID)
    assert vendor == 0xFFF1
    parts = controller.read(node_id, 0, Clusters.Descriptor.Attributes.PartsList)
    assert 1 in parts
    types = controller.read(node_id, 1, Clusters.Descriptor.Attributes.DeviceTypeList)
    assert types, "endpoint 1 has no device type"

    # Once commissioned, the device is no longer commissionable.
    assert controller.not_commissionable(codes.discriminator)
