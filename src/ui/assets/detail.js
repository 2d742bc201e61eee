// The image panel: metadata, edits, focal point, delete, and the delivery-URL builder.
import { $, api, describeError, el, fetchImage, formatBytes } from './api.js';

const dialog = $('#detail');
const current = { image: null, blobs: [], preview: null, timer: 0 };
let changed = () => {};

function keep(url) {
  current.blobs.push(url);
  return url;
}

function release() {
  for (const url of current.blobs) URL.revokeObjectURL(url);
  current.blobs = [];
  current.preview?.abort();
}

function status(text, isError = false) {
  const p = $('#d-status');
  p.textContent = text;
  p.classList.toggle('error', isError);
}

// ---- metadata and edits --------------------------------------------------------------

function showMeta(image) {
  const rows = [
    ['ID', image.id],
    ['File', image.filename ?? '—'],
    ['Size', `${image.width} × ${image.height} · ${image.orientation}`],
    ['Format', `${image.format}${image.hasAlpha ? ' · alpha' : ''}${image.frames > 1 ? ` · ${image.frames} frames` : ''}`],
    ['Bytes', formatBytes(image.bytes)],
    ['Added', new Date(image.createdAt).toLocaleString()],
    ['Owner', image.ownerId === null ? 'system' : `user ${image.ownerId}`],
    ['Colour', image.placeholder.dominant ?? '—'],
    ['Focal point', image.focalPoint ? `${image.focalPoint.x.toFixed(2)}, ${image.focalPoint.y.toFixed(2)}` : 'not set'],
  ];
  if (image.variants) rows.push(['Variants', String(image.variants.length)]);
  $('#d-meta').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  const marker = $('#d-marker');
  marker.hidden = !image.focalPoint;
  if (image.focalPoint) {
    // CSSOM writes are allowed under a CSP without 'unsafe-inline' (style attributes are not).
    marker.style.left = `${image.focalPoint.x * 100}%`;
    marker.style.top = `${image.focalPoint.y * 100}%`;
  }
}

function fillEditForm(image) {
  const form = $('#d-edit');
  form.tags.value = image.tags.join(', ');
  form.collection.value = image.collection ?? '';
  form.visibility.value = image.visibility;
}

$('#d-edit').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = e.target;
  const tags = form.tags.value.split(',').map((t) => t.trim()).filter(Boolean);
  try {
    const image = await api(`/images/${encodeURIComponent(current.image.id)}`, {
      method: 'PATCH',
      json: { tags, collection: form.collection.value.trim() || null, visibility: form.visibility.value },
    });
    current.image = { ...current.image, ...image };
    showMeta(current.image);
    status('Saved.');
    changed();
  } catch (err) {
    status(describeError(err), true);
  }
});

$('#d-delete').addEventListener('click', async () => {
  const image = current.image;
  if (!confirm(`Delete "${image.filename ?? image.id}"? Its original and every cached rendition go too.`)) return;
  try {
    await api(`/images/${encodeURIComponent(image.id)}`, { method: 'DELETE' });
    dialog.close();
    changed();
  } catch (err) {
    status(describeError(err), true);
  }
});

// Clicks land on the displayed image, which shows the whole (auto-oriented) original, so the
// click's fraction of the box is the focal point's fraction of the original.
$('#d-image').addEventListener('click', async (e) => {
  const box = e.currentTarget.getBoundingClientRect();
  const clamp = (v) => Math.min(1, Math.max(0, Math.round(v * 1000) / 1000));
  const point = { x: clamp((e.clientX - box.left) / box.width), y: clamp((e.clientY - box.top) / box.height) };
  try {
    const image = await api(`/images/${encodeURIComponent(current.image.id)}/focal-point`, { method: 'PUT', json: point });
    current.image = { ...current.image, ...image };
    showMeta(current.image);
    status(`Focal point set to ${point.x.toFixed(2)}, ${point.y.toFixed(2)}.`);
    schedulePreview();
  } catch (err) {
    status(describeError(err), true);
  }
});

