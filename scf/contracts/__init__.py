"""Typed clients, one per contract of the suite, and the suite's list of contracts.

``SUITE`` is the one list of the suite's contracts: deployment, the manifest, the ABI export,
the event index, the access matrix and (through the generated ``frontend_bridge/constants.json``)
the member page and the static analysis all read it.
"""

from scf.contracts.credit import CoverState, CreditDesk, Pledge, Policy, Recovery
from scf.contracts.desk import DiscountDesk, RecourseDebt
from scf.contracts.keeper import PayoutKeeper
from scf.contracts.registry import Admission, ConsortiumRegistry, Member, MemberStatus, Role
from scf.contracts.settlement import SettlementToken
from scf.contracts.trade import DocType, RecordStatus, TradeRecord, TradeRegistry
from scf.contracts.voucher import ReceivableVoucher, SlotInfo, SlotStatus, VoucherInfo, label, token_id

# In deployment order: each constructor takes contracts deployed before it.
SUITE = (
    "ConsortiumRegistry",
    "SettlementToken",
    "TradeRegistry",
    "ReceivableVoucher",
    "DiscountDesk",
    "PayoutKeeper",
    "CreditDesk",
    "VoucherDescriptor",
)
# The contracts that emit events (the descriptor only renders metadata).
LEDGERS = SUITE[:7]

__all__ = [
    "Admission",
    "LEDGERS",
    "SUITE",
    "ConsortiumRegistry",
    "CoverState",
    "CreditDesk",
    "DiscountDesk",
    "DocType",
    "Member",
    "MemberStatus",
    "PayoutKeeper",
    "Pledge",
    "Policy",
    "ReceivableVoucher",
    "RecordStatus",
    "RecourseDebt",
    "Recovery",
    "Role",
    "SettlementToken",
    "SlotInfo",
    "SlotStatus",
    "TradeRecord",
    "TradeRegistry",
    "VoucherInfo",
    "label",
    "token_id",
]
