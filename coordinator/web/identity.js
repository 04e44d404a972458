// The creator's identity: an Ed25519 key pair made by WebCrypto (RFC 8032; Chromium >= 137,
// Firefox >= 129, Safari >= 17), kept in this browser's IndexedDB with a NON-extractable private
// key, and the challenge sign-in workers use (docs/protocol.md "/api/v1/auth/*"): the address is
// "0x" + hex of the raw 32-byte public key; the signed message is "farmhand-auth-v1:" + challenge.

const DB_NAME = "farmhand";
const STORE = "keys";
const KEY_ID = "creator";

function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function withStore(mode, fn) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

const hex = (bytes) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

/** The stored key pair, or null. */
export async function storedKey() {
  return (await withStore("readonly", (s) => s.get(KEY_ID))) || null;
}

/**
 * The stored key pair, made and stored first if there is none.
 * @throws {Error} when this browser has no WebCrypto Ed25519
 */
export async function loadOrCreateKey() {
  const existing = await storedKey();
  if (existing) return existing;
  let pair;
  try {
    pair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
  } catch (err) {
    throw new Error(`this browser cannot make Ed25519 keys (${err.message}); use a current Chromium, Firefox or Safari`);
  }
  await withStore("readwrite", (s) => s.put(pair, KEY_ID));
  return pair;
}

/** Forget the key (signing in again makes a new identity). */
export async function forgetKey() {
  await withStore("readwrite", (s) => s.delete(KEY_ID));
}

/** "0x" + 64 hex of the key pair's public key. */
export async function addressOf(pair) {
  return "0x" + hex(await crypto.subtle.exportKey("raw", pair.publicKey));
}

/**
 * Sign in with the key: challenge, sign, authenticate.
 * @param {CryptoKeyPair} pair
 * @param {(path: string, body: object) => Promise<object>} post JSON POST returning the reply
 * @returns {Promise<{address: string, token: string, expiresAt: number}>} expiresAt in ms
 */
export async function signIn(pair, post) {
  const address = await addressOf(pair);
  const { challenge } = await post("/api/v1/auth/challenge", { address });
  const message = new TextEncoder().encode("farmhand-auth-v1:" + challenge);
  const signature = hex(await crypto.subtle.sign({ name: "Ed25519" }, pair.privateKey, message));
  const reply = await post("/api/v1/auth/authenticate", { address, challenge, signature });
  return { address, token: reply.token, expiresAt: Date.now() + reply.expires_in * 1000 };
}
