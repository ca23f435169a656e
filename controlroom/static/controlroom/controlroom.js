/* The control-room page: a live alert list and map for one district.

   Reads and actions go through the existing API with the web session and the CSRF token
   (from the page's <meta name="csrf-token">). Live updates come from ws/alerts/ with a
   single-use ticket; a reconnect resumes after the last sequence seen. Requests the page makes
   on its own (counters, the socket's ticket, map outlines) carry X-Nigrani-Background so they
   do not count as activity: only the officer's own interactions keep the session alive. */
(function () {
  "use strict";

  var I = window.NigraniI18n;
  var t = I.t;
  var API = "/api/v1/";
  var CR = "/control-room/";
  var SEVERITY_COLOURS = { 4: "#ff3b30", 3: "#ff9500", 2: "#ffd60a", 1: "#64d2ff" };
  var KEEPALIVE_EVERY_MS = 30 * 1000;
  var COUNTERS_EVERY_MS = 30 * 1000;
  var MAX_PAGES = 4;

  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var cfg = null;
  var alerts = new Map(); // id -> alert
  var markers = new Map(); // id -> Leaflet layer
  var filter = "open";
  var selected = null;
  var map = null;
  var lastSeq = null;
  var socket = null;
  var socketReady = false;
  var reconnectDelay = 1000;
  var reconnectTimer = null;
  var loading = false;
  var buffered = [];
  var ackTimer = null;
  var countersTimer = null;
  var lastActivity = Date.now();
  var signedOut = false;
  var openForm = null; // {id, action}
  var assignees = new Map(); // alert id -> officers it may be assigned to (null while loading)
  var officerNames = new Map(); // officer id -> label, from the assign picker's lists
  // The district watched: a national watcher picks it (?district=), a control room has its own.
  var wanted = new URLSearchParams(window.location.search).get("district");
  // Bumped when the watched district changes in place: an answer or a socket ticket asked for
  // the previous district, arriving late, is dropped instead of mixed into the new one.
  var generation = 0;
  var outlines = []; // the map's district and station outline layers
  // While the server says the live feed is interrupted ("degraded"): {seconds, lost}; else null.
  var degraded = null;

  function $(id) { return document.getElementById(id); }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  // --- HTTP --------------------------------------------------------------------------------
  function request(method, url, body, background) {
    var headers = { Accept: "application/json" };
    if (method !== "GET") {
      headers["X-CSRFToken"] = csrf;
      headers["Content-Type"] = "application/json";
    }
    if (background) {
      headers["X-Nigrani-Background"] = "1";
    } else {
      lastActivity = Date.now();
      hideIdleWarning();
    }
    return fetch(url, {
      method: method,
      headers: headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      if (response.status === 401 || response.status === 403) {
        return checkSession().then(function () { return failure(response); });
      }
      if (!response.ok) { return failure(response); }
      return response.json();
    });
  }

  function failure(response) {
    return response.json().catch(function () { return {}; }).then(function (data) {
      var error = new Error((data && data.message) || response.statusText || String(response.status));
      error.status = response.status;
      throw error;
    });
  }

  // --- Session: idle warning, keep-alive, plain sign-out -----------------------------------
  function checkSession() {
    if (signedOut) { return Promise.resolve(); }
    return fetch(CR + "session/", {
      headers: { Accept: "application/json", "X-Nigrani-Background": "1" },
      credentials: "same-origin"
    }).then(function (r) { return r.json(); }).then(function (state) {
      if (!state.signed_in) {
        showSignedOut(idleLeftSeconds() <= 0);
      } else {
        lastActivity = Date.now() - (cfg.idle_seconds - state.idle_seconds_left) * 1000;
      }
    }).catch(function () { /* network down: the socket's reconnect will retry */ });
  }

  function idleLeftSeconds() {
    if (!cfg) { return Infinity; }
    return cfg.idle_seconds - Math.floor((Date.now() - lastActivity) / 1000);
  }

  function onInteraction() {
    if (signedOut || !cfg) { return; }
    var warned = !$("cr-idle").classList.contains("cr-hidden");
    if (warned || Date.now() - lastActivity > KEEPALIVE_EVERY_MS) {
      request("POST", CR + "keepalive/", {}, false).catch(function () { /* checkSession ran */ });
    }
  }

  function hideIdleWarning() { $("cr-idle").classList.add("cr-hidden"); }

  function tickIdle() {
    if (signedOut || !cfg) { return; }
    var left = idleLeftSeconds();
    if (left <= 0) {
      checkSession();
    } else if (left <= cfg.warn_seconds) {
      $("cr-idle-text").textContent = t("idle_warning", { t: clock(left) });
      $("cr-idle").classList.remove("cr-hidden");
    } else {
      hideIdleWarning();
    }
  }

  function showSignedOut(idle) {
    signedOut = true;
    if (socket) { socket.onclose = null; socket.close(); }
    clearTimeout(reconnectTimer);
    hideIdleWarning();
    alerts.clear();
    renderList();
    markers.forEach(function (layer) { layer.remove(); });
    markers.clear();
    setLink("down", "reconnecting");
    $("cr-signedout-text").textContent = idle
      ? t("signed_out_idle", { m: cfg ? Math.round(cfg.idle_seconds / 60) : 30 })
      : t("signed_out_other");
    $("cr-signedout").classList.remove("cr-hidden");
    document.body.classList.add("cr-is-signed-out");
  }

  // --- Time formatting ---------------------------------------------------------------------
  function clock(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var h = Math.floor(seconds / 3600);
    var m = Math.floor((seconds % 3600) / 60);
    var s = seconds % 60;
    var mm = (h ? String(m).padStart(2, "0") : String(m));
    return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
  }

  function age(seconds) {
    if (seconds < 60) { return Math.max(0, Math.floor(seconds)) + "s"; }
    if (seconds < 3600) { return Math.floor(seconds / 60) + "m"; }
    if (seconds < 86400) { return Math.floor(seconds / 3600) + "h " + Math.floor((seconds % 3600) / 60) + "m"; }
    return Math.floor(seconds / 86400) + "d";
  }

  // --- Alerts: normalise API rows and socket payloads into one shape ------------------------
  function fromApi(row) {
    return {
      id: row.id, kind: row.kind, severity: row.severity, status: row.status,
      offender: row.offender, summary: row.summary, lon: row.lon, lat: row.lat,
      detected_at: row.detected_at, ack_due_at: row.ack_due_at, resolve_due_at: row.resolve_due_at,
      acknowledged_at: row.acknowledged_at,
      escalation_level: row.escalation_level, escalation_repeats: row.escalation_repeats,
      escalation_exhausted: !!row.escalation_exhausted_at, repeat_count: row.repeat_count,
      assignee_id: null, assignee_name: row.assigned_to, episode: row.episode
    };
  }

  function fromEvent(payload) {
    var known = alerts.get(payload.id);
    var name = null;
    if (payload.assigned_to !== null && payload.assigned_to !== undefined) {
      if (cfg && payload.assigned_to === cfg.officer.id) { name = cfg.officer.username; }
      else if (known && known.assignee_name && (known.assignee_id === null || known.assignee_id === payload.assigned_to)) { name = known.assignee_name; }
      else if (officerNames.has(payload.assigned_to)) { name = officerNames.get(payload.assigned_to); }
    }
    return {
      id: payload.id, kind: payload.kind, severity: payload.severity, status: payload.status,
      offender: payload.offender, summary: payload.summary, lon: payload.lon, lat: payload.lat,
      detected_at: payload.detected_at, ack_due_at: payload.ack_due_at,
      resolve_due_at: payload.resolve_due_at,
      acknowledged_at: payload.status === "acknowledged" ? (known && known.acknowledged_at) || new Date().toISOString() : null,
      escalation_level: payload.escalation_level, escalation_repeats: payload.escalation_repeats,
      escalation_exhausted: payload.escalation_exhausted, repeat_count: payload.repeat_count,
      assignee_id: payload.assigned_to, assignee_name: name, episode: null
    };
  }

  function isOpen(a) { return a.status === "open" || a.status === "acknowledged"; }

  function isOverdue(a, now) {
    if (a.status === "open" && a.ack_due_at) { return Date.parse(a.ack_due_at) < now; }
    if (a.status === "acknowledged" && a.resolve_due_at) { return Date.parse(a.resolve_due_at) < now; }
    return false;
  }

  function matchesFilter(a) {
    if (!isOpen(a)) { return false; }
    if (filter === "unacknowledged") { return a.status === "open"; }
    if (filter === "overdue") { return isOverdue(a, Date.now()); }
    if (filter === "escalated") { return a.escalation_level > 1; }
    if (filter === "assigned_to_me") {
      return a.assignee_id === cfg.officer.id || a.assignee_name === cfg.officer.username;
    }
    return true;
  }

  function upsert(alert, isNew) {
    if (!matchesFilter(alert)) {
      alerts.delete(alert.id);
    } else {
      alert.isNew = isNew;
      alerts.set(alert.id, alert);
    }
  }

  // --- Rendering ---------------------------------------------------------------------------
  function sorted() {
    return Array.from(alerts.values()).sort(function (a, b) {
      var ua = a.status === "open" ? 1 : 0;
      var ub = b.status === "open" ? 1 : 0;
      if (ua !== ub) { return ub - ua; }
      if (a.severity !== b.severity) { return b.severity - a.severity; }
      return Date.parse(b.detected_at) - Date.parse(a.detected_at);
    });
  }

  function renderList() {
    var list = $("cr-list");
    list.textContent = "";
    var rows = sorted();
    rows.forEach(function (a) { list.appendChild(renderRow(a)); });
    $("cr-empty").classList.toggle("cr-hidden", rows.length > 0 || signedOut);
    renderTimes();
    renderMarkers();
  }

  function renderRow(a) {
    var li = el("li", "cr-row cr-sev-" + a.severity + " cr-st-" + a.status);
    li.dataset.id = a.id;
    li.id = "alert-" + a.id;
    if (a.isNew) { li.classList.add("cr-new"); a.isNew = false; }
    if (selected === a.id) { li.classList.add("cr-selected"); }

    var sev = el("span", "cr-sev");
    sev.appendChild(el("span", "cr-badge cr-badge-" + a.severity, t("sev_" + a.severity)));
    li.appendChild(sev);

    var what = el("span", "cr-what");
    what.appendChild(el("strong", "cr-kind", t("kind_" + a.kind)));
    var meta = el("span", "cr-meta", t("alert_no", { id: a.id }) + " · " + t("offender", { id: a.offender }));
    if (a.repeat_count) { meta.textContent += " · " + t("repeats", { n: a.repeat_count }); }
    what.appendChild(meta);
    if (a.summary) { what.appendChild(el("span", "cr-summary", a.summary)); }
    li.appendChild(what);

    li.appendChild(el("span", "cr-age"));
    var ack = el("span", "cr-ack");
    ack.appendChild(el("span", "cr-ack-label"));
    ack.appendChild(el("span", "cr-countdown"));
    li.appendChild(ack);

    var step = a.escalation_repeats
      ? t("step_repeat", { n: a.escalation_level, r: a.escalation_repeats })
      : t("step", { n: a.escalation_level });
    var stepCell = el("span", "cr-step", step);
    if (a.escalation_exhausted) { stepCell.appendChild(el("em", "cr-exhausted", t("exhausted"))); }
    li.appendChild(stepCell);

    var who = a.assignee_name
      ? (a.assignee_name === cfg.officer.username ? t("me") : a.assignee_name)
      : (a.assignee_id ? (a.assignee_id === cfg.officer.id ? t("me") : t("officer_no", { id: a.assignee_id })) : t("unassigned"));
    li.appendChild(el("span", "cr-assignee" + (a.assignee_id || a.assignee_name ? "" : " cr-muted"), who));

    var actions = el("span", "cr-actions");
    if (a.status === "open") { actions.appendChild(actionButton(a, "acknowledge", "cr-btn-primary")); }
    actions.appendChild(actionButton(a, "resolve", ""));
    actions.appendChild(actionButton(a, "dismiss", "cr-btn-quiet"));
    actions.appendChild(actionButton(a, "assign", "cr-btn-quiet"));
    li.appendChild(actions);

    if (openForm && openForm.id === a.id) {
      li.appendChild(openForm.action === "assign" ? assignForm(a) : reasonForm(a, openForm.action));
    }
    return li;
  }

  function actionButton(a, action, cls) {
    var label = t(action);
    var button = el("button", "cr-btn " + cls, label);
    button.type = "button";
    button.dataset.action = action;
    button.dataset.id = a.id;
    return button;
  }

  function reasonForm(a, action) {
    var form = el("form", "cr-reason");
    form.dataset.id = a.id;
    form.dataset.action = action;
    var input = el("input", "cr-reason-input");
    input.name = "reason";
    input.required = true;
    input.maxLength = 255;
    input.placeholder = t("reason");
    input.setAttribute("aria-label", t("reason"));
    form.appendChild(input);
    var ok = el("button", "cr-btn cr-btn-primary", t(action));
    ok.type = "submit";
    form.appendChild(ok);
    var cancel = el("button", "cr-btn cr-btn-quiet", t("cancel"));
    cancel.type = "button";
    cancel.dataset.action = "cancel";
    form.appendChild(cancel);
    return form;
  }

  // The assign picker: the officers who may take this alert (the server's list), the signed-in
  // officer first; the current assignee preselected.
  function assignForm(a) {
    var form = el("form", "cr-reason cr-assign");
    form.dataset.id = a.id;
    form.dataset.action = "assign";
    var select = el("select", "cr-assign-select");
    select.name = "officer";
    select.setAttribute("aria-label", t("assign_to"));
    var officers = assignees.get(a.id);
    if (!officers) {
      select.disabled = true;
      select.appendChild(el("option", "", t("assignees_loading")));
    } else {
      officers.forEach(function (officer) {
        var option = el("option", "", officerLabel(officer));
        option.value = String(officer.id);
        var chosen = openForm && openForm.officer !== undefined
          ? officer.id === openForm.officer
          : officer.id === a.assignee_id || officer.username === a.assignee_name;
        if (chosen) { option.selected = true; }
        select.appendChild(option);
      });
    }
    form.appendChild(select);
    var ok = el("button", "cr-btn cr-btn-primary", t("do_assign"));
    ok.type = "submit";
    ok.disabled = !officers;
    form.appendChild(ok);
    var cancel = el("button", "cr-btn cr-btn-quiet", t("cancel"));
    cancel.type = "button";
    cancel.dataset.action = "cancel";
    form.appendChild(cancel);
    return form;
  }

  function officerLabel(officer) {
    if (officer.id === cfg.officer.id) { return t("me") + " · " + (officer.full_name || officer.username); }
    var parts = [officer.rank, officer.full_name || officer.username].filter(Boolean).join(" ");
    if (officer.badge_number) { parts += " (" + officer.badge_number + ")"; }
    return parts + (officer.station ? " · " + officer.station : "");
  }

  function loadAssignees(id) {
    assignees.set(id, null);
    request("GET", API + "violations/" + id + "/assignees/", undefined, false).then(function (officers) {
      officers.sort(function (x, y) { return (y.id === cfg.officer.id) - (x.id === cfg.officer.id); });
      officers.forEach(function (officer) { officerNames.set(officer.id, officer.username); });
      assignees.set(id, officers);
      if (openForm && openForm.id === id) { renderList(); }
    }).catch(function (error) {
      assignees.delete(id);
      if (!signedOut) { showError(t("action_failed", { action: t("assign"), message: error.message })); }
    });
  }

  function renderTimes() {
    var now = Date.now();
    document.querySelectorAll("#cr-list .cr-row").forEach(function (li) {
      var a = alerts.get(Number(li.dataset.id));
      if (!a) { return; }
      li.querySelector(".cr-age").textContent = t("ago", { t: age((now - Date.parse(a.detected_at)) / 1000) });
      var label = li.querySelector(".cr-ack-label");
      var countdown = li.querySelector(".cr-countdown");
      var cell = li.querySelector(".cr-ack");
      if (a.status === "open" && a.ack_due_at) {
        var left = (Date.parse(a.ack_due_at) - now) / 1000;
        cell.dataset.state = "running";
        label.textContent = "";
        countdown.textContent = left >= 0 ? t("due_in", { t: clock(left) }) : t("overdue_by", { t: clock(-left) });
        cell.classList.toggle("cr-late", left < 0);
        cell.classList.toggle("cr-soon", left >= 0 && left < 60);
      } else {
        cell.dataset.state = "stopped";
        cell.classList.remove("cr-soon");
        label.textContent = t("acknowledged");
        if (a.resolve_due_at) {
          var rleft = (Date.parse(a.resolve_due_at) - now) / 1000;
          countdown.textContent = rleft >= 0 ? t("resolve_due", { t: clock(rleft) }) : t("resolve_overdue", { t: clock(-rleft) });
          cell.classList.toggle("cr-late", rleft < 0);
        } else {
          countdown.textContent = "";
        }
      }
    });
  }

  // --- Map ---------------------------------------------------------------------------------
  function initMap() {
    map = window.L.map("cr-map", { zoomControl: true, attributionControl: !!cfg.tiles.url, preferCanvas: false });
    if (cfg.tiles.url) {
      window.L.tileLayer(cfg.tiles.url, { attribution: cfg.tiles.attribution, maxZoom: 18 }).addTo(map);
    } else {
      $("cr-map").classList.add("cr-map-plain");
    }
    map.setView([30.4, 70.0], 6);
    loadMapOutlines();
  }

  // Every district's outline (the watched one stands out, and the map fits it) and the watched
  // district's stations.
  function loadMapOutlines() {
    outlines.forEach(function (layer) { layer.remove(); });
    outlines = [];
    loadOutlines(API + "jurisdictions/districts/", true, generation);
    loadOutlines(API + "jurisdictions/stations/?district=" + encodeURIComponent(cfg.district.code), false, generation);
  }

  function loadOutlines(url, districts, gen) {
    request("GET", url, undefined, true).then(function (page) {
      if (gen !== generation) { return; }
      page.results.forEach(function (area) {
        var own = districts && area.code === cfg.district.code;
        var layer = window.L.geoJSON(area.boundary, {
          interactive: false,
          style: districts
            ? { className: own ? "cr-district cr-district-own" : "cr-district", weight: own ? 2.5 : 1.2, fillOpacity: own ? 0.08 : 0.03 }
            : { className: "cr-station", weight: 0.8, fillOpacity: 0, dashArray: "4 4" }
        }).addTo(map);
        outlines.push(layer);
        if (districts) {
          layer.bindTooltip(area.name, { permanent: true, direction: "center", className: "cr-area-label" });
        }
        if (own) { map.fitBounds([[area.bbox[1], area.bbox[0]], [area.bbox[3], area.bbox[2]]], { padding: [16, 16] }); }
      });
      if (page.next) { loadOutlines(page.next, districts, gen); }
    }).catch(function () { /* the list still works without outlines */ });
  }

  function renderMarkers() {
    if (!map) { return; }
    markers.forEach(function (layer, id) {
      if (!alerts.has(id)) { layer.remove(); markers.delete(id); }
    });
    alerts.forEach(function (a) {
      if (a.lat === null || a.lon === null || a.lat === undefined) { return; }
      var layer = markers.get(a.id);
      var cls = "cr-marker cr-marker-" + a.severity + (a.status === "open" ? " cr-marker-open" : "");
      if (layer) { layer.remove(); }
      layer = window.L.circleMarker([a.lat, a.lon], {
        radius: a.id === selected ? 12 : 8,
        color: "#0b1220",
        weight: 2,
        fillColor: SEVERITY_COLOURS[a.severity] || "#ccc",
        fillOpacity: a.status === "open" ? 0.95 : 0.55,
        className: cls
      }).addTo(map);
      layer.bindTooltip(t("kind_" + a.kind) + " · " + t("alert_no", { id: a.id }));
      layer.on("click", function () { select(a.id, false); });
      markers.set(a.id, layer);
    });
  }

  function select(id, fly) {
    selected = id;
    var a = alerts.get(id);
    renderList();
    var row = $("alert-" + id);
    if (row) { row.scrollIntoView({ block: "nearest" }); }
    if (fly && a && a.lat !== null && map) { map.setView([a.lat, a.lon], Math.max(map.getZoom(), 10)); }
  }

  // --- Loading and counters ----------------------------------------------------------------
  // Events arriving while the list loads are applied after it. Known gap: an event committed
  // just before the list query but delivered after its response re-applies an older state of
  // that one alert until its next event (payloads carry no version to compare).
  function loadList() {
    var gen = generation;
    loading = true;
    buffered = [];
    var url = API + "violations/?" + (filter === "open" ? "open=true" : filter + "=true&open=true") +
      "&district=" + encodeURIComponent(cfg.district.code);
    var rows = [];
    function page(next, n) {
      return request("GET", next, undefined, true).then(function (data) {
        rows = rows.concat(data.results);
        if (data.next && n < MAX_PAGES) { return page(data.next, n + 1); }
        return rows;
      });
    }
    return page(url, 1).then(function (all) {
      if (gen !== generation) { return; }
      alerts.clear();
      all.forEach(function (row) { if (row.episode === null) { upsert(fromApi(row), false); } });
      $("cr-error").classList.add("cr-hidden");
    }).catch(function (error) {
      if (gen === generation && !signedOut) { showError(t("load_failed", { message: error.message })); }
    }).then(function () {
      if (gen !== generation) { return; }
      loading = false;
      var pending = buffered;
      buffered = [];
      pending.forEach(applyEvent);
      renderList();
    });
  }

  function showError(text) {
    $("cr-error").textContent = text;
    $("cr-error").classList.remove("cr-hidden");
  }

  function loadCounters() {
    clearTimeout(countersTimer);
    countersTimer = setTimeout(loadCounters, COUNTERS_EVERY_MS);
    if (signedOut) { return; }
    if (idleLeftSeconds() <= 0) { checkSession(); return; }
    var gen = generation;
    request("GET", CR + "counters/?district=" + encodeURIComponent(cfg.district.code), undefined, true).then(function (c) {
      if (gen !== generation) { return; }
      ["open_alerts", "unacknowledged", "overdue_alerts", "escalated", "overdue_checkins"].forEach(function (key) {
        $("c-" + key).textContent = String(c[key]);
      });
      $("c-coverage").textContent = c.verified_share === null ? "–" : Math.round(c.verified_share * 100) + "%";
      document.querySelector(".cr-c-overdue").classList.toggle("cr-hot", c.overdue_alerts > 0);
      document.querySelector(".cr-c-unack").classList.toggle("cr-hot", c.unacknowledged > 0);
    }).catch(function () { /* shown again on the next round */ });
  }

  var countersSoon = null;
  function countersLater() {
    clearTimeout(countersSoon);
    countersSoon = setTimeout(loadCounters, 1500);
  }

  // --- Socket ------------------------------------------------------------------------------
  function setLink(state, key) {
    var pill = $("cr-link");
    pill.dataset.state = state;
    pill.dataset.i18n = key;
    pill.textContent = t(key);
    pill.className = "cr-pill " + (state === "live" ? "cr-pill-live" : "cr-pill-down");
  }

  // The live feed (Redis behind the server) is interrupted: the server fetches new alerts
  // every N seconds meanwhile, and says "live" once it is back. Shown until then, plainly,
  // because a silent minute is too long for an alert with a two-minute deadline.
  function renderDegraded() {
    var banner = $("cr-degraded");
    if (degraded === null) { banner.classList.add("cr-hidden"); return; }
    $("cr-degraded-text").textContent = degraded.lost
      ? t("feed_lost")
      : t("feed_degraded", { n: degraded.seconds });
    banner.classList.remove("cr-hidden");
  }

  function setDegraded(value) {
    degraded = value;
    renderDegraded();
  }

  function connect() {
    if (signedOut) { return; }
    var gen = generation;
    socketReady = false;
    request("POST", API + "ws-ticket/", { district: cfg.district.code }, true).then(function (issued) {
      if (gen !== generation) { return; }
      var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      var url = scheme + window.location.host + issued.url + (lastSeq !== null ? "&after=" + lastSeq : "");
      socket = new WebSocket(url);
      socket.onmessage = onMessage;
      socket.onclose = onClose;
    }).catch(function () { if (gen === generation) { scheduleReconnect(); } });
  }

  function onMessage(message) {
    var data;
    try { data = JSON.parse(message.data); } catch (e) { return; }
    if (data.type === "ready") {
      var first = lastSeq === null;
      lastSeq = Math.max(lastSeq || 0, data.seq || 0);
      socketReady = true;
      reconnectDelay = 1000;
      setLink("live", "live");
      setDegraded(null); // a server still without its feed says "degraded" again at once
      if (first) { loadList(); }
      return;
    }
    if (data.type === "degraded") {
      setDegraded({ seconds: data.catch_up_seconds, lost: false });
      setLink("degraded", "delayed");
      return;
    }
    if (data.type === "live") {
      setDegraded(null);
      setLink("live", "live");
      return;
    }
    if (data.type === "resync") {
      // The stream no longer holds what this page missed (pruned past its retention): reload
      // the list and go on from the head.
      lastSeq = data.seq || 0;
      loadList();
      return;
    }
    if (!data.type || data.type.indexOf("alert.") !== 0) { return; }
    // Before the first ready: the backlog since the last acknowledged sequence, which the
    // list about to be loaded already holds. After a reconnect: what was missed, in order.
    if (lastSeq === null) { return; }
    if (data.seq <= lastSeq) { return; }
    lastSeq = data.seq;
    if (loading) { buffered.push(data); } else { applyEvent(data); renderList(); }
    countersLater();
    clearTimeout(ackTimer);
    ackTimer = setTimeout(function () {
      if (socket && socket.readyState === WebSocket.OPEN) { socket.send(JSON.stringify({ type: "ack", seq: lastSeq })); }
    }, 500);
  }

  function applyEvent(event) {
    var alert = fromEvent(event.alert);
    if (event.type === "alert.closed" || !isOpen(alert)) {
      alerts.delete(alert.id);
      if (openForm && openForm.id === alert.id) { openForm = null; }
      return;
    }
    upsert(alert, event.type === "alert.raised" || event.type === "alert.escalated");
  }

  function onClose(event) {
    socket = null;
    socketReady = false;
    setLink("down", "reconnecting");
    // Nothing is fetched for this page while it has no socket: the banner must not say so.
    if (degraded !== null) { setDegraded({ seconds: degraded.seconds, lost: true }); }
    if (event.code === 4401 || event.code === 4403) {
      checkSession().then(scheduleReconnect);
    } else {
      scheduleReconnect();
    }
  }

  function scheduleReconnect() {
    if (signedOut) { return; }
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(connect, reconnectDelay);
    reconnectDelay = Math.min(reconnectDelay * 2, 30000);
  }

  // --- Actions -----------------------------------------------------------------------------
  function act(id, action, reason, officer) {
    var body = action === "assign" ? { officer: officer } : (reason ? { reason: reason } : {});
    return request("POST", API + "violations/" + id + "/" + action + "/", body, false).then(function (row) {
      openForm = null;
      if (row.episode === null || row.episode === undefined) {
        var updated = fromApi(row);
        if (action === "assign") { updated.assignee_id = officer; }
        if (isOpen(updated)) { upsert(updated, false); } else { alerts.delete(id); }
      }
      $("cr-error").classList.add("cr-hidden");
      renderList();
      countersLater();
    }).catch(function (error) {
      if (!signedOut) { showError(t("action_failed", { action: t(action), message: error.message })); }
    });
  }

  function onListClick(event) {
    var button = event.target.closest("button[data-action]");
    if (button) {
      var id = Number(button.dataset.id || button.closest("form").dataset.id);
      var action = button.dataset.action;
      if (action === "cancel") { openForm = null; renderList(); return; }
      if (action === "resolve" || action === "dismiss" || action === "assign") {
        openForm = { id: id, action: action };
        if (action === "assign") { loadAssignees(id); }
        renderList();
        var input = document.querySelector("#alert-" + id + " .cr-reason-input, #alert-" + id + " select");
        if (input) { input.focus(); }
        return;
      }
      button.disabled = true;
      act(id, action, "");
      return;
    }
    var row = event.target.closest(".cr-row");
    if (row && !event.target.closest("form")) { select(Number(row.dataset.id), true); }
  }

  function onListSubmit(event) {
    event.preventDefault();
    var form = event.target;
    if (form.dataset.action === "assign") {
      act(Number(form.dataset.id), "assign", "", Number(form.querySelector("select").value));
      return;
    }
    var reason = form.querySelector("input").value.trim();
    if (!reason) { showError(t("reason_needed")); return; }
    act(Number(form.dataset.id), form.dataset.action, reason);
  }

  // --- District picker (national watchers) --------------------------------------------------
  // Choosing a district switches the page to it in place: the list, the counters, the map and
  // the socket's stream all start again from that district, exactly as on a first load (the
  // address says ?district= so a reload stays on it), without reloading the page.
  function initDistrictPicker() {
    if (!cfg.districts || cfg.districts.length < 2) { return; }
    var picker = $("cr-district-picker");
    cfg.districts.forEach(function (d) {
      var option = el("option", "", d.name);
      option.value = d.code;
      option.selected = d.code === cfg.district.code;
      picker.appendChild(option);
    });
    $("cr-district").classList.add("cr-hidden");
    $("cr-district-pick").classList.remove("cr-hidden");
    picker.addEventListener("change", function () { switchDistrict(picker.value); });
  }

  function switchDistrict(code) {
    if (signedOut || code === cfg.district.code) { return; }
    request("GET", CR + "config/?district=" + encodeURIComponent(code), undefined, false).then(function (config) {
      generation += 1;
      leaveStream();
      cfg.district = config.district;
      wanted = config.district.code;
      window.history.replaceState(null, "", CR + "?district=" + encodeURIComponent(wanted));
      $("cr-district").textContent = cfg.district.name;
      $("cr-district-picker").value = wanted;
      alerts.clear();
      assignees.clear();
      openForm = null;
      selected = null;
      $("cr-error").classList.add("cr-hidden");
      clearCounters();
      renderList();
      loadMapOutlines();
      loadCounters();
      connect();
    }).catch(function (error) {
      $("cr-district-picker").value = cfg.district.code;
      if (!signedOut) { showError(t("load_failed", { message: error.message })); }
    });
  }

  // Close the previous district's socket (acknowledging what it delivered, so a later return
  // resumes after it) and forget its place in the stream.
  function leaveStream() {
    clearTimeout(reconnectTimer);
    clearTimeout(ackTimer);
    reconnectDelay = 1000;
    if (socket) {
      if (socket.readyState === WebSocket.OPEN && lastSeq !== null) {
        socket.send(JSON.stringify({ type: "ack", seq: lastSeq }));
      }
      socket.onmessage = null;
      socket.onclose = null;
      socket.close();
      socket = null;
    }
    socketReady = false;
    lastSeq = null;
    loading = false;
    buffered = [];
    setDegraded(null);
    setLink("connecting", "connecting");
  }

  function clearCounters() {
    ["open_alerts", "unacknowledged", "overdue_alerts", "escalated", "overdue_checkins", "coverage"].forEach(function (key) {
      $("c-" + key).textContent = "–";
    });
    document.querySelector(".cr-c-overdue").classList.remove("cr-hot");
    document.querySelector(".cr-c-unack").classList.remove("cr-hot");
  }

  // --- Start -------------------------------------------------------------------------------
  function start() {
    I.apply();
    document.querySelectorAll("[data-lang]").forEach(function (button) {
      button.addEventListener("click", function () { I.set(button.dataset.lang); renderList(); renderDegraded(); });
    });
    document.querySelectorAll(".cr-filter").forEach(function (button) {
      button.addEventListener("click", function () {
        document.querySelectorAll(".cr-filter").forEach(function (b) { b.classList.remove("cr-active"); });
        button.classList.add("cr-active");
        filter = button.dataset.filter;
        openForm = null;
        loadList();
      });
    });
    $("cr-list").addEventListener("click", onListClick);
    $("cr-list").addEventListener("submit", onListSubmit);
    $("cr-list").addEventListener("change", function (event) {
      // Rows are redrawn on every event: keep the picker's choice across redraws.
      if (event.target.matches(".cr-assign-select") && openForm) { openForm.officer = Number(event.target.value); }
    });
    $("cr-stay").addEventListener("click", onInteraction);
    ["pointerdown", "keydown", "mousemove", "wheel", "touchstart"].forEach(function (name) {
      document.addEventListener(name, onInteraction, { passive: true });
    });
    setInterval(function () {
      $("cr-clock").textContent = new Date().toLocaleTimeString(I.lang() === "ur" ? "ur-PK" : "en-GB");
      renderTimes();
      tickIdle();
    }, 1000);

    var configUrl = CR + "config/" + (wanted ? "?district=" + encodeURIComponent(wanted) : "");
    request("GET", configUrl, undefined, true).then(function (config) {
      cfg = config;
      lastActivity = Date.now() - (cfg.idle_seconds - cfg.idle_seconds_left) * 1000;
      $("cr-district").textContent = cfg.district.name;
      initDistrictPicker();
      $("cr-officer").textContent = cfg.officer.name || cfg.officer.username;
      initMap();
      loadCounters();
      connect();
    }).catch(function (error) {
      if (!signedOut) { showError(t("load_failed", { message: error.message })); }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
