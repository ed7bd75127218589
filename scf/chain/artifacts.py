"""Compiled contracts (ABI and bytecode) as produced by ``ape compile``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scf.errors import ScfError
from scf.paths import build_file as default_build_file


class MissingBuildError(ScfError, RuntimeError):
    """The contracts have not been compiled (or not this contract)."""


@dataclass(frozen=True)
class ContractArtifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    runtime_bytecode: str


class Artifacts:
    """Every compiled contract of the project, by name."""

    def __init__(self, contracts: dict[str, ContractArtifact], compiler: str) -> None:
        self._contracts = contracts
        self.compiler = compiler

    @classmethod
    def load(cls, build_file: Path | None = None) -> Artifacts:
        """The build ``ape compile`` wrote (by default the project's ``.build/__local__.json``)."""
        build_file = build_file or default_build_file()
        if not build_file.exists():
            raise MissingBuildError(
                f"no compiled contracts at {build_file}: run 'make compile' (or 'ape compile') first"
            )
        data = json.loads(build_file.read_text())
        contracts = {}
        for name, ct in data.get("contractTypes", {}).items():
            contracts[name] = ContractArtifact(
                name=name,
                abi=ct["abi"],
                bytecode=(ct.get("deploymentBytecode") or {}).get("bytecode", "0x"),
                runtime_bytecode=(ct.get("runtimeBytecode") or {}).get("bytecode", "0x"),
            )
        compilers = data.get("compilers") or [{}]
        return cls(contracts, compiler=compilers[0].get("version", "unknown"))

    def __getitem__(self, name: str) -> ContractArtifact:
        try:
            return self._contracts[name]
        except KeyError:
            raise MissingBuildError(f"contract {name!r} is not in the build: run 'make compile'") from None

    def __contains__(self, name: str) -> bool:
        return name in self._contracts

    def names(self) -> list[str]:
        return sorted(self._contracts)

    def all_abis(self) -> dict[str, list[dict[str, Any]]]:
        return {name: c.abi for name, c in self._contracts.items()}
