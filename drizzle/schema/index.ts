export * from "./auth";
export * from "./billing";
export * from "./credits";
export * from "./events";
export * from "./notifications";
export * from "./payments";
export * from "./usage";
export * from "./workspaces";
