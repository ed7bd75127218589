// The member's side of the ledger for any web front end: connect an EIP-1193 wallet, read the
// member's status and vouchers from the chain (events, no server), and sign and send the
// member's own actions. ABIs, deployments and EIP-712 types are the files beside this app
// (frontend_bridge/abi, deployments, typed-data): the same ones the Python package loads.
import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  custom,
  getAddress,
  isAddress,
} from "viem";

export const ROLE_NAMES = { 1: "core enterprise", 2: "supplier", 4: "financier", 8: "auditor" };
export const MEMBER_STATUS = ["none", "pending", "active", "suspended", "removed"];
export const SLOT_STATUS = ["none", "issued", "accepted", "cancelled", "settled"];
const CONTRACTS = ["ConsortiumRegistry", "SettlementToken", "TradeRegistry", "ReceivableVoucher", "DiscountDesk"];
const SERIAL_BITS = 32n;

export class WrongChainError extends Error {
  constructor(chainId, known) {
    super(
      `Wrong network: your wallet is on chain ${chainId}, where this consortium is not deployed. ` +
        `Switch your wallet to ${known.length ? `chain ${known.join(" or ")}` : "the consortium's chain"}.`,
    );
    this.chainId = chainId;
  }
}

export class TxError extends Error {}

// ------------------------------------------------------------------ formatting

