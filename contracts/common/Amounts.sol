// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title Amounts
/// @notice The largest amount of the suite's ledgers, declared once: a voucher's value, a slot's
///         face value and a trade record's amount are stored in 56 bits (7.2e16 minor units,
///         720 trillion units of a two-decimal currency), so that each ledger's record packs
///         into as few storage words as its checks need.
library Amounts {
    uint256 internal constant MAX = type(uint56).max;
}
