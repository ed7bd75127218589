"""What a member does, in the member's terms: amounts as ``Decimal`` currency units, times as
timezone-aware datetimes, vouchers as ``slot.serial`` labels or ids. Inputs are validated
before anything is signed; every action is signed with the member's own key."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils import is_hex_address, to_checksum_address

from scf.chain.sending import TxResult
from scf.contracts import CoverState, Recovery
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
        self,
        voucher: int,
        amount: Amount,
        rate_bps: int,
        valid_for: timedelta,
        nonce: int,
        seller: str | None = None,
        *,
        recourse: bool = False,
    ) -> tuple[DiscountOffer, bytes]:
        """As a financier, signs an offer to buy ``amount`` of ``voucher`` at ``rate_bps`` a
        year (ACT/360) from ``seller`` (by default the voucher's holder now): only that seller
        may submit it. The desk must be allowed to spend the price from this member's cash.
        With ``recourse``, the financier may put the voucher back if its slot goes overdue."""
        if not 0 < rate_bps <= 10_000:
            raise InputError(f"rate {rate_bps} bps is outside 1..10000")
        token = self._existing_voucher(voucher)
        seller = seller or self.suite.voucher.owner_of(token)
        deadline = self.suite.conn.block_timestamp() + int(valid_for.total_seconds())
        offer = DiscountOffer(token, to_minor(amount), rate_bps, deadline, nonce, self.address, seller, recourse)
        return offer, self.suite.desk.sign(self.key.key, offer)

    def ensure_discount_line(self, amount: Amount) -> None:
        """As a financier, lets the desk pay up to ``amount`` from this member's cash."""
        needed = to_minor(amount)
        if self.suite.token.allowance(self.address, self.suite.desk.address) < needed:
            self._track("approve_desk", self.suite.token.approve(self.key, self.suite.desk.address, needed))

    def take_discount(self, offer: DiscountOffer, signature: bytes) -> tuple[int, Decimal, TxResult]:
        """As the holder, sells to the financier under its signed offer: returns (the
        financier's voucher, the price received, the transaction). Selling with recourse, the
        seller lets the desk collect from its cash, up to the value sold, what it would owe if
        the financier put the voucher back."""
        token, price, tx = self.suite.desk.discount(self.key, offer, signature)
        self._track("discount", tx)
        if offer.recourse:
            self._allow(self.suite.desk.address, offer.value, "approve_recourse")
        return token, from_minor(price), tx

    def put_back(self, voucher: int) -> tuple[Decimal, TxResult]:
        """As a financier that bought ``voucher`` with recourse, puts it back to its seller once
        its slot is overdue; returns what the seller owed (before the desk collected what it
        could at once) and the transaction."""
        owed, tx = self.suite.desk.put_back(self.key, self._existing_voucher(voucher))
        self._track("put_back", tx)
        return from_minor(owed), tx

    def _allow(self, spender: str, needed: int, operation: str) -> None:
        """Lets ``spender`` take at least ``needed`` of this member's cash (an allowance already
        that large is left as it is)."""
        allowed = self.suite.token.allowance(self.address, spender)
        if allowed < needed:
            self._track(operation, self.suite.token.approve(self.key, spender, needed))

    # ------------------------------------------------------- pledges, insurance

    def pledge(self, voucher: int, amount: Amount | None, pledgee: str, secured: Amount, due: datetime) -> int:
        """Pledges ``amount`` of ``voucher`` (all of it by default) to ``pledgee`` for a loan of
        ``secured`` due at ``due``; returns the voucher now in the credit desk's custody."""
        token = self._existing_voucher(voucher)
        value = self.suite.voucher.value_of(token) if amount is None else to_minor(amount)
        desk = self.suite.credit.address
        if self.suite.voucher.call("getApproved", token) != desk:
            self._track("approve_pledge", self.suite.voucher.send(self.key, "approve(address,uint256)", desk, token))
        pledged, tx = self.suite.credit.pledge(
            self.key, token, value, check_address(pledgee, "pledgee"), to_minor(secured), to_timestamp(due)
        )
        self._track("pledge", tx)
        return pledged

    def offer_cover(
        self, slot: int, cover: Amount, premium: Amount, order: Recovery | str, valid_for: timedelta
    ) -> None:
        """As an insurer, escrows ``cover`` for ``slot`` and offers it for ``premium``."""
        recovery = Recovery[order.upper()] if isinstance(order, str) else order
        minor = to_minor(cover)
        self._allow(self.suite.credit.address, minor, "approve_escrow")
        deadline = self.suite.conn.block_timestamp() + int(valid_for.total_seconds())
        price = to_minor(premium, allow_zero=True)
        self._track("offer_cover", self.suite.credit.offer_cover(self.key, slot, minor, price, recovery, deadline))

    def buy_cover(self, slot: int, voucher: int = 0) -> Decimal:
        """As the slot's debtor, or the holder of ``voucher`` (one of the slot's), buys the
        cover offered on it; returns the premium paid."""
        policy = self.suite.credit.policy_of(slot)
        if policy.state != CoverState.OFFERED and not self.suite.conn.replaying:
            raise InputError(f"no cover is offered on slot {slot} (its policy is {policy.state.name.lower()})")
        self._allow(self.suite.credit.address, policy.premium, "approve_premium")
        self._track("buy_cover", self.suite.credit.buy_cover(self.key, slot, policy, voucher))
        return from_minor(policy.premium)

    def claim(self, slot: int) -> TxResult:
        """Triggers the insurance claim of an overdue slot (anyone may)."""
        return self._track("claim", self.suite.credit.claim(self.key, slot))

    def mark_overdue(self, slot: int) -> TxResult:
        """Records that ``slot`` was not fully funded by its overdue time (anyone may)."""
        return self._track("mark_overdue", self.suite.voucher.mark_overdue(self.key, slot))

    def write_off(self, voucher: int) -> TxResult:
        """As the holder of an overdue voucher, gives up the rest of it (paid its due share first)."""
        return self._track("write_off", self.suite.voucher.write_off(self.key, self._existing_voucher(voucher)))

    def collect_pledged(self, voucher: int) -> TxResult:
        """Passes on what a pledged voucher received (pledgee first); anyone may."""
        return self._track("distribute_pledge", self.suite.credit.distribute(self.key, voucher))

    # --------------------------------------------------------------- maturity

    def fund(self, slot: int, amount: Amount | None = None) -> Decimal:
        """Funds ``amount`` of the slot (default: all that is unfunded), as its debtor or, as any
        active member, on the debtor's behalf (a guarantor); returns it. After an insurance
        claim the payment goes through the credit desk, which also repays the insurer in the
        policy's order (the default amount then includes what the insurer is owed)."""
        info = self.suite.voucher.slot(slot)
        routed = self.suite.credit.policy_of(slot).state == CoverState.CLAIMED
        owed = self.suite.credit.policy_of(slot).insurer_owed if routed else 0
        unfunded = info.face_value - info.funded - info.written_off
        minor = unfunded + owed if amount is None else to_minor(amount)
        if minor == 0 and not self.suite.conn.replaying:  # a re-run of a recorded funding: it was not 0
            raise InputError(f"slot {slot} is already fully funded")
        if routed:
            self._allow(self.suite.credit.address, minor, "approve_desk")
            self._track("fund", self.suite.credit.pay(self.key, slot, minor))
        else:
            self._track("approve_ledger", self.suite.token.approve(self.key, self.suite.voucher.address, minor))
            self._track("fund", self.suite.voucher.fund(self.key, slot, minor))
        return from_minor(minor)

    def redeem(self, vouchers: list[int]) -> TxResult:
        """Redeems matured vouchers (anyone's: each holder is paid)."""
        tx = self.suite.keeper.redeem_batch(self.key, vouchers)
        self._track("redeem_batch", tx)
        self.gas.setdefault("redeem_per_voucher_in_batch", []).append(tx.gas_used // max(1, len(vouchers)))
        return tx

    def send_cash(self, to: str, amount: Amount) -> TxResult:
        """Pays ``amount`` of settlement tokens to another member (a loan, a plain payment)."""
        tx = self.suite.token.transfer(self.key, check_address(to, "receiver"), to_minor(amount))
        return self._track("send_cash", tx)

    def cash(self) -> Decimal:
        return from_minor(self.suite.token.balance_of(self.address))
