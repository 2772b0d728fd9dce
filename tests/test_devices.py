"""Device manager: dedup, the two counters, their errors, block drive naming and addressing."""

from __future__ import annotations

from typing import Any

import pytest

from kata_console.engine.deviceinfo import DeviceInfo
from kata_console.engine.errors import (
    DeviceError,
    DeviceNotAttached,
    DeviceNotExist,
    RemoveAttachedDevice,
)
from kata_console.engine.ids import FixedIds, SeededIds
from kata_console.engine.lifecycle import devices as D
from tests.enginekit import exact, layer


class Receiver:
    """A sandbox stand-in: lowest-free block indexes, hot-plug calls recorded, failable."""

    def __init__(self) -> None:
        self.used: set[int] = set()
        self.plugged: list[str] = []
        self.calls: list[tuple[str, str]] = []
        self.fail_add = self.fail_remove = False

    def get_and_set_block_index(self) -> int:
        index = min(set(range(len(self.used) + 1)) - self.used)
        self.used.add(index)
        return index

    def unset_block_index(self, index: int) -> None:
        self.used.discard(index)

    async def hotplug_add_device(self, device: Any) -> None:
        self.calls.append(("add", device.id))
        if self.fail_add:
            raise RuntimeError("hotplug failed")
        self.plugged.append(device.id)

    async def hotplug_remove_device(self, device: Any) -> None:
        self.calls.append(("remove", device.id))
        if self.fail_remove:
            raise RuntimeError("unplug failed")
        self.plugged.remove(device.id)


def blk(major: int, minor: int, path: str = "/dev/x") -> DeviceInfo:
    return DeviceInfo(path, path, "b", major, minor)


def test_new_device_dedups_by_major_minor_and_always_references() -> None:
    m = D.DeviceManager(ids=SeededIds(1))
    a = m.new_device(blk(8, 0, "/dev/sda"))
    b = m.new_device(blk(8, 0, "/dev/other-name"))
    c = m.new_device(blk(8, 16, "/dev/sdb"))
    assert a is b and a is not c
    assert (a.refcount, c.refcount) == (2, 1)
    assert len(m.get_all_devices()) == 2


def test_file_backed_devices_dedup_by_host_path_only() -> None:
    m = D.DeviceManager(ids=SeededIds(1))
    one = m.new_device(layer(1))
    again = m.new_device(layer(1))
    two = m.new_device(layer(2))  # same (major -1, minor 0), different file
    assert one is again and one is not two
    assert one.refcount == 2 and two.refcount == 1
    assert one.type == D.BLOCK and one.driver_options["block-driver"] == "virtio-scsi"


def test_device_ids_come_from_the_id_source_and_retry_collisions() -> None:
    m = D.DeviceManager(ids=FixedIds("00000000000000aa", "00000000000000aa", "00000000000000bb"))
    assert m.new_device(layer(1)).id == "00000000000000aa"
    assert m.new_device(layer(2)).id == "00000000000000bb"
    assert all(len(d.id) == 16 for d in m.get_all_devices())


def test_ids_exhausted_after_five_collisions() -> None:
    ids = FixedIds("00000000000000aa")
    m = D.DeviceManager(ids=ids)
    m.new_device(layer(1))
    with pytest.raises(DeviceError, match=exact("IDs are exhausted")):
        m.new_device(layer(2))
    assert ids.calls == 6


def test_empty_container_path_is_refused() -> None:
    with pytest.raises(DeviceError, match=exact("Empty path provided for device")):
        D.DeviceManager().new_device(DeviceInfo("/dev/sda", "", "b", 8, 0))


async def test_attach_count_plugs_on_first_and_unplugs_on_last() -> None:
    m, r = D.DeviceManager(ids=SeededIds(1)), Receiver()
    dev = m.new_device(layer(1))
    await m.attach_device(dev.id, r)
    await m.attach_device(dev.id, r)
    assert dev.attach_count == 2 and r.calls == [("add", dev.id)]
    assert dev.drive is not None and dev.drive.index == 0 and dev.drive.read_only
    await m.detach_device(dev.id, r)
    assert r.calls == [("add", dev.id)] and dev.attach_count == 1
    await m.detach_device(dev.id, r)
    assert r.calls[-1] == ("remove", dev.id) and dev.attach_count == 0 and r.used == set()


async def test_manager_errors_are_go_texts() -> None:
    m, r = D.DeviceManager(ids=SeededIds(1)), Receiver()
    with pytest.raises(DeviceNotExist, match=exact("device with specified ID hasn't been created")):
        await m.attach_device("nope", r)
    with pytest.raises(DeviceNotExist):
        await m.detach_device("nope", r)
    with pytest.raises(DeviceNotExist):
        m.remove_device("nope")
    dev = m.new_device(layer(1))
    with pytest.raises(DeviceNotAttached, match=exact("device isn't attached")):
        await m.detach_device(dev.id, r)
    await m.attach_device(dev.id, r)
    with pytest.raises(RemoveAttachedDevice, match=exact("can't remove attached device")):
        m.remove_device(dev.id)
    assert dev.refcount == 0 and m.get_device_by_id(dev.id) is dev  # decremented, kept


async def test_remove_forgets_the_device_only_at_refcount_zero() -> None:
    m = D.DeviceManager(ids=SeededIds(1))
    dev = m.new_device(layer(1))
    m.new_device(layer(1))
    m.remove_device(dev.id)
    assert m.get_device_by_id(dev.id) is dev and dev.refcount == 1
    m.remove_device(dev.id)
    assert m.get_device_by_id(dev.id) is None


