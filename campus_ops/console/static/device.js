// A device: its state, identity and alerts, and every field over a chosen range with zoom.
// The range is in the page's address (?range=6h), so a shared link shows the same.
'use strict';

(() => {
  const { t, el, href, value, ago, during, badge, section, fill, alertsTable, chart, every, main } = Console;

  const chosen = new URLSearchParams(location.search).get('range') || '6h';
  const state = section(main, 'state', t('col.state'));
  const identity = section(main, 'identity', t('device.identity'));
  const alerts = section(main, 'alerts', t('device.alerts'));
  const readings = section(main, 'readings', t('device.readings'));

  function facts(pairs) {
    return el('dl', { class: 'facts' }, pairs.map(([key, v]) => [el('dt', {}, t(key)), el('dd', {}, v ?? '–')]));
  }

  function ranges(data) {
    return el('p', { class: 'ranges' }, `${t('device.range')}: `, data.ranges.map((r) =>
      el('a', { href: href(location.pathname, { range: r }), class: r === data.range ? 'chosen' : null }, r)),
    el('span', { class: 'muted' }, t('device.zoom')));
  }

  function fieldCharts(p, data) {
    const body = readings.querySelector('.body');
    let head = body.querySelector('.ranges');
    let grid = body.querySelector('.charts');
    if (!grid) {
      head = ranges(data);
      grid = el('div', { class: 'charts' });
      body.replaceChildren(head, grid);
    }
    if (!p.charts.some((c) => c.series.length)) {
      grid.replaceChildren(el('p', { class: 'empty' }, t('device.nodata')));
      return;
    }
    p.charts.forEach((c) => {
      let box = grid.querySelector(`[data-box="${CSS.escape(c.metric)}"]`);
      if (!box) {
        const title = c.unit ? `${c.label} (${c.unit})` : c.label;
        box = el('div', { class: 'chart-box', 'data-box': c.metric, 'data-field': c.field },
          el('h3', {}, title), el('p', { class: 'muted shown' }), el('div', { class: 'holder' }));
        grid.append(box);
      }
      box.querySelector('.shown').textContent = c.total > c.series.length ? t('device.shown', { shown: c.series.length, total: c.total }) : '';
      chart(box.querySelector('.holder'), c.metric, { ...c, start: p.start, end: p.end }, { zoom: true, group: 'device' });
    });
  }

  every((data) => {
    fill(state, data.state, (p) => facts([
      ['col.state', badge('state', p.state)],
      ['device.silent', p.silent_s === null ? null : during(p.silent_s)],
      ['col.kind', p.labels.kind],
      ['col.building', p.labels.building],
      ['col.room', p.labels.room],
      // A device covering several sensors through a topic wildcard: each one up or down.
      ...(p.sensors.length ? [['device.sensors', p.sensors.map((s) => el('span', { class: 'sensor', 'data-room': s.room },
        `${[s.building, s.room].filter(Boolean).join(' ')} `, badge('state', s.state), ' '))]] : []),
    ]));
    fill(identity, data.identity, (p) => (p.known
      ? [facts([
        ['identity.vendor', p.vendor ?? '–'], ['identity.model', p.model ?? '–'],
        ['identity.firmware', p.firmware ?? '–'], ['identity.serial', p.serial ?? '–'],
        ['identity.last_seen', ago(Date.now() / 1000 - p.last_seen_s)],
      ]), el('p', {}, el('a', { href: href(p.register), class: 'register' }, t('device.register')))]
      : el('p', { class: 'muted identity-unknown' }, t('device.unknown'))));
    fill(alerts, data.alerts, (p) => (p.rows.length ? alertsTable(p.rows, { school: false }) : el('p', { class: 'empty' }, t('alerts.none'))));
    if (data.readings.ok) fieldCharts(data.readings, data);
    else fill(readings, data.readings, () => null);
  }, { range: chosen });
})();
