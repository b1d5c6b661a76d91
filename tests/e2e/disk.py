"""Looking for an identifier on disk in every form SQLite (or a careless column) could give
it: the ASCII digits, 4-, 6- and 8-byte two's complement in both byte orders (SQLite's
record format stores integers big-endian in 1, 2, 3, 4, 6 or 8 bytes), and SQLite's
varint (row ids, and the lengths in a record's header)."""

from __future__ import annotations

from pathlib import Path


def sqlite_varint(value: int) -> bytes:
    """SQLite's variable-length integer: 7 bits a byte, high bit set on all but the last,
    big-endian; a value beyond 56 bits takes 9 bytes, the last holding a whole 8 bits."""
    v = value & 0xFFFF_FFFF_FFFF_FFFF
    if v >> 56:
        out = bytearray(9)
        out[8] = v & 0xFF
        v >>= 8
        for index in range(7, -1, -1):
            out[index] = (v & 0x7F) | 0x80
            v >>= 7
        return bytes(out)
    groups = [v & 0x7F]
    v >>= 7
    while v:
        groups.append(v & 0x7F)
        v >>= 7
    groups.reverse()
    return bytes([g | 0x80 for g in groups[:-1]] + [groups[-1]])


def forms_of(identifier: int) -> dict[str, bytes]:
    """Every on-disk form of an integer identifier, named."""
    forms = {"ascii": str(identifier).encode(), "varint": sqlite_varint(identifier)}
    for size in (4, 6, 8):
        for order in ("big", "little"):
            try:
                forms[f"{size}-byte {order}-endian"] = identifier.to_bytes(
                    size, order, signed=True
                )
            except OverflowError:
                continue  # does not fit: SQLite would not store it that way either
    return forms


def database_bytes(directory: Path, name: str = "snakkes.db") -> bytes:
    """The database file and its -wal and -shm companions, as they lie on disk."""
    files = sorted(p for p in directory.iterdir() if p.name.startswith(name))
    assert files, f"no {name} in {directory}"
    return b"".join(p.read_bytes() for p in files)


def find_identifier(stored: bytes, identifier: int) -> list[str]:
    """The names of the forms of `identifier` found in `stored`."""
    return [name for name, form in forms_of(identifier).items() if form in stored]
