import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "@/tests/support/temp-dirs";
import { SleepingHomes } from "./sleeping-homes";

const ID = "0b7f6c1e-9a1d-4a53-8f3e-3c2d1b0a9f8e";
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function homes() {
  const dir = tempDir("sleeping-homes-");
  dirs.push(dir);
  return new SleepingHomes(path.join(dir, "homes"));
}

describe("SleepingHomes", () => {
  it("keeps what the archiver wrote, 0600 in a 0700 dir", async () => {
    const h = homes();
    await h.save(ID, ["/usr/bin/printf", "archive"], { PATH: "/usr/bin" }, 1024);
    const file = h.file(ID) as string;
    expect(fs.readFileSync(file, "utf8")).toBe("archive");
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(h.dir).mode & 0o777).toBe(0o700);
  });

  it("an archive larger than the cap is not kept, and no partial file stays", async () => {
    const h = homes();
    const big = ["/usr/bin/head", "-c", String(4 << 20), "/dev/zero"];
    await expect(h.save(ID, big, { PATH: "/usr/bin" }, 1 << 20)).rejects.toThrow(/larger than the home's cap/);
    expect(fs.readdirSync(h.dir)).toEqual([]);
  });

  it("a failing archiver keeps nothing, and an earlier archive of the connection stays as it was", async () => {
    const h = homes();
    await h.save(ID, ["/usr/bin/printf", "old"], { PATH: "/usr/bin" }, 1024);
    await expect(h.save(ID, ["/usr/bin/sh", "-c", "printf new; exit 2"], {}, 1024)).rejects.toThrow(/exited with 2/);
    expect(fs.readFileSync(h.file(ID) as string, "utf8")).toBe("old");
    expect(fs.readdirSync(h.dir)).toEqual([`${ID}.tar.zst`]);
  });

  it("names files after UUIDs only", async () => {
    const h = homes();
    for (const bad of ["../x", "a/b", `${ID}/..`, "", "x".repeat(36)]) expect(h.file(bad)).toBeUndefined();
    await expect(h.save("../../etc/passwd", ["/usr/bin/true"], {}, 1)).rejects.toThrow(/not a UUID/);
    expect(h.open("../../etc/passwd")).toBeUndefined();
  });
});
