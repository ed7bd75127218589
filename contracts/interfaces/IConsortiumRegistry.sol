// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title The consortium's membership ledger, as the other contracts see it.
/// @notice Role bits: 1 core enterprise, 2 supplier, 4 financier, 8 auditor.
interface IConsortiumRegistry {
    /// @notice Roles of `account` if it is an active member, 0 otherwise.
    function rolesIfActive(address account) external view returns (uint8);

    /// @notice Roles of two accounts in one call (0 for an account that is not active).
    function rolesIfActivePair(address a, address b) external view returns (uint8 rolesA, uint8 rolesB);

    /// @notice Whether `account` is an active member or a system contract that may hold settlement tokens.
    function mayHoldSettlement(address account) external view returns (bool);

    /// @notice Whether `account` is a consortium operator.
    function isOperator(address account) external view returns (bool);

    /// @notice Credit limit of a core enterprise, in settlement minor units.
    function creditLimitOf(address account) external view returns (uint256);
}