/** 123456n -> "1,234.56" (minor units, 2 decimals). */
export function formatAmount(minor) {
  const value = BigInt(minor);
  const sign = value < 0n ? "-" : "";
  const abs = value < 0n ? -value : value;
  const units = (abs / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${sign}${units}.${(abs % 100n).toString().padStart(2, "0")}`;
}

/** "1,234.56" -> 123456n; refuses negatives and more than 2 decimals. */
export function parseAmount(text) {
  const clean = String(text).replaceAll(",", "").trim();
  if (!/^\d+(\.\d{1,2})?$/.test(clean)) {
    throw new Error(`"${text}" is not an amount: use digits with at most 2 decimals, e.g. 1250.50`);
  }
  const [units, cents = ""] = clean.split(".");
  return BigInt(units) * 100n + BigInt(cents.padEnd(2, "0"));
}

export const formatDate = (seconds) => new Date(Number(seconds) * 1000).toISOString().slice(0, 10);

/** Token ids encode their slot: 4294967298n -> "1.2". */
export const label = (tokenId) => `${BigInt(tokenId) >> SERIAL_BITS}.${BigInt(tokenId) & 0xffffffffn}`;

export const roleNames = (roles) =>
  Object.entries(ROLE_NAMES)
    .filter(([bit]) => (Number(roles) & Number(bit)) !== 0)
    .map(([, name]) => name);

// ----------------------------------------------------------------- connection

/** Loads ABIs and the EIP-712 definitions served beside the page. */
export async function loadArtifacts(base = ".") {
  const get = async (path) => {
    const res = await fetch(`${base}/${path}`);
    if (!res.ok) throw new Error(`could not load ${path} (${res.status})`);
    return res.json();
  };
  const abis = Object.fromEntries(await Promise.all(CONTRACTS.map(async (n) => [n, await get(`abi/${n}.json`)])));
  const offerType = await get("typed-data/DiscountOffer.json");
  const index = await fetch(`${base}/deployments/index.json`).then((r) => (r.ok ? r.json() : { chains: [] }));
  return { base, abis, offerType, knownChains: index.chains ?? [] };
}

/** Connects the wallet and the deployment of its chain; throws WrongChainError. */
export async function connect(ethereum, artifacts) {
  if (!ethereum) throw new Error("No wallet found: install or unlock an EIP-1193 wallet (window.ethereum).");
  const [account] = await ethereum.request({ method: "eth_requestAccounts" });
  const chainId = Number.parseInt(await ethereum.request({ method: "eth_chainId" }), 16);
  const res = await fetch(`${artifacts.base}/deployments/${chainId}.json`);
  if (!res.ok) throw new WrongChainError(chainId, artifacts.knownChains);
  const deployment = await res.json();
  return new MemberClient({ ethereum, account: getAddress(account), chainId, deployment, artifacts });
}

export class MemberClient {
  constructor({ ethereum, account, chainId, deployment, artifacts }) {
    Object.assign(this, { ethereum, account, chainId, deployment, artifacts });
    this.publicClient = createPublicClient({ transport: custom(ethereum), pollingInterval: 250 });
    this.walletClient = createWalletClient({ account, transport: custom(ethereum) });
    const errors = new Map();
    for (const abi of Object.values(artifacts.abis)) {
      for (const item of abi) if (item.type === "error") errors.set(item.name + JSON.stringify(item.inputs), item);
    }
    this.allErrors = [...errors.values()];
  }

  address(name) {
    return this.deployment.contracts[name].address;
  }

  abi(name) {
    return this.artifacts.abis[name];
  }

  read(name, functionName, args = []) {
    return this.publicClient.readContract({ address: this.address(name), abi: this.abi(name), functionName, args });
  }

  // --------------------------------------------------------------------- reads

  async member(address = this.account) {
    const m = await this.read("ConsortiumRegistry", "memberOf", [address]);
    return { name: m.name, status: MEMBER_STATUS[m.status], roles: roleNames(m.roles), creditLimit: m.creditLimit };
  }

  async cash(address = this.account) {
    return this.read("SettlementToken", "balanceOf", [address]);
  }

  async logs(name, eventName, args) {
    const event = this.abi(name).find((i) => i.type === "event" && i.name === eventName);
    return this.publicClient.getLogs({
      address: this.address(name),
      event,
      args,
      fromBlock: BigInt(this.deployment.contracts[name].block),
      toBlock: "latest",
    });
  }

  /** The member's live vouchers with value, slot debtor, maturity and lineage. */
  async myVouchers() {
    const received = await this.logs("ReceivableVoucher", "Transfer", { to: this.account });
    const candidates = [...new Set(received.map((l) => l.args.tokenId))];
    const vouchers = [];
    for (const tokenId of candidates) {
      const [owner, slot, value, parent, frozen] = await this.read("ReceivableVoucher", "tokenInfo", [tokenId]);
      if (getAddress(owner) !== this.account) continue;
      const s = await this.read("ReceivableVoucher", "slotInfo", [slot]);
      const debtor = await this.member(s.debtor);
      const lineage = [label(tokenId)];
      for (let p = parent; p !== 0n; ) {
        lineage.push(label(p));
        const info = await this.read("ReceivableVoucher", "tokenInfo", [p]).catch(() => null);
        p = info && info[0] !== "0x0000000000000000000000000000000000000000" ? info[3] : 0n;
      }
      vouchers.push({
        tokenId,
        label: label(tokenId),
        slot,
        value,
        frozen,
        debtor: debtor.name || s.debtor,
        maturity: s.maturity,
        funded: s.funded >= s.faceValue,
        lineage,
      });
    }
    return vouchers.sort((a, b) => (a.tokenId < b.tokenId ? -1 : 1));
  }

  /** Issuances to this member that wait for its acceptance. */
  async pendingIssuances() {
    const issued = await this.logs("ReceivableVoucher", "VoucherIssued", { creditor: this.account });
    const out = [];
    for (const log of issued) {
      const s = await this.read("ReceivableVoucher", "slotInfo", [log.args.slot]);
      if (SLOT_STATUS[s.status] !== "issued") continue;
      const debtor = await this.member(s.debtor);
      out.push({ slot: log.args.slot, debtor: debtor.name, faceValue: s.faceValue, maturity: s.maturity });
    }
    return out;
  }

  async quote(tokenId, value, rateBps) {
    const [price] = await this.read("DiscountDesk", "quote", [BigInt(tokenId), BigInt(value), BigInt(rateBps)]);
    return price;
  }

  // -------------------------------------------------------------------- writes

  /** Simulates (to decode a revert into words), sends, and waits for the receipt. */
  async send(name, functionName, args, signature) {
    let abi = this.abi(name);
    if (signature) abi = abi.filter((i) => i.type !== "function" || (i.name === functionName && sig(i) === signature));
    const call = { address: this.address(name), abi: [...abi, ...this.allErrors], functionName, args, account: this.account };
    try {
      const { request } = await this.publicClient.simulateContract(call);
      const hash = await this.walletClient.writeContract({ ...request, chain: null });
      const receipt = await this.publicClient.waitForTransactionReceipt({ hash });
      if (receipt.status !== "success") throw new TxError(`transaction ${hash} reverted`);
      return receipt;
    } catch (error) {
      throw new TxError(this.describeError(error));
    }
  }

  describeError(error) {
    if (error instanceof TxError) return error.message;
    if (error instanceof BaseError) {
      const revert = error.walk((e) => e instanceof ContractFunctionRevertedError);
      if (revert?.data?.errorName) {
        const words = revert.data.errorName.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
        const inputs = revert.data.abiItem?.inputs ?? [];
        const args = (revert.data.args ?? []).map((v, i) => `${inputs[i]?.name || i}=${v}`).join(", ");
        return `${words}${args ? `: ${args}` : ""} [${revert.data.errorName}]`;
      }
      return error.shortMessage || error.message;
    }
    return String(error?.message ?? error);
  }

  accept(slot) {
    return this.send("ReceivableVoucher", "accept", [BigInt(slot)]);
  }

  /** Split-transfer: names the ERC-3525 overload explicitly (ERC-721's has the same arity). */
  splitTransfer(tokenId, to, value) {
    if (!isAddress(to)) throw new TxError(`receiver "${to}" is not an address (0x followed by 40 hex digits)`);
    return this.send(
      "ReceivableVoucher",
      "transferFrom",
      [BigInt(tokenId), getAddress(to), BigInt(value)],
      "transferFrom(uint256,address,uint256)",
    );
  }

  redeem(tokenId) {
    return this.send("ReceivableVoucher", "redeem", [BigInt(tokenId)]);
  }

  /** As a financier: lets the desk pay up to `amount` from this member's cash. */
  approveDesk(amount) {
    return this.send("SettlementToken", "approve", [this.address("DiscountDesk"), BigInt(amount)]);
  }

  /** The EIP-712 offer type of typed-data/DiscountOffer.json, checked once against the
   *  DiscountDesk ABI's `discount` tuple: an offer signed for one shape and sent as another
   *  would only fail on chain as a bad signature. */
  offerFields() {
    if (!this._offerFields) {
      const fields = offerFields(this.artifacts.offerType);
      const discount = this.abi("DiscountDesk").find((i) => i.type === "function" && i.name === "discount");
      const tuple = discount?.inputs?.[0]?.components ?? [];
      const shape = (list) => list.map((f) => `${f.type} ${f.name}`).join(",");
      if (shape(tuple) !== shape(fields)) {
        throw new TxError(
          `the page's offer type (${shape(fields)}) does not match the DiscountDesk contract's (${shape(tuple)}): ` +
            "reload the page, or ask the operator to publish matching ABIs and typed data",
        );
      }
      this._offerFields = fields;
    }
    return this._offerFields;
  }

  /** As a financier: signs an EIP-712 discount offer with the wallet. The offer names its
   *  seller, the only account that may submit it: by default the voucher's holder now. */
  async signOffer({ tokenId, value, rateBps, validSeconds = 86400, nonce, seller }) {
    const fields = this.offerFields();
    if (seller !== undefined && seller !== "" && !isAddress(seller)) {
      throw new TxError(`seller "${seller}" is not an address (0x followed by 40 hex digits)`);
    }
    const holder = seller || (await this.read("ReceivableVoucher", "ownerOf", [BigInt(tokenId)]));
    const block = await this.publicClient.getBlock();
    const offer = toOffer(fields, {
      tokenId,
      value,
      rateBps,
      deadline: block.timestamp + BigInt(validSeconds),
      nonce: nonce ?? Date.now(),
      financier: this.account,
      seller: holder,
    });
    const t = this.artifacts.offerType;
    const types = { [t.primaryType]: fields };
    const domain = { ...t.domain, chainId: this.chainId, verifyingContract: this.address("DiscountDesk") };
    const signature = await this.walletClient.signTypedData({ domain, types, primaryType: t.primaryType, message: offer });
    return { offer, signature };
  }

  /** Reads an offer as it travelled (strings, or bigints) into the typed-data shape; throws
   *  TxError naming what is missing or not understood. */
  parseOffer(raw) {
    return toOffer(this.offerFields(), raw);
  }

  /** As the holder: submits a financier's signed offer (delivery versus payment). Refused
   *  here, before any transaction, unless this account is the offer's seller. */
  submitOffer(offer, signature) {
    const tuple = this.parseOffer(offer);
    if (tuple.seller !== this.account) throw new NotOfferSellerError(tuple.seller, this.account);
    return this.send("DiscountDesk", "discount", [tuple, signature]);
  }
}

export class NotOfferSellerError extends TxError {
  constructor(seller, account) {
    super(`this offer is for seller ${seller}; only that account may submit it, and you are ${account}`);
    Object.assign(this, { seller, account });
  }
}

/** The fields of the primary type of an EIP-712 definition (typed-data/*.json). */
export const offerFields = (offerType) => offerType.types[offerType.primaryType];

/** `values` coerced to the typed-data fields, in their order: uint as bigint, address
 *  checksummed. Every field must be there, and nothing else. */
function toOffer(fields, values) {
  if (values === null || typeof values !== "object") throw new TxError("the offer is not an object of fields");
  const names = new Set(fields.map((f) => f.name));
  const unknown = Object.keys(values).filter((k) => !names.has(k));
  if (unknown.length) throw new TxError(`the offer has fields this page does not know: ${unknown.join(", ")}`);
  const offer = {};
  for (const { name, type } of fields) {
    const v = values[name];
    if (v === undefined || v === null || v === "") throw new TxError(`the offer has no ${name}`);
    if (type === "address") {
      if (!isAddress(String(v))) throw new TxError(`the offer's ${name} "${v}" is not an address`);
      offer[name] = getAddress(String(v));
    } else if (/^uint\d*$/.test(type)) {
      try {
        offer[name] = BigInt(v);
      } catch {
        throw new TxError(`the offer's ${name} "${v}" is not a whole number`);
      }
      if (offer[name] < 0n) throw new TxError(`the offer's ${name} is negative`);
    } else {
      throw new TxError(`the offer type has a field of type ${type}, which this page cannot read`);
    }
  }
  return offer;
}

const sig = (item) => `${item.name}(${item.inputs.map((i) => i.type).join(",")})`;

/** Offers travel as JSON text between financier and holder (bigints as strings). */
export const offerToJson = ({ offer, signature }) =>
  JSON.stringify({ offer: Object.fromEntries(Object.entries(offer).map(([k, v]) => [k, String(v)])), signature });
export const offerFromJson = (text) => JSON.parse(text);
