// The dashboard's only door to the server: credentials, JSON calls, authenticated images,
// and a DOM helper that never parses strings as HTML (filenames and tags are user data).

const STORAGE_KEY = 'imgpath.dashboard.auth';

/** {kind:'key', key} or {kind:'jwt', token, expiresAt}; per tab, gone when the tab closes. */
export function getAuth() {
  try {
    return JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null');
  } catch {
    return null;
  }
}

export function setAuth(auth) {
  if (auth) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(auth));
  else sessionStorage.removeItem(STORAGE_KEY);
}

/** Credentials travel in headers only: a key in a URL would end up in logs and history. */
export function authHeaders() {
  const auth = getAuth();
  if (auth?.kind === 'key') return { 'X-API-Key': auth.key };
  if (auth?.kind === 'jwt') return { Authorization: `Bearer ${auth.token}` };
  return {};
}

export class ApiError extends Error {
  constructor(status, body) {
    const err = body?.error;
    super(err?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = err?.code ?? 'http_error';
  }
}

/** Called on a 401 while signed in (revoked key, expired session). */
let onUnauthorized = () => {};
export function whenUnauthorized(fn) {
  onUnauthorized = fn;
}

function check(res, body) {
  if (res.status === 401 && getAuth()) onUnauthorized(new ApiError(res.status, body));
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}

/** JSON API call; the server's `{"error":{code,message}}` becomes an ApiError. */
export async function api(path, { method = 'GET', json, headers = {}, signal } = {}) {
  const res = await fetch(path, {
    method,
    signal,
    headers: { ...authHeaders(), ...(json !== undefined && { 'Content-Type': 'application/json' }), ...headers },
    body: json !== undefined ? JSON.stringify(json) : undefined,
  });
  const text = await res.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  return check(res, body);
}

/**
 * An image the page may only see with credentials, as a blob: URL. Accept mirrors what an
 * <img> sends, so f_auto picks the same format a real page would get.
 */
export async function fetchImage(path, signal) {
  const res = await fetch(path, { signal, headers: { ...authHeaders(), Accept: 'image/avif,image/webp,image/*,*/*;q=0.8' } });
  if (!res.ok) {
    const body = await res.json().catch(() => null);
    check(res, body);
  }
  const blob = await res.blob();
  return { url: URL.createObjectURL(blob), type: blob.type, bytes: blob.size };
}

/** Multipart upload with progress (fetch cannot report upload progress; XHR can). */
export function uploadFile(file, fields, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/images');
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onerror = () => reject(new Error('Network error'));
    xhr.onload = () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = null;
      }
      try {
        resolve(check({ status: xhr.status, ok: xhr.status >= 200 && xhr.status < 300 }, body));
      } catch (err) {
        reject(err);
      }
    };
    const form = new FormData();
    form.append('file', file, file.name);
    for (const [k, v] of Object.entries(fields)) if (v) form.append(k, v);
    xhr.send(form);
  });
}

/** el('li', {class: 'x', onclick: fn}, 'text', child): text is always a text node. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k in node && typeof v !== 'string') node[k] = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
  return node;
}

export const $ = (selector, root = document) => root.querySelector(selector);

export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function describeError(err) {
  return err instanceof ApiError ? `${err.message} (${err.status} ${err.code})` : String(err?.message ?? err);
}
