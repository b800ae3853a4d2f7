// CardKeep card manager: keeps the card list current from the server's event stream (no reload), and moves focus to
// a confirmation step when one is shown. Plain DOM: text goes in with textContent, never as HTML.
(function () {
  'use strict';

  function cell(row, content) {
    var td = document.createElement('td');
    if (content) { td.appendChild(content); }
    row.appendChild(td);
    return td;
  }

  function text(value) { return document.createTextNode(value == null ? '' : value); }

  function buildRow(card) {
    var row = document.createElement('tr');
    row.dataset.address = card.address;
    fillRow(row, card);
    return row;
  }

  function fillRow(row, card) {
    row.dataset.state = card.state;
    row.dataset.key = JSON.stringify(card);
    row.textContent = '';
    var label;
    if (card.href) {
      label = document.createElement('a');
      label.href = card.href;
    } else {
      label = document.createElement('span');
    }
    label.textContent = card.label;
    cell(row, label);
    cell(row, text(card.kind));
    cell(row, text(card.serial));
    var state = cell(row, null);
    var badge = document.createElement('span');
    badge.className = 'state state-' + card.state;
    badge.textContent = card.state;
    state.appendChild(badge);
    if (card.state === 'damaged') {
      var detail = document.createElement('span');
      detail.className = 'detail';
      detail.textContent = ': ' + (card.detail || '');
      state.appendChild(detail);
    }
    var code = document.createElement('code');
    code.textContent = card.address;
    cell(row, code);
  }

  function update(table, cards, announce) {
    var body = table.tBodies[0];
    var existing = {};
    Array.prototype.forEach.call(body.rows, function (row) { existing[row.dataset.address] = row; });
    var wanted = {};
    var said = [];
    cards.forEach(function (card, index) {
      wanted[card.address] = true;
      var row = existing[card.address];
      if (!row) {
        row = buildRow(card);
        said.push(card.label + ' added');
      } else if (row.dataset.key !== JSON.stringify(card)) {
        if (row.dataset.state !== card.state) { said.push(card.label + ' is ' + card.state); }
        if (!row.contains(document.activeElement)) { fillRow(row, card); }
      }
      if (body.rows[index] !== row) { body.insertBefore(row, body.rows[index] || null); }
    });
    Object.keys(existing).forEach(function (address) {
      if (!wanted[address]) {
        var label = existing[address].cells[0] ? existing[address].cells[0].textContent : address;
        existing[address].remove();
        said.push(label + ' removed');
      }
    });
    var empty = document.getElementById('cards-empty');
    if (empty) { empty.hidden = cards.length > 0; }
    if (said.length > 0 && announce) { announce.textContent = said.join('; ') + '.'; }
  }

  function live(table) {
    if (!window.EventSource) { return; }
    var announce = document.getElementById('live');
    var problem = document.getElementById('pcsc-problem');
    var source = new EventSource(table.dataset.live);
    source.addEventListener('cards', function (event) {
      var data = JSON.parse(event.data);
      update(table, data.cards, announce);
      if (problem) {
        problem.hidden = !data.problem;
        problem.textContent = data.problem || '';
      }
      table.dataset.updated = String(Date.now());
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    var table = document.querySelector('table[data-live]');
    if (table) { live(table); }
    var focus = document.querySelector('[data-autofocus]');
    if (focus) { focus.focus(); }
  });
})();
