// Dashboard entry: sign-in, the library grid with paging and filters, and uploads.
import { $, api, describeError, el, fetchImage, getAuth, setAuth, uploadFile, whenUnauthorized } from './api.js';
import { initDetail, openDetail } from './detail.js';

const PAGE_SIZE = 24;
const THUMB = 'w_240,h_240,c_fill,f_auto';

const state = { page: 1, filters: {}, blobs: [], listing: null };

// ---- signing in and out -------------------------------------------------------------

async function showSignedIn() {
  const me = await api('/auth/me');
  const who = $('#who');
  who.replaceChildren();
  if (me.kind === 'user') who.append('Signed in as ', el('strong', {}, me.user.username), me.admin ? ' (admin)' : '');
  else who.append(el('strong', {}, 'API key'));
  $('#signin').hidden = true;
  $('#library').hidden = false;
  $('#sign-out').hidden = false;
  await loadPage(1);
}

function showSignedOut(message = '') {
  setAuth(null);
  $('#who').replaceChildren();
  $('#sign-out').hidden = true;
  $('#library').hidden = true;
  $('#signin').hidden = false;
  $('#signin-error').textContent = message;
  $('#detail').open && $('#detail').close();
  clearGrid();
}

async function signIn(auth) {
  setAuth(auth);
  try {
    await showSignedIn();
  } catch (err) {
    showSignedOut(describeError(err));
  }
}

$('#key-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const key = e.target.key.value.trim();
  e.target.reset();
  signIn({ kind: 'key', key });
});

$('#login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = e.target;
  try {
    const session = await api('/auth/login', { method: 'POST', json: { username: form.username.value, password: form.password.value } });
    form.reset();
    signIn({ kind: 'jwt', token: session.token, expiresAt: session.expiresAt });
  } catch (err) {
    $('#signin-error').textContent = describeError(err);
  }
});

$('#sign-out').addEventListener('click', () => showSignedOut());
whenUnauthorized((err) => showSignedOut(`Signed out: ${err.message}`));

// ---- the grid ------------------------------------------------------------------------

function clearGrid() {
  for (const url of state.blobs) URL.revokeObjectURL(url);
  state.blobs = [];
  $('#grid').replaceChildren();
}

function tile(image) {
  const name = image.filename ?? image.id;
  // The ThumbHash placeholder shows at once; the real thumbnail replaces it when it arrives.
  const img = el('img', { alt: name, width: 240, height: 240, src: image.placeholder.dataUri ?? undefined });
  if (image.placeholder.dominant) img.style.backgroundColor = image.placeholder.dominant;
  fetchImage(`/img/${THUMB}/${encodeURIComponent(image.id)}`)
    .then(({ url }) => {
      state.blobs.push(url);
      img.src = url;
      img.classList.add('loaded');
    })
    .catch((err) => {
      img.classList.add('failed');
      img.title = describeError(err);
    });
  return el(
    'li',
    { 'data-id': image.id },
    el(
      'button',
      { type: 'button', class: 'tile', onclick: () => openDetail(image.id) },
      img,
      el('span', { class: 'name' }, name),
      el('span', { class: 'badges' }, image.visibility === 'private' ? el('span', { class: 'badge' }, 'private') : null, image.tags.slice(0, 3).map((t) => el('span', { class: 'tag' }, t))),
    ),
  );
}

async function loadPage(page) {
  const query = new URLSearchParams({ page: String(page), limit: String(PAGE_SIZE) });
  for (const [k, v] of Object.entries(state.filters)) if (v) query.set(k, v);
  $('#library-error').textContent = '';
  try {
    const listing = await api(`/images?${query}`);
    state.page = page;
    state.listing = listing;
    clearGrid();
    $('#grid').append(...listing.items.map(tile));
    if (!listing.items.length) $('#grid').append(el('li', { class: 'empty' }, 'No images here yet.'));
    const pages = Math.max(1, Math.ceil(listing.total / listing.limit));
    $('#page-info').textContent = `Page ${page} of ${pages} · ${listing.total} image${listing.total === 1 ? '' : 's'}`;
    $('#prev').disabled = !listing.prev;
    $('#next').disabled = !listing.next;
  } catch (err) {
    $('#library-error').textContent = describeError(err);
  }
}

$('#prev').addEventListener('click', () => loadPage(state.page - 1));
$('#next').addEventListener('click', () => loadPage(state.page + 1));

$('#filters').addEventListener('submit', (e) => {
  e.preventDefault();
  const form = e.target;
  state.filters = { tag: form.tag.value.trim(), collection: form.collection.value.trim(), visibility: form.visibility.value };
  loadPage(1);
});

// ---- uploads -------------------------------------------------------------------------

async function uploadAll(files) {
  const form = $('#upload');
  const fields = { tags: form.tags.value.trim(), visibility: form.visibility.value };
  const list = $('#uploads');
  list.replaceChildren();
  // One at a time: the server decodes each upload fully, no need to make it do four at once.
  for (const file of files) {
    const bar = el('progress', { max: 1, value: 0 });
    const status = el('span', { class: 'status' }, 'uploading…');
    const row = el('li', {}, el('span', { class: 'name' }, file.name), bar, status);
    list.append(row);
    try {
      const image = await uploadFile(file, fields, (fraction) => (bar.value = fraction));
      bar.value = 1;
      row.classList.add(image.duplicate ? 'duplicate' : 'ok');
      status.textContent = image.duplicate
        ? `already in the library (${image.id})`
        : `new · ${image.width}×${image.height} ${image.format} · ${image.id}`;
    } catch (err) {
      row.classList.add('failed');
      status.textContent = describeError(err);
    }
  }
  await loadPage(1);
}

$('#upload-files').addEventListener('change', (e) => {
  const files = [...e.target.files];
  e.target.value = '';
  if (files.length) uploadAll(files);
});

// ---- start ---------------------------------------------------------------------------

initDetail({ onChanged: () => loadPage(state.page) });
if (getAuth()) signIn(getAuth());
else showSignedOut();
