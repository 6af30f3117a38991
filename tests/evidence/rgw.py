"""A throwaway single-node Ceph cluster (1 mon, 1 memstore OSD) + radosgw on loopback.

Built from /work/shared/tools/rgw/start-rgw.sh: same config and bootstrap, but on free ports
(RGW_PORT, MON_V2_PORT, MON_V1_PORT) under a per-session BASE, and stopped by pid.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

from tasks.common.embedded import free_port

ACCESS_KEY = "TESTACCESSKEY0000001"
SECRET_KEY = "testsecretkey0000000000000000000000000001"
BINARIES = (
    "radosgw",
    "ceph-mon",
    "ceph-osd",
    "ceph",
    "ceph-authtool",
    "monmaptool",
    "radosgw-admin",
)

CONF = """[global]
fsid = {fsid}
mon initial members = a
mon host = [v2:127.0.0.1:{mon2},v1:127.0.0.1:{mon1}]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
public network = 127.0.0.0/8
ms bind ipv4 = true
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
run dir = {base}/run
admin socket = {base}/run/$name.asok
pid file = {base}/run/$name.pid
log file = {base}/log/$name.log
log to stderr = false
err to stderr = true
crash dir = {base}/crash
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
auth allow insecure global id reclaim = false
mon data avail warn = 2
mon data avail crit = 1

[mon]
mon data = {base}/mon/$id

[osd]
osd data = {base}/osd/$id
osd objectstore = memstore
memstore device bytes = 1073741824
osd memory target = 939524096
osd max object name len = 460
osd max object namespace len = 64

[client]
keyring = {base}/$name.keyring

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:{rgw}
rgw data = {base}/rgw
rgw dns name = localhost
rgw thread pool size = 32
"""


class RgwUnavailable(RuntimeError):
    """radosgw and friends are not installed."""


class RgwCluster:
    def __init__(self, base: Path) -> None:
        self.base = Path(base) / "cluster"
        self.rgw_port, self.mon_v2, self.mon_v1 = free_port(), free_port(), free_port()
        self.conf = self.base / "ceph.conf"
        self.access_key, self.secret_key = ACCESS_KEY, SECRET_KEY

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.rgw_port}"

    def _run(self, *args: str, timeout: float = 60) -> str:
        env = {**os.environ, "CEPH_CONF": str(self.conf)}
        res = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)
        if res.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({res.returncode}): {res.stderr.strip()[-300:]}")
        return res.stdout

    def _wait(self, probe, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if probe():
                    return
            except (RuntimeError, OSError, subprocess.TimeoutExpired):
                pass
            time.sleep(0.5)
        raise RuntimeError(
            f"{what} did not come up within {timeout:.0f}s (logs in {self.base}/log)"
        )

    def start(self) -> RgwCluster:
        missing = [b for b in BINARIES if shutil.which(b) is None]
        if missing:
            raise RgwUnavailable(f"not installed: {', '.join(missing)}")
        b = self.base
        for d in ("run", "log", "mon/a", "osd/0", "rgw", "crash"):
            (b / d).mkdir(parents=True, exist_ok=True)
        fsid = str(uuid.uuid4())
        self.conf.write_text(
            CONF.format(fsid=fsid, base=b, mon1=self.mon_v1, mon2=self.mon_v2, rgw=self.rgw_port)
        )
        c = str(self.conf)
        admin_kr, mon_kr = str(b / "client.admin.keyring"), str(b / "mon.keyring")
        self._run(
            "ceph-authtool",
            "--create-keyring",
            mon_kr,
            "--gen-key",
            "-n",
            "mon.",
            "--cap",
            "mon",
            "allow *",
        )
        self._run(
            "ceph-authtool",
            "--create-keyring",
            admin_kr,
            "--gen-key",
            "-n",
            "client.admin",
            "--cap",
            "mon",
            "allow *",
            "--cap",
            "osd",
            "allow *",
            "--cap",
            "mds",
            "allow *",
            "--cap",
            "mgr",
            "allow *",
        )
        self._run("ceph-authtool", mon_kr, "--import-keyring", admin_kr)
        self._run(
            "monmaptool",
            "--create",
            "--fsid",
            fsid,
            "--addv",
            "a",
            f"[v2:127.0.0.1:{self.mon_v2},v1:127.0.0.1:{self.mon_v1}]",
            str(b / "monmap"),
        )
        self._run(
            "ceph-mon",
            "--cluster",
            "ceph",
            "-c",
            c,
            "--mkfs",
            "-i",
            "a",
            "--monmap",
            str(b / "monmap"),
            "--keyring",
            mon_kr,
        )
        self._run("ceph-mon", "-c", c, "-i", "a")
        self._wait(
            lambda: self._run("ceph", "-c", c, "--connect-timeout", "5", "mon", "stat", timeout=10),
            "mon",
            60,
        )
        osd_uuid = str(uuid.uuid4())
        osd_id = self._run("ceph", "-c", c, "osd", "new", osd_uuid).strip()
        if osd_id != "0":
            raise RuntimeError(f"unexpected osd id {osd_id}")
        self._run(
            "ceph",
            "-c",
            c,
            "auth",
            "get-or-create",
            "osd.0",
            "mon",
            "allow profile osd",
            "mgr",
            "allow profile osd",
            "osd",
            "allow *",
            "-o",
            str(b / "osd/0/keyring"),
        )
        self._run("ceph-osd", "-c", c, "-i", "0", "--mkfs", "--osd-uuid", osd_uuid, timeout=120)
        self._run("ceph-osd", "-c", c, "-i", "0")
        self._wait(
            lambda: "osd.0 up" in self._run("ceph", "-c", c, "osd", "dump", timeout=15), "osd", 90
        )
        self._run(
            "ceph",
            "-c",
            c,
            "auth",
            "get-or-create",
            "client.rgw.a",
            "mon",
            "allow rw",
            "osd",
            "allow rwx",
            "mgr",
            "allow rw",
            "-o",
            str(b / "client.rgw.a.keyring"),
        )
        self._run("radosgw", "-c", c, "-n", "client.rgw.a")
        self._wait(
            lambda: urllib.request.urlopen(self.endpoint_url + "/", timeout=2).status == 200,
            "radosgw",
            120,
        )
        self._run(
            "radosgw-admin",
            "-c",
            c,
            "-n",
            "client.admin",
            "user",
            "create",
            "--uid=tester",
            "--display-name=Test User",
            f"--access-key={ACCESS_KEY}",
            f"--secret-key={SECRET_KEY}",
            timeout=60,
        )
        return self

    def _pids(self) -> list[tuple[str, int]]:
        out = []
        for name in ("client.rgw.a", "osd.0", "mon.a"):  # stop order: rgw, osd, mon
            f = self.base / "run" / f"{name}.pid"
            if f.is_file():
                with contextlib.suppress(ValueError):
                    out.append((name, int(f.read_text().strip())))
        return out

    def stop(self) -> None:
        """Stop our daemons by pid (only if the pid's cmdline names our BASE), wipe BASE."""
        for _name, pid in self._pids():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if str(self.base).encode() not in cmdline:
                continue
            os.kill(pid, signal.SIGTERM)
            for _ in range(50):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.2)
            else:
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.base, ignore_errors=True)

    def client(self):
        import boto3

        from tasks.common.s3 import client_config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=client_config(),
        )
