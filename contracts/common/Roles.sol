// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title Roles
/// @notice The consortium's member role bits, declared once for every contract of the suite
///         (the registry's ABI constants expose them; `scf.contracts.Role` holds the same values
///         and `tests/test_consortium_registry.py` checks that they agree).
library Roles {
    uint8 internal constant CORE_ENTERPRISE = 1;
    uint8 internal constant SUPPLIER = 2;
    uint8 internal constant FINANCIER = 4;
    uint8 internal constant AUDITOR = 8;
    /// @notice A credit insurer: offers cover on slots, pays claims, recovers by subrogation.
    uint8 internal constant INSURER = 16;
    uint8 internal constant ALL = 31;
    /// @notice Roles that may hold vouchers: an auditor-only member holds none.
    uint8 internal constant VOUCHER_HOLDERS = CORE_ENTERPRISE | SUPPLIER | FINANCIER | INSURER;
    /// @notice Roles that anchor trade documents.
    uint8 internal constant TRADING = CORE_ENTERPRISE | SUPPLIER;
}
