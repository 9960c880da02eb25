/**
 * A slug suggestion for a workspace name: "Acme Labs!" → "acme-labs". The
 * server validates the final value (3–48 characters of a-z, 0-9 and single
 * hyphens); this only saves typing.
 */
export function suggestSlug(name: string): string {
  return name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 48)
    .replace(/-+$/g, "");
}

/** While typing in the slug field: lower-case; spaces and stray characters become hyphens. */
export function normalizeSlugInput(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .slice(0, 48);
}
