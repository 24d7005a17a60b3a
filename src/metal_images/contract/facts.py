"""What one streaming pass over an image archive collects for the contract rules.

Metadata of every tar entry (in archive order), the contents of the few small files the
rules read, the first bytes of each kernel, the digests of the compressed bytes and what
went wrong in the LZ4 or tar layer. Rules only look at these facts, never at the stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from metal_images import linkwalk


@dataclass(slots=True)
class ArchiveEntry:
    index: int
    raw_name: str  # as stored in the archive
    name: str  # normalized: no leading "/" or "./", no trailing "/"
    type: str  # dir, file, symlink, hardlink, chr, blk, fifo, contiguous, sparse, unknown(<flag>)
    mode: int
    size: int
    linkname: str
    uid: int
    gid: int


# where an image keeps systemd unit files (the reader captures the few the rules read)
UNIT_DIRS = ("etc/systemd/system", "usr/lib/systemd/system", "lib/systemd/system")


def normalize(name: str) -> str:
    return "/".join(p for p in name.split("/") if p not in ("", "."))


@dataclass
class ArchiveFacts:
    source: str
    entries: list[ArchiveEntry] = field(default_factory=list)
    by_name: dict[str, ArchiveEntry] = field(default_factory=dict)
    contents: dict[str, bytes] = field(default_factory=dict)  # normalized name -> (head of) data
    global_headers: int = 0
    digests: dict[str, str] = field(default_factory=dict)  # of the compressed bytes
    compressed_size: int = 0
    tar_size: int = 0
    lz4_error: str | None = None
    tar_error: str | None = None
    sidecars: dict[str, str | None] = field(default_factory=dict)  # md5 -> text (None: absent)
    sidecar_errors: dict[str, str] = field(default_factory=dict)
    role: str | None = None  # machine / firewall, given or guessed
    parents: set[str] = field(default_factory=set)  # directories implied by entry names
    module_vermagic: dict[str, str] = field(default_factory=dict)  # DKMS-built module -> vermagic

    @property
    def complete(self) -> bool:
        """Both layers were read to their end without error."""
        return self.lz4_error is None and self.tar_error is None

    @cached_property
    def enabled_units(self) -> set[str]:
        """Units linked from etc/systemd/system/<target>.wants|.requires (asked for only
        once the archive has been read, so one pass serves every rule)."""
        units = set()
        for entry in self.entries:
            parts = entry.name.split("/")
            if (len(parts) == 5 and parts[:3] == ["etc", "systemd", "system"]
                    and parts[3].endswith((".wants", ".requires"))):
                units.add(parts[4])
        return units

    def add(self, entry: ArchiveEntry) -> None:
        self.entries.append(entry)
        self.by_name[entry.name] = entry
        parent = entry.name.rpartition("/")[0]
        while parent and parent not in self.parents:
            self.parents.add(parent)
            parent = parent.rpartition("/")[0]

    def resolve(self, path: str) -> ArchiveEntry | None:
        """The entry `path` names inside the image, following symlinks as a chroot does
        (absolute targets restart at the root) and hardlinks to their first name."""
        name = linkwalk.resolve(path, self._link_target, self._has)
        entry = None if name is None else self.by_name.get(name)
        if entry is not None and entry.type == "hardlink":
            return self.by_name.get(normalize(entry.linkname))
        return entry

    def _link_target(self, name: str) -> str | None:
        entry = self.by_name.get(name)
        return entry.linkname if entry is not None and entry.type == "symlink" else None

    def _has(self, name: str) -> bool:
        """An entry, or a directory without an entry of its own (tar allows it)."""
        return name in self.by_name or name in self.parents

    def text(self, path: str) -> str | None:
        """The content of a captured file (following links), or None."""
        entry = self.resolve(path)
        if entry is None or entry.name not in self.contents:
            return None
        return self.contents[entry.name].decode("utf-8", errors="replace")

    def exists(self, path: str, kind: str | None = None) -> bool:
        entry = self.resolve(path)
        return entry is not None and (kind is None or entry.type == kind)

    def is_executable_file(self, path: str) -> bool:
        entry = self.resolve(path)
        return entry is not None and entry.type == "file" and bool(entry.mode & 0o111)
