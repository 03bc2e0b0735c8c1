// The employer's page: talks to this service's documented API only, and puts every text it
// receives on screen with textContent (never as HTML).
"use strict";

const KEY = "credence-staff-token";
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem(KEY);
let templates = [];
let timer = null;
// The exchange on screen: a poll for an earlier one that answers late is dropped.
let current = null;

function say(id, text) {
  const e = $(id);
  e.textContent = text || "";
  e.hidden = !text;
}

function screen(name) {
  for (const s of ["sign-in", "new", "exchange"]) $(s).hidden = s !== name;
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let r;
  try {
    r = await fetch(path, { method, headers, cache: "no-store", body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    return { status: 0, json: null, why: `the service cannot be reached (${e.message})` };
  }
  let json = null;
  try { json = await r.json(); } catch { /* an answer without a body */ }
  const why = json && (json.detail || json.title) ? String(json.detail || json.title) : `HTTP ${r.status}`;
  return { status: r.status, json, why };
}

function predicateText(p) {
  const k = p.kind || {};
  if (k.atLeast) return `${p.attribute} ≥ ${k.atLeast.bound}`;
  if (k.atMost) return `${p.attribute} ≤ ${k.atMost.bound}`;
  if (k.between) return `${k.between.low} ≤ ${p.attribute} ≤ ${k.between.high}`;
  return p.attribute;
}

function definitions(dl, rows) {
  dl.replaceChildren();
  for (const [term, value] of rows) {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = value;
    dl.append(dt, dd);
  }
}

function describe() {
  const t = templates[$("template").selectedIndex];
  if (!t) return $("template-info").replaceChildren();
  const r = t.request;
  definitions($("template-info"), [
    ["Purpose", r.purpose],
    ["Credential", r.credentialType],
    ["Shown", (r.disclose || []).join(", ") || "nothing"],
    ["Proven", (r.predicates || []).map(predicateText).join(", ") || "nothing"],
    ["Tier", r.tier === "unlinkable" ? "unlinkable (no attributes shown, answers not linkable)" : "selective disclosure"],
    ["Valid for", `${Math.round((r.ttlSecs || 600) / 60)} min`],
  ]);
}

async function signIn() {
  const a = await api("GET", "/v1/templates");
  if (a.status === 401) {
    sessionStorage.removeItem(KEY);
    token = null;
    screen("sign-in");
    say("sign-in-error", "That token is not one of this service's staff tokens.");
    return;
  }
  if (a.status !== 200) {
    screen("sign-in");
    say("sign-in-error", a.why);
    return;
  }
  templates = Array.isArray(a.json) ? a.json : [];
  const select = $("template");
  select.replaceChildren();
  for (const t of templates) {
    const o = document.createElement("option");
    o.textContent = t.title;
    select.append(o);
  }
  describe();
  $("create").disabled = templates.length === 0;
  say("new-error", templates.length === 0 ? "This service has no request templates: start it with --templates FILE." : "");
  screen("new");
}

function status(kind, text) {
  const s = $("status");
  s.dataset.status = kind;
  s.textContent = text;
}

function showReport(report) {
  const list = $("checks");
  list.replaceChildren();
  for (const c of report.checks || []) {
    const li = document.createElement("li");
    li.dataset.status = c.status;
    li.dataset.check = c.check;
    const name = document.createElement("span");
    name.className = "check-name";
    name.textContent = `${c.check}: ${c.status}`;
    li.append(name, document.createTextNode(` — ${c.detail}`));
    list.append(li);
  }
  $("checks-title").hidden = list.children.length === 0;
  const rows = (report.disclosed || []).map(([k, v]) => [k, v]);
  for (const p of report.proven || []) rows.push(["proven", p]);
  definitions($("disclosed"), rows);
  $("disclosed-title").hidden = rows.length === 0;
}

function stop() {
  if (timer) clearTimeout(timer);
  timer = null;
}

async function follow(state, until) {
  stop();
  const a = await api("GET", `/v1/oid4vp/results/${encodeURIComponent(state)}`);
  if (state !== current) return;
  if (a.status === 404) {
    status("expired", "The request expired before a passing answer arrived. Create a new one.");
    return;
  }
  if (a.status === 200 && a.json) {
    const r = a.json;
    if (r.status === "passed") {
      // Answered for good: the link is spent; the result takes its place.
      $("qr").hidden = true;
      showReport(r.report);
      status("passed", "Every check passed.");
      return;
    }
    if (r.status === "refused") {
      showReport(r.report);
      const failed = (r.report.checks || []).find((c) => c.status === "failed");
      status("refused", `Refused${failed ? ` at ${failed.check}: ${failed.detail}` : ""}. Waiting for another answer…`);
    } else if (r.status === "declined") {
      // Anyone who saw the link can send this: it is shown as what it is.
      status("declined", `A wallet declined (${r.error}: "${r.errorDescription || "no reason given"}"). Unverified: anyone with the link can send this. Waiting for another answer…`);
    } else {
      status("waiting", "Waiting for the holder's wallet…");
    }
  } else if (a.status !== 200) {
    status("refused", a.why);
  }
  if (Date.now() < until) timer = setTimeout(() => follow(state, until), 1000);
  else status("expired", "The request expired. Create a new one.");
}

async function create() {
  const t = templates[$("template").selectedIndex];
  if (!t) return;
  $("create").disabled = true;
  const a = await api("POST", "/v1/oid4vp/requests", t.request);
  $("create").disabled = false;
  if (a.status !== 200 || !a.json) {
    say("new-error", a.why);
    return;
  }
  say("new-error", "");
  const x = a.json;
  $("session").textContent = x.session;
  $("link").value = x.link;
  $("qr").src = `/v1/oid4vp/requests/${encodeURIComponent(x.state)}/qr`;
  $("qr").hidden = false;
  $("exchange").dataset.state = x.state;
  current = x.state;
  $("checks").replaceChildren();
  definitions($("disclosed"), []);
  $("checks-title").hidden = true;
  $("disclosed-title").hidden = true;
  status("waiting", "Waiting for the holder's wallet…");
  screen("exchange");
  follow(x.state, Date.now() + (t.request.ttlSecs || 600) * 1000 + 60000);
}

document.addEventListener("DOMContentLoaded", () => {
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    token = $("token").value.trim();
    sessionStorage.setItem(KEY, token);
    $("token").value = "";
    signIn();
  });
  $("template").addEventListener("change", describe);
  $("create").addEventListener("click", create);
  $("again").addEventListener("click", () => { stop(); current = null; screen("new"); });
  $("copy").addEventListener("click", () => navigator.clipboard && navigator.clipboard.writeText($("link").value));
  if (token) signIn(); else screen("sign-in");
});
