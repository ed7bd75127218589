"""What the member page and outside tools read, generated from the one source each value has.

``python -m scf.export`` (run by ``make compile``) writes, into ``frontend_bridge/``:

- ``abi/<Contract>.json``: each suite contract's ABI, from the last compile;
- ``constants.json``: the suite's contract list, the settlement currency and its decimals, the serial bits of a
  token id, and the names of role bits and of every status enum, from ``scf.contracts`` and
  ``scf.money`` (which the tests check against the chain).

Both are committed; ``tests/test_bridge_artifacts.py`` fails when they drift from their source.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Any

from scf.chain.artifacts import Artifacts
from scf.contracts import LEDGERS, SUITE, DocType, MemberStatus, RecordStatus, Role, SlotStatus
from scf.contracts.voucher import SERIAL_BITS
from scf.money import CURRENCY, DECIMALS
from scf.paths import bridge_dir

CONSTANTS_FILE = "constants.json"


def _words(member: Enum) -> str:
    """``Role.CORE_ENTERPRISE`` -> ``"core enterprise"``."""
    return str(member.name).lower().replace("_", " ")


def constants() -> dict[str, Any]:
    """The values the layers share, as the page reads them."""
    return {
        "contracts": list(SUITE),
        "ledgers": list(LEDGERS),
        "currency": CURRENCY,
        "decimals": DECIMALS,
        "serialBits": SERIAL_BITS,
        "roles": {str(int(role)): _words(role) for role in Role},
        "memberStatus": [_words(s) for s in MemberStatus],
        "slotStatus": [_words(s) for s in SlotStatus],
        "recordStatus": [_words(s) for s in RecordStatus],
        "docTypes": [_words(t) for t in DocType],
    }


def _write_if_changed(path: Path, text: str) -> Path:
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def export_abis(abis: dict[str, list[dict[str, Any]]], directory: Path) -> list[Path]:
    """Writes each ABI as a plain JSON array, ``<directory>/<Contract>.json``."""
    directory.mkdir(parents=True, exist_ok=True)
    return [_write_if_changed(directory / f"{name}.json", json.dumps(abi, indent=2) + "\n")
            for name, abi in sorted(abis.items())]


def export_constants(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return _write_if_changed(directory / CONSTANTS_FILE, json.dumps(constants(), indent=2) + "\n")


def export_bridge(artifacts: Artifacts, directory: Path) -> list[Path]:
    """The ABIs of the suite (``directory/abi``) and the shared constants (``directory``)."""
    abis = export_abis({name: artifacts[name].abi for name in SUITE}, directory / "abi")
    return [*abis, export_constants(directory)]


def main() -> None:
    """``python -m scf.export``: the bridge files from the last compile."""
    target = bridge_dir()
    for path in export_bridge(Artifacts.load(), target):
        print(f"wrote {path.relative_to(target.parent)}")


if __name__ == "__main__":
    main()
