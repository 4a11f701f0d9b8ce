import type { NextConfig } from "next";

const config: NextConfig = {
  // Berth's own server (server.ts) hosts Next; the MCP path never goes through Next.
  poweredByHeader: false,
  // The app's own files only: tests and scripts are type-checked by `npm run check`.
  typescript: { tsconfigPath: "tsconfig.build.json" },
  serverExternalPackages: ["@node-rs/argon2", "@electric-sql/pglite", "pg", "pino"],
  // No page of Berth's may be framed by another site (clickjacking the dashboard's buttons).
  async headers() {
    const noFraming = [
      { key: "X-Frame-Options", value: "DENY" },
      { key: "Content-Security-Policy", value: "frame-ancestors 'none'" },
    ];
    return [{ source: "/:path*", headers: noFraming }];
  },
};

export default config;
