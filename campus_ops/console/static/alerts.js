// Alerts: everything vmalert holds, firing and pending, grouped by school, with each rule's
// expression and runbook.
'use strict';

(() => {
  const { t, el, href, section, fill, alertsTable, every, main } = Console;

  const alerts = section(main, 'alerts', t('alerts.heading'));

  every((data) => {
    fill(alerts, data.alerts, (p) => {
      if (!p.groups.length) return el('p', { class: 'empty' }, t('alerts.nothing'));
      return p.groups.map((g) => [
        el('h3', { class: 'group' }, g.school ? el('a', { href: href(`/school/${encodeURIComponent(g.school)}`) }, g.school) : t('alerts.noschool')),
        alertsTable(g.rows, { expression: true, school: false }),
      ]);
    });
  });
})();
