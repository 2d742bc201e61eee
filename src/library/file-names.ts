/**
 * Uploaded file names are labels (shown in lists, the dashboard, the CLI and logs); originals are
 * stored by hash, so a name never reaches the filesystem. A label keeps its last path segment and
 * none of these: control characters (a terminal escape, a CRLF reaching a header) and
 * bidirectional overrides (`gpj.exe` shown as `exe.jpg`).
 */
export const UNSAFE_IN_NAME = /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

export const MAX_NAME_LENGTH = 255;

const UNSAFE = new RegExp(UNSAFE_IN_NAME.source);

/** True when `name` holds a character a label must not. */
export function hasUnsafeCharacters(name: string): boolean {
  return UNSAFE.test(name);
}

/** The last segment of a path written with / or \. */
export function lastSegment(name: string): string {
  return name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
}

/** At most MAX_NAME_LENGTH characters, cut between code points (never half an emoji). */
export function shortened(name: string): string {
  if (name.length <= MAX_NAME_LENGTH) return name;
  return Array.from(name)
    .slice(0, MAX_NAME_LENGTH)
    .join('')
    .slice(0, MAX_NAME_LENGTH)
    .replace(/[\ud800-\udbff]$/, '');
}

/** The label kept for a name from anywhere (API fields are refused before this; folders and remote paths are cleaned here). */
export function fileLabel(name: string | null | undefined): string | null {
  if (name == null) return null;
  const label = shortened(lastSegment(name).replace(UNSAFE_IN_NAME, ''));
  return label === '' ? null : label;
}
