import type { UseQueryResult } from "@tanstack/react-query";
import type { TRPCClientErrorLike } from "@trpc/client";
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";

import type { AppRouter } from "@/server/trpc/router";

export type RouterOutputs = inferRouterOutputs<AppRouter>;
export type RouterInputs = inferRouterInputs<AppRouter>;

export type Workspace = RouterOutputs["workspaces"]["bySlug"];
export type BalanceSummary = RouterOutputs["credits"]["balance"];

/** A query's state as the pages see it: the error is tRPC's, with appCode and fieldErrors. */
export type QueryResult<T> = UseQueryResult<T, TRPCClientErrorLike<AppRouter>>;
