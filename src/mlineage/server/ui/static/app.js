'use strict';
// mlineage web UI: one script, no framework, no build step. Every view asks /api/v1 (the API the CLI's
// remote client uses); the server lays graphs out, this file only draws them on a canvas.
// Safety rule: user data (names, params, metric keys, messages) only ever becomes text: el() appends text
// nodes and canvas fillText draws strings; no markup is ever built from strings (and the CSP forbids inline
// script).
(function () {
  const KIND_COLOURS = {
    dataset: '#2b7bb9', model: '#8e44ad', code: '#16a085', environment: '#d35400', endpoint: '#2c3e50',
    config: '#7d6608', metrics: '#5d6d7e', file: '#5499c7', directory: '#5499c7', corpus: '#1f618d',
    adapter: '#a569bd', run: '#566573', group: '#aab7b8', other: '#7f8c8d',
  };
  const STATUS_COLOURS = { failed: '#c0392b', running: '#d4ac0d', aborted: '#873600' };
  const DIFF_COLOURS = { added: '#1e8449', removed: '#c0392b', changed: '#d68910', same: '#aab7b8' };
  const NODE_W = 150;
  const NODE_H = 30;

  // ---------------------------------------------------------------- DOM helpers (text only)

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child)); // a string becomes a text node
    }
    return node;
  }

  function link(path, text) {
    if (!path.startsWith('/')) throw new Error('links stay on this server');
    return el('a', { href: path }, text);
  }

  const enc = encodeURIComponent;
  const fmt = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : String(n));
  const short = (s, n) => (s.length > n ? s.slice(0, n - 1) + '…' : s);
  const json = (v) => (typeof v === 'string' ? v : JSON.stringify(v));

  function nodePage(node) {
    if (node.type === 'run') return '/runs/' + enc(node.id || node.key.slice(4));
    return '/artifacts/' + enc(node.digest || node.key);
  }

  function kv(pairs) {
    const dl = el('dl', { class: 'kv' });
    for (const [k, v] of pairs) {
      if (v === null || v === undefined || v === '') continue;
      dl.append(el('dt', null, k), el('dd', null, v instanceof Node ? v : json(v)));
    }
    return dl;
  }

  function table(headers, rows) {
    return el('table', null, el('thead', null, el('tr', null, headers.map((h) => el('th', null, h)))),
      el('tbody', null, rows.map((r) => el('tr', null, r.map((c) => el('td', null, c))))));
  }

  // ---------------------------------------------------------------- the API

  async function api(path, params) {
    const url = new URL('/api/v1/' + path, location.origin);
    for (const [k, v] of Object.entries(params || {})) {
      if (v === null || v === undefined || v === '') continue;
      if (Array.isArray(v)) v.forEach((x) => url.searchParams.append(k, x));
      else url.searchParams.set(k, v);
    }
    const response = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (response.status === 401) {
      location.assign('/login?next=' + enc(location.pathname + location.search));
      throw new Error('not logged in');
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error((body.error && body.error.message) || response.statusText);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  function failure(main, error) {
    main.append(el('p', { class: error.status === 404 || error.status === 403 ? 'refused' : 'error' },
      error.status === 404 ? 'Not found, or not visible to this token: ' + error.message : String(error.message)));
  }

  // ---------------------------------------------------------------- the graph canvas

  class GraphCanvas {
    constructor(canvas, handlers) {
      this.canvas = canvas;
      this.ctx = canvas.getContext('2d');
      this.handlers = handlers;
      this.nodes = [];
      this.edges = [];
      this.byKey = new Map();
      this.scale = 1; this.tx = 0; this.ty = 0;
      this.selected = null;
      this.mode = 'lineage';
      this.frame = 0;
      let drag = null;
      canvas.addEventListener('pointerdown', (e) => {
        drag = { x: e.clientX, y: e.clientY, tx: this.tx, ty: this.ty, moved: false };
        canvas.setPointerCapture(e.pointerId);
      });
      canvas.addEventListener('pointermove', (e) => {
        if (!drag) return;
        const dx = e.clientX - drag.x; const dy = e.clientY - drag.y;
        if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
        this.tx = drag.tx + dx; this.ty = drag.ty + dy;
        this.request();
      });
      canvas.addEventListener('pointerup', (e) => {
        performance.mark('mlineage-click');
        const wasDrag = drag && drag.moved;
        drag = null;
        if (wasDrag) return;
        const node = this.hit(e.clientX, e.clientY);
        this.selected = node ? node.key : null;
        this.request();
        if (node && node.type === 'group') this.handlers.expand(node.side + ':' + node.owner);
        else this.handlers.select(node);
      });
      canvas.addEventListener('wheel', (e) => {
        e.preventDefault();
        const rect = canvas.getBoundingClientRect();
        const px = e.clientX - rect.left; const py = e.clientY - rect.top;
        const factor = Math.exp(-e.deltaY * 0.0015);
        const next = Math.min(4, Math.max(0.01, this.scale * factor));
        this.tx = px - (px - this.tx) * (next / this.scale);
        this.ty = py - (py - this.ty) * (next / this.scale);
        this.scale = next;
        this.request();
      }, { passive: false });
      new ResizeObserver(() => this.request()).observe(canvas);
    }

    setView(view, keepCamera) {
      this.nodes = view.nodes;
      this.byKey = new Map(view.nodes.map((n) => [n.key, n]));
      this.edges = view.edges.filter((e) => this.byKey.has(e.source) && this.byKey.has(e.target));
      if (!keepCamera || !this.placed) this.fit(view.root);
      else this.recentre();
      this.placed = true;
      this.draw();
    }

    fit(rootKey) {
      const rect = this.canvas.getBoundingClientRect();
      if (!this.nodes.length) return;
      const [x0, x1, y0, y1] = this.bounds();
      const w = x1 - x0; const h = y1 - y0;
      // readable first: never zoom out so far that labels vanish; a view taller than that is centred on the
      // start node, and the rest is a drag or a scroll away
      this.scale = Math.max(Math.min(rect.width / w, rect.height / h, 1.2), 0.25);
      const root = this.byKey.get(rootKey);
      const cy = root && h * this.scale > rect.height ? root.y : (y0 + y1) / 2;
      this.tx = rect.width / 2 - ((x0 + x1) / 2) * this.scale;
      this.ty = rect.height / 2 - cy * this.scale;
    }

    bounds() {
      let x0 = Infinity; let x1 = -Infinity; let y0 = Infinity; let y1 = -Infinity;
      for (const n of this.nodes) {
        x0 = Math.min(x0, n.x); x1 = Math.max(x1, n.x); y0 = Math.min(y0, n.y); y1 = Math.max(y1, n.y);
      }
      return [x0 - NODE_W, x1 + NODE_W, y0 - NODE_H * 2, y1 + NODE_H * 2];
    }

    recentre() {
      // after an expansion: bring the whole view on screen if that needs no zooming in and keeps labels
      // readable; otherwise leave the camera where the user put it
      const rect = this.canvas.getBoundingClientRect();
      if (!this.nodes.length) return;
      const [x0, x1, y0, y1] = this.bounds();
      const scale = Math.min(this.scale, rect.width / (x1 - x0), rect.height / (y1 - y0));
      if (scale >= 0.25) {
        this.scale = scale;
        this.tx = rect.width / 2 - ((x0 + x1) / 2) * this.scale;
        this.ty = rect.height / 2 - ((y0 + y1) / 2) * this.scale;
      }
    }

    screenOf(key) {
      const n = this.byKey.get(key);
      if (!n) return null;
      const rect = this.canvas.getBoundingClientRect();
      return [rect.left + n.x * this.scale + this.tx, rect.top + n.y * this.scale + this.ty];
    }

    hit(clientX, clientY) {
      const rect = this.canvas.getBoundingClientRect();
      const x = (clientX - rect.left - this.tx) / this.scale;
      const y = (clientY - rect.top - this.ty) / this.scale;
      for (const n of this.nodes) {
        if (Math.abs(n.x - x) <= NODE_W / 2 && Math.abs(n.y - y) <= NODE_H / 2) return n;
      }
      return null;
    }

    request() {
      if (this.pending) return;
      this.pending = true;
      requestAnimationFrame(() => { this.pending = false; this.draw(); });
    }

    draw() {
      const canvas = this.canvas;
      const dpr = window.devicePixelRatio || 1;
      const rect = canvas.getBoundingClientRect();
      if (canvas.width !== Math.round(rect.width * dpr) || canvas.height !== Math.round(rect.height * dpr)) {
        canvas.width = Math.round(rect.width * dpr); canvas.height = Math.round(rect.height * dpr);
      }
      const ctx = this.ctx;
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, rect.width, rect.height);
      ctx.setTransform(dpr * this.scale, 0, 0, dpr * this.scale, dpr * this.tx, dpr * this.ty);
      // the world rectangle on screen, with a margin: only what is visible is drawn
      const vx0 = -this.tx / this.scale - NODE_W; const vx1 = (rect.width - this.tx) / this.scale + NODE_W;
      const vy0 = -this.ty / this.scale - NODE_H; const vy1 = (rect.height - this.ty) / this.scale + NODE_H;
      const visible = (n) => n.x >= vx0 && n.x <= vx1 && n.y >= vy0 && n.y <= vy1;
      ctx.lineWidth = 1 / Math.max(this.scale, 0.5);
      ctx.strokeStyle = '#b3bcc5';
      ctx.beginPath();
      for (const e of this.edges) {
        const s = this.byKey.get(e.source); const t = this.byKey.get(e.target);
        if (!visible(s) && !visible(t)) continue;
        const sx = s.x + NODE_W / 2; const tx = t.x - NODE_W / 2;
        const mid = (sx + tx) / 2;
        ctx.moveTo(sx, s.y);
        ctx.bezierCurveTo(mid, s.y, mid, t.y, tx, t.y);
      }
      ctx.stroke();
      const labels = this.scale > 0.3;
      ctx.font = '12px system-ui, sans-serif';
      ctx.textBaseline = 'middle';
      for (const n of this.nodes) {
        if (!visible(n)) continue;
        this.shape(ctx, n);
        if (labels) {
          ctx.fillStyle = n.type === 'group' || (this.mode === 'diff' && n.status === 'same') ? '#1d232a' : '#fff';
          ctx.textAlign = 'center';
          ctx.fillText(short(n.label || n.key, 22), n.x, n.y);
          ctx.fillStyle = '#34495e';
          if (n.hidden_up > 0) { ctx.textAlign = 'right'; ctx.fillText('+' + fmt(n.hidden_up), n.x - NODE_W / 2 - 4, n.y); }
          if (n.hidden_down > 0) { ctx.textAlign = 'left'; ctx.fillText('+' + fmt(n.hidden_down), n.x + NODE_W / 2 + 4, n.y); }
        }
      }
      this.frame += 1;
    }

    shape(ctx, n) {
      const w = NODE_W; const h = NODE_H; const x = n.x - w / 2; const y = n.y - h / 2;
      let fill = KIND_COLOURS[n.kind] || KIND_COLOURS.other;
      if (n.type === 'run') fill = STATUS_COLOURS[n.status] || KIND_COLOURS.run;
      if (this.mode === 'diff') fill = DIFF_COLOURS[n.status] || fill;
      ctx.fillStyle = fill;
      ctx.beginPath();
      if (n.type === 'group') {
        ctx.setLineDash([5, 3]);
        ctx.rect(x + 4, y - 4, w, h); ctx.rect(x, y, w, h);
      } else if (n.type === 'run') {
        const r = h / 2; // a pill: runs are steps, not things
        ctx.moveTo(x + r, y); ctx.lineTo(x + w - r, y); ctx.arc(x + w - r, n.y, r, -Math.PI / 2, Math.PI / 2);
        ctx.lineTo(x + r, y + h); ctx.arc(x + r, n.y, r, Math.PI / 2, -Math.PI / 2);
      } else if (n.kind === 'model') {
        const c = 12; // a hexagon
        ctx.moveTo(x + c, y); ctx.lineTo(x + w - c, y); ctx.lineTo(x + w, n.y); ctx.lineTo(x + w - c, y + h);
        ctx.lineTo(x + c, y + h); ctx.lineTo(x, n.y);
      } else if (n.kind === 'environment') {
        const s = 10; // a parallelogram
        ctx.moveTo(x + s, y); ctx.lineTo(x + w, y); ctx.lineTo(x + w - s, y + h); ctx.lineTo(x, y + h);
      } else if (n.kind === 'code') {
        const c = 10; // a folded-corner document
        ctx.moveTo(x, y); ctx.lineTo(x + w - c, y); ctx.lineTo(x + w, y + c); ctx.lineTo(x + w, y + h); ctx.lineTo(x, y + h);
      } else if (n.kind === 'endpoint') {
        const c = 10; // an octagon
        ctx.moveTo(x + c, y); ctx.lineTo(x + w - c, y); ctx.lineTo(x + w, y + c); ctx.lineTo(x + w, y + h - c);
        ctx.lineTo(x + w - c, y + h); ctx.lineTo(x + c, y + h); ctx.lineTo(x, y + h - c); ctx.lineTo(x, y + c);
      } else {
        ctx.rect(x, y, w, h);
      }
      ctx.closePath();
      ctx.fill();
      if (n.key === this.selected || n.layer === 0 || n.status === 'failed' || n.type === 'group') {
        ctx.lineWidth = n.key === this.selected ? 3 : 2;
        ctx.strokeStyle = n.key === this.selected ? '#f39c12' : n.status === 'failed' ? '#641e16' : '#1d232a';
        ctx.stroke();
      }
      ctx.setLineDash([]);
      ctx.lineWidth = 1 / Math.max(this.scale, 0.5);
    }
  }

  function legend(entries) {
    return el('div', { class: 'legend' }, entries.map(([name, colour]) => {
      const item = el('span', null, name);
      item.style.setProperty('--c', colour);
      return item;
    }));
  }

  function exposeForTests(graph, extra) {
    window.mlineageUI = Object.assign(window.mlineageUI || {}, {
      graph, screenOf: (key) => graph.screenOf(key), view: extra.view, ready: true, frames: () => graph.frame,
    });
  }

  // ---------------------------------------------------------------- pages

  async function homePage(main) {
    main.append(el('h1', null, 'mlineage'),
      el('p', { class: 'muted' }, 'Search for a dataset, model or run above, or open a recent run.'));
    const who = await api('whoami').catch(() => null);
    if (who) main.append(el('p', { class: 'muted' }, `Token: ${who.token} · namespace ${who.namespace}`));
    const runs = await api('runs', { limit: 25 });
    main.append(el('h2', null, 'Recent runs'), table(['run', 'job', 'status', 'started', ''],
      runs.runs.map((r) => [link('/runs/' + enc(r.id), r.id.slice(0, 12)), r.job,
        el('span', { class: 'badge ' + r.status }, r.status), r.started_at || '',
        link('/lineage/' + enc('run:' + r.id), 'lineage')])));
  }

  async function lineagePage(main, ref) {
    const params = new URLSearchParams(location.search);
    const state = {
      depth: Number(params.get('depth') || 2),
      expand: params.getAll('expand'),
      as_of: params.get('as_of') || '',
      group_min: params.get('group_min') || '', // big fan-ins above this collapse into a group (server default)
      max_nodes: params.get('max_nodes') || '', // the view's size cap (server default)
    };
    const depth = el('select', { 'aria-label': 'depth' },
      [...new Set([1, 2, 3, 4, 6, 8, 12, state.depth])].sort((a, b) => a - b).map((d) => el('option', { value: d, selected: d === state.depth }, `${d} hop${d > 1 ? 's' : ''}`)));
    const date = el('input', { type: 'date', id: 'as-of', 'aria-label': 'as of', value: state.as_of.slice(0, 10) });
    const now = el('button', { type: 'button', id: 'as-of-now' }, 'Now');
    const notes = el('div', { class: 'notes', id: 'notes' });
    const hops = el('div', { class: 'muted', id: 'hops' });
    const title = el('h1', null, 'Lineage of ', el('span', { class: 'mono' }, ref));
    const panel = el('aside', { class: 'panel', id: 'panel' }, el('p', { class: 'muted' }, 'Click a node.'));
    const canvas = el('canvas', { id: 'graph', 'aria-label': 'lineage graph' });
    main.append(title,
      el('div', { class: 'toolbar' }, el('label', null, 'Depth ', depth), el('label', null, 'As of ', date), now,
        legend([['dataset', KIND_COLOURS.dataset], ['model', KIND_COLOURS.model], ['code', KIND_COLOURS.code],
          ['environment', KIND_COLOURS.environment], ['run', KIND_COLOURS.run], ['failed run', STATUS_COLOURS.failed],
          ['endpoint', KIND_COLOURS.endpoint], ['group', KIND_COLOURS.group]])),
      hops, notes, el('div', { class: 'explorer' }, canvas, panel));
    let current = null;
    const graph = new GraphCanvas(canvas, {
      select: (node) => showNode(node),
      expand: (item) => { if (!state.expand.includes(item)) state.expand.push(item); load(true); },
    });

    function syncUrl() {
      const q = new URLSearchParams();
      if (state.depth !== 2) q.set('depth', state.depth);
      if (state.as_of) q.set('as_of', state.as_of);
      if (state.group_min) q.set('group_min', state.group_min);
      if (state.max_nodes) q.set('max_nodes', state.max_nodes);
      state.expand.forEach((x) => q.append('expand', x));
      const text = q.toString();
      history.replaceState(null, '', location.pathname + (text ? '?' + text : ''));
    }

    function showNode(node) {
      panel.replaceChildren();
      if (!node) { panel.append(el('p', { class: 'muted' }, 'Click a node.')); return; }
      panel.append(el('h2', null, node.label || node.key),
        kv([['type', node.type === 'run' ? `run (${node.run_kind})` : node.kind],
          ['status', node.status ? el('span', { class: 'badge ' + node.status }, node.status) : null],
          ['key', el('span', { class: 'mono' }, node.key)],
          ['hidden upstream', node.hidden_up ? fmt(node.hidden_up) : null],
          ['hidden downstream', node.hidden_down ? fmt(node.hidden_down) : null]]),
        link(nodePage(node), node.type === 'run' ? 'Open run page' : 'Open artifact page'), el('br'),
        link('/lineage/' + enc(node.key), 'Lineage from here'));
      for (const side of ['up', 'down']) {
        const hidden = node['hidden_' + side];
        if (hidden > 0) {
          panel.append(el('button', {
            type: 'button', class: 'expand', 'data-side': side,
            onclick: () => { const item = side + ':' + node.key; if (!state.expand.includes(item)) state.expand.push(item); load(true); },
          }, `Expand ${side === 'up' ? 'upstream' : 'downstream'} (+${fmt(hidden)})`));
        }
      }
    }

    async function load(keepCamera) {
      syncUrl();
      performance.mark('mlineage-request');
      document.body.dataset.state = 'loading';
      let view;
      try {
        view = await api('explore/view', {
          ref, depth: state.depth, expand: state.expand, as_of: state.as_of, group_min: state.group_min, max_nodes: state.max_nodes,
        });
      } catch (error) {
        document.body.dataset.state = 'error';
        notes.replaceChildren(el('span', { class: error.status === 404 ? 'refused' : 'error' }, error.message));
        graph.setView({ nodes: [], edges: [] });
        return;
      }
      current = view;
      notes.replaceChildren(...view.truncated.map((t) => el('div', null, t)));
      graph.setView(view, keepCamera);
      performance.mark('mlineage-painted');
      performance.measure('mlineage-view', 'mlineage-request', 'mlineage-painted');
      // the frame after the drawn one: the canvas is on screen by then (what the benchmark reads)
      requestAnimationFrame(() => requestAnimationFrame(() => performance.mark('mlineage-frame')));
      exposeForTests(graph, { view });
      document.body.dataset.state = 'ready';
      document.body.dataset.nodes = String(view.nodes.length);
      if (graph.selected) showNode(graph.byKey.get(graph.selected) || null);
    }

    async function loadHops() {
      try {
        const h = await api('explore/hops', { ref, as_of: state.as_of });
        const line = (side) => (h[side].length ? h[side].slice(0, 12).map(fmt).join(' · ') + (h[side].length > 12 ? ' …' : '') : 'none');
        hops.replaceChildren(`Upstream by hop: ${line('up')} (${fmt(h.up_total)} in all) — downstream by hop: ${line('down')} (${fmt(h.down_total)} in all)`);
      } catch (error) { hops.replaceChildren(); }
    }

    depth.addEventListener('change', () => { state.depth = Number(depth.value); state.expand = []; load(false); });
    date.addEventListener('change', () => { state.as_of = date.value ? date.value + 'T23:59:59Z' : ''; load(false); loadHops(); });
    now.addEventListener('click', () => { date.value = ''; state.as_of = ''; load(false); loadHops(); });
    await load(false);
    loadHops();
    return current;
  }

  function chart(history) {
    const canvas = el('canvas', { class: 'chart', width: 220, height: 48 });
    const ctx = canvas.getContext('2d');
    const values = history.map((h) => h.value).filter((v) => Number.isFinite(v));
    if (values.length < 2) return canvas;
    const lo = Math.min(...values); const hi = Math.max(...values); const span = hi - lo || 1;
    ctx.strokeStyle = '#2b6cb0'; ctx.lineWidth = 1.5; ctx.beginPath();
    values.forEach((v, i) => {
      const x = 2 + (i / (values.length - 1)) * 216; const y = 46 - ((v - lo) / span) * 44;
      if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y);
    });
    ctx.stroke();
    return canvas;
  }

  async function runPage(main, id) {
    const run = await api('runs/' + enc(id));
    const io = await api('runs/' + enc(run.id) + '/io');
    const ctx = run.context || {};
    const git = ctx.git || {};
    main.append(el('h1', null, 'Run ', el('span', { class: 'mono' }, run.id.slice(0, 12)), ' ',
      el('span', { class: 'badge ' + run.status, id: 'run-status' }, run.status)),
    el('p', null, link('/lineage/' + enc('run:' + run.id), 'Lineage of this run')));
    const grid = el('div', { class: 'grid' });
    main.append(grid);
    grid.append(el('section', { class: 'card' }, el('h2', null, 'Run'), kv([['job', run.job], ['kind', run.kind],
      ['id', el('span', { class: 'mono' }, run.id)], ['started', run.started_at], ['ended', run.ended_at], ['agent', run.agent]])));
    if (run.error) {
      grid.append(el('section', { class: 'card', id: 'run-error' }, el('h2', { class: 'error' }, 'Error'),
        kv(Object.entries(run.error)), run.error.traceback ? el('pre', null, run.error.traceback) : null));
    }
    grid.append(el('section', { class: 'card', id: 'params' }, el('h2', null, 'Parameters'),
      table(['name', 'value'], Object.entries(run.params || {}).map(([k, v]) => [el('span', { class: 'mono' }, k), json(v)]))));
    const metrics = el('section', { class: 'card', id: 'metrics' }, el('h2', null, 'Metrics'));
    const rows = Object.entries(run.metrics || {});
    const body = table(['metric', 'last', 'history'], []);
    metrics.append(body);
    grid.append(metrics);
    for (const [key, value] of rows.slice(0, 24)) {
      const cell = el('td');
      body.tBodies[0].append(el('tr', null, el('td', { class: 'mono' }, key), el('td', null, fmt(value)), cell));
      api('runs/' + enc(run.id) + '/metrics/' + enc(key)).then((h) => cell.append(chart(h.history))).catch(() => {});
    }
    const artefacts = (list) => table(['artifact', 'kind', 'role'], list.map((a) => [
      link('/artifacts/' + enc(a.digest), a.name ? `${a.name}@${a.version}` : a.digest.slice(0, 19)), a.kind, a.role || '']));
    grid.append(el('section', { class: 'card', id: 'inputs' }, el('h2', null, 'Inputs'), artefacts(io.inputs)),
      el('section', { class: 'card', id: 'outputs' }, el('h2', null, 'Outputs'), artefacts(io.outputs)));
    grid.append(el('section', { class: 'card', id: 'code' }, el('h2', null, 'Code'),
      kv([['commit', git.commit], ['branch', git.branch], ['dirty', git.dirty === undefined ? null : String(git.dirty)],
        ['remote', git.remote], ['entry point', ctx.entry_point || ctx.argv]])));
    const env = Object.entries(ctx).filter(([k]) => k !== 'git');
    grid.append(el('section', { class: 'card', id: 'environment' }, el('h2', null, 'Environment'),
      kv(env.map(([k, v]) => [k, k === 'packages' && v && typeof v === 'object' ? `${Object.keys(v).length} packages` : short(json(v), 400)]))));
  }

  async function artifactPage(main, ref) {
    const node = await api('resolve', { ref });
    if (node.type === 'run') { location.replace('/runs/' + enc(node.id)); return; }
    main.append(el('h1', null, node.name ? `${node.name}@${node.version}` : 'Artifact ', el('span', { class: 'mono' }, ' ' + node.digest.slice(0, 19))),
      el('p', null, link('/lineage/' + enc(node.digest), 'Lineage of this artifact')));
    const grid = el('div', { class: 'grid' });
    main.append(grid);
    grid.append(el('section', { class: 'card' }, el('h2', null, 'Artifact'), kv([['kind', node.kind], ['digest', el('span', { class: 'mono' }, node.digest)],
      ['size', node.size === null ? null : fmt(node.size) + ' bytes'], ['media type', node.media_type], ['pointer', node.uri],
      ['path', node.metadata && node.metadata.path], ['recorded', node.created_at]])));
    const [producers, consumers] = await Promise.all([api(`artifacts/${enc(node.digest)}/producers`), api(`artifacts/${enc(node.digest)}/consumers`)]);
    const runs = (list) => table(['run', 'job', 'status'], list.runs.map((r) => [link('/runs/' + enc(r.id), r.id.slice(0, 12)), r.job, el('span', { class: 'badge ' + r.status }, r.status)]));
    grid.append(el('section', { class: 'card', id: 'producers' }, el('h2', null, 'Produced by'), runs(producers)),
      el('section', { class: 'card', id: 'consumers' }, el('h2', null, 'Used by'), runs(consumers)));
    let versionsFound = [];
    if (node.name) {
      const versions = await api(`names/${enc(node.name)}/versions`);
      versionsFound = versions.versions;
      grid.append(el('section', { class: 'card', id: 'versions' }, el('h2', null, 'Versions'),
        table(['version', 'digest', 'recorded', 'by'], versions.versions.map((v) => [
          String(v.artifact.version), link('/artifacts/' + enc(v.artifact.digest), v.artifact.digest.slice(0, 19)), v.recorded_at, v.actor || '']))));
    }
    if (node.kind === 'dataset') {
      const profile = await api(`datasets/profiles/${enc(node.digest)}`).catch(() => null);
      grid.append(el('section', { class: 'card', id: 'profile' }, el('h2', null, 'Profile'), profile
        ? kv([['rows', fmt(profile.rows)], ['columns', fmt(profile.columns)], ['profile blob', el('span', { class: 'mono' }, profile.profile)]])
        : el('p', { class: 'muted' }, 'No profile recorded (`mlineage profile REF` records one).')));
      const earlier = versionsFound.filter((v) => v.artifact.version < node.version);
      if (earlier.length) await datasetDiffCard(grid, earlier[earlier.length - 1].artifact, node);
    }
  }

  // The diff of a dataset version with the version before it: the semver level it calls for and why, rows and
  // schema changes (counts and column names only: no row samples are asked for).
  async function datasetDiffCard(grid, before, node) {
    const card = el('section', { class: 'card', id: 'dataset-diff' }, el('h2', null, `Diff with ${before.name}@${before.version}`));
    grid.append(card);
    let d;
    try {
      d = await api('datasets/diff', { a: before.digest, b: node.digest, samples: 0 });
    } catch (error) {
      card.append(el('p', { class: 'error' }, 'No diff: ' + error.message));
      return;
    }
    const pairs = [['level', el('span', { class: 'badge level-' + d.verdict.level }, d.verdict.level)], ['kind', d.kind]];
    if (d.table) {
      const r = d.table.rows;
      const sc = d.table.schema;
      pairs.push(['rows', `${fmt(r.rows_a)} → ${fmt(r.rows_b)}`], ['added rows', fmt(r.added)], ['removed rows', fmt(r.removed)]);
      if (r.mode === 'key') pairs.push(['changed rows', fmt(r.changed)]);
      pairs.push(['columns added', sc.added.map((c) => c.name).join(', ')], ['columns removed', sc.removed.map((c) => c.name).join(', ')],
        ['columns renamed', sc.renamed.map((x) => `${x.old} → ${x.new}`).join(', ')],
        ['types changed', sc.types.map((t) => `${t.column}: ${t.old} → ${t.new}`).join(', ')]);
    } else if (d.folder) {
      pairs.push(['files added', fmt(d.folder.added.length)], ['files removed', fmt(d.folder.removed.length)], ['files modified', fmt(d.folder.modified.length)]);
    } else {
      pairs.push(['same bytes', d.same_bytes ? 'yes' : 'no']);
    }
    card.append(kv(pairs), el('ul', { class: 'reasons' }, d.verdict.reasons.map((reason) => el('li', null, reason))));
  }

  async function modelPage(main, name) {
    main.append(el('h1', null, 'Model ', el('span', { class: 'mono' }, name)));
    const [versions, aliases, moves] = await Promise.all([
      api(`registry/${enc(name)}/versions`), api(`registry/${enc(name)}/aliases`), api(`registry/${enc(name)}/moves`)]);
    if (!versions.versions.length) {
      main.append(el('p', { class: 'refused', id: 'refused' }, `No registered model named ${name} is visible to this token.`));
      return;
    }
    const list = versions.versions;
    main.append(el('h2', null, 'Versions'), table(['version', 'semver', 'digest', 'registered', 'by', ''], list.map((v, i) => [
      String(v.version), v.semver || '', link('/artifacts/' + enc(v.digest), v.digest.slice(0, 19)), v.ts || '', v.actor || '',
      i ? link(`/diff/${enc(list[i - 1].digest)}/${enc(v.digest)}`, `diff with v${list[i - 1].version}`) : link('/lineage/' + enc(v.digest), 'lineage')])));
    main.append(el('h2', null, 'Aliases'), table(['alias', 'version'], aliases.aliases.map((a) => [a.alias, String(a.version)])));
    main.append(el('h2', null, 'Alias history and gates'), table(['when', 'alias', 'from', 'to', 'by', 'reason', 'gates'], moves.moves.map((m) => [
      m.ts, m.alias, m.from === null || m.from === undefined ? '' : String(m.from), m.to === null ? 'removed' : String(m.to), m.actor || '', m.reason || '',
      el('span', null, (m.gates || []).map((g) => el('span', { class: 'badge ' + (g.verdict === 'pass' ? 'ok' : 'bad') }, `${g.gate}: ${g.verdict}`)),
        m.override ? el('span', { class: 'badge bad' }, 'override') : null)])));
    // every gate verdict recorded on each version (`mlineage check` records them), newest version first
    const evaluated = await Promise.all(list.map((v) => api('gates/evaluations', { ref: v.digest })
      .then((found) => found.evaluations.map((e) => [v, e]))));
    const rows = evaluated.reverse().flat();
    main.append(el('section', { id: 'evaluations' }, el('h2', null, 'Gate evaluations'), rows.length
      ? table(['version', 'when', 'gate', 'check', 'verdict', 'action', 'by', 'policy'], rows.map(([v, e]) => [
        String(v.version), e.at || '', e.gate, e.label, el('span', { class: 'badge ' + ({ pass: 'ok', warn: 'warn' }[e.verdict] || 'bad') }, e.verdict),
        e.action || '', e.actor || '', el('span', { class: 'mono' }, (e.policy_digest || '').slice(0, 19))]))
      : el('p', { class: 'muted' }, 'No gate evaluations recorded (`mlineage check` records them).')));
  }

  async function diffPage(main, a, b) {
    main.append(el('h1', null, 'Lineage diff'));
    const view = await api('explore/diff', { a, b });
    main.append(el('p', null, 'A ', link('/artifacts/' + enc(view.a), view.a.slice(0, 19)), ' → B ', link('/artifacts/' + enc(view.b), view.b.slice(0, 19)),
      ` · ${view.differences.length} difference(s), ${view.same} unchanged`),
    legend([['added in B', DIFF_COLOURS.added], ['removed from A', DIFF_COLOURS.removed], ['changed', DIFF_COLOURS.changed], ['same', DIFF_COLOURS.same]]),
    el('div', { class: 'notes' }, view.truncated.map((t) => el('div', null, t))));
    const canvas = el('canvas', { id: 'graph', 'aria-label': 'lineage diff graph' });
    const panel = el('aside', { class: 'panel', id: 'panel' }, el('p', { class: 'muted' }, 'Click a node.'));
    main.append(el('div', { class: 'explorer' }, canvas, panel));
    const graph = new GraphCanvas(canvas, {
      select: (node) => {
        panel.replaceChildren();
        if (!node) return;
        panel.append(el('h2', null, node.label), kv([['change', el('span', { class: 'badge ' + node.status }, node.status)],
          ['was', node.was], ['type', node.type === 'run' ? 'run' : node.kind]]), link(nodePage(node), 'Open page'));
      },
      expand: () => {},
    });
    graph.mode = 'diff';
    graph.setView({ root: view.b, nodes: view.nodes, edges: view.edges });
    main.append(el('h2', null, 'Differences'), table(['aspect', 'what', 'A', 'B', 'change'], view.differences.map((d) => [
      d.aspect, el('span', { class: 'mono' }, d.key), d.a === null ? '—' : d.a, d.b === null ? '—' : d.b,
      el('span', { class: 'badge ' + (d.change === 'changed' ? 'changed' : d.change === 'only in B' ? 'added' : 'removed') }, d.change)])));
    exposeForTests(graph, { view });
    document.body.dataset.state = 'ready';
  }

  async function auditPage(main) {
    main.append(el('h1', null, 'Audit'));
    const report = await api('verify');
    main.append(el('section', { class: 'card', id: 'verify' }, el('h2', null, 'Ledger verification'),
      el('p', null, el('span', { class: 'badge ' + (report.ok ? 'ok' : 'bad') }, report.ok ? 'chain intact' : 'chain broken')),
      kv([['events', fmt(report.count)], ['head seq', report.head_seq], ['head hash', el('span', { class: 'mono' }, report.head_hash || '')],
        ['first bad event', report.first_bad_seq === null ? null : `seq ${report.first_bad_seq} (${report.first_bad_id || ''})`],
        ['problem', report.problem], ['erased payloads', fmt(report.redacted || 0)],
        ['signed checkpoint', report.checkpoint ? `seq ${report.checkpoint.seq}` : null]])));
    const head = await api('head');
    let events;
    try {
      events = await api('events', { after_seq: Math.max(0, head.seq - 50), limit: 50 });
    } catch (error) {
      main.append(el('p', { class: 'refused', id: 'events-refused' }, 'Recent events: ' + error.message));
      return;
    }
    const rows = events.events.slice().reverse();
    const erased = rows.filter((e) => e.type === 'PayloadErased');
    main.append(el('h2', null, 'Redactions'), el('p', { id: 'redactions' }, erased.length
      ? `${erased.length} payload erasure(s) among the last ${rows.length} events` : `No payload erasures among the last ${rows.length} events.`));
    main.append(el('h2', null, 'Recent events'), table(['seq', 'type', 'actor', 'time', 'hash', 'previous'], rows.map((e) => [
      String(e.seq), e.type, e.actor || '', e.ts, el('span', { class: 'mono' }, e.hash.slice(0, 16)), el('span', { class: 'mono' }, (e.prev_hash || '').slice(0, 16))])));
  }

  // ---------------------------------------------------------------- search box

  function setUpSearch() {
    const box = document.getElementById('search-box');
    const list = document.getElementById('search-hits');
    if (!box) return;
    let seq = 0;
    box.addEventListener('input', async () => {
      const mine = ++seq;
      const q = box.value.trim();
      if (!q) { list.hidden = true; return; }
      const found = await api('explore/search', { q, limit: 10 }).catch(() => ({ hits: [] }));
      if (mine !== seq) return; // a later keystroke won
      list.replaceChildren(...found.hits.map((h) => el('li', null, el('a', { href: '/lineage/' + enc(h.ref) }, h.label, el('span', { class: 'kind' }, h.kind)))));
      list.hidden = !found.hits.length;
    });
    box.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        const first = list.querySelector('a');
        location.assign(first ? first.getAttribute('href') : '/lineage/' + enc(box.value.trim()));
      }
    });
    document.addEventListener('click', (e) => { if (!list.contains(e.target) && e.target !== box) list.hidden = true; });
  }

  // ---------------------------------------------------------------- routing

  const ROUTES = [
    [/^\/$/, (m) => homePage(m)],
    [/^\/lineage\/(.+)$/, (m, r) => lineagePage(m, r)],
    [/^\/runs\/([^/]+)$/, (m, id) => runPage(m, id)],
    [/^\/artifacts\/(.+)$/, (m, r) => artifactPage(m, r)],
    [/^\/models\/(.+)$/, (m, n) => modelPage(m, n)],
    [/^\/diff\/([^/]+)\/([^/]+)$/, (m, a, b) => diffPage(m, a, b)],
    [/^\/diff$/, (m) => { const q = new URLSearchParams(location.search); return diffPage(m, q.get('a') || '', q.get('b') || ''); }],
    [/^\/audit$/, (m) => auditPage(m)],
  ];

  async function route() {
    const main = document.getElementById('main');
    main.replaceChildren();
    setUpSearch();
    for (const [pattern, page] of ROUTES) {
      const found = pattern.exec(location.pathname);
      if (!found) continue;
      try {
        await page(main, ...found.slice(1).map(decodeURIComponent));
        if (document.body.dataset.state !== 'ready' && document.body.dataset.state !== 'error') document.body.dataset.state = 'ready';
      } catch (error) {
        failure(main, error);
        document.body.dataset.state = 'error';
      }
      return;
    }
    main.append(el('p', { class: 'error' }, 'No such page.'));
  }

  document.addEventListener('DOMContentLoaded', route);
}());
