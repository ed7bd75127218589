"""A deployed suite: typed clients for each of its contracts, attached from a manifest."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scf.chain.connection import Connection
from scf.contracts import (
    SUITE,
    ConsortiumRegistry,
    CreditDesk,
    DiscountDesk,
    PayoutKeeper,
    ReceivableVoucher,
    SettlementToken,
    TradeRegistry,
)
from scf.manifest import Deployment, ManifestError, load


@dataclass
class Suite:
    """Typed clients for a deployed suite."""

    conn: Connection
    deployment: Deployment
    registry: ConsortiumRegistry
    token: SettlementToken
    trade: TradeRegistry
    voucher: ReceivableVoucher
    desk: DiscountDesk
    keeper: PayoutKeeper
    credit: CreditDesk

    @classmethod
    def attach(cls, conn: Connection, deployment: Deployment) -> Suite:
        return cls(
            conn,
            deployment,
            ConsortiumRegistry(conn, deployment.address("ConsortiumRegistry")),
            SettlementToken(conn, deployment.address("SettlementToken")),
            TradeRegistry(conn, deployment.address("TradeRegistry")),
            ReceivableVoucher(conn, deployment.address("ReceivableVoucher")),
            DiscountDesk(conn, deployment.address("DiscountDesk")),
            PayoutKeeper(conn, deployment.address("PayoutKeeper")),
            CreditDesk(conn, deployment.address("CreditDesk")),
        )


def attach_live(conn: Connection, manifest_dir: Path) -> Suite:
    """The suite named by this chain's manifest in ``manifest_dir``, after checking its
    contracts are on chain."""
    deployment = load(conn.chain_id, manifest_dir)
    missing = [name for name in SUITE if name in deployment.contracts and not conn.code_at(deployment.address(name))]
    if missing:
        raise ManifestError(
            f"the manifest for chain {conn.chain_id} names contracts that are not on this chain "
            f"({', '.join(missing)}; a restarted devnet?): run 'ape run deploy'"
        )
    return Suite.attach(conn, deployment)
