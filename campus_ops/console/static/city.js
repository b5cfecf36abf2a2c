// The city: every school worst first (as campus-ops fleet judges them), the alerts firing
// now, and the headline charts of the last day.
'use strict';

(() => {
  const { t, el, href, value, ago, during, badge, section, fill, table, alertsTable, chart, every, main } = Console;

  const schools = section(main, 'schools', t('city.schools'));
  const alerts = section(main, 'alerts', t('city.alerts'));
  const charts = section(main, 'charts', t('city.charts'));
  charts.querySelector('.body').classList.add('charts');

  function schoolCell(s) {
    const code = el('a', { href: href(s.url), class: 'school' }, s.school + (s.campus ? `/${s.campus}` : ''));
    return s.name ? [el('div', {}, s.name), code] : code;
  }

  function waiting(s) {
    if (s.points_waiting === null) return '–';
    return s.oldest_waiting_s ? `${value(s.points_waiting)} (${during(s.oldest_waiting_s)})` : value(s.points_waiting);
  }

  const columns = [
    ['col.school', schoolCell],
    ['col.state', (s) => badge('state', s.state)],
    ['col.last_seen', (s) => (s.state === 'missing' ? '–' : ago(s.age_s))],
    ['col.version', (s) => s.version ?? '–'],
    ['col.config', (s) => s.config_version ?? '–'],
    ['col.devices', (s) => (s.devices_up === null ? '–' : `${s.devices_up} / ${s.devices_down ?? 0}`), 'num'],
    ['col.waiting', waiting, 'num'],
    ['col.dropped', (s) => value(s.dropped), 'num'],
    ['col.dead', (s) => value(s.dead_lettered), 'num'],
    ['col.sink_errors', (s) => value(s.sink_errors), 'num'],
    ['col.problems', (s) => el('span', { class: 'problems' }, s.problems.join('; '))],
  ];

  every((data) => {
    fill(schools, data.schools, (p) => (p.rows.length ? table(columns, p.rows) : el('p', { class: 'empty' }, t('city.noschools'))));
    fill(alerts, data.alerts, (p) => (p.rows.length ? alertsTable(p.rows) : el('p', { class: 'empty' }, t('alerts.none'))));
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
