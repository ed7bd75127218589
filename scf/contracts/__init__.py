"""Typed clients, one per contract of the suite."""

from scf.contracts.desk import DiscountDesk
from scf.contracts.registry import ConsortiumRegistry, Member, MemberStatus, Role
from scf.contracts.settlement import SettlementToken
from scf.contracts.trade import DocType, RecordStatus, TradeRecord, TradeRegistry
from scf.contracts.voucher import ReceivableVoucher, SlotInfo, SlotStatus, VoucherInfo, label, token_id

__all__ = [
    "ConsortiumRegistry",
    "DiscountDesk",
    "DocType",
    "Member",
    "MemberStatus",
    "ReceivableVoucher",
    "RecordStatus",
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
