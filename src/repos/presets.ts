/** A named option list (`t_card`). */
export interface PresetRow {
  name: string;
  options: string;
  createdAt: number;
  updatedAt: number;
}

/** Presets (`t_{name}`); async so another database can stand behind the same interface. */
export interface PresetsRepo {
  /**
   * The preset, on the hot path of every `t_` request: while the database is unchanged the same
   * (frozen) row object comes back without a query, so callers may memoise what they derive from it.
   */
  byName(name: string): Promise<PresetRow | undefined>;
  list(): Promise<PresetRow[]>;
  /** Create or replace; `created`: there was none by that name. */
  save(name: string, options: string, now: number): Promise<{ row: PresetRow; created: boolean }>;
  /** Whether there was one to delete. */
  delete(name: string): Promise<boolean>;
}
