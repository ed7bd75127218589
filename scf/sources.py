"""Sources any explorer can verify: for each contract of the deployed suite, the solc
standard-JSON input that reproduces its code, and the metadata solc embedded a hash of.

``write_sources`` writes, into ``<deployments dir>/verify/<chain-id>/`` (``verify_dir``):

- ``<Contract>.input.json``: a standard-JSON input with only the sources that contract uses
  (the ones its metadata lists), under the source unit names ape gave solc
  (``contracts/...``, ``node_modules/@openzeppelin/contracts/...``), and the settings ape
  compiled with (``.build``'s record of them: optimizer, EVM version, via-IR, remappings). Its
  output selection asks for that one contract, so it compiles in seconds, not a minute;
- ``<Contract>.metadata.json``: solc's metadata for it, byte for byte (its IPFS hash is in the
  CBOR tail of the code on chain: Sourcify finds it by that hash).

The metadata of a contract names only the sources it uses and the settings, never the other
files of the compile, so the minimal input gives the metadata (and the code) that ape's compile
of the whole project gave: ``verify_deployed`` checks it.

``verify_deployed`` compiles each written input alone (from an empty folder: an import that the
input lacks shows up as a source read from elsewhere, and fails) and compares the result with
the code on chain (``eth_getCode``): every byte outside the immutables, the CBOR tail (the
metadata hash) included; each immutable at the offsets solc reports, against the value it must
hold (the suite's addresses, the EIP-712 domain, the settlement decimals); and the written
metadata against what solc makes of the written input. Code built before a file it imports
changed fails here (the metadata hash differs): ape recompiles a changed file, not the files
that import it. ``write_sources`` warns when the build's last compile left files out.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Collection, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from scf.chain.connection import Connection
from scf.contracts import SUITE
from scf.errors import ScfError
from scf.manifest import Deployment
from scf.money import DECIMALS
from scf.paths import build_file as default_build_file
from scf.paths import project_root
from scf.toolchain import ToolchainError, solc_bridge_dir

VERIFY_FOLDER = "verify"
INPUT_SUFFIX = ".input.json"
METADATA_SUFFIX = ".metadata.json"
# What the written input asks solc for: what an explorer compares, and what the check needs.
OUTPUTS = [
    "abi",
    "metadata",
    "evm.bytecode.object",
    "evm.deployedBytecode.object",
    "evm.deployedBytecode.immutableReferences",
]
# Immutables that hold the address of another contract of the suite, by variable name.
SUITE_POINTERS = {
    "registry": "ConsortiumRegistry",
    "settlementToken": "SettlementToken",
    "tradeRegistry": "TradeRegistry",
    "voucher": "ReceivableVoucher",
}
# OpenZeppelin's EIP712 (5.x): the domain cached at construction.
EIP712_TYPE_HASH = keccak(
    text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
SOLC_TIMEOUT = 600  # seconds; the whole suite via-IR takes about 40 s here


class SourcesError(ScfError, RuntimeError):
    """The verification files cannot be written or read, or solc refused them."""


def verify_dir(deployments_dir: Path, chain_id: int) -> Path:
    """``<deployments dir>/verify/<chain-id>``: one chain's verification files."""
    return Path(deployments_dir) / VERIFY_FOLDER / str(chain_id)


# --- the compiler -------------------------------------------------------------------------


@dataclass(frozen=True)
class CompilerSettings:
    """What ape gave solc, as ``.build`` records it."""

    version: str  # "0.8.30+commit.73712a01"
    settings: dict[str, Any]  # without outputSelection
    left_out: list[str]  # project sources the build's last compile did not include

    @property
    def base_version(self) -> str:
        return self.version.split("+", 1)[0]

    @property
    def caveat(self) -> str | None:
        """Why the build's code may not be what today's sources compile to, if it may not."""
        if not self.left_out:
            return None
        return (
            f"the build's last compile left out {len(self.left_out)} of the project's sources "
            f"({', '.join(self.left_out[:3])}{', ...' if len(self.left_out) > 3 else ''}): ape recompiles a "
            "changed file, not the files that import it, so code built earlier may come from older versions "
            "of what it imports and not verify. Run 'ape compile --force' before deploying; "
            "'ape run verify' tells."
        )

    @classmethod
    def from_build(cls, build_file: Path) -> CompilerSettings:
        data = _read_json(build_file, "the build (run 'make compile')")
        compilers = [c for c in data.get("compilers") or [] if c.get("name") == "solidity"]
        if len(compilers) != 1:
            raise SourcesError(f"{build_file} records {len(compilers)} Solidity compilers, not one")
        recorded = compilers[0]["settings"]
        settings = {k: v for k, v in recorded.items() if k != "outputSelection"}
        left_out = sorted(set(data.get("sources") or {}) - set(recorded.get("outputSelection") or {}))
        return cls(compilers[0]["version"], settings, left_out)


