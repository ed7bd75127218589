"""CreditDesk: pledges in custody, credit insurance with subrogation, payments on a payer's behalf."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from scf.chain.sending import Signer, TxResult
from scf.contracts.base import ZERO_ADDRESS, ContractClient


class Recovery(IntEnum):
    """Who is repaid first from what is paid after an insurance claim."""

    HOLDERS_FIRST = 0
    INSURER_FIRST = 1


class CoverState(IntEnum):
    NONE = 0
    OFFERED = 1
    ACTIVE = 2
    CLAIMED = 3
    CLOSED = 4


@dataclass(frozen=True)
class Pledge:
    token_id: int
    pledgor: str
    due_date: int
    pledgee: str
    nominal: int  # the voucher's value when pledged
    secured: int  # the pledgee's share of payouts, at most
    pledgee_paid: int
    distributed: int

    @property
    def exists(self) -> bool:
        return self.pledgee != ZERO_ADDRESS


@dataclass(frozen=True)
class Policy:
    slot: int
    insurer: str
    offer_deadline: int
    state: CoverState
    order: Recovery
    buyer: str
    cover: int
    premium: int
    claim_paid: int
    recovered: int

    @property
    def insurer_owed(self) -> int:
        """What the debtor still owes the insurer after a claim (subrogation)."""
        return self.claim_paid - self.recovered if self.state == CoverState.CLAIMED else 0


class CreditDesk(ContractClient):
    NAME = "CreditDesk"

    # ----------------------------------------------------------------- pledges

    def pledge(
        self, holder: Signer, token: int, value: int, pledgee: str, secured: int, due_date: int
    ) -> tuple[int, TxResult]:
        """The holder (which approved the desk for ``token``) pledges ``value`` of it; returns the
        voucher in custody (``token`` itself, or the part split off)."""
        result = self.send(holder, "pledge", token, value, pledgee, secured, due_date)
        (event,) = result.events(self.contract, "VoucherPledged")
        return int(event["args"]["tokenId"]), result

    def release_pledge(self, pledgee: Signer, token: int) -> TxResult:
        return self.send(pledgee, "releasePledge", token)

    def enforce_pledge(self, pledgee: Signer, token: int) -> tuple[int, TxResult]:
        """Returns the voucher the pledgee now holds."""
        result = self.send(pledgee, "enforcePledge", token)
        (event,) = result.events(self.contract, "PledgeEnforced")
        return int(event["args"]["pledgeeTokenId"]), result

    def collect(self, caller: Signer, token: int) -> TxResult:
        """Redeems a pledged voucher at the ledger and passes the cash on."""
        return self.send(caller, "collect", token)

    def distribute(self, caller: Signer, token: int) -> TxResult:
        return self.send(caller, "distribute", token)

    def pledge_of(self, token: int) -> Pledge:
        return Pledge(token, *self.call("pledgeOf", token))

    # -------------------------------------------------------- credit insurance

    def offer_cover(
        self, insurer: Signer, slot: int, cover: int, premium: int, order: Recovery, offer_deadline: int
    ) -> TxResult:
        """The insurer (which approved the desk for ``cover``) escrows its cover and offers it."""
        return self.send(insurer, "offerCover", slot, cover, premium, int(order), offer_deadline)

    def buy_cover(self, buyer: Signer, slot: int, terms: Policy, token: int = 0) -> TxResult:
        """The debtor (``token`` 0) or the holder of ``token`` pays the premium, for the cover on
        ``terms`` (as the buyer read them: refused with TermsChanged if they changed since)."""
        return self.send(
            buyer, "buyCover", slot, token, terms.insurer, terms.cover, terms.premium, int(terms.order)
        )

    def redirect_held(self, operator: Signer, account: str, to: str, reason_hash: bytes) -> tuple[bool, TxResult]:
        """One operator's approval of sending the cash held for ``account`` (which may not hold
        cash now) to ``to``; returns (whether this approval reached the threshold, the tx)."""
        result = self.send(operator, "redirectHeld", account, to, reason_hash)
        return bool(result.events(self.contract, "HeldRedirected")), result

    def withdraw_cover(self, insurer: Signer, slot: int) -> TxResult:
        return self.send(insurer, "withdrawCover", slot)

    def claim(self, caller: Signer, slot: int) -> TxResult:
        return self.send(caller, "claim", slot)

    def policy_of(self, slot: int) -> Policy:
        p = self.call("policyOf", slot)
        return Policy(slot, p[0], p[1], CoverState(p[2]), Recovery(p[3]), *p[4:])

    # ---------------------------------------------------------------- payments

    def pay(self, payer: Signer, slot: int, amount: int) -> TxResult:
        """Pays toward the slot on the payer's behalf (after a claim, in the policy's order)."""
        return self.send(payer, "pay", slot, amount)

    def withdraw(self, account: Signer) -> TxResult:
        """Takes the cash the desk kept for ``account`` (it could not be paid at once)."""
        return self.send(account, "withdraw")

    def held_for(self, account: str) -> int:
        return int(self.call("heldFor", account))

    def reclaim(self, pledgor: Signer, token: int) -> TxResult:
        """The pledgor takes back a released voucher the desk kept while it could not receive it."""
        return self.send(pledgor, "reclaim", token)
