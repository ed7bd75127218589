// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title The consortium's membership ledger, as the other contracts see it.
/// @notice Role bits are declared once, in `contracts/common/Roles.sol`.
interface IConsortiumRegistry {
    /// @notice Roles of `account` if it is an active member, 0 otherwise.
    function rolesIfActive(address account) external view returns (uint8);

    /// @notice Roles of two accounts in one call (0 for an account that is not active).
    function rolesIfActivePair(address a, address b) external view returns (uint8 rolesA, uint8 rolesB);

    /// @notice Roles of three accounts in one call (0 for an account that is not active): the
    ///         voucher ledger's holder, receiver and debtor, packed in one word as
    ///         `rolesA | rolesB << 8 | rolesC << 16` (one word to decode on every move).
    function rolesIfActiveTrio(address a, address b, address c) external view returns (uint256 packed);

    /// @notice What an issuance needs to know in one call: the roles of both parties if active
    ///         (0 otherwise) and the debtor's credit limit.
    function issuanceTerms(address debtor, address creditor)
        external
        view
        returns (uint8 debtorRoles, uint8 creditorRoles, uint256 creditLimit);

    /// @notice Whether `account` is an active member or a system contract that may hold settlement tokens.
    function mayHoldSettlement(address account) external view returns (bool);

    /// @notice Whether `account` is a consortium operator.
    function isOperator(address account) external view returns (bool);

    /// @notice How many times `account` was suspended, reinstated or removed: binds a court
    ///         order's approvals to the suspension or removal they were given under.
    function standingChangesOf(address account) external view returns (uint256);

    /// @notice Credit limit of a core enterprise, in settlement minor units.
    function creditLimitOf(address account) external view returns (uint256);

    /// @notice Counts `operator`'s approval of `action` in the caller's scope; true once the
    ///         consortium's approval threshold is reached (the caller then carries it out).
    function approveAction(bytes32 action, address operator) external returns (bool reached);
}
