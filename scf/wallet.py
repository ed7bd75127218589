"""Members' keys. Members sign with their own keys: an ape keyfile account (``ape accounts
import NAME``; a standard encrypted keystore), or any eth-account keystore file. Local
development chains use deterministic keys derived from a name, funded with gas by anvil."""

from __future__ import annotations

import json
import os
from getpass import getpass
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from scf.errors import ScfError

LOCAL_CHAIN_IDS = frozenset({31337, 1337})


class WalletError(ScfError, RuntimeError):
    """A key could not be loaded."""


def ape_accounts_dir() -> Path:
    return Path(os.environ.get("APE_DATA_FOLDER", Path.home() / ".ape")) / "accounts"


def load_keystore(path: Path, passphrase: str | None = None) -> LocalAccount:
    """Decrypts an encrypted JSON keystore (the format of ape keyfile accounts and geth)."""
    if not path.exists():
        raise WalletError(f"no keystore at {path}: import the key with 'ape accounts import NAME'")
    if passphrase is None:
        passphrase = os.environ.get("SCF_KEYSTORE_PASSPHRASE") or getpass(f"passphrase for {path.name}: ")
    try:
        return Account.from_key(Account.decrypt(json.loads(path.read_text()), passphrase))
    except ValueError as exc:
        raise WalletError(f"could not decrypt {path}: {exc}") from None


def load_ape_account(alias: str, passphrase: str | None = None) -> LocalAccount:
    """The key of ape keyfile account ``alias`` (``~/.ape/accounts/<alias>.json``)."""
    return load_keystore(ape_accounts_dir() / f"{alias}.json", passphrase)


def dev_key(name: str, namespace: str = "scf dev") -> LocalAccount:
    """A deterministic key for a local development chain. Never for a real network: anyone
    can derive it from the name."""
    return Account.from_key(keccak(text=f"{namespace} {name}"))
