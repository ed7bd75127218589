"""Revert decoding: custom errors come back as Python exceptions that name the rule broken."""

from __future__ import annotations

import re
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils import function_signature_to_4byte_selector, to_checksum_address
from hexbytes import HexBytes

from scf.errors import ScfError

_PANIC_CODES = {
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division by zero",
    0x21: "invalid enum value",
    0x32: "array index out of bounds",
    0x41: "out of memory",
}


def _type_of(param: dict[str, Any]) -> str:
    t = param["type"]
    if t.startswith("tuple"):
        inner = ",".join(_type_of(c) for c in param["components"])
        return f"({inner}){t[5:]}"
    return t


class ContractRevert(ScfError):
    """A transaction or call reverted. ``error`` is the custom error's name, ``args`` its
    arguments by name, ``contract`` the contract that declares it (when known)."""

    def __init__(self, error: str, args: dict[str, Any], contract: str | None, raw: bytes) -> None:
        self.error = error
        self.args_by_name = args
        self.contract = contract
        self.raw = raw
        super().__init__(self.describe())

    @property
    def in_words(self) -> str:
        """``CreditLimitExceeded`` -> ``credit limit exceeded``."""
        return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", self.error).lower()

    def describe(self) -> str:
        """``credit limit exceeded: debtor=0x…, limit=500000000, needed=600000000
        [ReceivableVoucher.CreditLimitExceeded]``."""
        where = f"{self.contract}." if self.contract else ""
        parts = ", ".join(f"{k.lstrip('_')}={_show(v)}" for k, v in self.args_by_name.items())
        return f"{self.in_words}{': ' + parts if parts else ''} [{where}{self.error}]"

    def __getitem__(self, key: str) -> Any:
        return self.args_by_name[key]


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


class ErrorDecoder:
    """Maps 4-byte selectors of every custom error in the given ABIs to a decoder."""

    def __init__(self, abis: dict[str, list[dict[str, Any]]]) -> None:
        # Several contracts may declare the same error (ZeroAmount, NotOperator...): keep them
        # all, concrete contracts before interfaces, and prefer the contract that was called.
        self._by_selector: dict[bytes, list[tuple[str, dict[str, Any]]]] = {}
        for contract, abi in sorted(abis.items(), key=lambda kv: kv[0].startswith("I")):
            for item in abi:
                if item.get("type") != "error":
                    continue
                signature = f"{item['name']}({','.join(_type_of(i) for i in item['inputs'])})"
                selector = function_signature_to_4byte_selector(signature)
                self._by_selector.setdefault(selector, []).append((contract, item))

    def decode(self, data: bytes | str | None, prefer: str | None = None) -> ContractRevert:
        """Decodes revert data; ``prefer`` names the contract that was called, which is taken
        as the error's origin when it declares that error."""
        raw = bytes(HexBytes(data)) if data else b""
        if len(raw) < 4:
            return ContractRevert("RevertWithoutReason", {}, None, raw)
        try:
            return self._decode(raw, prefer)
        except DecodingError:  # a known selector over a body that is not its arguments (crafted or cut)
            return ContractRevert("UnknownError", {"data": raw}, None, raw)

    def _decode(self, raw: bytes, prefer: str | None) -> ContractRevert:
        selector, body = raw[:4], raw[4:]
        if selector == bytes.fromhex("08c379a0"):  # Error(string)
            (message,) = abi_decode(["string"], body)
            return ContractRevert("Error", {"message": message}, None, raw)
        if selector == bytes.fromhex("4e487b71"):  # Panic(uint256)
            (code,) = abi_decode(["uint256"], body)
            return ContractRevert("Panic", {"code": code, "meaning": _PANIC_CODES.get(code, "unknown")}, None, raw)
        declared = self._by_selector.get(selector)
        if not declared:
            return ContractRevert("UnknownError", {"data": raw}, None, raw)
        contract, item = next(((c, i) for c, i in declared if c == prefer), declared[0])
        types = [_type_of(i) for i in item["inputs"]]
        values = abi_decode(types, body) if types else ()
        args = {}
        for i, (param, value) in enumerate(zip(item["inputs"], values, strict=True)):
            if param["type"] == "address":
                value = to_checksum_address(value)
            args[param["name"] or f"arg{i}"] = value
        return ContractRevert(item["name"], args, contract, raw)
