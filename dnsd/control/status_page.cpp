// The status page (see status_page.hpp). Data goes into the page through textContent only, never
// as markup: a member name or an error text cannot inject anything.
#include "status_page.hpp"

namespace dnsd {

namespace {

constexpr std::string_view page = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dnsd status</title>
<style>
  :root { color-scheme: light dark; --ok: #1a7f37; --bad: #cf222e; --unk: #9a6700; --line: #8884; }
  body { font: 15px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; padding: 12px; max-width: 1000px; }
  h1 { font-size: 20px; margin: 0 0 4px; }
  #meta { color: #888; font-size: 13px; margin-bottom: 12px; }
  #error { color: var(--bad); font-weight: 600; }
  section.zone { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; margin: 0 0 12px; }
  h2 { font-size: 17px; margin: 0; overflow-wrap: anywhere; }
  .serial { font-weight: normal; color: #888; font-size: 14px; }
  .details { font-size: 13px; color: #888; overflow-wrap: anywhere; margin: 4px 0; }
  h3 { font-size: 15px; margin: 10px 0 4px; }
  .gate, .drift { font-size: 13px; font-weight: normal; }
  .drift.bad { color: var(--bad); }
  table { border-collapse: collapse; width: 100%; font-size: 14px; }
  th, td { text-align: left; padding: 4px 6px; border-top: 1px solid var(--line); vertical-align: top; }
  th { font-weight: 600; font-size: 12px; color: #888; }
  td.error { overflow-wrap: anywhere; color: #888; font-size: 13px; }
  .badge { display: inline-block; padding: 0 6px; border-radius: 10px; color: #fff; font-size: 12px; }
  .health-healthy .badge { background: var(--ok); }
  .health-unhealthy .badge { background: var(--bad); }
  .health-unknown .badge, .health-not-probed .badge { background: var(--unk); }
  @media (max-width: 600px) {
    thead { display: none; }
    tr.member { display: block; border-top: 1px solid var(--line); padding: 4px 0; }
    tr.member td { display: block; border: 0; padding: 1px 0; }
    td[data-label]::before { content: attr(data-label) ": "; color: #888; font-size: 12px; }
  }
</style>
</head>
<body>
<h1>dnsd</h1>
<div id="meta">loading…</div>
<div id="error"></div>
<main id="zones"></main>
<script>
"use strict";
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = String(text);
  return e;
}
function ago(t) {
  if (!t) return "never";
  const s = Math.max(0, Math.round(Date.now() / 1000 - t));
  return s < 60 ? s + " s ago" : s < 3600 ? Math.round(s / 60) + " min ago" : Math.round(s / 3600) + " h ago";
}
function details(z) {
  const out = [];
  for (const [k, v] of Object.entries(z))
    if (!["zone", "serial", "clusters"].includes(k)) out.push(k + ": " + JSON.stringify(v));
  return out.join("  ·  ");
}
function cluster(c) {
  const s = el("div", "cluster");
  s.dataset.cluster = c.name;
  const h = el("h3", null, c.name === "_" ? "the unnamed cluster (_)" : "cluster " + c.name);
  h.append(" ", el("span", "gate", c.gate === "closed" ? "· gate closed (" + c.members.length + "/" + c.expected_size + ")" :
                                     c.gate === "open" ? "· gate open" : ""));
  h.append(" ", el("span", "healthy", c.probed ? "· " + c.healthy + "/" + c.members.length + " healthy" : "· not probed"));
  s.append(h);
  if (c.drift) {
    const d = c.drift, none = !d.not_in_etcd.length && !d.not_served.length;
    const text = d.error ? "drift: cannot read etcd's member list: " + d.error :
                 none ? "drift: none (etcd's member list read " + ago(d.checked) + ")" :
                 "drift: served but not in etcd: " + (d.not_in_etcd.join(", ") || "none") +
                 "; in etcd but not served: " + (d.not_served.join(", ") || "none");
    s.append(el("div", "drift" + (none && !d.error ? "" : " bad"), text));
  }
  const t = el("table");
  const head = el("thead"), hr = el("tr");
  for (const k of ["member", "host", "health", "last probe", "last error"]) hr.append(el("th", null, k));
  head.append(hr);
  const body = el("tbody");
  for (const m of c.members) {
    const r = el("tr", "member health-" + m.health.replace(/ /g, "-"));
    r.dataset.member = m.name;
    r.dataset.health = m.health;
    const cells = [["member", m.name], ["host", m.host], ["health", null], ["last probe", c.probed ? ago(m.last_probe) : "—"],
                   ["last error", m.last_error || ""]];
    for (const [label, value] of cells) {
      const td = el("td", label === "last error" ? "error" : null, value === null ? undefined : value);
      td.dataset.label = label;
      if (value === null) td.append(el("span", "badge", m.health));
      r.append(td);
    }
    body.append(r);
  }
  t.append(head, body);
  s.append(t);
  return s;
}
async function refresh() {
  try {
    const r = await fetch("/v1/zones", { cache: "no-store" });
    if (!r.ok) throw new Error("HTTP " + r.status);
    const data = await r.json();
    const main = el("main");
    main.id = "zones";
    for (const z of data.zones) {
      const sec = el("section", "zone");
      sec.dataset.zone = z.zone;
      const h = el("h2", null, z.zone);
      h.append(" ", el("span", "serial", "serial " + z.serial));
      sec.append(h);
      const d = details(z);
      if (d) sec.append(el("div", "details", d));
      for (const c of z.clusters) sec.append(cluster(c));
      main.append(sec);
    }
    document.getElementById("zones").replaceWith(main);
    document.getElementById("error").textContent = "";
    document.getElementById("meta").textContent = data.zones.length + " zone(s) · updated " + new Date().toLocaleTimeString();
  } catch (e) {
    document.getElementById("error").textContent = "cannot read /v1/zones: " + e.message;
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
)html";

}  // namespace

std::string_view status_page_html() noexcept { return page; }

}  // namespace dnsd
