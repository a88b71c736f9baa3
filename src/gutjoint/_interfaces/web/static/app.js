// gutjoint explorable: plain JavaScript, no libraries, no network beyond this server's /api.
"use strict";

const INPUTS = [
  ["dysbiosis", "Microbiome imbalance (dysbiosis)", 0, 1, 0.05, 0],
  ["diet_antigen", "Dietary antigen load (1 = typical)", 0, 5, 0.1, 1],
  ["high_fat_diet", "High-fat diet", 0, 1, 0.05, 0],
  ["barrier_insult", "Barrier insult (NSAIDs, alcohol)", 0, 1, 0.05, 0],
  ["enteric_infection", "Enteric infection", 0, 1, 0.05, 0],
  ["metabolic_stress", "Metabolic stress (adiposity)", 0, 1, 0.05, 0],
];
const TRAITS = [  // [id, label, step]; range and typical value come from the parameter table (/api/parameters)
  ["barrier_resilience", "Barrier resilience (1 = typical)", 0.1],
  ["cross_reactivity", "Immune cross-reactivity with the joint", 0.05],
  ["autoimmunity", "Gut-independent autoimmunity (RA-like)", 0.05],
  ["mechanical_load", "Mechanical load on the joint", 0.05],
  ["pain_sensitivity", "Pain sensitivity (1 = typical)", 0.1],
  ["immune_resolution", "Pace of healing (1 = typical)", 0.1],
  ["reactive_susceptibility", "Joint keeps gut-infection antigen (reactive arthritis; more often in HLA-B27 carriers)", 0.05],
];
const HELPS = [
  ["barrier_support", "Barrier support (glutamine-like)"],
  ["anti_tnf", "Anti-TNF medicine"],
  ["metabolic_change", "Weight-loss-like change (metabolic stress halved)"],
];
const CHAIN = [  // [label, column, unit, digits]
  ["Gut barrier", "lm_ratio", "L:M", 3], ["Blood endotoxin", "lps_pg_ml", "pg/mL", 1],
  ["Immune (TNF)", "tnf_pg_ml", "pg/mL", 2], ["Inflammation (CRP)", "crp_mg_l", "mg/L", 2],
  ["Joint (synovitis)", "synovitis", "a.u.", 2], ["Pain", "pain_nrs", "/10", 1],
];
const CHAIN_LINKS = [["L2b", "L3"], ["L4"], ["M6", "L5"], ["L13", "L18", "L6"], ["M9"]];
const COLUMNS = "pain_nrs,crp_mg_l,il6_pg_ml,lm_ratio,lps_pg_ml,tnf_pg_ml,synovitis";  // what the page draws
const $ = (id) => document.getElementById(id);
let links = {};
let GRADES = [];  // evidence grades, strongest first (GET /api/parameters)
let EVIDENCE = null;  // the shipped gut-to-joint fit's summary (GET /api/parameters: gut_joint)
let lastColumns = null;
let pending = null;

