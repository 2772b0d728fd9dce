"""Benchmark: resolving EROFS chains on a large synthetic host (issue 2).

Synthetic host: 20,000 mounts, of which 2,000 erofs layers (half file-backed, half on
loops, with a matching recorded sysfs) under 200 overlays. Printed side by side, in one run:

* the seed algorithm (Go `findMountSource`: re-read and split the whole /proc/mounts per
  lowerdir) ported to Python - timed on a sample of lowerdirs and extrapolated, since the
  full run takes minutes;
* our resolver (mount table + every chain + every erofs mount, Kata verdicts included);
* the floor: read the file and split its lines.

Then whole processes: `kata-console chains --json --mountinfo FILE` against
`findmnt -J -F FILE` on the same file. Targets (issue 2): >= 100x faster than the seed,
<= 3x the floor, and the process within 3x of findmnt. Figures, not assertions.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backends.host.snapshot import FORMAT, SnapshotHost
from kata_console.engine.mounts.chains import resolve_chains
from kata_console.engine.mounts.mounttable import MountTable

N_MOUNTS, N_OVERLAYS, LAYERS_PER_OVERLAY = 20_000, 200, 10
SNAP = "/var/lib/containerd/io.containerd.snapshotter.v1.erofs/snapshots"
OPTS = "ro,user_xattr,acl,cache_strategy=readaround"
REG, DISK = 0o100644, os.makedev(254, 0)


def synthetic_host() -> tuple[str, str, dict, list[str]]:
    """(mountinfo text, /proc/mounts text, snapshot data, every lowerdir)."""
    info, mounts = [], []
    calls: dict[str, dict] = {
        m: {}
        for m in ("read_text", "realpath", "listdir", "stat", "lstat", "statfs_type", "loop_status")
    }
    lowerdirs: list[str] = []
    mid = 100
    for o in range(N_OVERLAYS):
        lowers = []
        for k in range(LAYERS_PER_OVERLAY):
            sid = o * LAYERS_PER_OVERLAY + k + 1
            fs, blob = f"{SNAP}/{sid}/fs", f"{SNAP}/{sid}/layer.erofs"
            calls["stat"][blob] = {
                "mode": REG,
                "dev": DISK,
                "ino": 10_000 + sid,
                "rdev": 0,
                "size": 4096,
            }
            if sid % 2:
                majmin, source = f"0:{100 + sid}", blob
            else:
                n = sid
                majmin, source = f"7:{n}", f"/dev/loop{n}"
                sysdir = f"/sys/devices/virtual/block/loop{n}"
                calls["realpath"][f"/sys/dev/block/7:{n}"] = sysdir
                for f, v in (
                    ("dev", f"7:{n}"),
                    ("ro", "1"),
                    ("loop/offset", "0"),
                    ("loop/sizelimit", "0"),
                    ("loop/autoclear", "1"),
                ):
                    calls["read_text"][f"{sysdir}/{f}"] = v + "\n"
                calls["read_text"][f"{sysdir}/loop/backing_file"] = blob + "\n"
                calls["read_text"][f"/sys/block/loop{n}/loop/backing_file"] = blob + "\n"
                calls["loop_status"][f"loop{n}"] = {
                    "device": DISK,
                    "inode": 10_000 + sid,
                    "offset": 0,
                    "flags": 5,
                    "file_name": blob[:63],
                }
            info.append(f"{mid} 27 {majmin} / {fs} ro,relatime - erofs {source} {OPTS}")
            mounts.append(f"{source} {fs} erofs ro,relatime,{OPTS[3:]} 0 0")
            lowers.append(fs)
            mid += 1
        lowerdirs.extend(lowers)
        target = f"/run/containerd/io.containerd.runtime.v2.task/k8s.io/c{o}/rootfs"
        opt = f"lowerdir={':'.join(lowers)},upperdir={SNAP}/u{o}/fs,workdir={SNAP}/u{o}/work"
        info.append(f"{mid} 27 0:{5000 + o} / {target} rw,relatime - overlay overlay rw,{opt}")
        mounts.append(f"overlay {target} overlay rw,relatime,{opt} 0 0")
        mid += 1
    while len(info) < N_MOUNTS:
        i = len(info)
        info.append(
            f"{mid} 27 0:{9000 + i} / /run/pods/p{i}/volumes/secret rw,nosuid,nodev,"
            f"relatime shared:{i} - tmpfs tmpfs rw,size=4096k,mode=755"
        )
        mounts.append(f"tmpfs /run/pods/p{i}/volumes/secret tmpfs rw,nosuid,nodev 0 0")
        mid += 1
    data = {"format": FORMAT, "mountinfo": {"self": "\n".join(info) + "\n"}, "calls": calls}
    return data["mountinfo"]["self"], "\n".join(mounts) + "\n", data, lowerdirs


def seed_find_mount_source(proc_mounts: str, mnt: str) -> str:
    """Go findMountSource, ported line for line: re-read and split per lowerdir."""
    with open(proc_mounts, encoding="utf-8") as fh:
        output = fh.read()
    for line in output.split("\n"):
        parts = line.split(" ")
        if len(parts) == 6 and parts[2] == "erofs" and parts[1] == mnt:
            return parts[0]
    raise LookupError(f"erofs mount not found for {mnt}")


def best(fn, repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def proc_time(cmd: list[str], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    info_text, mounts_text, data, lowerdirs = synthetic_host()
    with tempfile.TemporaryDirectory(prefix="kc-bench-") as tmp:
        mi, pm = Path(tmp, "mountinfo"), Path(tmp, "mounts")
        mi.write_text(info_text)
        pm.write_text(mounts_text)
        host = SnapshotHost(data)

        def floor() -> None:
            with open(mi, encoding="utf-8") as fh:
                fh.read().split("\n")

        def ours() -> None:
            with open(mi, encoding="utf-8", errors="surrogateescape") as fh:
                table = MountTable(fh.read())
            report = resolve_chains(table, host)
            assert len(report.chains) == N_OVERLAYS
            assert sum(len(c.layers) for c in report.chains) == N_OVERLAYS * (
                LAYERS_PER_OVERLAY + 1
            )

        sample = lowerdirs[:: len(lowerdirs) // 20][:20]
        seed_sample = best(lambda: [seed_find_mount_source(str(pm), p) for p in sample], 3)
        seed_total = seed_sample / len(sample) * len(lowerdirs)
        t_floor, t_ours = best(floor), best(ours)
        print(
            f"synthetic host: {N_MOUNTS} mounts, {len(lowerdirs)} erofs layers under "
            f"{N_OVERLAYS} overlays"
        )
        print(f"  floor (read + split lines)        {t_floor * 1e3:9.2f} ms")
        print(
            f"  kata-console resolver (all)       {t_ours * 1e3:9.2f} ms   "
            f"{t_ours / t_floor:5.2f}x floor    (target <= 3x)"
        )
        print(
            f"  seed findMountSource (per lower)  {seed_total * 1e3:9.0f} ms   "
            f"extrapolated from {len(sample)} lowerdirs; ours is {seed_total / t_ours:,.0f}x "
            f"faster (target >= 100x)"
        )

        kc = [sys.executable, "-m", "kata_console", "chains", "--json", "--mountinfo", str(mi)]
        t_kc = proc_time(kc)
        findmnt = shutil.which("findmnt")
        if findmnt:
            t_fm = proc_time([findmnt, "-J", "-F", str(mi)])
            print(f"  process: findmnt -J -F FILE       {t_fm * 1e3:9.1f} ms")
            print(
                f"  process: kata-console chains      {t_kc * 1e3:9.1f} ms   "
                f"{t_kc / t_fm:5.2f}x findmnt   (target <= 3x)"
            )
        else:
            print(
                f"  process: kata-console chains      {t_kc * 1e3:9.1f} ms   (findmnt not installed)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
