"""What a member does, in the member's terms: amounts as ``Decimal`` currency units, times as
timezone-aware datetimes, vouchers as ``slot.serial`` labels or ids. Inputs are validated
before anything is signed; every action is signed with the member's own key."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils import is_hex_address, keccak, to_checksum_address

from scf.chain.sending import TxResult
from scf.contracts import DocType
from scf.errors import ScfError
from scf.money import from_minor, to_minor, to_timestamp
from scf.suite import Suite
from scf.typed_data import DiscountOffer

Amount = Decimal | str | int


class InputError(ScfError, ValueError):
    """A member's input that cannot be acted on; the message names the problem and the fix."""


def check_address(value: str, what: str = "address") -> ChecksumAddress:
    if not isinstance(value, str) or not is_hex_address(value):
        raise InputError(f"{what} {value!r} is not an address (0x followed by 40 hex digits)")
    return to_checksum_address(value)


class MemberSession:
    """One member, signing with its own key, on one deployed suite. ``gas`` records the gas
    of every transaction sent, by operation."""

    def __init__(self, suite: Suite, key: LocalAccount) -> None:
        self.suite = suite
        self.key = key
        self.gas: dict[str, list[int]] = {}

    @property
    def address(self) -> ChecksumAddress:
        return self.key.address

    def _track(self, operation: str, result: TxResult) -> TxResult:
        self.gas.setdefault(operation, []).append(result.gas_used)
        return result

    def _existing_voucher(self, token: int) -> int:
        if not self.suite.voucher.voucher(token).exists:
            raise InputError(f"voucher {token >> 32}.{token & 0xFFFFFFFF} does not exist (or was redeemed)")
        return token

    # --------------------------------------------------------------- documents

    def anchor(
        self,
        doc_type: DocType | str,
        document: bytes | Path | str,
        counterparty: str,
        amount: Amount,
        parent_record: int = 0,
    ) -> int:
        """Anchors a trade document by its keccak-256 hash; returns the record id."""
        kind = DocType.parse(doc_type) if isinstance(doc_type, str) else doc_type
        content = document.read_bytes() if isinstance(document, Path) else document
        content = content.encode() if isinstance(content, str) else content
        other = check_address(counterparty, "counterparty")
        record, tx = self.suite.trade.register(self.key, kind, keccak(content), other, to_minor(amount), parent_record)
        self._track("anchor_document", tx)
        return record

    def confirm(self, record: int) -> None:
        self._track("confirm_document", self.suite.trade.confirm(self.key, record))

    # ---------------------------------------------------------------- issuance

    def issue(self, creditor: str, face: Amount, maturity: datetime, invoice_record: int) -> int:
        """As a core enterprise, issues a voucher; returns the slot."""
        due = to_timestamp(maturity)
        now = self.suite.conn.block_timestamp()
        if due <= now and not self.suite.conn.replaying:
            raise InputError(f"maturity {maturity.isoformat()} is not in the future (chain time is {now})")
        slot, tx = self.suite.voucher.issue(
            self.key, check_address(creditor, "creditor"), to_minor(face), due, invoice_record
        )
        self._track("issue", tx)
        return slot

    def accept(self, slot: int) -> int:
        """As the creditor, accepts an issuance; returns the root voucher."""
        token, tx = self.suite.voucher.accept(self.key, slot)
        self._track("accept", tx)
        return token

    # ---------------------------------------------------------------- movement

    def pay(self, voucher: int, to: str, amount: Amount) -> int:
        """Splits ``amount`` off a voucher to another member; returns the new voucher."""
        token, tx = self.suite.voucher.split_transfer(
            self.key, self._existing_voucher(voucher), check_address(to, "receiver"), to_minor(amount)
        )
        self._track("split_transfer", tx)
        return token

    def merge(self, voucher: int, into: int, amount: Amount) -> None:
        tx = self.suite.voucher.merge(self.key, self._existing_voucher(voucher), into, to_minor(amount))
        self._track("merge", tx)

    def hand_over(self, voucher: int, to: str) -> None:
        """Transfers a whole voucher (ERC-721 transfer)."""
        tx = self.suite.voucher.transfer_whole(
            self.key, self.address, check_address(to, "receiver"), self._existing_voucher(voucher)
        )
        self._track("transfer_whole", tx)

    # ------------------------------------------------------------- discounting

    def quote(self, voucher: int, amount: Amount, rate_bps: int) -> Decimal:
        price, _ = self.suite.desk.quote(self._existing_voucher(voucher), to_minor(amount), rate_bps)
        return from_minor(price)

    def offer_discount(
        self, voucher: int, amount: Amount, rate_bps: int, valid_for: timedelta, nonce: int, seller: str | None = None
    ) -> tuple[DiscountOffer, bytes]:
        """As a financier, signs an offer to buy ``amount`` of ``voucher`` at ``rate_bps`` a
        year (ACT/360) from ``seller`` (by default the voucher's holder now): only that seller
        may submit it. The desk must be allowed to spend the price from this member's cash."""
        if not 0 < rate_bps <= 10_000:
            raise InputError(f"rate {rate_bps} bps is outside 1..10000")
        token = self._existing_voucher(voucher)
        seller = seller or self.suite.voucher.owner_of(token)
        deadline = self.suite.conn.block_timestamp() + int(valid_for.total_seconds())
        offer = DiscountOffer(token, to_minor(amount), rate_bps, deadline, nonce, self.address, seller)
        return offer, self.suite.desk.sign(self.key.key, offer)

    def ensure_discount_line(self, amount: Amount) -> None:
        """As a financier, lets the desk pay up to ``amount`` from this member's cash."""
        needed = to_minor(amount)
        if self.suite.token.allowance(self.address, self.suite.desk.address) < needed:
            self._track("approve_desk", self.suite.token.approve(self.key, self.suite.desk.address, needed))

    def take_discount(self, offer: DiscountOffer, signature: bytes) -> tuple[int, Decimal, TxResult]:
        """As the holder, sells to the financier under its signed offer: returns (the
        financier's voucher, the price received, the transaction)."""
        token, price, tx = self.suite.desk.discount(self.key, offer, signature)
        self._track("discount", tx)
        return token, from_minor(price), tx

    # --------------------------------------------------------------- maturity

    def fund(self, slot: int, amount: Amount | None = None) -> Decimal:
        """Funds ``amount`` of the slot (default: all that is unfunded), as its debtor or, as any
        active member, on the debtor's behalf (a guarantor); returns it."""
        info = self.suite.voucher.slot(slot)
        minor = info.face_value - info.funded if amount is None else to_minor(amount)
        if minor == 0 and not self.suite.conn.replaying:  # a re-run of a recorded funding: it was not 0
            raise InputError(f"slot {slot} is already fully funded")
        self._track("approve_ledger", self.suite.token.approve(self.key, self.suite.voucher.address, minor))
        self._track("fund", self.suite.voucher.fund(self.key, slot, minor))
        return from_minor(minor)

    def redeem(self, vouchers: list[int]) -> TxResult:
        """Redeems matured vouchers (anyone's: each holder is paid)."""
        tx = self.suite.keeper.redeem_batch(self.key, vouchers)
        self._track("redeem_batch", tx)
        self.gas.setdefault("redeem_per_voucher_in_batch", []).append(tx.gas_used // max(1, len(vouchers)))
        return tx

    def cash(self) -> Decimal:
        return from_minor(self.suite.token.balance_of(self.address))
