import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import type { SigningKey } from './signature.js';

export type { SigningKey };

export interface Secrets {
  /** The first signs, all verify: add a new key in front to rotate without breaking live URLs. */
  signingKeys: SigningKey[];
  jwtSecret: Uint8Array;
}

interface StoredSecrets {
  signingKeys: SigningKey[];
  jwtSecret: string;
}

/**
 * Secrets from the environment when given, else generated once and kept in
 * `$DATA_DIR/secrets.json` (mode 0600) so signed URLs survive a restart.
 */
export function loadSecrets(config: Config): Secrets {
  const file = path.join(config.dataDir, 'secrets.json');
  let stored: StoredSecrets | undefined;
  if (!config.SIGNING_KEYS || !config.JWT_SECRET) {
    if (fs.existsSync(file)) {
      stored = JSON.parse(fs.readFileSync(file, 'utf8')) as StoredSecrets;
    } else {
      stored = {
        signingKeys: [{ kid: 'k1', secret: randomBytes(32).toString('base64url') }],
        jwtSecret: randomBytes(48).toString('base64url'),
      };
      fs.mkdirSync(config.dataDir, { recursive: true });
      const tmp = `${file}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(stored, null, 2), { mode: 0o600 });
      fs.renameSync(tmp, file);
    }
  }
  return {
    signingKeys: config.SIGNING_KEYS ?? stored!.signingKeys,
    jwtSecret: new TextEncoder().encode(config.JWT_SECRET ?? stored!.jwtSecret),
  };
}
