// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IConsortiumRegistry} from "../interfaces/IConsortiumRegistry.sol";

/// @title ConsortiumGuarded
/// @notice What every contract of the suite shares: the registry it asks about members and
///         operators, the operator check, and a pause switch that operators flip.
/// @dev Where the pause flag lives is left to the contract (`_pausedFlag` / `_setPausedFlag`),
///      so a contract can pack it with other hot configuration in one storage word.
abstract contract ConsortiumGuarded {
    IConsortiumRegistry public immutable registry;

    event Paused(address indexed operator);
    event Unpaused(address indexed operator);

    error NotOperator(address account);
    error AlreadyInState(bool paused);

    constructor(IConsortiumRegistry registry_) {
        registry = registry_;
    }

    modifier onlyOperator() {
        if (!registry.isOperator(msg.sender)) revert NotOperator(msg.sender);
        _;
    }

    /// @notice An operator stops the contract's state changes until unpaused.
    function pause() external onlyOperator {
        if (_pausedFlag()) revert AlreadyInState(true);
        _setPausedFlag(true);
        emit Paused(msg.sender);
    }

    /// @notice An operator resumes the contract.
    function unpause() external onlyOperator {
        if (!_pausedFlag()) revert AlreadyInState(false);
        _setPausedFlag(false);
        emit Unpaused(msg.sender);
    }

    /// @notice Whether the contract is paused.
    function paused() external view returns (bool) {
        return _pausedFlag();
    }

    function _pausedFlag() internal view virtual returns (bool);

    function _setPausedFlag(bool value) internal virtual;
}
