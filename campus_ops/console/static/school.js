// A school: its gateway, its devices by building and room, its alerts, its last hours.
'use strict';

(() => {
  const { t, el, href, value, ago, during, badge, section, fill, table, alertsTable, chart, every, main } = Console;

  const gateway = section(main, 'gateway', t('school.gateway'));
  const devices = section(main, 'devices', t('school.devices'));
  const alerts = section(main, 'alerts', t('school.alerts'));
  const charts = section(main, 'charts', t('school.charts'));
  charts.querySelector('.body').classList.add('charts');

  function facts(pairs) {
    return el('dl', { class: 'facts' }, pairs.map(([key, v]) => [el('dt', {}, t(key)), el('dd', {}, v)]));
  }

  function gatewayFacts(g) {
    const waiting = g.points_waiting === null ? '–'
      : `${value(g.points_waiting)}${g.oldest_waiting_s ? ` (${during(g.oldest_waiting_s)})` : ''}`;
    return [
      g.campus ? el('h3', {}, g.campus) : null,
      facts([
        ['col.state', [badge('state', g.state), g.problems.length ? el('span', { class: 'problems' }, ` ${g.problems.join('; ')}`) : '']],
        ['col.version', g.version ?? '–'],
        ['col.config', g.config_version ?? '–'],
        ['col.waiting', waiting],
        ['col.last_seen', g.state === 'missing' ? '–' : ago(g.age_s)],
        ['col.devices', g.devices_up === null ? '–' : `${g.devices_up} / ${g.devices_down ?? 0}`],
      ]),
    ];
  }

  function values(d) {
    // The spaces between the values let a long row wrap.
    return el('span', { class: 'values' }, d.values.map((v) => [
      el('span', {}, `${v.label} `, el('b', {}, value(v.value, v.unit)), v.rows > 1 ? ` ${t('values.rows', { n: v.rows })}` : ''), ' ']));
  }

  const deviceColumns = [
    ['col.device', (d) => el('a', { href: href(d.url), class: 'device' }, d.device)],
    ['col.kind', (d) => d.kind || '–'],
    ['col.state', (d) => el('span', { class: 'device-state', 'data-device': d.device, 'data-state': d.state }, badge('state', d.state))],
    ['col.age', (d) => ago(d.age_s ?? d.silent_s)],
    ['col.values', values],
  ];

  function buildings(p) {
    if (!p.buildings.length) return el('p', { class: 'empty' }, t('school.nodevices'));
    return p.buildings.map((b) => [
      el('h3', { class: 'building' }, b.building ? t('building', { name: b.building }) : t('building.none')),
      b.rooms.map((r) => [
        r.room ? el('h4', {}, t('room', { name: r.room })) : null,
        table(deviceColumns, r.devices),
      ]),
    ]);
  }

  every((data) => {
    fill(gateway, data.gateway, (p) => (p.rows.length ? p.rows.map(gatewayFacts) : el('p', { class: 'empty' }, t('school.nogateway'))));
    fill(devices, data.devices, buildings);
    fill(alerts, data.alerts, (p) => (p.rows.length ? alertsTable(p.rows, { school: false }) : el('p', { class: 'empty' }, t('alerts.none'))));
    const grid = charts.querySelector('.body');
    data.charts.forEach((c) => {
      let box = grid.querySelector(`[data-box="${CSS.escape(c.title)}"]`);
      if (!box) {
        box = el('div', { class: 'chart-box', 'data-box': c.title }, el('h3', {}, t(c.title)), el('div', { class: 'holder' }));
        grid.append(box);
      }
      const holder = box.querySelector('.holder');
      if (c.ok) chart(holder, c.title, c);
      else holder.replaceChildren(Console.failure(c.error));
    });
  });
})();
