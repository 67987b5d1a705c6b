"""Fixed disks of a Windows host (Win32_LogicalDisk, DriveType 3), in the Linux disk fact's shape
(parsed by scanner/winprobes/storage.py)."""

from __future__ import annotations

from typing import ClassVar

from scanner.facts.capacity import Disks, Filesystem
from scanner.facts.host import WindowsFact
from scanner.facts.windows_remote import ProbeStatus


class WindowsDisks(WindowsFact):
    """Each fixed volume as a `Filesystem` (device "C:", mount "C:\\\\"), so capacity checks read both the
    same way through `as_disks()`."""

    PART: ClassVar[str] = "win_disks"
    status: ProbeStatus = "unparsed"
    items: tuple[Filesystem, ...] = ()
    skipped: int = 0  # entries without a drive letter or with sizes that do not add up

    def as_disks(self) -> Disks:
        return Disks(items=self.items)
