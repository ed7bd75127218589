// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title What the voucher ledger needs of the trade-document registry.
interface ITradeRegistry {
    /// @notice Reserves `amount` of a confirmed invoice between `creditor` and `debtor`.
    function reserve(uint256 recordId, address creditor, address debtor, uint256 amount) external;

    /// @notice Releases `amount` previously reserved on `recordId`.
    function release(uint256 recordId, uint256 amount) external;
}