def solc(standard_input: dict[str, Any], *, version: str, base_path: Path) -> dict[str, Any]:
    """Runs the project's compiler (``tools/solc/solc-v<version>``) on a standard-JSON input;
    the output, or ``SourcesError`` with solc's error messages."""
    binary = solc_bridge_dir() / f"solc-v{version}"
    if not binary.exists():
        raise ToolchainError(f"no Solidity compiler {version} at {binary}: run 'make setup'")
    done = subprocess.run(
        [str(binary), "--standard-json", "--base-path", str(base_path)],
        input=json.dumps(standard_input),
        capture_output=True,
        text=True,
        cwd=base_path,
        timeout=SOLC_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise SourcesError(f"solc {version} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    try:
        output = json.loads(done.stdout)
    except ValueError as exc:
        raise SourcesError(f"solc {version} printed no JSON ({exc}): {done.stdout[:500]!r}") from exc
    errors = [e.get("formattedMessage") or e.get("message", "") for e in output.get("errors", [])
              if e.get("severity") == "error"]
    if errors:
        raise SourcesError(f"solc {version} refused the input:\n" + "\n".join(errors))
    return output


# --- writing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrittenSources:
    directory: Path
    written: list[str]  # contracts whose files were written by this call
    kept: list[str]  # contracts whose files were there already and describe earlier deployments
    caveat: str | None = None  # why the written files may not verify, if they may not

    def paths(self, name: str) -> tuple[Path, Path]:
        """``(<name>.input.json, <name>.metadata.json)``."""
        return _paths(self.directory, name)


def write_sources(
    directory: Path,
    *,
    replace: Collection[str],
    names: Iterable[str] = SUITE,
    build_file: Path | None = None,
) -> WrittenSources:
    """Writes ``<Contract>.input.json`` and ``<Contract>.metadata.json`` into ``directory``
    for each of ``names`` (the suite by default), from the project's sources and the settings of
    its build. The files of a contract in ``replace`` (deployed by this run) are always
    written; the others only when missing: files already there describe code deployed earlier,
    which today's sources may no longer reproduce."""
    directory = Path(directory)
    names = list(names)
    wanted = [n for n in names if n in replace or not all(p.exists() for p in _paths(directory, n))]
    kept = [n for n in names if n not in wanted]
    if not wanted:
        return WrittenSources(directory, [], kept)
    build_file = build_file or default_build_file()
    compiler = CompilerSettings.from_build(build_file)
    root = project_root()
    source_of = _source_ids(build_file, wanted)
    # Analysis only (no code generation): about 2 s for the whole suite.
    try:
        output = solc(
            {
                "language": "Solidity",
                "sources": {sid: {"content": _read_source(root, sid)} for sid in sorted(set(source_of.values()))},
                "settings": {**compiler.settings, "outputSelection": {"*": {"*": ["metadata"]}}},
            },
            version=compiler.base_version,
            base_path=root,
        )
    except SourcesError as exc:
        raise SourcesError(f"{exc}\n{compiler.caveat}" if compiler.caveat else str(exc)) from exc
    directory.mkdir(parents=True, exist_ok=True)
    for name in wanted:
        sid = source_of[name]
        metadata_text = output["contracts"][sid][name]["metadata"]
        standard_input = minimal_input(name, sid, json.loads(metadata_text), compiler, root)
        input_path, metadata_path = _paths(directory, name)
        _write_atomically(input_path, json.dumps(standard_input, indent=2) + "\n")
        _write_atomically(metadata_path, metadata_text)  # verbatim: its hash is on chain
    return WrittenSources(directory, wanted, kept, compiler.caveat)


def minimal_input(
    name: str, source_id: str, metadata: dict[str, Any], compiler: CompilerSettings, root: Path
) -> dict[str, Any]:
    """The standard-JSON input of one contract: the sources its metadata lists, read as ape
    reads them (and checked against the metadata's keccak256), and the build's settings."""
    sources = {}
    for sid, entry in sorted(metadata["sources"].items()):
        content = _read_source(root, sid)
        if "0x" + keccak(content.encode()).hex() != entry["keccak256"]:
            raise SourcesError(f"{sid} changed while its metadata was made (or is not what solc read): write again")
        sources[sid] = {"content": content}
    return {
        "language": "Solidity",
        "sources": sources,
        "settings": {**compiler.settings, "outputSelection": {source_id: {name: OUTPUTS}}},
    }


def _source_ids(build_file: Path, names: Iterable[str]) -> dict[str, str]:
    """Each contract's source unit name in the build (``contracts/voucher/ReceivableVoucher.sol``)."""
    types = _read_json(build_file, "the build (run 'make compile')").get("contractTypes", {})
    missing = [n for n in names if not (types.get(n) or {}).get("sourceId")]
    if missing:
        raise SourcesError(f"the build {build_file} has no {', '.join(missing)}: run 'make compile'")
    return {n: types[n]["sourceId"] for n in names}


def _read_source(root: Path, source_id: str) -> str:
    # As ape-solidity reads a source for its standard-JSON input.
    return (root / source_id).read_text(encoding="utf8")


def _paths(directory: Path, name: str) -> tuple[Path, Path]:
    return directory / f"{name}{INPUT_SUFFIX}", directory / f"{name}{METADATA_SUFFIX}"


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf8")
    os.replace(tmp, path)


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text(encoding="utf8"))
    except FileNotFoundError:
        raise SourcesError(f"{path} is missing: {what}") from None
    except ValueError as exc:
        raise SourcesError(f"{path} is not JSON ({exc})") from exc


# --- recompiling --------------------------------------------------------------------------


@dataclass(frozen=True)
class Recompiled:
    """One contract compiled from its written files alone."""

    name: str
    runtime: bytes  # zeros where the immutables go
    immutables: dict[str, list[tuple[int, int]]]  # "Declarer.variable" -> [(start, length)]
    metadata_matches: bool  # solc's metadata of the written input is the written metadata, byte for byte
    read_elsewhere: list[str]  # sources solc read that the input does not hold


def recompile(directory: Path, names: Iterable[str] = SUITE, *, workers: int = 2) -> dict[str, Recompiled]:
    """Compiles each contract's written input with the compiler its metadata names, in an
    empty folder; nothing but the two written files is used. ``workers`` compilers run at
    once (each is a process of its own)."""
    names = list(names)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        compiled = list(pool.map(lambda name: _recompile_one(Path(directory), name), names))
    return dict(zip(names, compiled, strict=True))


def _recompile_one(directory: Path, name: str) -> Recompiled:
    input_path, metadata_path = _paths(directory, name)
    standard_input = _read_json(input_path, f"no verification input for {name}")
    if not metadata_path.exists():
        raise SourcesError(f"{metadata_path} is missing: no metadata for {name}")
    written_metadata = metadata_path.read_text(encoding="utf8")
    metadata = json.loads(written_metadata)
    [(source_id, target)] = metadata["settings"]["compilationTarget"].items()
    if target != name:
        raise SourcesError(f"{metadata_path} is the metadata of {target}, not of {name}")
    version = metadata["compiler"]["version"].split("+", 1)[0]
    with tempfile.TemporaryDirectory(prefix="scf-verify-") as empty:
        output = solc(standard_input, version=version, base_path=Path(empty))
        labels = _immutable_names(standard_input, version, Path(empty))
    compiled = output["contracts"][source_id][name]
    deployed = compiled["evm"]["deployedBytecode"]
    return Recompiled(
        name=name,
        runtime=bytes.fromhex(deployed["object"]),
        immutables={
            labels.get(int(ast_id), f"#{ast_id}"): [(r["start"], r["length"]) for r in refs]
            for ast_id, refs in (deployed.get("immutableReferences") or {}).items()
        },
        metadata_matches=compiled["metadata"] == written_metadata,
        read_elsewhere=sorted(set(output["sources"]) - set(standard_input["sources"])),
    )


def _immutable_names(standard_input: dict[str, Any], version: str, base_path: Path) -> dict[int, str]:
    """AST id -> ``"Contract.variable"`` for every immutable declared in the input's sources.

    The ids come from parsing the same sources alone (``stopAfter: parsing``): the parser
    numbers the nodes, so they are the compile's ids, and the AST costs a second or two this
    way instead of ten with the analysed one."""
    parsed = solc(
        {
            "language": "Solidity",
            "sources": standard_input["sources"],
            "settings": {
                "stopAfter": "parsing",
                "remappings": standard_input["settings"].get("remappings", []),
                "outputSelection": {"*": {"": ["ast"]}},
            },
        },
        version=version,
        base_path=base_path,
    )
    names: dict[int, str] = {}

    def walk(node: Any, contract: str) -> None:
        if isinstance(node, dict):
            if node.get("nodeType") == "ContractDefinition":
                contract = node["name"]
            elif node.get("nodeType") == "VariableDeclaration" and node.get("mutability") == "immutable":
                names[node["id"]] = f"{contract}.{node['name']}"
            for child in node.values():
                walk(child, contract)
        elif isinstance(node, list):
            for child in node:
                walk(child, contract)

    for source in parsed["sources"].values():
        walk(source.get("ast"), "")
    return names


# --- comparing with the chain -------------------------------------------------------------


@dataclass(frozen=True)
class ImmutableCheck:
    label: str  # "ConsortiumGuarded.registry"
    references: int
    value: bytes | None  # None when its references on chain disagree
    expected: bytes | None  # None when nothing says what it must hold
    meaning: str  # what the expected value is, or "not checked"

    @property
    def ok(self) -> bool:
        return self.value is not None and (self.expected is None or self.value == self.expected)

    def line(self) -> str:
        shown = "0x" + self.value.hex() if self.value is not None else "(references differ)"
        verdict = "not checked" if self.expected is None else ("as expected" if self.ok else "UNEXPECTED")
        count = f"{self.references} reference{'s' if self.references != 1 else ''}"
        return f"{self.label} = {shown} ({self.meaning}; {count}): {verdict}"


@dataclass
class ContractCheck:
    name: str
    address: str
    size: int
    problems: list[str] = field(default_factory=list)
    immutables: list[ImmutableCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> Iterator[str]:
        head = "verified" if self.ok else "MISMATCH"
        yield f"{head:<9} {self.name:<20} {self.address}  {self.size} bytes, {len(self.immutables)} immutables"
        for problem in self.problems:
            yield f"          - {problem}"
        for immutable in self.immutables:
            yield f"          {immutable.line()}"


@dataclass
class VerificationReport:
    chain_id: int
    directory: Path
    contracts: list[ContractCheck]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.contracts)

    def text(self) -> str:
        verdict = "every contract verified" if self.ok else "NOT verified"
        lines = [f"chain {self.chain_id}, files in {self.directory}: {verdict}"]
        for check in self.contracts:
            lines.extend(check.lines())
        return "\n".join(lines)


def verify_deployed(
    conn: Connection, deployment: Deployment, directory: Path, names: Iterable[str] = SUITE
) -> VerificationReport:
    """Recompiles each contract from its files in ``directory`` and compares the result with
    its code on chain (see the module's docstring)."""
    return compare(conn, deployment, recompile(directory, names), directory)


def compare(
    conn: Connection, deployment: Deployment, recompiled: dict[str, Recompiled], directory: Path
) -> VerificationReport:
    """The report of ``recompiled`` against the code the deployment's contracts have on chain."""
    checks = [_check(conn, deployment, r) for r in recompiled.values()]
    return VerificationReport(conn.chain_id, Path(directory), checks)


def cbor_tail(code: bytes) -> bytes:
    """The metadata solc appends to the code: CBOR (its IPFS hash, the compiler version) then
    two bytes of its length. Empty when the code does not end so."""
    if len(code) < 2:
        return b""
    length = int.from_bytes(code[-2:], "big") + 2
    return code[-length:] if length <= len(code) else b""


def _check(conn: Connection, deployment: Deployment, compiled: Recompiled) -> ContractCheck:
    address = deployment.address(compiled.name)
    on_chain = conn.code_at(address)
    check = ContractCheck(compiled.name, address, len(on_chain))
    problems = check.problems
    if compiled.read_elsewhere:
        problems.append(f"the input lacks sources solc read from elsewhere: {', '.join(compiled.read_elsewhere)}")
    if not compiled.metadata_matches:
        problems.append("the written metadata is not what solc makes of the written input")
    if not on_chain:
        problems.append("no code at this address")
        return check
    if len(on_chain) != len(compiled.runtime):
        problems.append(f"{len(on_chain)} bytes on chain, {len(compiled.runtime)} from the files")
        return check
    masked = bytearray(on_chain)
    for refs in compiled.immutables.values():
        for start, length in refs:
            masked[start:start + length] = compiled.runtime[start:start + length]
    tail = len(cbor_tail(compiled.runtime))
    body = len(masked) - tail
    differing = [i for i in range(body) if masked[i] != compiled.runtime[i]]
    if differing:
        problems.append(
            f"{len(differing)} bytes of code differ outside the immutables, the first at offset {differing[0]}"
        )
    if masked[body:] != compiled.runtime[body:]:
        problems.append(
            f"the metadata hash differs (the code on chain was compiled from other sources or settings; "
            f"a stale build? 'ape compile --force'): on chain {bytes(masked[body:]).hex()}, "
            f"from the files {compiled.runtime[body:].hex()}"
        )
    expected = _expected_immutables(conn, deployment, compiled.name, set(compiled.immutables))
    for label, refs in sorted(compiled.immutables.items()):
        values = {bytes(on_chain[s:s + n]) for s, n in refs}
        want, meaning = expected.get(label, (None, "not checked"))
        immutable = ImmutableCheck(label, len(refs), values.pop() if len(values) == 1 else None, want, meaning)
        check.immutables.append(immutable)
        if label.startswith("#"):
            problems.append(f"the immutable with AST id {label[1:]} is declared nowhere in the input's sources")
        elif immutable.value is None:
            problems.append(f"the references of immutable {label} hold different values")
        elif not immutable.ok and want is not None:
            problems.append(f"immutable {label} holds 0x{immutable.value.hex()}, expected 0x{want.hex()} ({meaning})")
    return check


def _word(value: int | bytes | str) -> bytes:
    if isinstance(value, str):  # an address
        return bytes(12) + bytes.fromhex(value.removeprefix("0x"))
    if isinstance(value, bytes):
        return value.rjust(32, b"\0")
    return value.to_bytes(32, "big")


def _short_string(text: str) -> bytes:
    """OpenZeppelin's ``ShortStrings.toShortStringWithFallback``: the string and its length in
    one word, or the sentinel 0xFF when it does not fit (the string is then in storage)."""
    data = text.encode()
    return data.ljust(31, b"\0") + bytes([len(data)]) if len(data) < 32 else _word(0xFF)


def _expected_immutables(
    conn: Connection, deployment: Deployment, name: str, labels: set[str]
) -> dict[str, tuple[bytes, str]]:
    """What each immutable of ``name`` must hold: ``label -> (word, what it is)``."""
    expected: dict[str, tuple[bytes, str]] = {}
    for label in labels:
        variable = label.split(".", 1)[-1]
        if variable in SUITE_POINTERS:
            target = SUITE_POINTERS[variable]
            expected[label] = (_word(deployment.address(target)), f"the {target}")
    if "ReceivableVoucher._valueDecimals" in labels:
        expected["ReceivableVoucher._valueDecimals"] = (_word(DECIMALS), "the settlement decimals")
    if any(label.startswith("EIP712.") for label in labels):
        address = to_checksum_address(deployment.address(name))
        contract = conn.contract(name, address)
        domain = conn.read(lambda: contract.functions.eip712Domain().call(), origin=name)
        domain_name, version, chain_id = domain[1], domain[2], conn.chain_id
        hashed_name, hashed_version = keccak(text=domain_name), keccak(text=version)
        separator = keccak(encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [EIP712_TYPE_HASH, hashed_name, hashed_version, chain_id, address],
        ))
        eip712 = {
            "_cachedThis": (_word(address), "the contract's own address"),
            "_cachedChainId": (_word(chain_id), "the chain id"),
            "_hashedName": (hashed_name, f"keccak256 of the domain name {domain_name!r}"),
            "_hashedVersion": (hashed_version, f"keccak256 of the domain version {version!r}"),
            "_cachedDomainSeparator": (separator, "the EIP-712 domain separator of this chain and address"),
            "_name": (_short_string(domain_name), f"the domain name {domain_name!r}"),
            "_version": (_short_string(version), f"the domain version {version!r}"),
        }
        expected.update({f"EIP712.{k}": v for k, v in eip712.items()})
    return expected
