// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC3525} from "../interfaces/IERC3525.sol";
import {ITestDoubleErrors} from "./ITestDoubleErrors.sol";

/// @title PlainHolder
/// @notice Test double: a contract member (a corporate treasury wallet, say) that declares no
///         ERC-165 interface and has neither `onERC3525Received` nor `onERC721Received`. It can
///         still hold voucher value and pass it on; ERC-721 safe transfers to it must fail.
contract PlainHolder is ITestDoubleErrors {
    address public immutable owner;

    constructor() {
        owner = msg.sender;
    }

    /// @notice The owner moves `value` of a voucher this contract holds to `to` (split-transfer).
    function splitTransfer(IERC3525 voucher, uint256 fromTokenId, address to, uint256 value)
        external
        returns (uint256 newTokenId)
    {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        return voucher.transferFrom(fromTokenId, to, value);
    }
}
