// The asset register: every school's devices with what they state, searchable as one types,
// downloadable as CSV (the download carries the search), and the changes of the last 7 days.
'use strict';

(() => {
  const { t, el, href, ago, section, fill, table, every, main } = Console;

  const params = new URLSearchParams(location.search);
  const search = el('input', {
    type: 'search', id: 'asset-search', value: params.get('q') ?? '',
    placeholder: t('assets.search'), 'aria-label': t('assets.search'),
  });
  const download = el('a', { id: 'asset-csv', class: 'download' }, t('assets.csv'));
  const count = el('span', { id: 'asset-count', class: 'muted' });
  main.append(el('div', { class: 'toolbar' }, search, ' ', download, ' ', count));
  const register = section(main, 'register', t('assets.register'));
  const changes = section(main, 'changes', t('assets.changes'));

  let rows = [];

  function when(iso) {
    return iso ? el('span', { title: iso }, ago((Date.now() - Date.parse(iso)) / 1000)) : '–';
  }

  function haystack(a) {
    const values = Object.entries(a).filter(([k, v]) => v && k !== 'details' && k !== 'url').map(([, v]) => String(v));
    return values.concat(Object.values(a.details ?? {})).join(' ').toLowerCase();
  }

  const columns = [
    ['col.school', (a) => el('a', { href: href(`/school/${encodeURIComponent(a.school)}`) }, a.school)],
    ['col.device', (a) => (a.url ? el('a', { href: href(a.url), class: 'device' }, a.device) : el('span', { class: 'device' }, t('assets.gateway')))],
    ['col.room', (a) => a.room ?? '–'],
    ['col.asset_id', (a) => a.asset_id ?? '–'],
    ['col.protocol', (a) => a.protocol ?? '–'],
    ['identity.vendor', (a) => a.vendor ?? '–'],
    ['identity.model', (a) => a.model ?? '–'],
    ['identity.firmware', (a) => el('span', { class: 'firmware' }, a.firmware ?? '–')],
    ['identity.serial', (a) => a.serial ?? '–'],
    ['col.first_seen', (a) => when(a.first_seen)],
    ['col.last_seen', (a) => when(a.last_seen)],
  ];

  function draw() {
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    const shown = rows.filter((a) => { const text = haystack(a); return words.every((w) => text.includes(w)); });
    const query = search.value.trim();
    download.setAttribute('href', href('/assets.csv', query ? { q: query } : {}));
    count.textContent = t('assets.count', { shown: shown.length, total: rows.length });
    const url = new URL(location.href);
    if (query) url.searchParams.set('q', query); else url.searchParams.delete('q');
    history.replaceState(null, '', url.pathname + url.search);
    return shown.length ? table(columns, shown) : el('p', { class: 'empty' }, t(rows.length ? 'assets.nomatch' : 'assets.none'));
  }

  let last = null;
  search.addEventListener('input', () => { if (last) fill(register, last, draw); });

  every((data) => {
    last = data.register;
    rows = data.register.ok ? data.register.rows : [];
    fill(register, data.register, draw);
    fill(changes, data.changes, (p) => (p.rows.length
      ? table([
        ['col.time', (c) => when(c.time)],
        ['col.school', (c) => c.school],
        ['col.device', (c) => c.device],
        ['assets.what', (c) => t(`identity.${c.what}`) === `identity.${c.what}` ? c.what : t(`identity.${c.what}`)],
        ['assets.old', (c) => el('span', { class: 'old' }, c.old)],
        ['assets.new', (c) => el('span', { class: 'new' }, c.new)],
      ], p.rows)
      : el('p', { class: 'empty' }, t('assets.nochanges'))));
  });
})();
