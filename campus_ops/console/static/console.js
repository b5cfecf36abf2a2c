// What every page of the console shares: its words, small DOM helpers, the error panel,
// charts, and the loop that fetches the page's JSON every 15 seconds.
'use strict';

const Console = (() => {
  const body = document.body;
  const words = JSON.parse(document.getElementById('strings').textContent);
  const lang = body.dataset.lang;
  const keep = body.dataset.keep; // "?lang=zh" when a person chose the language, else ""
  const REFRESH_MS = 15000;

  /** A string in the page's language, with {name} filled in. */
  function t(key, vars = {}) {
    let text = words[key] ?? key;
    for (const [name, value] of Object.entries(vars)) text = text.replaceAll(`{${name}}`, String(value));
    return text;
  }

  /** An element: el('a', {href: '/'}, 'text', child, ...). */
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === undefined || value === null) continue;
      if (name === 'class') node.className = value;
      else node.setAttribute(name, value);
    }
    for (const child of children.flat(Infinity)) {
      if (child === undefined || child === null) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /** A link inside the console that keeps a chosen language. */
  function href(path, params = {}) {
    const url = new URL(path, location.origin);
    for (const [name, value] of new URLSearchParams(keep)) url.searchParams.set(name, value);
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
    return url.pathname + url.search;
  }

  const SI = ['', 'k', 'M', 'G', 'T'];

  /** A value with its unit: 812000000 bit/s -> "812 Mbit/s", 612.4 ppm -> "612 ppm"; ``bare``
   * leaves the unit out but keeps its prefix (an axis names its unit once). */
  function value(v, unit = '', bare = false) {
    if (v === null || v === undefined || Number.isNaN(v)) return '–';
    let n = Number(v);
    let prefix = '';
    if (['bit/s', 'W', 'B', 'VA'].includes(unit)) {
      let i = 0;
      while (Math.abs(n) >= 1000 && i < SI.length - 1) { n /= 1000; i += 1; }
      prefix = SI[i];
    }
    const digits = Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : 2;
    const text = new Intl.NumberFormat(lang === 'zh' ? 'zh-CN' : 'en', { maximumFractionDigits: digits }).format(n);
    if (bare) return `${text}${prefix ? ` ${prefix}` : ''}`;
    return unit || prefix ? `${text} ${prefix}${unit}` : text;
  }

  function span(seconds, kind) {
    if (seconds === null || seconds === undefined) return '–';
    const s = Math.max(0, Math.round(seconds));
    if (s < 120) return t(`${kind}.s`, { n: s });
    if (s < 7200) return t(`${kind}.m`, { n: Math.floor(s / 60) });
    if (s < 172800) return t(`${kind}.h`, { n: Math.floor(s / 3600) });
    return t(`${kind}.d`, { n: Math.floor(s / 86400) });
  }
  /** "12 s ago" */
  const ago = (seconds) => span(seconds, 'ago');
  /** "12 s" */
  const during = (seconds) => span(seconds, 'for');

  /** A coloured state or severity: badge('state', 'silent'). */
  function badge(kind, name) {
    return el('span', { class: `badge ${kind}-${name}` }, t(`${kind}.${name}`));
  }

  /** What a panel says when its source failed: in words, with the query and the source's own. */
  function failure(error) {
    const box = el('div', { class: 'error', role: 'alert' },
      el('p', {}, el('strong', {}, t(`err.${error.source}.${error.kind}`)), error.url ? ` (${error.url})` : ''));
    if (error.kind !== 'absent') box.append(el('p', {}, `${t('err.said')}: `, el('span', { class: 'said' }, error.message)));
    if (error.query) box.append(el('p', {}, `${t('err.query')}:`), el('pre', { class: 'query' }, error.query));
    return box;
  }

  /** A titled section (made once, kept by id) whose contents ``render`` remakes from ``panel``. */
  function section(parent, id, title) {
    let node = document.getElementById(id);
    if (!node) {
      node = el('section', { id }, el('h2', {}, title), el('div', { class: 'body' }));
      parent.append(node);
    }
    return node;
  }

  function fill(node, panel, render) {
    const target = node.querySelector(':scope > .body');
    if (!panel.ok) { target.replaceChildren(failure(panel.error)); return; }
    target.replaceChildren(...[render(panel)].flat(Infinity).filter(Boolean));
  }

  /** A table: columns are [key of heading, cell(row), class]. */
  function table(columns, rows) {
    return el('table', {},
      el('thead', {}, el('tr', {}, columns.map(([key, , cls]) => el('th', { class: cls }, key ? t(key) : '')))),
      el('tbody', {}, rows.map((row) => el('tr', {}, columns.map(([, cell, cls]) => el('td', { class: cls }, cell(row)))))));
  }

  /** Alerts as a table; with ``expression`` the rule's query is shown too. */
  function alertsTable(rows, { expression = false, school = true } = {}) {
    const columns = [
      ['col.state', (a) => badge('alertstate', a.state)],
      ['col.severity', (a) => (a.severity ? badge('severity', a.severity) : '')],
      ['col.alert', (a) => a.name],
    ];
    if (school) columns.push(['col.school', (a) => (a.school ? el('a', { href: href(`/school/${encodeURIComponent(a.school)}`) }, a.school) : '')]);
    columns.push(
      ['col.summary', (a) => el('span', { class: 'summary' }, a.summary)],
      ['col.since', (a) => (a.active_at ? ago((Date.now() - Date.parse(a.active_at)) / 1000) : '')],
    );
    if (expression) columns.push(['col.expression', (a) => el('pre', {}, a.expression)]);
    columns.push(['col.runbook', (a) => (a.runbook ? el('a', { href: a.runbook.startsWith('/') ? href(a.runbook) : a.runbook, class: 'runbook' }, t('col.runbook')) : '')]);
    return table(columns, rows);
  }

  const charts = new Map();

  /** Draws (or redraws, keeping its zoom) a time-series chart of ``panel`` in ``box``. */
  function chart(box, id, panel, { zoom = false, group = null } = {}) {
    let holder = box.querySelector(`[data-chart="${CSS.escape(id)}"]`);
    if (!window.echarts) {
      box.replaceChildren(el('div', { class: 'error' }, t('err.charts', { hint: body.dataset.chartsHint })));
      return;
    }
    if (!holder) {
      holder = el('div', { class: 'chart', 'data-chart': id });
      box.replaceChildren(holder);
      charts.delete(id);
    }
    let drawn = charts.get(id);
    if (!drawn) {
      drawn = window.echarts.init(holder, null, { locale: lang === 'zh' ? 'ZH' : 'EN' });
      // Charts added beside it narrow its column: follow the holder's size, not the window's.
      const sized = drawn;
      new ResizeObserver(() => sized.resize()).observe(holder);
      if (group) drawn.group = group;
      charts.set(id, drawn);
      drawn.setOption({
        animation: false,
        grid: { left: 56, right: 16, top: 28, bottom: zoom ? 88 : 52 },
        tooltip: { trigger: 'axis', valueFormatter: (v) => value(v, panel.unit) },
        legend: { type: 'scroll', bottom: zoom ? 30 : 0 },
        xAxis: { type: 'time', axisLabel: { hideOverlap: true } },
        yAxis: { type: 'value', name: panel.unit || '', axisLabel: { formatter: (v) => value(v, panel.unit, true) } },
        dataZoom: zoom ? [{ type: 'inside' }, { type: 'slider', height: 18, bottom: 4 }] : [],
      });
    }
    drawn.setOption({
      xAxis: { min: panel.start, max: panel.end },
      // A series of a point or two shows its points, or it would not show at all.
      series: panel.series.map((s) => ({ name: s.name, type: 'line', showSymbol: s.points.length < 3, sampling: 'lttb', data: s.points })),
    }, { replaceMerge: ['series'] });
    if (group) window.echarts.connect(group);
  }

  function status(ok) {
    const footer = document.getElementById('status');
    footer.className = ok ? '' : 'down';
    footer.textContent = ok ? t('updated', { time: new Date().toLocaleTimeString(lang === 'zh' ? 'zh-CN' : 'en') }) : t('console.down');
  }

  /** Fetches the page's JSON now and every 15 s; ``render`` draws it. */
  function every(render, params = {}) {
    const url = new URL(body.dataset.api, location.origin);
    url.searchParams.set('lang', lang);
    for (const [name, v] of Object.entries(params)) url.searchParams.set(name, v);
    async function load() {
      let data;
      try {
        const response = await fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        data = await response.json();
      } catch (e) {
        status(false);
        return;
      }
      render(data); // a mistake here shows in the browser's console, not as the console being down
      status(true);
      body.dataset.loaded = String(Date.now()); // the tests wait for this
    }
    load();
    setInterval(load, REFRESH_MS);
  }

  return { t, el, href, value, ago, during, badge, failure, section, fill, table, alertsTable, chart, every, lang, main: document.getElementById('main') };
})();
