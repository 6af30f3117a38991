"""Hourly schedules for the collector: a systemd user timer, a launchd agent, a Windows task.

Each runs `compliance collect --json` with the arguments given; the output is meant to be
saved as is (the systemd units as two files, the plist, the task XML for
`schtasks /Create /XML`).
"""

from __future__ import annotations

import plistlib
import shlex
from xml.sax.saxutils import escape

LABEL = "org.compliance-jobs.collect"


def systemd(argv: list[str]) -> str:
    """compliance-collect.service and compliance-collect.timer, separated by a marker line."""
    cmd = " ".join(shlex.quote(a) for a in argv)
    return f"""# --- ~/.config/systemd/user/compliance-collect.service
[Unit]
Description=Ship Roo Code task data and settings to the compliance bucket
After=network-online.target

[Service]
Type=oneshot
ExecStart={cmd}
Nice=10
IOSchedulingClass=idle

# --- ~/.config/systemd/user/compliance-collect.timer
[Unit]
Description=Run compliance collect hourly

[Timer]
OnCalendar=hourly
RandomizedDelaySec=15min
Persistent=true

[Install]
WantedBy=timers.target
"""


def split_systemd(text: str) -> dict[str, str]:
    """{file name: content} of what systemd() printed."""
    out: dict[str, str] = {}
    name = None
    for line in text.splitlines(keepends=True):
        if line.startswith("# --- "):
            name = line.rsplit("/", 1)[-1].strip()
            out[name] = ""
        elif name:
            out[name] += line
    return out


def launchd(argv: list[str], log_dir: str = "/tmp") -> str:
    doc = {
        "Label": LABEL,
        "ProgramArguments": argv,
        "StartInterval": 3600,
        "RunAtLoad": True,
        "ProcessType": "Background",
        "LowPriorityIO": True,
        "StandardOutPath": f"{log_dir}/compliance-collect.log",
        "StandardErrorPath": f"{log_dir}/compliance-collect.err",
    }
    return plistlib.dumps(doc).decode()


def windows(argv: list[str]) -> str:
    """Task Scheduler XML (schema 1.2): hourly, as the logged-on user, no elevation."""
    command, args = argv[0], " ".join(_win_quote(a) for a in argv[1:])
    return f"""<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Description>Ship Roo Code task data and settings to the compliance bucket</Description>
    <URI>\\compliance-collect</URI>
  </RegistrationInfo>
  <Triggers>
    <TimeTrigger>
      <Repetition>
        <Interval>PT1H</Interval>
        <StopAtDurationEnd>false</StopAtDurationEnd>
      </Repetition>
      <StartBoundary>2026-01-01T00:00:00</StartBoundary>
      <Enabled>true</Enabled>
      <RandomDelay>PT15M</RandomDelay>
    </TimeTrigger>
  </Triggers>
  <Principals>
    <Principal id="Author">
      <LogonType>InteractiveToken</LogonType>
      <RunLevel>LeastPrivilege</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <StartWhenAvailable>true</StartWhenAvailable>
    <RunOnlyIfNetworkAvailable>true</RunOnlyIfNetworkAvailable>
    <ExecutionTimeLimit>PT30M</ExecutionTimeLimit>
    <Priority>7</Priority>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>{escape(command)}</Command>
      <Arguments>{escape(args)}</Arguments>
    </Exec>
  </Actions>
</Task>
"""


def _win_quote(arg: str) -> str:
    return f'"{arg}"' if (" " in arg or not arg) else arg


def render(kind: str, argv: list[str]) -> str:
    if kind == "systemd":
        return systemd(argv)
    if kind == "launchd":
        return launchd(argv)
    if kind == "windows":
        return windows(argv)
    raise ValueError(f"unknown schedule kind {kind!r} (systemd, launchd or windows)")
