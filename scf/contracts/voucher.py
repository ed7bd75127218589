"""ReceivableVoucher: the ERC-3525 voucher ledger."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from scf.chain.sending import Signer, TxResult
from scf.contracts.base import ContractClient

SERIAL_BITS = 32

# ERC-3525 has two three-argument transferFroms; ape and web3 can pick the wrong one from
# the arguments' shape, so the client always names the overload by signature.
SPLIT_TRANSFER = "transferFrom(uint256,address,uint256)"
MERGE = "transferFrom(uint256,uint256,uint256)"
WHOLE_TRANSFER = "transferFrom(address,address,uint256)"
SAFE_WHOLE_TRANSFER = "safeTransferFrom(address,address,uint256)"


class SlotStatus(IntEnum):
    NONE = 0
    ISSUED = 1
    ACCEPTED = 2
    CANCELLED = 3
    SETTLED = 4


@dataclass(frozen=True)
class SlotInfo:
    slot: int
    debtor: str
    maturity: int
    status: SlotStatus
    last_serial: int
    flags: int
    face_value: int
    funded: int
    redeemed: int  # every unit paid out: redemptions and pro-rata payouts
    issued_at: int
    creditor: str
    trade_record_id: int
    overdue_at: int
    written_off: int  # value holders gave up (beyond what those vouchers had been paid)
    written_off_paid: int  # what the written-off vouchers had been paid before

    @property
    def held(self) -> int:
        """Cash funded into the slot and not yet paid out (the ledger holds it)."""
        return self.funded - self.redeemed

    @property
    def outstanding(self) -> int:
        """Value still claimed by the slot's live vouchers."""
        return self.face_value - self.redeemed - self.written_off

    @property
    def fully_funded(self) -> bool:
        return self.funded + self.written_off >= self.face_value


@dataclass(frozen=True)
class VoucherInfo:
    token_id: int
    owner: str
    slot: int
    value: int
    parent: int
    frozen: bool

    @property
    def exists(self) -> bool:
        return int(self.owner, 16) != 0


def token_id(slot: int, serial: int) -> int:
    return (slot << SERIAL_BITS) | serial


def label(token: int) -> str:
    """Human name of a voucher: ``slot.serial``, e.g. ``3.1`` for slot 3's root."""
    return f"{token >> SERIAL_BITS}.{token & ((1 << SERIAL_BITS) - 1)}"


class ReceivableVoucher(ContractClient):
    NAME = "ReceivableVoucher"

    # ------------------------------------------------------------- lifecycle

    def issue(
        self, debtor: Signer, creditor: str, face_value: int, maturity: int, trade_record_id: int
    ) -> tuple[int, TxResult]:
        result = self.send(debtor, "issue", creditor, face_value, maturity, trade_record_id)
        (event,) = result.events(self.contract, "VoucherIssued")
        return int(event["args"]["slot"]), result

    def accept(self, creditor: Signer, slot: int) -> tuple[int, TxResult]:
        result = self.send(creditor, "accept", slot)
        (event,) = result.events(self.contract, "VoucherAccepted")
        return int(event["args"]["tokenId"]), result

    def cancel(self, debtor: Signer, slot: int) -> TxResult:
        return self.send(debtor, "cancel", slot)

    def split_transfer(self, spender: Signer, from_token: int, to: str, value: int) -> tuple[int, TxResult]:
        result = self.send(spender, SPLIT_TRANSFER, from_token, to, value)
        minted = [e for e in result.events(self.contract, "TransferValue") if e["args"]["_fromTokenId"] == from_token]
        return int(minted[-1]["args"]["_toTokenId"]), result

    def merge(self, spender: Signer, from_token: int, to_token: int, value: int) -> TxResult:
        return self.send(spender, MERGE, from_token, to_token, value)

    def transfer_whole(self, spender: Signer, holder: str, to: str, token: int, *, safe: bool = False) -> TxResult:
        return self.send(spender, SAFE_WHOLE_TRANSFER if safe else WHOLE_TRANSFER, holder, to, token)

    def split(self, holder: Signer, token: int, values: list[int]) -> tuple[list[int], TxResult]:
        result = self.send(holder, "split", token, values)
        new_ids = [int(e["args"]["_toTokenId"]) for e in result.events(self.contract, "TransferValue")]
        return new_ids, result

    def approve_value(self, holder: Signer, token: int, operator: str, value: int) -> TxResult:
        return self.send(holder, "approve(uint256,address,uint256)", token, operator, value)

    def fund(self, payer: Signer, slot: int, amount: int) -> TxResult:
        """The debtor's payment into the slot, or an active member's on its behalf."""
        return self.send(payer, "fund", slot, amount)

    def redeem(self, caller: Signer, token: int) -> TxResult:
        """Pays the holder: the whole value of a fully funded slot's voucher (burned), or the
        pro-rata share of an overdue slot's (the voucher stays alive for the rest)."""
        return self.send(caller, "redeem", token)

    def write_off(self, holder: Signer, token: int) -> TxResult:
        """The holder gives up the rest of an overdue voucher (paid its due share first)."""
        return self.send(holder, "writeOff", token)

    def mark_overdue(self, caller: Signer, slot: int) -> TxResult:
        return self.send(caller, "markOverdue", slot)

    def force_transfer(self, operator: Signer, token: int, to: str, reason_hash: bytes) -> tuple[bool, TxResult]:
        """One operator's approval of a court-ordered move of ``token`` to ``to``; returns
        (whether this approval reached the threshold and moved it, the transaction)."""
        result = self.send(operator, "forceTransfer", token, to, reason_hash)
        return bool(result.events(self.contract, "VoucherForceTransferred")), result

    def return_excess_settlement(self, governance: Signer, to: str, amount: int) -> TxResult:
        return self.send(governance, "returnExcessSettlement", to, amount)

    def overdue_from(self, slot: int) -> int:
        """When ``slot`` may be marked overdue if still unfunded (maturity + grace + seconds paused)."""
        return int(self.call("overdueFromOf", slot))

    def freeze(self, operator: Signer, token: int, reason_hash: bytes) -> TxResult:
        return self.send(operator, "freeze", token, reason_hash)

    def unfreeze(self, operator: Signer, token: int) -> TxResult:
        return self.send(operator, "unfreeze", token)

    # ------------------------------------------------------------------ views

    def slot(self, slot: int) -> SlotInfo:
        s = self.call("slotInfo", slot)
        return SlotInfo(slot, s[0], s[1], SlotStatus(s[2]), *s[3:])

    def voucher(self, token: int) -> VoucherInfo:
        owner, slot, value, parent, frozen = self.call("tokenInfo", token)
        return VoucherInfo(token, owner, slot, value, parent, frozen)

    def paid_out_of(self, token: int) -> int:
        """Cash a live voucher has received from pro-rata payouts (its value is the rest)."""
        return int(self.call("paidOutOf", token))

    def value_of(self, token: int) -> int:
        return int(self.call("balanceOf(uint256)", token))

    def owner_of(self, token: int) -> str:
        return str(self.call("ownerOf", token))

    def outstanding_of(self, debtor: str) -> int:
        return int(self.call("outstandingOf", debtor))
