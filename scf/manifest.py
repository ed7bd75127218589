"""The deployment manifest ``<manifest dir>/<chain-id>.json`` (the scripts' manifest dir is
``frontend_bridge/deployments``, ``scf.paths.deployments_dir``): read by Python, the member
page and outside tools. Its shape is fixed by DESIGN.md section 5."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scf.errors import ScfError


class ManifestError(ScfError, RuntimeError):
    """No usable deployment manifest for this chain."""


@dataclass
class Deployment:
    chain_id: int
    compiler: str
    contracts: dict[str, dict[str, Any]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def address(self, name: str) -> str:
        try:
            return self.contracts[name]["address"]
        except KeyError:
            raise ManifestError(f"the manifest for chain {self.chain_id} has no {name}: run 'ape run deploy'") from None

    def block_of(self, name: str) -> int:
        """The block ``name`` was deployed in (where its event history starts)."""
        self.address(name)
        return int(self.contracts[name]["block"])

    def to_json(self) -> dict[str, Any]:
        return {"chainId": self.chain_id, "compiler": self.compiler, "contracts": self.contracts, **self.extra}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Deployment:
        extra = {k: v for k, v in data.items() if k not in ("chainId", "compiler", "contracts")}
        return cls(int(data["chainId"]), data.get("compiler", "unknown"), dict(data.get("contracts", {})), extra)


def manifest_path(chain_id: int, directory: Path) -> Path:
    return directory / f"{chain_id}.json"


def load(chain_id: int, directory: Path) -> Deployment:
    path = manifest_path(chain_id, directory)
    if not path.exists():
        raise ManifestError(f"no deployment manifest for chain {chain_id} at {path}: run 'ape run deploy' first")
    try:
        return Deployment.from_json(json.loads(path.read_text()))
    except (ValueError, KeyError) as exc:
        raise ManifestError(f"the deployment manifest {path} is unreadable ({exc}): redeploy with --fresh") from exc


def load_if_present(chain_id: int, directory: Path) -> Deployment | None:
    return load(chain_id, directory) if manifest_path(chain_id, directory).exists() else None


def save(deployment: Deployment, directory: Path) -> Path:
    """Writes atomically (temporary file then rename), so a crash never leaves half a manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    path = manifest_path(deployment.chain_id, directory)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(deployment.to_json(), indent=2) + "\n")
    os.replace(tmp, path)
    _write_index(directory)
    return path


def _write_index(directory: Path) -> None:
    """``deployments/index.json``: the chain ids that have a manifest (the member page uses it
    to tell a member on the wrong network where to switch)."""
    chains = sorted(int(p.stem) for p in directory.glob("*.json") if p.stem.isdigit())
    index = directory / "index.json"
    tmp = index.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"chains": chains}) + "\n")
    os.replace(tmp, index)
