// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title ITestDoubleErrors
/// @notice Errors shared by the test doubles (never deployed outside tests), declared once.
///         Kept apart from the suite's shared errors (common/ConsortiumErrors.sol).
interface ITestDoubleErrors {
    /// @notice A call reserved to the test double's deployer (`owner`) by anyone else:
    ///         PlainHolder `splitTransfer`; ReentrantReceiver `configure` and `execute`.
    error NotOwner(address caller);
}
