import { randomBytes } from 'node:crypto';

/** 12 URL-safe characters (72 bits): short enough for URLs, far too many to enumerate. */
export function newImageId() {
  return randomBytes(9).toString('base64url');
}

export const IMAGE_ID = /^[A-Za-z0-9_-]{1,64}$/;