async function api(path, body) {
  const response = await fetch(path, body === undefined ? {} :
    {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  const data = await response.json();
  if (!response.ok) throw new Error(data.detail || response.statusText);
  return data;
}

function slider(container, [id, label, min, max, step, value]) {
  const wrap = document.createElement("div");
  wrap.innerHTML = `<label for="in-${id}">${label}: <output id="out-${id}">${value}</output></label>
    <input type="range" id="in-${id}" min="${min}" max="${max}" step="${step}" value="${value}">`;
  container.appendChild(wrap);
  const input = wrap.querySelector("input");
  input.addEventListener("input", () => { $(`out-${id}`).textContent = input.value; schedule(); });
}

function checkbox(container, id, label, onChange) {
  const wrap = document.createElement("div");
  wrap.className = "check";
  wrap.innerHTML = `<input type="checkbox" id="${id}"><label for="${id}">${label}</label>`;
  container.appendChild(wrap);
  wrap.querySelector("input").addEventListener("change", onChange);
}

function value(id) { return parseFloat($(`in-${id}`).value); }

function scenario() {
  const start = parseFloat($("start-day").value);
  const inputs = INPUTS.filter(([id, , , , , def]) => value(id) !== def).map(([id]) => ({name: id, level: value(id)}));
  if ($("help-barrier_support").checked) inputs.push({name: "barrier_support", level: 1, start_day: start});
  if ($("help-anti_tnf").checked) inputs.push({name: "anti_tnf", level: 0.9, start_day: start});
  if ($("help-metabolic_change").checked) {
    inputs.push({name: "metabolic_stress", level: value("metabolic_stress") / 2, start_day: start});
  }
  const subject = {};
  TRAITS.forEach(([id]) => { subject[id] = value(id); });  // every trait, so the run is this person
  return {days: 365, step_hours: 24, subject, inputs};
}

function schedule() {
  clearTimeout(pending);
  pending = setTimeout(update, 120);
}

async function update() {
  $("status").textContent = "Simulating...";
  const sc = scenario();
  try {
    const result = await api(`/api/simulate?columns=${COLUMNS}`, sc);
    lastColumns = result.columns;
    drawAll(result.columns);
    $("status").textContent = result.status === "success" ? "" : `Solver: ${result.status}. ${result.advice}`;
    improvement(result.columns);
    explain(sc);
    uncertainty(sc, result.columns);
  } catch (err) {
    $("status").textContent = `Could not simulate: ${err.message}`;
  }
}

function improvement(columns) {
  const anyHelp = HELPS.some(([id]) => $(`help-${id}`).checked);
  if (!anyHelp) { $("improvement").textContent = "Tick an option under 'What helps' to see how long it takes."; return; }
  const start = parseFloat($("start-day").value);
  const t = columns.time_days, pain = columns.pain_nrs;
  const i0 = t.findIndex((d) => d >= start);
  const base = pain[i0];
  const hit = t.findIndex((d, i) => d >= start && pain[i] <= 0.7 * base);
  $("improvement").textContent = hit < 0
    ? `Pain at the start day is ${base.toFixed(1)}/10; it does not fall by 30% within the year.`
    : `A clinically important improvement (30% less pain, IMMPACT) comes ${Math.round(t[hit] - start)} days after the start (pain ${base.toFixed(1)} to ${pain[hit].toFixed(1)}).`;
}

async function explain(sc) {
  try {
    const r = await api("/api/explain", {scenario: sc});
    if (r.status !== "success") {  // a run that failed: 200, with the failure named and what to change
      $("explain").textContent = `Could not explain: the solver failed (${r.status}). ${r.advice}`;
      return;
    }
    const total = Math.max(r.pain_nrs, 0.01);
    const rows = [["floor (healthy joint)", r.floor], ...Object.entries(r.sources)];
    $("explain").innerHTML = `<div class="bars">${rows.map(([name, v]) =>
      `<div><span class="name">${name}</span><span class="bar" style="width:${Math.max(0, 60 * v / total)}%"></span>
       <span>${v.toFixed(2)}</span></div>`).join("")}</div>
      <p class="small">Pain ${r.pain_nrs.toFixed(1)}/10 on day ${r.day}. With a healthy gut barrier and microbiome,
      about ${Math.round(100 * r.gut_share)}% of it would go (gut share). Evidence behind each source: ${
      Object.entries(r.evidence).map(([s, g]) => `${s}: ${Object.values(g).join(", ")}`).join("; ")}.</p>`;
  } catch (err) {
    $("explain").textContent = `Could not explain: ${err.message}`;
  }
}

function niceTicks(max, count) {
  // round steps (1, 2 or 5 x a power of ten) from 0 to max
  const raw = max / count, power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const ticks = [];
  for (let v = 0; v <= max + 1e-9; v += step) ticks.push(+v.toPrecision(6));
  return ticks;
}

function drawChart(svg, t, series, yMaxFixed, units) {
  // series: {name, color, values, low, high} (low/high: the 90% band, optional); units: {x, y}
  const w = svg.clientWidth || 600, h = svg.clientHeight || 200, left = 46, right = 10, top = 10, bottom = 34;
  const finite = (v) => v !== null && Number.isFinite(v);
  const all = series.flatMap((s) => [...s.values, ...(s.high || [])].filter(finite));
  const yMax = yMaxFixed || Math.max(...all, 1e-9) * 1.1;
  const tMax = t[t.length - 1] || 1;
  const x = (d) => left + (w - left - right) * d / tMax, y = (v) => h - bottom - (h - bottom - top) * v / yMax;
  let out = "";
  niceTicks(yMax, 4).forEach((v) => {
    out += `<line x1="${left}" y1="${y(v)}" x2="${w - right}" y2="${y(v)}" stroke="#e6e6e6"/>
      <text x="${left - 5}" y="${y(v) + 4}" text-anchor="end" font-size="11">${v}</text>`;
  });
  const xTicks = tMax >= 300 ? [0, 60, 120, 180, 240, 300, 360].filter((d) => d <= tMax) : niceTicks(tMax, 6);
  xTicks.forEach((d) => {
    out += `<line x1="${x(d)}" y1="${h - bottom}" x2="${x(d)}" y2="${h - bottom + 4}" stroke="#777"/>
      <text x="${x(d)}" y="${h - bottom + 16}" text-anchor="middle" font-size="11">${d}</text>`;
  });
  out += `<line x1="${left}" y1="${h - bottom}" x2="${w - right}" y2="${h - bottom}" stroke="#777"/>
    <line x1="${left}" y1="${top}" x2="${left}" y2="${h - bottom}" stroke="#777"/>
    <text x="${(left + w - right) / 2}" y="${h - 4}" text-anchor="middle" font-size="11">${(units && units.x) || "time (days)"}</text>
    <text x="12" y="${(top + h - bottom) / 2}" text-anchor="middle" font-size="11"
      transform="rotate(-90 12 ${(top + h - bottom) / 2})">${(units && units.y) || ""}</text>`;
  series.forEach((s) => {
    if (s.low && s.high) {
      const upper = t.map((d, i) => `${x(d).toFixed(1)},${y(Math.min(s.high[i] ?? 0, yMax)).toFixed(1)}`);
      const lower = t.map((d, i) => `${x(d).toFixed(1)},${y(s.low[i] ?? 0).toFixed(1)}`).reverse();
      out += `<polygon class="band" fill="${s.color}" fill-opacity="0.15" stroke="none" points="${[...upper, ...lower].join(" ")}"/>`;
    }
  });
  series.forEach((s, k) => {
    const points = t.map((d, i) => `${x(d).toFixed(1)},${y(Math.min(s.values[i] ?? 0, yMax)).toFixed(1)}`).join(" ");
    const band = s.low && s.high ? " (band: 90% of parameter sets)" : "";
    out += `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${points}"/>
      <rect x="${left + 10}" y="${top + 4 + 15 * k}" width="14" height="3" fill="${s.color}"/>
      <text x="${left + 30}" y="${top + 9 + 15 * k}" font-size="12" fill="${s.color}">${s.name}${band}</text>`;
  });
  svg.innerHTML = out;
  svg.dataset.points = series.map((s) => s.values.map((v) => (v ?? 0).toFixed(4)).join(",")).join("|");
  svg.dataset.bands = String(series.filter((s) => s.low && s.high).length);
}

function withBand(name, color, c, column, bands) {
  const q = bands && bands.columns;
  return {name, color, values: c[column], low: q && q[`${column}_q05`], high: q && q[`${column}_q95`]};
}

function drawAll(c, bands) {
  drawChart($("chart-pain"), c.time_days, [withBand("pain", "#b3261e", c, "pain_nrs", bands)], 10,
    {y: "pain (NRS 0-10)"});
  drawChart($("chart-inflammation"), c.time_days, [withBand("CRP (mg/L)", "#6a3d9a", c, "crp_mg_l", bands),
    withBand("IL-6 (pg/mL)", "#e66101", c, "il6_pg_ml", bands)], null, {y: "mg/L or pg/mL"});
  drawChart($("chart-barrier"), c.time_days, [withBand("L:M", "#1b7837", c, "lm_ratio", bands)], null,
    {y: "lactulose:mannitol"});
  drawChain(c);
}

async function uncertainty(sc, columns) {
  $("uncertainty").textContent = "Working out how sure the model is...";
  try {
    const r = await api(`/api/simulate?columns=${COLUMNS}&uncertainty=true`, sc);
    if (lastColumns !== columns) return;  // the reader has moved on
    drawAll(r.columns, r.bands);
    const drivers = r.bands.drivers.map((d) => `${d.parameter} (${Math.round(100 * d.share)}% of the spread; ${d.value_grade})`);
    $("uncertainty").textContent = `How sure: ${r.bands.pain_last_day} (${r.bands.draws} sets, ${r.bands.failed} failed). ` +
      (drivers.length ? `Most of that spread comes from ${drivers.join(", ")}: measuring these would sharpen the answer. ` : "") +
      r.bands.honesty;
  } catch (err) {
    $("uncertainty").textContent = `No uncertainty band: ${err.message}`;
  }
}

function drawChain(c) {
  const svg = $("chain"), n = CHAIN.length, w = 960, boxW = 130, gap = (w - n * boxW) / (n - 1);
  let out = "";
  CHAIN.forEach(([label, column, unit, digits], i) => {
    const x = i * (boxW + gap), v = c ? c[column][c[column].length - 1] : null;
    out += `<g class="node"><rect x="${x}" y="40" width="${boxW}" height="70" rx="8"/>
      <text x="${x + boxW / 2}" y="66" text-anchor="middle">${label}</text>
      <text x="${x + boxW / 2}" y="92" text-anchor="middle" font-weight="700" data-column="${column}">${
        v === null ? "..." : v.toFixed(digits)} ${unit}</text></g>`;
    if (i < n - 1) {
      // an arrow is as strong as its weakest link (GRADES runs strongest first); focus lists every link
      const ids = CHAIN_LINKS[i], grades = ids.map((id) => links[id] ? links[id].grade : "?");
      const weakest = grades.reduce((a, g) => (GRADES.indexOf(g) > GRADES.indexOf(a) ? g : a), grades[0]);
      const info = `weakest link: ${weakest}. ` + ids.map((id) => links[id] ? `${id} ${links[id].source} to ${links[id].target}: ${links[id].grade}. ${links[id].evidence}` : id).join(" | ");
      const colour = weakest.startsWith("human") ? "#2d6a4f" : "#b26a00";
      out += `<g class="link" tabindex="0" role="button" aria-label="Evidence: ${info.replace(/"/g, "'")}" data-info="${info.replace(/"/g, "'")}">
        <title>${info}</title>
        <line x1="${x + boxW + 4}" y1="75" x2="${x + boxW + gap - 6}" y2="75" stroke="${colour}"/>
        <text x="${x + boxW + gap / 2}" y="30" text-anchor="middle" font-size="11" fill="${colour}" data-weakest="${weakest}">${weakest}</text></g>`;
    }
  });
  svg.innerHTML = out;
  svg.querySelectorAll(".link").forEach((g) => {
    const show = () => { $("link-info").textContent = g.dataset.info; };
    g.addEventListener("focus", show);
    g.addEventListener("mouseenter", show);
  });
}

const FAQ = [
  ["Can leaky gut cause joint pain?", "In the model, yes, in people whose immune cells cross-react with joint tissue: a leaky barrier lets bacterial fragments and food antigens in, immune activation follows, and the joint becomes inflamed and sensitized. The chart compares a gut-driven person with a healthy one. In humans this chain rests on associations and mouse experiments; it has not been proven.", ["gut-driven-joint-pain", "healthy"]],
  ["Is this the same as arthritis?", "No. Gut-related joint pain can mimic or worsen inflammatory arthritis but has different drivers. The chart compares an RA-like person (autoimmunity that does not come from the gut) with a gut-driven one: similar pain, different causes (see the gut share in the explanation).", ["ra-like", "gut-driven-joint-pain"]],
  ["Can healing the gut reduce joint pain?", "In the model, barrier support relieves pain where the gut is a major contributor, and barely at all where pain is mechanical or metabolic. Barrier support normalised gut permeability in a human trial; that this then relieves joint pain is a hypothesis not yet tested in people.", ["barrier-support", "gut-driven-joint-pain"]],
  ["How long does it take?", "In a virtual population given barrier support, some people reach a 30% improvement within weeks and others need months: the chart shows the spread of times. The spread comes from how fast each person's immune response and nerve sensitization settle.", "population"],
  ["Can a gut infection cause joint pain?", "Yes, this is the best-documented gut-to-joint link in people: reactive arthritis. In population studies, 1 to 7 in 100 people develop arthritis 1 to 4 weeks after a Salmonella, Campylobacter, Shigella or Yersinia infection; most recover within months. Carriers of the gene HLA-B27 are more common among the cases, but population studies tie the gene mainly to a more severe and longer illness rather than to getting it at all. Bacterial fragments, not live bacteria, are found in the joint. The chart shows the same week of infection (from day 10) in a susceptible person and in one who is not. The model's susceptibility and its population spread are assumptions tuned to those published rates, so the curve is an illustration, not a forecast for you. A hot, swollen or painful joint after diarrhoea or a urinary infection needs a doctor soon.", [["reactive-arthritis", {}, "susceptible"], ["reactive-arthritis", {reactive_susceptibility: 0}, "not susceptible"]]],
  ["How would we know?", "By a trial: people with a leaky barrier and joint pain get barrier support or a placebo, without knowing which, and their pain is compared after 12 weeks. No such trial has been done. The model can run it in silico: it predicts how big the difference would be and how many people a real trial would need to see it. The placebo response (about one point of pain, within a week) is in both arms, and the answer is only as good as the model's untested assumptions.", "trial"],
  ["When should I see a doctor?", "If joint pain is severe, progressive, or comes with swelling, fever or deformity, professional evaluation is essential. Use the checklist below; the model cannot assess these signs.", "triage"],
];

function populationShares(g) {
  // the fitted model's gut share among people with moderate pain, by population, over its parameter sets
  const rows = (g.gut_share_by_population || []).filter((r) => r.median !== null && r.median !== undefined);
  if (!rows.length) return "";
  const pct = (x) => `${Math.round(100 * x)}%`;
  const parts = rows.map((r) => `${pct(r.median)} (90% ${pct(r.q05)} to ${pct(r.q95)}) in ${r.people.replace(/ \(.*\)$/, "")}`);
  return ` Fitted to the human trials, the model puts the gut's share of moderate joint pain at ${parts.join("; ")}: the ranges are over what the model does not know, not between people.`;
}

function humanEvidence(k) {
  // what the human gut-to-joint trials say, from the shipped fit (GET /api/parameters: gut_joint); "" without it
  const g = EVIDENCE;
  if (!g) return "";
  const row = (name) => g.rows.find((r) => r.dataset.startsWith(name));
  const f = (x) => x.toFixed(2);
  if (k === 0) {
    return ` But an association runs both ways: in a cross-section of the model's adults, people with joint pain have a ${f(g.lm_ratio_both)} times higher L:M when ${Math.round(100 * g.nsaid_use)}% of them take NSAIDs regularly (as many as in a survey of people with knee pain), against ${f(g.lm_ratio_forward)} times when nobody does: ${Math.round(100 * g.reverse_share)}% of the "leaky gut goes with joint pain" association runs the other way (pain, then NSAIDs, then a leakier gut).` + populationShares(g);
  }
  if (k === 2) {
    const spa = row("probiotic-spa"), fmt = row("fmt-psa"), syn = g.parameters[0];
    const weaker = syn.median < syn.prior_median;
    return ` What human trials say: a probiotic lowered disease activity in spondyloarthritis by only ${f(-spa.value)} points more than placebo on a 0-10 scale (95% CI ${f(-spa.high)} to ${f(-spa.low)}), and faecal transplantation in psoriatic arthritis did worse than sham. Fitted to the probiotic trial and to how common arthritis is in coeliacs on gluten, the model's gut-to-joint strength (${syn.parameter}) ${weaker ? "falls" : "moves"} from ${f(syn.prior_median)} to ${f(syn.median)} (90% ${f(syn.q05)} to ${f(syn.q95)})` +
      (fmt.inside_after ? "." : `, and even then the model predicts ${f(-fmt.after_median)} NRS points of benefit from transplantation, which the trial did not see`) +
      (weaker ? ": in people the arm is weaker than the model first assumed." : ".");
  }
  return "";
}

function faq() {
  const host = $("faq");
  FAQ.forEach(([question, answer, demo], k) => {
    answer += humanEvidence(k);
    const item = document.createElement("div");
    item.className = "faq-item";
    item.innerHTML = `<h3 id="faq-q${k}">${question}</h3><p>${answer}</p>
      <button id="faq-run${k}" aria-describedby="faq-q${k}">Show it in the model</button>
      <div id="faq-out${k}" aria-live="polite"></div>`;
    host.appendChild(item);
    item.querySelector("button").addEventListener("click", () => runFaq(demo, $(`faq-out${k}`)));
  });
}

async function runFaq(demo, out) {
  out.textContent = "Simulating...";
  try {
    if (demo === "triage") {
      const r = await api("/api/triage", {flags: ["swelling"]});
      out.innerHTML = `<p class="small">Example, someone reporting a swollen joint: <strong>${r.message}</strong></p>`;
      return;
    }
    if (demo === "trial") {
      const r = await api("/api/trial", {trial: "barrier-support-joint-pain", per_arm: 40});
      const rows = r.power.map((p) => `<tr><td>${p.per_arm}</td><td>${Math.round(100 * p.power_pain_model_right)}%</td></tr>`).join("");
      out.innerHTML = `<p class="small" id="trial-words">${r.words}</p>
        <table class="small"><tr><th>people per arm</th><th>chance to detect it (power)</th></tr>${rows}</table>`;
      return;
    }
    if (demo === "population") {
      const r = await api("/api/population", {scenario: "barrier-support", n: 60, seed: 1});
      const days = r.subjects.map((s) => s.days_to_30pct).filter((d) => d !== null).sort((a, b) => a - b);
      const bins = new Array(10).fill(0);
      days.forEach((d) => { bins[Math.min(9, Math.floor(d / 30))] += 1; });
      out.innerHTML = `<svg class="chart" role="img" aria-label="Histogram of days to improvement"></svg>
        <p class="small">${days.length} of ${r.subjects.length} people improved by 30%; the fastest within
        ${days[0]} days, the slowest after ${days[days.length - 1]} days (bars: 30-day bins).</p>`;
      const svg = out.querySelector("svg"), w = svg.clientWidth || 600, h = 170, max = Math.max(...bins, 1);
      svg.innerHTML = bins.map((b, i) => `<rect x="${20 + i * (w - 40) / 10}" y="${h - 20 - (h - 40) * b / max}"
        width="${(w - 40) / 10 - 4}" height="${(h - 40) * b / max}" fill="#5b7fa6"/>
        <text x="${20 + (i + 0.5) * (w - 40) / 10}" y="${h - 5}" font-size="10" text-anchor="middle">${i * 30}</text>`).join("");
      svg.dataset.points = bins.join(",");
      return;
    }
    // each run: a built-in scenario's name, or [name, subject traits to change, label]
    const all = await api("/api/scenarios");
    const parts = demo.map((d) => (Array.isArray(d) ? d : [d, {}, d]));
    const runs = await Promise.all(parts.map(([name, subject]) => {
      const sc = structuredClone(all.find((s) => s.name === name).scenario);
      sc.subject = {...(sc.subject || {}), ...subject};
      return api(`/api/simulate?columns=${COLUMNS}`, sc);
    }));
    const labels = parts.map(([, , label]) => label);
    out.innerHTML = `<svg class="chart" role="img" aria-label="Pain over time: ${labels.join(" and ")}"></svg>`;
    drawChart(out.querySelector("svg"), runs[0].columns.time_days, runs.map((r, i) => ({
      name: `${labels[i]}: pain`, color: ["#b3261e", "#2166ac"][i], values: r.columns.pain_nrs})), 10,
      {y: "pain (NRS 0-10)"});
  } catch (err) {
    out.textContent = `Could not run: ${err.message}`;
  }
}

async function flags() {
  const info = await api("/api/red-flags");
  $("flag-rule").textContent = info.rule;
  document.querySelectorAll(".disclaimer").forEach((p) => { p.textContent = info.disclaimer; });
  const host = $("flag-list");
  info.flags.forEach((flag) => checkbox(host, `flag-${flag.id}`, flag.label, triage));
  triage();
}

async function triage() {
  const chosen = [...document.querySelectorAll("#flag-list input:checked")].map((i) => i.id.slice(5));
  const r = await api("/api/triage", {flags: chosen});
  const box = $("triage-message");
  box.textContent = r.message;
  box.className = r.refer ? "refer" : "";
}

function personRows(text) {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  const header = lines.shift().split(",").map((h) => h.trim());
  return lines.map((line) => {
    const cells = line.split(",").map((c) => c.trim());
    const row = Object.fromEntries(header.map((h, k) => [h, cells[k]]));
    const number = Number(row.value);
    return {day: Number(row.day), observable: row.observable,
            value: row.observable === "red_flag" || row.value === "" || Number.isNaN(number) ? row.value : number,
            ...(row.unit ? {unit: row.unit} : {})};
  });
}

async function personRun() {
  const out = $("person-out");
  out.textContent = "Weighing your numbers against the virtual people...";
  try {
    const answer = await api("/api/person", {rows: personRows($("person-data").value)});
    // the answer's markdown lines: "- " items become a list, emphasis and code marks are dropped
    const nodes = [];
    answer.lines.filter((l) => l).forEach((line) => {
      const text = line.replaceAll("**", "").replaceAll("`", "");
      if (line.startsWith("- ")) {
        if (!nodes.length || nodes[nodes.length - 1].tagName !== "UL") nodes.push(document.createElement("ul"));
        const item = document.createElement("li");
        item.textContent = text.slice(2);
        nodes[nodes.length - 1].appendChild(item);
      } else {
        const p = document.createElement("p");
        p.textContent = text;
        nodes.push(p);
      }
    });
    out.replaceChildren(...nodes);
  } catch (error) {
    out.textContent = String(error.message || error);
  }
}

async function main() {
  const table = await api("/api/parameters");
  table.links.forEach((l) => { links[l.id] = l; });
  GRADES = table.grades;
  EVIDENCE = table.gut_joint;
  const records = Object.fromEntries(table.parameters.map((p) => [p.name, p]));
  INPUTS.forEach((spec) => slider($("inputs"), spec));
  TRAITS.forEach(([id, label, step]) => {
    const r = records[id];
    slider($("traits"), [id, label, r.low, r.high, step, r.value]);
  });
  HELPS.forEach(([id, label]) => checkbox($("helps"), `help-${id}`, label, schedule));
  $("person-run").addEventListener("click", personRun);
  $("start-day").addEventListener("input", () => { $("start-day-value").textContent = $("start-day").value; schedule(); });
  drawChain(null);
  faq();
  await flags();
  await update();
}

main();
