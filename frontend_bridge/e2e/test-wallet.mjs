// A test wallet: an EIP-1193 provider injected into a page that signs with one member's
// private key (viem, in Node) and forwards every other request to the chain's JSON-RPC.
import { createWalletClient, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";

async function rpc(url, method, params) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = await res.json();
  if (body.error) return { error: body.error };
  return { result: body.result };
}

/** Opens a page whose window.ethereum is a wallet for `privateKey`; `chainIdOverride` makes
 *  it claim another chain (to test the wrong-network message). Every dialog the page opens
 *  (alert, confirm, prompt) is dismissed and its message passed to `onDialog`, from the first
 *  script on. */
export async function memberPage(browser, { url, rpcUrl, privateKey, chainIdOverride, onDialog, locked, rejects, viewport }) {
  const account = privateKeyToAccount(privateKey);
  const wallet = createWalletClient({ account, transport: http(rpcUrl) });
  const context = await browser.newContext({ viewport: viewport ?? { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on("pageerror", (error) => console.error(`[page error] ${error.message}`));
  page.on("dialog", async (dialog) => {
    onDialog?.(`${dialog.type()}: ${dialog.message()}`);
    await dialog.dismiss();
  });
  await page.exposeFunction("__scfWallet", async (method, params) => {
    try {
      switch (method) {
        case "eth_requestAccounts":
        case "eth_accounts":
          // A locked wallet shares no account with the page.
          return { result: locked ? [] : [account.address] };
        case "eth_chainId":
          return chainIdOverride ? { result: `0x${chainIdOverride.toString(16)}` } : rpc(rpcUrl, method, params);
        case "eth_sendTransaction":
        case "eth_signTypedData_v4":
          if (rejects) return { error: { code: 4001, message: "User rejected the request." } };
      }
      switch (method) {
        case "eth_sendTransaction": {
          const tx = params[0];
          const hash = await wallet.sendTransaction({
            to: tx.to,
            data: tx.data,
            value: tx.value ? BigInt(tx.value) : 0n,
            gas: tx.gas ? BigInt(tx.gas) : undefined,
            chain: null,
          });
          return { result: hash };
        }
        case "eth_signTypedData_v4": {
          const typed = JSON.parse(params[1]);
          const { EIP712Domain, ...types } = typed.types;
          const signature = await account.signTypedData({
            domain: typed.domain,
            types,
            primaryType: typed.primaryType,
            message: typed.message,
          });
          return { result: signature };
        }
        default:
          return rpc(rpcUrl, method, params);
      }
    } catch (error) {
      return { error: { code: -32000, message: String(error.shortMessage || error.message), data: error.data } };
    }
  });
  await page.addInitScript(() => {
    window.ethereum = {
      isScfTestWallet: true,
      async request({ method, params }) {
        const reply = await window.__scfWallet(method, params ?? []);
        if (reply.error) throw Object.assign(new Error(reply.error.message), reply.error);
        return reply.result;
      },
      on() {},
      removeListener() {},
    };
  });
  await page.goto(url);
  return page;
}
