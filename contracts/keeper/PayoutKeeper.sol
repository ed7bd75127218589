// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ReceivableVoucher} from "../voucher/ReceivableVoucher.sol";

/// @title PayoutKeeper
/// @notice Redeems many vouchers in one transaction: each entry is a `redeem` of the ledger (a
///         fully funded slot pays the whole value and burns the voucher; an overdue slot pays
///         the voucher's pro-rata share). An entry the ledger refuses is left out with an event
///         naming the error, and the others are paid: nobody can make a keeper's batch fail.
/// @dev Holds no privilege, no cash and no voucher: `redeem` may be called by anyone and always
///      pays the holder. It lives outside the ledger so that the ledger's code stays under the
///      EIP-170 size limit. Gas per entry is constant (one `redeem`).
contract PayoutKeeper is ReentrancyGuardTransient {
    ReceivableVoucher public immutable voucher;

    /// @notice Emitted when `redeemBatch` leaves a voucher out; `reason` is the selector of the
    ///         error the ledger's `redeem` of it raised (0 if it reverted without data).
    event RedemptionSkipped(uint256 indexed tokenId, bytes4 reason);

    /// @notice `redeemBatch` while the ledger is paused (every entry would be refused).
    error LedgerPaused();

    constructor(ReceivableVoucher voucher_) {
        voucher = voucher_;
    }

    /// @notice `redeem` for each of `tokenIds`, in order. A voucher that cannot be redeemed now
    ///         (already burned, frozen, its holder suspended, its slot not matured, neither fully
    ///         funded nor overdue, or nothing more due) is left out with a RedemptionSkipped event.
    function redeemBatch(uint256[] calldata tokenIds) external nonReentrant {
        if (voucher.paused()) revert LedgerPaused();
        for (uint256 i = 0; i < tokenIds.length; ++i) {
            uint256 tokenId = tokenIds[i];
            try voucher.redeem(tokenId) {}
            catch (bytes memory reason) {
                emit RedemptionSkipped(tokenId, reason.length >= 4 ? bytes4(reason) : bytes4(0));
            }
        }
    }
}
