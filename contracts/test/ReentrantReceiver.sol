// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC721Receiver} from "@openzeppelin/contracts/token/ERC721/IERC721Receiver.sol";
import {IERC3525, IERC3525Receiver} from "../interfaces/IERC3525.sol";
import {ITestDoubleErrors} from "./ITestDoubleErrors.sol";

/// @title ReentrantReceiver
/// @notice Test double, never deployed outside tests: a consortium member that is a contract,
///         accepts voucher value (ERC-3525) and whole vouchers (ERC-721), and from inside the
///         receiver hook calls back into the ledger once, as configured. The outcome of that
///         re-entrant call is recorded (success, or the revert data) instead of being
///         propagated, so a test sees both the outer transfer and what the ledger did with the
///         re-entry.
/// @dev The re-entrant call is made once per `configure`; a hook triggered by the re-entry
///      itself only counts and accepts.
contract ReentrantReceiver is IERC165, IERC3525Receiver, IERC721Receiver, ITestDoubleErrors {
    enum Action {
        Nothing, // accept quietly
        SplitOut, // split-transfer the value just received to `beneficiary`
        MergeBack, // merge the value just received back into the sender's voucher (or `mergeTarget`)
        TransferOn, // move the voucher just received, whole (ERC-721), to `beneficiary`
        Redeem, // redeem the voucher just received
        SpendSource, // take the same value again out of the sender's voucher
        SplitOutMore, // split-transfer one unit more than the voucher holds
        WrongMagic, // return a wrong magic value
        Refuse // revert inside the hook

    }

    /// @dev Not the real magic value of either hook.
    bytes4 public constant WRONG_MAGIC = 0xdeadbeef;

    address public immutable voucher;
    address public immutable owner;

    Action public action;
    address public beneficiary;
    uint256 public mergeTarget;
    /// @notice Whether `supportsInterface` claims IERC3525Receiver.
    bool public declares3525 = true;

    /// @notice Number of receiver hooks called on this contract.
    uint256 public hooksCalled;
    /// @notice The token id of the last hook call (the voucher this contract received into).
    uint256 public lastReceivedTokenId;
    bool public reentryAttempted;
    bool public reentrySucceeded;
    bytes public reentryReturnData;

    bool private _armed;

    /// @notice Either receiver hook (`onERC3525Received`, `onERC721Received`) while the
    ///         configured action is Refuse.
    /// @param tokenId the voucher received into (for a whole transfer, the voucher moved).
    error Refused(uint256 tokenId);

    constructor(address voucher_) {
        voucher = voucher_;
        owner = msg.sender;
    }

    /// @notice Sets what the next hook does, and arms one re-entrant call.
    function configure(Action action_, address beneficiary_, uint256 mergeTarget_, bool declares3525_) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        action = action_;
        beneficiary = beneficiary_;
        mergeTarget = mergeTarget_;
        declares3525 = declares3525_;
        reentryAttempted = false;
        reentrySucceeded = false;
        delete reentryReturnData;
        _armed = true;
    }

    /// @notice Lets the owner (the test) make this contract call the ledger, e.g. to move
    ///         vouchers it holds.
    function execute(bytes calldata data) external returns (bytes memory) {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        (bool ok, bytes memory ret) = voucher.call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId) external view returns (bool) {
        return interfaceId == type(IERC165).interfaceId || interfaceId == type(IERC721Receiver).interfaceId
            || (declares3525 && interfaceId == type(IERC3525Receiver).interfaceId);
    }

    /// @inheritdoc IERC3525Receiver
    function onERC3525Received(address, uint256 fromTokenId, uint256 toTokenId, uint256 value, bytes calldata)
        external
        returns (bytes4)
    {
        return _onReceived(fromTokenId, toTokenId, value, IERC3525Receiver.onERC3525Received.selector);
    }

    /// @inheritdoc IERC721Receiver
    function onERC721Received(address, address, uint256 tokenId, bytes calldata) external returns (bytes4) {
        uint256 value = IERC3525(voucher).balanceOf(tokenId);
        return _onReceived(0, tokenId, value, IERC721Receiver.onERC721Received.selector);
    }

    function _onReceived(uint256 fromTokenId, uint256 toTokenId, uint256 value, bytes4 magic)
        private
        returns (bytes4)
    {
        hooksCalled += 1;
        lastReceivedTokenId = toTokenId;
        Action a = action;
        if (a == Action.Refuse) revert Refused(toTokenId);
        if (a == Action.WrongMagic) return WRONG_MAGIC;
        if (_armed && a != Action.Nothing) {
            _armed = false;
            _reenter(a, fromTokenId, toTokenId, value);
        }
        return magic;
    }

    function _reenter(Action a, uint256 fromTokenId, uint256 toTokenId, uint256 value) private {
        bytes memory data;
        if (a == Action.SplitOut) {
            data = abi.encodeWithSignature("transferFrom(uint256,address,uint256)", toTokenId, beneficiary, value);
        } else if (a == Action.MergeBack) {
            uint256 target = fromTokenId != 0 ? fromTokenId : mergeTarget;
            data = abi.encodeWithSignature("transferFrom(uint256,uint256,uint256)", toTokenId, target, value);
        } else if (a == Action.TransferOn) {
            data = abi.encodeWithSignature("transferFrom(address,address,uint256)", address(this), beneficiary, toTokenId);
        } else if (a == Action.Redeem) {
            data = abi.encodeWithSignature("redeem(uint256)", toTokenId);
        } else if (a == Action.SpendSource) {
            data = abi.encodeWithSignature("transferFrom(uint256,address,uint256)", fromTokenId, address(this), value);
        } else {
            data =
                abi.encodeWithSignature("transferFrom(uint256,address,uint256)", toTokenId, beneficiary, value + 1);
        }
        reentryAttempted = true;
        (bool ok, bytes memory ret) = voucher.call(data);
        reentrySucceeded = ok;
        reentryReturnData = ret;
    }
}
