/**
 * How an option appears in the JSON body of `POST /images/{id}/transform`. Each registry entry
 * carries one (or says why it has none); library/transform.ts builds the body's schema and its
 * JSON → URL options mapping from them, in registry order. Plain data and small functions only:
 * the grammar is bundled into the browser client, so no zod here.
 */

/** The shapes a transform field takes; transform.ts turns each into its zod schema. */
export type JsonValue =
  /** A finite number, written as is (the grammar checks integer-ness and range). */
  | 'number'
  /** A boolean: true gives the value-less option, false nothing. */
  | 'flag'
  /** true: the option bare; false: nothing; a number: its value (e_sharpen). */
  | 'flag-or-number'
  | 'number-or-auto'
  | 'number-or-max'
  /** Letters, digits, `_ . : -`, 1..64: never a `,` or `/` that could smuggle in another option. */
  | 'word'
  /** Hex rgb, rrggbb or rrggbbaa, with or without `#`. */
  | 'colour'
  /** `w:h`, e.g. 16:9. */
  | 'ratio'
  /** `{x?, y?, width, height}` in source pixels → `x:y:w:h`. */
  | 'region'
  | { enum: readonly string[]; anyCase?: true };

/** The bare transform body (imgpath's form, or what roadmap.sh wraps in `transformations`), after the shape check. */
export type JsonBody = Readonly<Record<string, unknown>>;

export interface JsonField {
  /** Dotted path in the body: `rotate`, or `filters.blur` (a group object, then the field). */
  path: string;
  value: JsonValue;
  /** The OpenAPI description of the field. */
  doc?: string;
  /** Must be given whenever its group object is (`watermark.image`, `compress.quality`). */
  required?: true;
  /** The group object may be this field's value alone (`"watermark": "logo"` = `{"image": "logo"}`). */
  shorthand?: true;
  /** A value the field means when absent, from its siblings (resize with both sides: fill). */
  implied?(body: JsonBody): unknown;
  /**
   * The URL item for a value, when it is not `{name}{sep}{value}`: JSON transforms are steps, so a
   * field read in the frame before a quarter turn becomes another option of the delivered frame.
   */
  item?(value: unknown, body: JsonBody): string | undefined;
}

/** An option with no JSON form says why, so leaving one out is a decision, not an oversight. */
export interface NoJson {
  none: string;
}

/** The value at a dotted path of the body, with a group given by its shorthand read as `{[field]: value}`. */
export function valueAt(body: JsonBody, field: JsonField): unknown {
  const segments = field.path.split('.');
  let at: unknown = body;
  for (const [i, segment] of segments.entries()) {
    if (at === undefined || at === null) return undefined;
    if (typeof at !== 'object') return field.shorthand && i === segments.length - 1 ? at : undefined;
    at = (at as Record<string, unknown>)[segment];
  }
  return at ?? field.implied?.(body);
}

/**
 * JSON transforms are steps (crop → resize → rotate → …), while URL options describe the delivered
 * image (w_/h_ are its size even after r_90): after a quarter turn the resize box is the other way round.
 */
export function quarterTurn(body: JsonBody): boolean {
  const r = body.rotate;
  return typeof r === 'number' && Number.isInteger(r) && ((r % 180) + 180) % 180 === 90;
}