// ---- URL builder ---------------------------------------------------------------------

export function builderOptions(form) {
  const parts = [];
  const add = (key, value) => value && parts.push(`${key}_${value}`);
  add('w', form.w.value.trim());
  add('h', form.h.value.trim());
  add('c', form.c.value);
  add('g', form.g.value);
  add('r', form.r.value);
  for (const box of form.querySelectorAll('input[name="e"]:checked')) add('e', box.value);
  add('q', form.q.value.trim());
  add('f', form.f.value);
  return parts.join(',');
}

function deliveryPath(options) {
  return `/img/${options ? `${options}/` : ''}${encodeURIComponent(current.image.id)}`;
}

function schedulePreview() {
  clearTimeout(current.timer);
  current.timer = setTimeout(updatePreview, 250);
}

async function updatePreview() {
  const options = builderOptions($('#builder'));
  const path = deliveryPath(options);
  $('#b-url').value = location.origin + path;
  $('#b-signed').value = '';
  $('#b-copy').disabled = true;
  current.preview?.abort();
  const controller = (current.preview = new AbortController());
  const info = $('#b-info');
  info.textContent = 'rendering…';
  info.classList.remove('error');
  try {
    const { url, type, bytes } = await fetchImage(path, controller.signal);
    const img = $('#b-preview');
    img.onload = () => (info.textContent = `${img.naturalWidth} × ${img.naturalHeight} · ${type} · ${formatBytes(bytes)}`);
    img.src = keep(url);
  } catch (err) {
    if (err.name === 'AbortError') return;
    info.textContent = describeError(err);
    info.classList.add('error');
  }
}

$('#builder').addEventListener('input', schedulePreview);
$('#builder').addEventListener('submit', (e) => e.preventDefault());

$('#b-sign').addEventListener('click', async () => {
  const options = builderOptions($('#builder'));
  try {
    const signed = await api('/sign', { method: 'POST', json: { id: current.image.id, options } });
    $('#b-signed').value = signed.url;
    $('#b-copy').disabled = false;
  } catch (err) {
    $('#b-signed').value = '';
    $('#b-info').textContent = describeError(err);
    $('#b-info').classList.add('error');
  }
});

$('#b-copy').addEventListener('click', async () => {
  const field = $('#b-signed');
  try {
    await navigator.clipboard.writeText(field.value);
  } catch {
    field.select();
  }
  $('#b-copy').textContent = 'Copied';
  setTimeout(() => ($('#b-copy').textContent = 'Copy'), 1500);
});

// ---- opening and closing -------------------------------------------------------------

export async function openDetail(id) {
  release();
  status('');
  const image = await api(`/images/${encodeURIComponent(id)}`).catch((err) => {
    $('#library-error').textContent = describeError(err);
    return null;
  });
  if (!image) return;
  current.image = image;
  $('#d-title').textContent = image.filename ?? image.id;
  showMeta(image);
  fillEditForm(image);
  // The stage takes the image's shape before any pixel arrives, so the layout never jumps.
  $('#d-stage').style.setProperty('--ar', String(image.width / image.height));
  const big = $('#d-image');
  big.alt = image.filename ?? image.id;
  big.src = image.placeholder.dataUri ?? '';
  big.classList.remove('loaded');
  if (!dialog.open) dialog.showModal();
  // c_limit: a preview never enlarges, and a tall strip is fitted into the output caps rather than refused.
  fetchImage(`/img/w_900,c_limit,f_auto/${encodeURIComponent(id)}`)
    .then(({ url }) => {
      big.src = keep(url);
      big.classList.add('loaded');
    })
    .catch((err) => status(describeError(err), true));
  $('#builder').reset();
  $('#b-preview').removeAttribute('src');
  updatePreview();
}

export function initDetail({ onChanged }) {
  changed = onChanged;
  $('#d-close').addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', release);
}
