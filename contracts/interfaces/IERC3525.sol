// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title ERC-3525 Semi-Fungible Token, core interface (EIP-3525).
/// @dev ERC-165 identifier 0xd5358140. Declared non-payable here: selectors, and so the
///      interface id, are the standard's; a payable marker would only let ether get stuck.
interface IERC3525 {
    /// @notice Emitted when value moves from one token to another of the same slot, including
    ///         when a token is created (`_fromTokenId` 0) or destroyed (`_toTokenId` 0).
    ///         ReceivableVoucher emits it on `accept` (0 to the root voucher), on a split
    ///         (split-transfer, `split`, part of a voucher by `deskTransfer`: from the voucher to
    ///         the new one), on a merge, and on redemption (the voucher to 0); not on a whole
    ///         transfer, where the value stays in its token.
    event TransferValue(uint256 indexed _fromTokenId, uint256 indexed _toTokenId, uint256 _value);
    /// @notice Emitted when the value allowance of `_operator` on `_tokenId` is set:
    ///         ReceivableVoucher emits it from `approve(uint256,address,uint256)` only (spending
    ///         an allowance and a whole transfer, which voids the voucher's allowances, do not
    ///         emit it).
    /// @param _value the allowance asked for; ReceivableVoucher treats 2**96 - 1 or more as
    ///        unlimited (never decremented).
    event ApprovalValue(uint256 indexed _tokenId, address indexed _operator, uint256 _value);
    /// @notice Emitted when the slot of a token is set or changed. ReceivableVoucher emits it
    ///         when a voucher is created (`_oldSlot` 0): on `accept` and on every split; a
    ///         voucher never changes slot, and its burn on redemption does not emit it.
    event SlotChanged(uint256 indexed _tokenId, uint256 indexed _oldSlot, uint256 indexed _newSlot);

    function valueDecimals() external view returns (uint8);
    function balanceOf(uint256 _tokenId) external view returns (uint256);
    function slotOf(uint256 _tokenId) external view returns (uint256);
    function approve(uint256 _tokenId, address _operator, uint256 _value) external;
    function allowance(uint256 _tokenId, address _operator) external view returns (uint256);
    function transferFrom(uint256 _fromTokenId, uint256 _toTokenId, uint256 _value) external;
    function transferFrom(uint256 _fromTokenId, address _to, uint256 _value) external returns (uint256);
}

/// @title ERC-3525 metadata extension (ERC-165 identifier 0xe1600902).
interface IERC3525Metadata {
    function contractURI() external view returns (string memory);
    function slotURI(uint256 _slot) external view returns (string memory);
}

/// @title ERC-3525 receiver (ERC-165 identifier 0x009ce20b).
interface IERC3525Receiver {
    function onERC3525Received(
        address _operator,
        uint256 _fromTokenId,
        uint256 _toTokenId,
        uint256 _value,
        bytes calldata _data
    ) external returns (bytes4);
}
