"""Gas of every state-changing function of the registry, the settlement token and the trade
registry, each performed once on a realistic state, printed as a table."""

from __future__ import annotations

from eth_utils import keccak

from scf.chain.devnet import set_balance
from scf.contracts import DocType, Role
from tests.support import CNY, ETHER, KYC, OPERATOR_ROLE, member_key, sign_permit

REASON = keccak(text="reason")
# Generous: far above any of these functions, low enough to catch an accidental loop or a
# storage layout that went wrong.
GAS_BOUND = 300_000


def test_every_consortium_function_stays_within_a_sane_gas_budget(suite, cast, conn, w3, now, capsys):
    reg, token, trade = suite.registry, suite.token, suite.trade
    op, gov, hospital, tier1, bank = cast.operator, cast.governance, cast.hospital, cast.tier1, cast.bank
    firm, rejected, operator2, ledger = (
        member_key(n) for n in ("gas firm", "gas rejected firm", "gas operator", "gas ledger")
    )
    for key in (firm, rejected, operator2, ledger):
        set_balance(w3, key.address, 10 * ETHER)
    gas: list[tuple[str, str, int]] = []

    def measure(client, signer, function: str, *args) -> None:
        result = client.send(signer, function, *args)
        gas.append((client.NAME, function, result.gas_used))

    # ConsortiumRegistry
    measure(reg, firm, "applyForMembership", "Gas Fittings Ltd", int(Role.SUPPLIER), KYC)
    measure(reg, op, "approve", firm.address)
    reg.apply(rejected, "Rejected Rivets Ltd", Role.SUPPLIER, KYC)
    measure(reg, op, "rejectApplication", rejected.address, REASON)
    measure(
        reg, op, "admit", member_key("gas admitted").address, "Admitted Axles", int(Role.CORE_ENTERPRISE), KYC, 10**8
    )
    five = [(member_key(f"gas batch {i}").address, int(Role.SUPPLIER), 0, KYC, f"Batch Bolts {i}") for i in range(5)]
    measure(reg, op, "admitBatch", five)  # five firms: the bound catches a loop gone wrong, not the batch's size
    measure(reg, op, "suspend", firm.address, REASON)
    measure(reg, op, "reinstate", firm.address)
    measure(reg, op, "setRoles", firm.address, int(Role.SUPPLIER | Role.FINANCIER))
    measure(reg, op, "setCreditLimit", hospital.address, 6_000_000 * CNY)
    measure(reg, gov, "grantRole", OPERATOR_ROLE, operator2.address)
    measure(reg, gov, "setApprovalThreshold", 2)
    late = member_key("gas late applicant")
    set_balance(w3, late.address, 10 * ETHER)
    reg.apply(late, "Late Lathes Ltd", Role.SUPPLIER, KYC)
    reg.approve(op, late.address)  # 1 of 2...
    reg.send(gov, "setApprovalThreshold", 1)  # ...and now enough
    measure(reg, op, "completeApplication", late.address)
    reg.send(gov, "setSystemAccount", ledger.address, True)  # a suite contract calls it
    measure(reg, ledger, "approveAction", keccak(text="gas action"), op.address)
    measure(reg, gov, "revokeRole", OPERATOR_ROLE, operator2.address)
    reg.send(gov, "grantRole", OPERATOR_ROLE, operator2.address)
    measure(reg, operator2, "renounceRole", OPERATOR_ROLE, operator2.address)
    measure(reg, gov, "setSystemAccount", ledger.address, True)
    measure(reg, op, "remove", firm.address, REASON)

    # SettlementToken
    measure(token, op, "mint", tier1.address, 50_000 * CNY)
    measure(token, tier1, "transfer", bank.address, 1_000 * CNY)
    measure(token, tier1, "approve", bank.address, 2_000 * CNY)
    measure(token, bank, "transferFrom", tier1.address, bank.address, 1_000 * CNY)
    v, r, s = sign_permit(tier1, token, hospital.address, 3_000 * CNY, 0, now + 3_600, conn.chain_id)
    measure(token, hospital, "permit", tier1.address, hospital.address, 3_000 * CNY, now + 3_600, v, r, s)
    token.approve(tier1, op.address, 5_000 * CNY)
    measure(token, op, "burn", tier1.address, 5_000 * CNY)
    measure(token, op, "pause")
    measure(token, op, "unpause")

    # TradeRegistry
    order, _ = trade.register(hospital, DocType.ORDER, keccak(text="gas order"), tier1.address, 10**8)
    trade.confirm(tier1, order)
    measure(trade, tier1, "register", int(DocType.INVOICE), keccak(text="gas invoice"), hospital.address, 10**8, order)
    invoice = trade.call("recordCount")
    measure(trade, hospital, "confirm", invoice)
    trade.send(tier1, "register", int(DocType.INVOICE), keccak(text="gas bad invoice"), hospital.address, 10**8, 0)
    measure(trade, hospital, "reject", trade.call("recordCount"))
    measure(trade, gov, "setLedger", ledger.address, True)
    measure(trade, ledger, "reserve", invoice, tier1.address, hospital.address, 4 * 10**7)
    measure(trade, ledger, "release", invoice, 10**7)
    if any(item.get("name") == "pause" for item in trade.contract.abi):  # later versions: operators pause it
        measure(trade, op, "pause")
        measure(trade, op, "unpause")

    with capsys.disabled():
        print(f"\n{'contract':<20} {'function':<22} {'gas':>9}")
        for contract, function, used in gas:
            print(f"{contract:<20} {function:<22} {used:>9,}")

    too_expensive = [(c, f, g) for c, f, g in gas if g >= GAS_BOUND]
    assert too_expensive == []
    for client in (reg, token, trade):
        writes = {
            i["name"] for i in client.contract.abi if i["type"] == "function" and i["stateMutability"] == "nonpayable"
        }
        assert writes == {f for c, f, _ in gas if c == client.NAME}, f"{client.NAME}: every write measured once"
