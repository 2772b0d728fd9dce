"""The Go encoding/json rules `persist.gojson` reproduces, each with Go's own output as the
expected value (taken from Go's encoder; tests/test_persist_go.py checks the same against
the Go toolchain on random documents)."""

from __future__ import annotations

import pytest

from kata_console.engine.persist import api
from kata_console.engine.persist import gojson as G


@pytest.mark.parametrize(
    ("value", "bits", "go"),
    [
        (0.0, 64, "0"),
        (-0.0, 64, "-0"),
        (1.0, 64, "1"),
        (0.1, 64, "0.1"),
        (1e-7, 64, "1e-7"),
        (1e21, 64, "1e+21"),
        (1e20, 64, "100000000000000000000"),
        (123456789.0, 32, "123456790"),
        (G._float32(0.1), 32, "0.1"),
        (G._float32(1e-6), 32, "0.000001"),  # compared as float32, as Go does
        (G._float32(1e-7), 32, "1e-7"),
        (G._float32(3e21), 32, "3e+21"),
        (G._float32(-2.5), 32, "-2.5"),
    ],
)
def test_floats_as_go_writes_them(value: float, bits: int, go: str) -> None:
    assert G.format_float(value, bits) == go


def test_map_keys_sort_as_strings_and_driver_options_in_order() -> None:
    hs = {"BlockIndexMap": {i: {} for i in (0, 1, 2, 10)}}
    assert G.encode(api.HYPERVISOR_STATE, hs).startswith(
        '{"BlockIndexMap":{"0":{},"1":{},"10":{},"2":{}},'
    )
    dev = {"DriverOptions": {"fstype": "ext4", "block-driver": "virtio-blk"}}
    assert G.encode(api.DEVICE_STATE, dev).startswith(
        '{"DriverOptions":{"block-driver":"virtio-blk","fstype":"ext4"},"ID":""'
    )


def test_nil_and_empty_and_omitempty() -> None:
    assert G.encode(api.MOUNT, {"Options": None}).endswith('"Options":null,"ReadOnly":false}')
    assert G.encode(api.MOUNT, {"Options": []}).endswith('"Options":[],"ReadOnly":false}')
    # a device without BlockDrive or VhostUserDev leaves both out (omitempty pointers)
    assert "BlockDrive" not in G.encode(api.DEVICE_STATE, {})
    assert G.encode(api.LINUX_RESOURCES, {"cpu": {"shares": 0}}) == '{"cpu":{"shares":0}}'
    assert G.encode(api.LINUX_RESOURCES, {"cpu": {}, "devices": []}) == '{"cpu":{}}'


def test_embedded_structs_promote_their_fields() -> None:
    addr = {"IPNet": {"IP": "10.0.0.1", "Mask": "//8AAA=="}, "Label": "eth0"}
    text = G.encode(api.NETLINK_ADDR, addr)
    assert text.startswith('{"IP":"10.0.0.1","Mask":"//8AAA==","Label":"eth0",')
    assert G.decode(api.NETLINK_ADDR, text)["IPNet"] == {"IP": "10.0.0.1", "Mask": "//8AAA=="}
    # a nil embedded pointer writes none of its fields
    assert G.encode(api.NETLINK_ADDR, {"Label": "x"}).startswith('{"Label":"x",')
    pair = G.decode(api.NETWORK_INTERFACE_PAIR, '{"ID":"t","Name":"br0"}')
    assert pair["TapInterface"]["ID"] == "t" and pair["TapInterface"]["Name"] == "br0"


def test_decoding_follows_go() -> None:
    doc = G.decode(api.CONTAINER_STATE, '{"state":"running","BOGUS":1,"Rootfs":null}')
    assert doc["State"] == "running"  # case-insensitive names, unknown keys dropped
    assert doc["Rootfs"] == {"BlockDeviceID": "", "FsType": ""}  # null leaves the zero value
    assert doc["DeviceMaps"] is None and doc["Process"]["StartTime"] == G.GO_ZERO_TIME
    with pytest.raises(G.GoJSONError) as info:
        G.decode(api.CONTAINER_STATE, "[]")
    assert str(info.value) == (
        "json: cannot unmarshal array into Go value of type persistapi.ContainerState"
    )
    with pytest.raises(G.GoJSONError) as info:
        G.decode(api.CONTAINER_STATE, '{"DeviceMaps":[{"UID":4294967296}]}')
    assert str(info.value) == (
        "json: cannot unmarshal number 4294967296 into Go struct field "
        "DeviceMap.DeviceMaps.UID of type uint32"
    )
    with pytest.raises(G.GoJSONError) as info:
        G.decode(api.SANDBOX_STATE, '{"Config":{"ContainerConfigs":[{"Annotations":{"k":1}}]}}')
    assert str(info.value) == (
        "json: cannot unmarshal number into Go struct field "
        "ContainerConfig.Config.ContainerConfigs.Annotations.k of type string"
    )
    with pytest.raises(G.GoJSONError):
        G.decode(api.CONTAINER_STATE, '{"Process":{"Pid":NaN}}')
    with pytest.raises(G.GoJSONError, match="max depth"):
        G.decode(api.CONTAINER_STATE, '{"Mounts":' + "[" * 100_000 + "]" * 100_000 + "}")


def test_times_keep_nanoseconds_and_normalise_zones_as_go() -> None:
    proc = '{"Process":{"StartTime":"2026-03-04T10:11:12.345678900+00:00"}}'
    doc = G.decode(api.CONTAINER_STATE, proc)
    assert doc["Process"]["StartTime"] == "2026-03-04T10:11:12.3456789Z"
    with pytest.raises(G.GoJSONError, match="parsing time"):
        G.decode(api.CONTAINER_STATE, '{"Process":{"StartTime":"yesterday"}}')
