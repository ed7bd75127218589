// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {IConsortiumRegistry} from "../interfaces/IConsortiumRegistry.sol";
import {ConsortiumGuarded} from "../common/ConsortiumGuarded.sol";
import {ZeroAmount} from "../common/ConsortiumErrors.sol";

/// @title SettlementToken
/// @notice The cash leg of the consortium: a permissioned ERC-20 in minor units (2 decimals:
///         cents / fen). The settlement bank (an operator) mints deposits and burns withdrawals;
///         only active members and the suite's system contracts may hold or receive it.
/// @dev Every balance change goes through `_update`, where the permission and pause checks live.
contract SettlementToken is ERC20, ERC20Permit, ConsortiumGuarded {
    bool private _paused;

    /// @notice A balance change whose sender (all but a mint) or receiver (all but a burn) is
    ///         neither an active member nor a system contract of the suite: `transfer`,
    ///         `transferFrom`, `mint`, `burn`. The sender is checked first.
    /// @param account the sender or receiver refused.
    error NotPermittedHolder(address account);
    /// @notice `transferFrom` by a caller other than `from` that is neither an active member
    ///         nor a system contract of the suite, whatever its allowance.
    error NotPermittedSpender(address spender);
    /// @notice Any balance change while the token is paused: `transfer`, `transferFrom`, `mint`,
    ///         `burn` (approvals and permits still work).
    error TokenPaused();

    constructor(IConsortiumRegistry registry_, string memory name_, string memory symbol_)
        ERC20(name_, symbol_)
        ERC20Permit(name_)
        ConsortiumGuarded(registry_)
    {}

    /// @notice Two decimals: amounts are in cents / fen.
    function decimals() public pure override returns (uint8) {
        return 2;
    }

    /// @notice The settlement bank credits a deposit of `amount` minor units to `to`.
    /// @dev Reverts NotPermittedHolder unless `to` is an active member or a system contract.
    function mint(address to, uint256 amount) external onlyOperator {
        if (amount == 0) revert ZeroAmount();
        _mint(to, amount);
    }

    /// @notice The settlement bank pays out a withdrawal: burns `amount` from `from`, which must
    ///         have approved the calling operator for it (the member's consent).
    function burn(address from, uint256 amount) external onlyOperator {
        if (amount == 0) revert ZeroAmount();
        _spendAllowance(from, msg.sender, amount);
        _burn(from, amount);
    }

    /// @notice Moves `value` of `from`'s cash to `to` under `from`'s allowance to the caller.
    /// @dev An allowance outlives the holder's trust in the spender: a spender that is not the
    ///      holder must itself be an active member or a system contract (the ledger, the desk),
    ///      so a suspended or removed member, or an outsider, moves no one's cash.
    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        if (msg.sender != from && !registry.mayHoldSettlement(msg.sender)) revert NotPermittedSpender(msg.sender);
        return super.transferFrom(from, to, value);
    }

    /// @dev Paused: every transfer, mint and burn stops.
    function _pausedFlag() internal view override returns (bool) {
        return _paused;
    }

    function _setPausedFlag(bool value) internal override {
        _paused = value;
    }

    /// @dev The single choke point: pause, then holder permissions for both sides.
    function _update(address from, address to, uint256 value) internal override {
        if (_paused) revert TokenPaused();
        if (from != address(0) && !registry.mayHoldSettlement(from)) revert NotPermittedHolder(from);
        if (to != address(0) && !registry.mayHoldSettlement(to)) revert NotPermittedHolder(to);
        super._update(from, to, value);
    }
}
