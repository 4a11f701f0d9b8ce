/**
 * AES-256-GCM over Web Crypto (Node and Deno alike). The first key encrypts; every key
 * decrypts, found by the key id stored next to each ciphertext. The connection id is bound
 * as additional data, so a ciphertext copied onto another row does not decrypt.
 */
export type CredentialsCipher = {
  /** The key new ciphertexts are made with (the first configured). */
  readonly currentKeyId: string;
  encrypt(plain: Record<string, string>, connectionId: string): Promise<{ keyId: string; ciphertext: string }>;
  decrypt(enc: { keyId: string; ciphertext: string }, connectionId: string): Promise<Record<string, string>>;
};

const IV_BYTES = 12;

export function parseKeySpec(spec: string): { id: string; raw: Uint8Array }[] {
  return spec.split(",").map((part) => {
    const [id, b64] = part.trim().split(":");
    const raw = id && b64 ? Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)) : new Uint8Array();
    if (!id || raw.length !== 32) throw new Error(`encryption key "${id ?? part}" must be 32 bytes of base64`);
    return { id, raw };
  });
}

export async function createCredentialsCipher(keys: { id: string; raw: Uint8Array }[]): Promise<CredentialsCipher> {
  if (!keys.length) throw new Error("at least one encryption key is needed");
  const byId = new Map<string, CryptoKey>();
  for (const k of keys) {
    byId.set(
      k.id,
      await crypto.subtle.importKey("raw", k.raw as BufferSource, "AES-GCM", false, ["encrypt", "decrypt"]),
    );
  }
  const current = keys[0]?.id as string;
  const enc = new TextEncoder();
  return {
    currentKeyId: current,
    async encrypt(plain, connectionId) {
      const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
      const key = byId.get(current) as CryptoKey;
      const ct = new Uint8Array(
        await crypto.subtle.encrypt(
          { name: "AES-GCM", iv, additionalData: enc.encode(connectionId) },
          key,
          enc.encode(JSON.stringify(plain)),
        ),
      );
      const joined = new Uint8Array(IV_BYTES + ct.length);
      joined.set(iv);
      joined.set(ct, IV_BYTES);
      return { keyId: current, ciphertext: toBase64(joined) };
    },
    async decrypt({ keyId, ciphertext }, connectionId) {
      const key = byId.get(keyId);
      if (!key) throw new Error(`credentials were encrypted with key "${keyId}", which is not configured`);
      const bytes = fromBase64(ciphertext);
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: bytes.slice(0, IV_BYTES), additionalData: enc.encode(connectionId) },
        key,
        bytes.slice(IV_BYTES),
      );
      return JSON.parse(new TextDecoder().decode(plain));
    },
  };
}

function toBase64(bytes: Uint8Array) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function fromBase64(b64: string) {
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}
