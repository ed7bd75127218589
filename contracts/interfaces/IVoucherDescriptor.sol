// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title Renders the voucher ledger's metadata as `data:` JSON URIs (EIP-3525 schemas).
interface IVoucherDescriptor {
    function contractURI(address voucher) external view returns (string memory);
    function slotURI(address voucher, uint256 slot) external view returns (string memory);
    function tokenURI(address voucher, uint256 tokenId) external view returns (string memory);
}