async def test_failed_hotplug_releases_index_and_attach_count() -> None:
    m, r = D.DeviceManager(ids=SeededIds(1)), Receiver()
    dev = m.new_device(layer(1))
    r.fail_add = True
    with pytest.raises(RuntimeError):
        await m.attach_device(dev.id, r)
    assert dev.attach_count == 0 and r.used == set()
    r.fail_add = False
    await m.attach_device(dev.id, r)
    assert dev.attach_count == 1 and dev.drive is not None and dev.drive.index == 0


async def test_failed_unplug_keeps_the_device_attached() -> None:
    m, r = D.DeviceManager(ids=SeededIds(1)), Receiver()
    dev = m.new_device(layer(1))
    await m.attach_device(dev.id, r)
    r.fail_remove = True
    with pytest.raises(RuntimeError):
        await m.detach_device(dev.id, r)
    assert dev.attach_count == 1 and r.used == {0}


async def test_generic_devices_only_count() -> None:
    m, r = D.DeviceManager(ids=SeededIds(1)), Receiver()
    dev = m.new_device(DeviceInfo("/dev/null", "/dev/null", "c", 1, 3))
    assert dev.type == D.GENERIC
    await m.attach_device(dev.id, r)
    await m.detach_device(dev.id, r)
    assert r.calls == [] and dev.attach_count == 0 and dev.drive is None


def test_device_types() -> None:
    m = D.DeviceManager(ids=SeededIds(1))
    assert m.new_device(DeviceInfo("/dev/vfio/12", "/dev/vfio/12", "c", 240, 1)).type == D.VFIO
    assert (
        m.new_device(DeviceInfo("/dev/vfio/vfio", "/dev/vfio/vfio", "c", 10, 196)).type == D.GENERIC
    )
    assert m.new_device(DeviceInfo("/x/vhost", "/x/vhost", "b", 241, 0)).type == D.VHOST_USER_BLK


@pytest.mark.parametrize(
    ("index", "name"),
    [
        (0, "vda"),
        (1, "vdb"),
        (25, "vdz"),
        (26, "vdaa"),
        (27, "vdab"),
        (51, "vdaz"),
        (52, "vdba"),
        (701, "vdzz"),
        (702, "vdaaa"),
    ],
)
def test_virt_drive_names(index: int, name: str) -> None:
    assert D.virt_drive_name(index) == name


def test_virt_drive_name_errors() -> None:
    with pytest.raises(DeviceError, match=exact("Index cannot be negative for drive")):
        D.virt_drive_name(-1)


@pytest.mark.parametrize(
    ("index", "addr"), [(0, "0:0"), (2, "0:2"), (255, "0:255"), (256, "1:0"), (65535, "255:255")]
)
def test_scsi_addresses(index: int, addr: str) -> None:
    assert D.scsi_address(index) == addr


def test_scsi_index_limit_text() -> None:
    with pytest.raises(DeviceError) as info:
        D.scsi_address(65536)
    assert (
        str(info.value)
        == "Index cannot be greater than 65535, maximum of 65535 devices are supported"
    )


def test_drive_ids_are_cut_to_31_characters() -> None:
    assert D.make_name_id("drive", "0123456789abcdef", 31) == "drive-0123456789abcdef"
    assert D.make_name_id("drive", "x" * 40, 31) == "drive-" + "x" * 25


@pytest.mark.parametrize(
    ("driver", "expected"),
    [
        ("virtio-scsi", ("0:1", "", "")),
        ("virtio-blk", ("", "/dev/vdb", "/dev/vdb")),
        ("virtio-blk-ccw", ("", "/dev/vdb", "")),
        ("virtio-mmio", ("", "/dev/vdc", "/dev/vdc")),
        ("nvdimm", ("", "", "/dev/pmem")),
        ("bogus", ("0:1", "", "")),
    ],
)
async def test_addressing_per_block_driver(driver: str, expected: tuple[str, str, str]) -> None:
    m, r = D.DeviceManager(driver, ids=SeededIds(1)), Receiver()
    r.used.add(0)  # the next drive gets index 1
    dev = m.new_device(layer(1))
    await m.attach_device(dev.id, r)
    assert dev.drive is not None
    assert (dev.drive.scsi_addr, dev.drive.virt_path) == expected[:2]
    assert dev.drive.id == f"drive-{dev.id}"
    if expected[2]:
        assert D.guest_address(dev.drive, m.block_driver) == expected[2]


def test_block_driver_normalisation() -> None:
    assert [D.normalize_block_driver(d) for d in ("virtio-blk", "nvdimm", "", "scsi")] == [
        "virtio-blk",
        "nvdimm",
        "virtio-scsi",
        "virtio-scsi",
    ]


@pytest.mark.parametrize("major", sorted(D.CDROM_MAJORS | {D.FLOPPY_MAJOR}))
def test_cdrom_and_floppy_majors_are_filtered(major: int) -> None:
    assert D.is_filtered_major(major)


@pytest.mark.parametrize("major", [-1, 1, 8, 253, 259])
def test_other_majors_are_kept(major: int) -> None:
    assert D.is_filtered_major(major) is None


async def test_rows_show_index_and_address_only_while_plugged() -> None:
    m, r = D.DeviceManager(ids=SeededIds(1)), Receiver()
    dev = m.new_device(layer(1))
    assert m.rows()[0].index is None and m.rows()[0].address is None
    await m.attach_device(dev.id, r)
    row = m.rows()[0]
    assert (row.index, row.address, row.refcount, row.attach_count, row.read_only) == (
        0,
        "0:0",
        1,
        1,
        True,
    )
    assert set(row.to_dict()) == {
        "id",
        "host_path",
        "kind",
        "refcount",
        "attach_count",
        "index",
        "address",
        "read_only",
    }
    await m.detach_device(dev.id, r)
    assert m.rows()[0].index is None
