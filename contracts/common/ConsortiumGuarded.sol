// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {IConsortiumRegistry} from "../interfaces/IConsortiumRegistry.sol";
import {NotGovernance, NotOperator} from "./ConsortiumErrors.sol";

/// @title ConsortiumGuarded
/// @notice What every contract of the suite shares: the registry it asks about members and
///         operators, the operator and governance checks, and a pause switch that operators
///         flip, with a clock of the seconds spent paused (a debtor cannot pay while the ledger
///         or the settlement token is paused, so that time does not count against it).
/// @dev Where the pause flag lives is left to the contract (`_pausedFlag` / `_setPausedFlag`),
///      so a contract can pack it with other hot configuration in one storage word. The pause
///      clock is written only by pause and unpause (operators' acts, never user-grown data).
///      The operator and governance checks raise NotOperator and NotGovernance (common/ConsortiumErrors.sol).
abstract contract ConsortiumGuarded {
    using Checkpoints for Checkpoints.Trace208;

    IConsortiumRegistry public immutable registry;

    /// @dev At each pause and unpause: key = the time, value = (time << 160) | (paused seconds
    ///      up to that time << 1) | (1 if paused from then on).
    Checkpoints.Trace208 private _pauseClock;

    /// @notice Emitted by `pause`: an operator stopped the contract (a tick of the pause clock).
    /// @param operator the caller.
    event Paused(address indexed operator);
    /// @notice Emitted by `unpause`: an operator resumed the contract (a tick of the pause clock).
    /// @param operator the caller.
    event Unpaused(address indexed operator);

    /// @notice `pause` while the contract is paused, or `unpause` while it is not (the
    ///         operator check comes first).
    /// @param paused the state the contract is already in.
    error AlreadyInState(bool paused);

    constructor(IConsortiumRegistry registry_) {
        registry = registry_;
    }

    modifier onlyOperator() {
        if (!registry.isOperator(msg.sender)) revert NotOperator(msg.sender);
        _;
    }

    modifier onlyGovernance() {
        if (!IAccessControl(address(registry)).hasRole(bytes32(0), msg.sender)) revert NotGovernance(msg.sender);
        _;
    }

    /// @notice An operator stops the contract's state changes until unpaused.
    function pause() external onlyOperator {
        if (_pausedFlag()) revert AlreadyInState(true);
        _setPausedFlag(true);
        _tickPauseClock(true);
        emit Paused(msg.sender);
    }

    /// @notice An operator resumes the contract.
    function unpause() external onlyOperator {
        if (!_pausedFlag()) revert AlreadyInState(false);
        _setPausedFlag(false);
        _tickPauseClock(false);
        emit Unpaused(msg.sender);
    }

    /// @notice Whether the contract is paused.
    function paused() external view returns (bool) {
        return _pausedFlag();
    }

    /// @notice Seconds this contract spent paused from its deployment up to `timestamp` (a
    ///         past time or now; a later time counts an ongoing pause up to it).
    function pausedSecondsAt(uint256 timestamp) public view returns (uint256) {
        uint256 packed = _pauseClock.upperLookupRecent(uint48(timestamp));
        uint256 total = (packed >> 1) & ((1 << 159) - 1);
        if (packed & 1 != 0) {
            // Cannot underflow: the checkpoint found is at or before `timestamp`.
            total += timestamp - (packed >> 160);
        }
        return total;
    }

    function _tickPauseClock(bool pausedNow) private {
        uint256 total = pausedSecondsAt(block.timestamp);
        // Accepted slither finding (unused-return): push returns the previous and the new
        // checkpoint value, which the clock does not need (it has just computed the new one).
        // slither-disable-next-line unused-return
        _pauseClock.push(
            uint48(block.timestamp), uint208((block.timestamp << 160) | (total << 1) | (pausedNow ? 1 : 0))
        );
    }

    function _pausedFlag() internal view virtual returns (bool);

    function _setPausedFlag(bool value) internal virtual;
}
