import type { NextConfig } from "next";

const config: NextConfig = {
  // Berth's own server (server.ts) hosts Next; the MCP path never goes through Next.
  poweredByHeader: false,
  serverExternalPackages: ["@node-rs/argon2", "@electric-sql/pglite", "pg", "pino"],
};

export default config;
