import { describe, expect, it } from "vitest";
import { createCredentialsCipher, parseKeySpec } from "./credentials-cipher";

const key = (id: string) => ({ id, raw: crypto.getRandomValues(new Uint8Array(32)) });

describe("credentials cipher", () => {
  it("round-trips, with a fresh IV each time and no plaintext in the ciphertext", async () => {
    const cipher = await createCredentialsCipher([key("a")]);
    const one = await cipher.encrypt({ TOKEN: "hunter2-hunter2" }, "conn-1");
    const two = await cipher.encrypt({ TOKEN: "hunter2-hunter2" }, "conn-1");
    expect(one.ciphertext).not.toBe(two.ciphertext);
    expect(atob(one.ciphertext)).not.toContain("hunter2");
    expect(await cipher.decrypt(one, "conn-1")).toEqual({ TOKEN: "hunter2-hunter2" });
  });
  it("encrypts with the first key and still decrypts with older ones (rotation)", async () => {
    const old = key("old");
    const before = await (await createCredentialsCipher([old])).encrypt({ A: "1" }, "c");
    const rotated = await createCredentialsCipher([key("new"), old]);
    expect((await rotated.encrypt({ A: "1" }, "c")).keyId).toBe("new");
    expect(await rotated.decrypt(before, "c")).toEqual({ A: "1" });
  });
  it("refuses a ciphertext moved to another connection or tampered with", async () => {
    const cipher = await createCredentialsCipher([key("a")]);
    const enc = await cipher.encrypt({ A: "1" }, "c1");
    await expect(cipher.decrypt(enc, "c2")).rejects.toThrow();
    const bytes = atob(enc.ciphertext);
    const flipped = btoa(bytes.slice(0, -1) + String.fromCharCode(bytes.charCodeAt(bytes.length - 1) ^ 1));
    await expect(cipher.decrypt({ ...enc, ciphertext: flipped }, "c1")).rejects.toThrow();
    await expect(cipher.decrypt({ ...enc, keyId: "gone" }, "c1")).rejects.toThrow(/not configured/);
  });
  it("parses key specs and rejects keys that are not 32 bytes", () => {
    const b64 = btoa(String.fromCharCode(...new Uint8Array(32)));
    expect(parseKeySpec(`k1:${b64},k2:${b64}`).map((k) => k.id)).toEqual(["k1", "k2"]);
    expect(() => parseKeySpec(`k1:${btoa("short")}`)).toThrow(/32 bytes/);
  });
});
