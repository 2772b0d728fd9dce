"""`persist/api/network.go` (NetworkInfo and its endpoints) with netlink v1.3.1's `Addr`, whose
embedded `*net.IPNet` promotes `IP` and `Mask` into the address object.
"""

from __future__ import annotations

from kata_console.engine.persist.apidevices import PCI_PATH
from kata_console.engine.persist.gojson import (
    BOOL,
    INT,
    IP,
    STRING,
    F,
    Ptr,
    Slice,
    Struct,
    embedded,
    named_bytes,
)

# --------------------------------------------------------------------- persist/api/network.go
IPNET = Struct("net.IPNet", [F("IP", IP), F("Mask", named_bytes("net.IPMask"))])
NETLINK_ADDR = Struct(
    "netlink.Addr",
    [
        embedded(Ptr(IPNET)),
        F("Label", STRING),
        F("Flags", INT),
        F("Scope", INT),
        F("Peer", Ptr(IPNET)),
        F("Broadcast", IP),
        F("PreferedLft", INT),
        F("ValidLft", INT),
        F("LinkIndex", INT),
    ],
)
NETWORK_INTERFACE = Struct(
    "persistapi.NetworkInterface",
    [F("Name", STRING), F("HardAddr", STRING), F("Addrs", Slice(NETLINK_ADDR))],
)
TAP_INTERFACE = Struct(
    "persistapi.TapInterface",
    [F("ID", STRING), F("Name", STRING), F("TAPIface", NETWORK_INTERFACE)],
)
TUNTAP_INTERFACE = Struct(
    "persistapi.TuntapInterface", [F("Name", STRING), F("TAPIface", NETWORK_INTERFACE)]
)
NETWORK_INTERFACE_PAIR = Struct(
    "persistapi.NetworkInterfacePair",
    [embedded(TAP_INTERFACE), F("VirtIface", NETWORK_INTERFACE), F("NetInterworkingModel", INT)],
)


def _pair_endpoint(go: str) -> Struct:
    return Struct(go, [F("NetPair", NETWORK_INTERFACE_PAIR)])


NETWORK_ENDPOINT = Struct(
    "persistapi.NetworkEndpoint",
    [
        F(
            "Physical",
            Ptr(
                Struct(
                    "persistapi.PhysicalEndpoint",
                    [F("BDF", STRING), F("Driver", STRING), F("VendorDeviceID", STRING)],
                )
            ),
            omitempty=True,
        ),
        F("Veth", Ptr(_pair_endpoint("persistapi.VethEndpoint")), omitempty=True),
        F(
            "VhostUser",
            Ptr(
                Struct(
                    "persistapi.VhostUserEndpoint",
                    [F("IfaceName", STRING), F("PCIPath", PCI_PATH)],
                )
            ),
            omitempty=True,
        ),
        F("Macvlan", Ptr(_pair_endpoint("persistapi.MacvlanEndpoint")), omitempty=True),
        F(
            "Macvtap",
            Ptr(Struct("persistapi.MacvtapEndpoint", [F("PCIPath", PCI_PATH)])),
            omitempty=True,
        ),
        F(
            "Tap",
            Ptr(Struct("persistapi.TapEndpoint", [F("TapInterface", TAP_INTERFACE)])),
            omitempty=True,
        ),
        F("IPVlan", Ptr(_pair_endpoint("persistapi.IPVlanEndpoint")), omitempty=True),
        F(
            "Tuntap",
            Ptr(Struct("persistapi.TuntapEndpoint", [F("TuntapInterface", TUNTAP_INTERFACE)])),
            omitempty=True,
        ),
        F(
            "Vfio",
            Ptr(Struct("persistapi.VfioEndpoint", [F("IfaceName", STRING)])),
            omitempty=True,
        ),
        F("Type", STRING),
    ],
)
NETWORK_INFO = Struct(
    "persistapi.NetworkInfo",
    [
        F("NetworkID", STRING),
        F("Endpoints", Slice(NETWORK_ENDPOINT)),
        F("NetworkCreated", BOOL),
    ],
)
