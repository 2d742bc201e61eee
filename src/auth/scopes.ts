/** What an API key may do; `admin` implies the others (hasScope). */
export const SCOPES = ['deliver', 'upload', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export function parseScopes(raw: string): Scope[] {
  return raw.split(',').filter((s): s is Scope => (SCOPES as readonly string[]).includes(s));
}
