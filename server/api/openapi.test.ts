import { describe, expect, it } from "vitest";

import { errorCodes } from "@/server/errors";

import { allExamples, endpoints, openApiDocument } from "./openapi";

type Json = Record<string, any>;

const doc = openApiDocument() as Json;

/** Every `$ref` in the document, with where it was found. */
function refs(value: unknown, path = "#"): [string, string][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => refs(v, `${path}/${i}`));
  if (typeof value !== "object" || value === null) return [];

  return Object.entries(value).flatMap(([key, child]) =>
    key === "$ref" && typeof child === "string"
      ? [[path, child] as [string, string]]
      : refs(child, `${path}/${key}`),
  );
}

function resolve(pointer: string): unknown {
  return pointer
    .replace(/^#\//, "")
    .split("/")
    .reduce<unknown>((node, part) => (node as Json | undefined)?.[part], doc);
}

describe("the OpenAPI document", () => {
  it("is OpenAPI 3.1 with info, a server, security and components", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info).toMatchObject({ title: expect.any(String), version: "1" });
    expect(doc.servers).toEqual([{ url: "/api/v1" }]);
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: "http", scheme: "bearer" });
    expect(Object.keys(doc.components.schemas).sort()).toEqual(
      [
        "Balance",
        "BatchItem",
        "BatchItemResult",
        "BatchRequest",
        "BatchResult",
        "CreditsRefusal",
        "Error",
        "FinalizeRequest",
        "Hold",
        "HoldRequest",
        "UsageRefusal",
        "UsageRequest",
        "UsageResult",
      ].sort(),
    );
    for (const schema of Object.values(doc.components.schemas) as Json[]) {
      expect(schema).not.toHaveProperty("$schema");
      expect(schema).not.toHaveProperty("$id");
    }
  });

  it("documents every endpoint with its method, scope, body and answers", () => {
    expect(
      Object.entries(doc.paths as Json).flatMap(([path, item]) =>
        Object.keys(item as Json).map((method) => `${method.toUpperCase()} ${path}`),
      ),
    ).toEqual([
      "POST /usage",
      "POST /usage/batch",
      "GET /balance",
      "POST /holds",
      "POST /holds/{holdId}/finalize",
      "POST /holds/{holdId}/release",
      "GET /openapi.json",
    ]);
    for (const endpoint of endpoints) {
      const operation = doc.paths[endpoint.path][endpoint.method.toLowerCase()] as Json;
      expect(operation.operationId).toBe(endpoint.id);
      expect(operation.security).toEqual([{ apiKey: [endpoint.scope] }]);
      expect(Object.keys(operation.responses)).toContain("200");
      expect(Object.keys(operation.responses)).toContain("401");
      expect(operation.responses["429"].headers["Retry-After"]).toBeDefined();
      if (endpoint.request) {
        expect(operation.requestBody.content["application/json"].schema).toEqual({
          $ref: `#/components/schemas/${endpoint.request.id}`,
        });
      }
      const headers = (operation.parameters ?? []).filter((p: Json) => p.in === "header");
      expect(headers.map((p: Json) => p.name)).toEqual(
        endpoint.idempotencyKey === "required" ? ["Idempotency-Key"] : [],
      );
      if (endpoint.path.includes("{holdId}")) {
        expect(operation.parameters[0]).toMatchObject({
          name: "holdId",
          in: "path",
          required: true,
        });
      }
    }
    expect(doc.paths["/openapi.json"].get.security).toEqual([]);
  });

  it("resolves every $ref", () => {
    const all = refs(doc);
    expect(all.length).toBeGreaterThan(20);
    for (const [where, target] of all) {
      expect(target.startsWith("#/"), `${where} points outside the document`).toBe(true);
      expect(resolve(target), `${where} → ${target}`).toBeDefined();
    }
  });

  it("lists every stable error code", () => {
    expect(doc.components.schemas.Error.properties.error.properties.code.enum).toEqual(
      Object.keys(errorCodes),
    );
  });

  it("has examples that match the schemas they illustrate", () => {
    const examples = allExamples();
    expect(examples.length).toBeGreaterThanOrEqual(endpoints.length * 2);
    for (const [where, schema, example] of examples) {
      const parsed = schema.safeParse(example);
      expect(parsed.success, `${where}: ${parsed.error?.message}`).toBe(true);
    }
    // The examples in the document are those same objects.
    const usage = doc.paths["/usage"].post;
    expect(usage.requestBody.content["application/json"].example).toEqual(
      endpoints[0]!.request!.example,
    );
    expect(usage.responses["402"].content["application/json"].example).toEqual(
      endpoints[0]!.alternatives![0]!.example,
    );
  });

  it("would catch an example that drifts from its schema", () => {
    const [, schema] = allExamples()[0]!;
    expect(schema.safeParse({ feature: "summarize", inputBytes: "4096" }).success).toBe(false);
  });
});
