// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Base64} from "@openzeppelin/contracts/utils/Base64.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {IVoucherDescriptor} from "../interfaces/IVoucherDescriptor.sol";
import {ReceivableVoucher} from "./ReceivableVoucher.sol";

/// @title VoucherDescriptor
/// @notice Renders the voucher ledger's metadata as `data:application/json;base64,` URIs
///         following the EIP-3525 contract, slot and token metadata schemas, so explorers and
///         wallets can show a voucher without any server.
/// @dev Stateless and view-only; kept apart from the ledger for contract size.
contract VoucherDescriptor is IVoucherDescriptor {
    using Strings for uint256;
    using Strings for address;

    /// @inheritdoc IVoucherDescriptor
    function contractURI(address voucher) external view returns (string memory) {
        ReceivableVoucher v = ReceivableVoucher(voucher);
        return _encode(
            string.concat(
                '{"name":"',
                v.name(),
                '","description":"Digital claim vouchers on accounts receivable: each slot is one issuance by a core enterprise, each token an amount of that claim.","image":"","valueDecimals":',
                uint256(v.valueDecimals()).toString(),
                "}"
            )
        );
    }

    /// @inheritdoc IVoucherDescriptor
    function slotURI(address voucher, uint256 slot) external view returns (string memory) {
        ReceivableVoucher.Slot memory s = ReceivableVoucher(voucher).slotInfo(slot);
        return _encode(
            string.concat(
                '{"name":"Receivable #',
                slot.toString(),
                '","description":"Claim on the debtor for the face value, payable at maturity.","image":"","properties":[',
                _partiesAndAmount(s),
                _datesAndState(s),
                "]}"
            )
        );
    }

    function _partiesAndAmount(ReceivableVoucher.Slot memory s) private pure returns (string memory) {
        return string.concat(
            _property("debtor", s.debtor.toHexString(), true, false),
            _property("creditor", s.creditor.toHexString(), true, false),
            _property("face_value", uint256(s.faceValue).toString(), true, true)
        );
    }

    function _datesAndState(ReceivableVoucher.Slot memory s) private pure returns (string memory) {
        return string.concat(
            _property("issue_date", uint256(s.issuedAt).toString(), true, true),
            _property("maturity_date", uint256(s.maturity).toString(), true, true),
            _property("status", _statusName(s.status), false, false),
            _property("funded", uint256(s.funded).toString(), false, true),
            _money(s),
            _lastProperty("trade_record", uint256(s.tradeRecordId).toString())
        );
    }

    /// @dev What the slot paid out (redemptions and pro-rata payouts), what holders wrote off,
    ///      and the value still outstanding (face value less both).
    function _money(ReceivableVoucher.Slot memory s) private pure returns (string memory) {
        return string.concat(
            _property("paid_out", uint256(s.redeemed).toString(), false, true),
            _property("written_off", uint256(s.writtenOff).toString(), false, true),
            _property(
                "outstanding", (uint256(s.faceValue) - s.redeemed - s.writtenOff).toString(), false, true
            )
        );
    }

    /// @inheritdoc IVoucherDescriptor
    function tokenURI(address voucher, uint256 tokenId) external view returns (string memory) {
        (address owner, uint256 slot, uint256 value, uint256 parent, bool frozen) =
            ReceivableVoucher(voucher).tokenInfo(tokenId);
        return _encode(
            string.concat(
                '{"name":"Receivable voucher ',
                slot.toString(),
                ".",
                (tokenId & type(uint32).max).toString(),
                '","description":"An amount of receivable #',
                slot.toString(),
                '.","image":"","balance":',
                value.toString(),
                ',"slot":',
                slot.toString(),
                ',"properties":{"holder":"',
                owner.toHexString(),
                '","parent":"',
                parent.toString(),
                '","frozen":',
                frozen ? "true" : "false",
                ',"paid_out":',
                ReceivableVoucher(voucher).paidOutOf(tokenId).toString(),
                ',"outstanding":',
                value.toString(),
                "}}"
            )
        );
    }

    function _property(string memory key, string memory value, bool intrinsic, bool numeric)
        private
        pure
        returns (string memory)
    {
        return string.concat(
            '{"name":"',
            key,
            '","value":',
            numeric ? value : string.concat('"', value, '"'),
            ',"is_intrinsic":',
            intrinsic ? "true" : "false",
            "},"
        );
    }

    function _lastProperty(string memory key, string memory value) private pure returns (string memory) {
        return string.concat('{"name":"', key, '","value":', value, ',"is_intrinsic":true}');
    }

    function _statusName(ReceivableVoucher.SlotStatus status) private pure returns (string memory) {
        if (status == ReceivableVoucher.SlotStatus.Issued) return "Issued";
        if (status == ReceivableVoucher.SlotStatus.Accepted) return "Accepted";
        if (status == ReceivableVoucher.SlotStatus.Cancelled) return "Cancelled";
        if (status == ReceivableVoucher.SlotStatus.Settled) return "Settled";
        return "None";
    }

    function _encode(string memory json) private pure returns (string memory) {
        return string.concat("data:application/json;base64,", Base64.encode(bytes(json)));
    }
}
