import { randomBytes } from 'node:crypto';

/** 12 URL-safe characters (72 bits): short enough for URLs, far too many to enumerate. */
export function newImageId() {
  return randomBytes(9).toString('base64url');
}

export { IMAGE_ID } from '../spec/public-id.js';
