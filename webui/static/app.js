// The reference act-drafting page: describe the act, scan its signed pages,
// watch them arrive. Everything the operator reads is Italian.
import { AutografoClient } from "./autografo-client.js";

const $ = (sel) => document.querySelector(sel);
const wsURL = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/v1/ws";
const SESSION_KEY = "autografo.session";
let typedCode = null;

// Credentials for each connection, best first: the one-time token that
// `autografo open` put in the fragment (removed from the address bar at once,
// it works only once), a code typed by the operator, the session kept from
// an earlier pairing in this tab.
function credentials() {
  const m = location.hash.match(/pair=([A-Za-z0-9_-]+)/);
  if (m) {
    history.replaceState(null, "", location.pathname + location.search);
    return { pair: m[1] };
  }
  if (typedCode) {
    const code = typedCode;
    typedCode = null;
    return { code };
  }
  const session = sessionStorage.getItem(SESSION_KEY);
  return session ? { session } : {};
}

const client = new AutografoClient(wsURL, { credentials: async () => credentials() });

function showPairing(message) {
  sessionStorage.removeItem(SESSION_KEY);
  $("#workspace").hidden = true;
  $("#pairing").hidden = false;
  const el = $("#pair-error");
  el.textContent = message || "";
  el.hidden = !message;
  const c = $("#connection");
  c.textContent = "Non collegato";
  c.dataset.state = "closed";
}

function connect() {
  client.connect().catch((err) => {
    if (err.code === "unauthorized") {
      showPairing(sessionStorage.getItem(SESSION_KEY) || $("#pair-code").value ? err.message : "");
      return;
    }
    const el = $("#connection");
    el.textContent = "Autografo non raggiungibile";
    el.dataset.state = "closed";
    showError(err.message);
    $("#workspace").hidden = false;
  });
}

$("#pair-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  typedCode = $("#pair-code").value.trim();
  connect();
});

const state = { act: null, actKey: "", capture: null, pages: 0 };

const defaultSigners = ["sposo", "sposa", "testimone1", "testimone2", "ufficiale"];

// Nome and cognome are separate fields, as ANSC lists signers: Autografo
// never splits a full name.
function addSigner(role = "testimone1", nome = "", cognome = "") {
  const row = $("#signer-row").content.firstElementChild.cloneNode(true);
  row.querySelector(".role").value = role;
  row.querySelector(".nome").value = nome;
  row.querySelector(".cognome").value = cognome;
  row.querySelector(".remove").addEventListener("click", () => row.remove());
  $("#signers tbody").append(row);
}

function signers() {
  return [...document.querySelectorAll("#signers tbody tr")].map((tr) => ({
    role: tr.querySelector(".role").value,
    nome: tr.querySelector(".nome").value.trim(),
    cognome: tr.querySelector(".cognome").value.trim(),
  }));
}

function setStatus(text, st) {
  const el = $("#status");
  el.textContent = text;
  el.dataset.state = st;
}

function showError(message) {
  const el = $("#error");
  el.textContent = message;
  el.hidden = !message;
}

function setBusy(busy) {
  $("#acquire").disabled = busy || !$("#device").value;
  $("#cancel").hidden = !busy;
  $("#new-act").hidden = busy || !state.act;
  for (const el of document.querySelectorAll("#act-form fieldset")) el.disabled = busy;
}

function renderDevices(devices) {
  const sel = $("#device");
  const previous = sel.value;
  sel.replaceChildren();
  if (devices.length === 0) {
    sel.append(new Option("Nessuno scanner trovato", ""));
  }
  for (const d of devices) sel.append(new Option(d.name, d.id));
  if (devices.some((d) => d.id === previous)) sel.value = previous;
  setBusy(Boolean(state.capture));
}

function resetAct() {
  $("#document").hidden = true;
  showBlockers(null);
  $("#sheet").hidden = true;
  state.act = null;
  state.actKey = "";
  state.pages = 0;
  $("#pages").replaceChildren();
  clearSignatures();
  showError("");
  setStatus("Pronto. Inserire i fogli firmati e premere «Acquisisci».", "idle");
  $("#acquire").textContent = "Acquisisci";
  setBusy(false);
}

const kindNames = {
  matrimonio: "Matrimonio", unione_civile: "Unione civile", nascita: "Nascita", morte: "Morte",
  cittadinanza: "Cittadinanza", altro: "Altro",
};
const stateNames = {
  draft: "aperto", printed: "fogli stampati", capturing: "in acquisizione", captured: "acquisito",
  checked: "acquisito, firme da completare", ready: "pronto per ANSC", delivered: "in invio ad ANSC",
  confirmed: "accettato da ANSC", cancelled: "annullato",
};

function describe(desc) {
  return JSON.stringify(desc);
}

function formAct() {
  const desc = { kind: $("#kind").value, signers: signers() };
  if ($("#emergency").checked) {
    desc.emergency = true;
    desc.register = $("#register").value.trim();
    const when = $("#register-time").value;
    if (when) desc.registerTime = new Date(when).toISOString().replace(/\.\d{3}Z$/, "Z");
  }
  return desc;
}

async function refreshPending() {
  let acts;
  try {
    ({ acts } = await client.request("acts.list"));
  } catch {
    return; // view permission missing or disconnected: nothing to show
  }
  const list = $("#pending");
  list.replaceChildren();
  $("#pending-empty").hidden = acts.length > 0;
  for (const act of acts) {
    const li = document.createElement("li");
    li.dataset.act = act.id;
    const text = document.createElement("span");
    const when = new Date(act.created).toLocaleString("it-IT", { dateStyle: "short", timeStyle: "short" });
    text.textContent = `${kindNames[act.kind] || act.kind} · ${act.pages} ${act.pages === 1 ? "pagina" : "pagine"} · ${stateNames[act.state] || act.state} · ${when}`;
    if (act.emergency) {
      const em = document.createElement("span");
      em.className = "emergency";
      em.textContent = ` · Registro di emergenza n. ${act.register}`;
      text.append(em);
    }
    const btn = document.createElement("button");
    btn.type = "button";
    btn.className = "secondary resume";
    btn.textContent = act.id === state.act?.id ? "In lavorazione" : "Riprendi";
    btn.disabled = act.id === state.act?.id || Boolean(state.capture);
    btn.addEventListener("click", () => resumeAct(act));
    li.append(text, btn);
    list.append(li);
  }
}

// resumeAct takes up an act kept by Autografo: after a reload, a crash, or
// on the next day.
async function resumeAct(act) {
  showError("");
  $("#kind").value = act.kind;
  $("#signers tbody").replaceChildren();
  for (const s of act.signers || []) addSigner(s.role, s.nome || "", s.cognome || "");
  $("#emergency").checked = Boolean(act.emergency);
  $("#register").value = act.register || "";
  $("#register-label").hidden = !act.emergency;
  $("#register-time-label").hidden = !act.emergency;
  $("#pages").replaceChildren();
  clearSignatures();
  $("#document").hidden = true;
  showBlockers(null);
  state.act = act;
  state.actKey = describe(formAct());
  state.pages = 0;
  try {
    const { act: resumed } = await client.request("act.resume", { act: act.id });
    actChanged(resumed);
    const n = resumed.pages;
    setStatus(`Atto ripreso: ${n} ${n === 1 ? "pagina" : "pagine"} già acquisite.`, "done");
    $("#acquire").textContent = n > 0 ? "Acquisisci altre pagine" : "Acquisisci";
  } catch (err) {
    showError(err.message);
  }
  setBusy(false);
  refreshPending();
}

async function ensureAct() {
  const desc = formAct();
  const key = describe(desc);
  if (state.act && state.actKey === key) return state.act;
  if (state.act && state.pages > 0 && !confirm("I dati dell'atto sono cambiati: iniziare un nuovo atto?")) {
    return state.act;
  }
  $("#pages").replaceChildren();
  clearSignatures();
  $("#document").hidden = true;
  showBlockers(null);
  state.pages = 0;
  const { act } = await client.request("act.open", desc);
  state.act = act;
  state.actKey = key;
  return act;
}

$("#act-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  showError("");
  setBusy(true);
  try {
    const act = await ensureAct();
    const started = await client.request("capture.start", {
      act: act.id,
      device: $("#device").value,
      source: $("#source").value,
      dpi: Number($("#dpi").value),
      color: $("#color").value,
    });
    state.capture = started.capture;
    const bar = $("#progress");
    bar.hidden = false;
    bar.removeAttribute("value"); // indeterminate until bytes arrive
    setStatus("Acquisizione in corso…", "scanning");
  } catch (err) {
    state.capture = null;
    showError(err.message);
    setStatus("Acquisizione non avviata.", "failed");
    setBusy(false);
  }
});

$("#cancel").addEventListener("click", async () => {
  if (!state.capture) return;
  try {
    await client.request("capture.cancel", { capture: state.capture });
  } catch (err) {
    showError(err.message);
  }
});

$("#new-act").addEventListener("click", () => {
  resetAct();
  refreshPending();
});
$("#add-signer").addEventListener("click", () => addSigner());

client.addEventListener("open", (ev) => {
  if (ev.detail.session) sessionStorage.setItem(SESSION_KEY, ev.detail.session);
  $("#pairing").hidden = true;
  $("#workspace").hidden = false;
  $("#pair-code").value = "";
  $("#operator").textContent = ev.detail.operator;
  const el = $("#connection");
  el.textContent = "Collegato";
  el.dataset.state = "open";
  renderDevices(ev.detail.devices);
  refreshPending();
});

client.addEventListener("close", () => {
  if (client.refused) return; // the pairing panel says what to do
  const el = $("#connection");
  el.textContent = "Autografo non raggiungibile";
  el.dataset.state = "closed";
  if (state.capture) {
    showError("Collegamento con Autografo interrotto durante l'acquisizione. Le pagine già ricevute sono conservate da Autografo.");
    state.capture = null;
  }
  setBusy(false);
  $("#acquire").disabled = true;
});

client.addEventListener("devices.changed", (ev) => renderDevices(ev.detail.devices));

$("#emergency").addEventListener("change", () => {
  $("#register-label").hidden = !$("#emergency").checked;
  $("#register-time-label").hidden = !$("#emergency").checked;
  $("#register").required = $("#emergency").checked;
});

client.addEventListener("capture.progress", (ev) => {
  const p = ev.detail;
  if (p.capture !== state.capture) return;
  const bar = $("#progress");
  if (p.phase === "receiving" && p.total > 0) {
    bar.max = p.total;
    bar.value = p.bytes;
    setStatus(`Pagina ${p.page}: ricezione ${Math.round((100 * p.bytes) / p.total)}%`, "receiving");
  } else {
    bar.removeAttribute("value");
    setStatus(`Pagina ${p.page}: scansione in corso…`, "scanning");
  }
});

client.addEventListener("page.ready", (ev) => {
  const { page, data } = ev.detail;
  state.pages = Math.max(state.pages, page.index);
  const li = document.createElement("li");
  li.dataset.page = page.index;
  const img = document.createElement("img");
  img.alt = `Anteprima della pagina ${page.index}`;
  img.src = URL.createObjectURL(data);
  const caption = document.createElement("div");
  caption.textContent = `Pagina ${page.index}`;
  li.append(img, caption);
  $("#pages").append(li);
});

// The signature pipeline's verdicts, box by box: the officer sees before
// the signers leave whether every one of them signed.
const decisionText = { signed: "Firmato", empty: "Firma mancante", doubtful: "Da verificare" };
const signatures = new Map(); // "page/role" -> decision

const printedPages = new Map(); // act page index -> printed page (or error)

function clearSignatures() {
  signatures.clear();
  printedPages.clear();
  $("#printed-summary").hidden = true;
  $("#signature-list").replaceChildren();
  $("#signatures").hidden = true;
}

// A page printed with its code says which sheet it is; the officer sees
// which sheets are missing and which do not belong to this act.
function showPrinted(a) {
  printedPages.set(a.page, a.printed);
  const li = $(`#pages li[data-page="${a.page}"]`);
  if (li) {
    const caption = li.querySelector("div");
    if (a.printed.error) {
      caption.textContent = `Pagina ${a.page}: ${a.printed.error.message}`;
      li.dataset.printed = "error";
    } else {
      caption.textContent = `Pagina ${a.printed.page} di ${a.printed.pages}` +
        (a.printed.byOrder ? " (codice illeggibile: riconosciuta dall'ordine)" : "");
      caption.title = `Acquisizione n. ${a.page}`;
      li.dataset.printed = "ok";
    }
  }
  let total = 0;
  const seen = new Set();
  const twice = new Set();
  const problems = [];
  for (const [page, p] of printedPages) {
    if (p.error) problems.push(`pagina ${page}: ${p.error.message}`);
    else {
      total = p.pages;
      if (seen.has(p.page)) twice.add(p.page);
      seen.add(p.page);
    }
  }
  const missing = [];
  for (let i = 1; i <= total; i++) if (!seen.has(i)) missing.push(i);
  let text = total ? `Pagine riconosciute: ${seen.size} di ${total}.` : "";
  if (missing.length) text += ` ${missing.length === 1 ? "Manca la pagina" : "Mancano le pagine"} ${missing.join(", ")}.`;
  if (twice.size) text += ` Acquisite due volte: ${[...twice].join(", ")} (nel documento va l'ultima acquisizione).`;
  if (problems.length) text += ` Attenzione, ${problems.join("; ")}`;
  const el = $("#printed-summary");
  el.textContent = text.trim();
  el.dataset.state = missing.length || problems.length ? "missing" : "complete";
  el.hidden = false;
  $("#signatures").hidden = false;
}

$("#print-sheet").addEventListener("click", async () => {
  showError("");
  try {
    const act = await ensureAct();
    const ready = await client.request("sheet.print", { act: act.id });
    const link = $("#sheet-link");
    if (link.href) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(ready.data);
    link.download = ready.name;
    link.textContent = ready.name;
    $("#sheet").hidden = false;
  } catch (err) {
    showError(err.message);
  }
});

client.addEventListener("page.analysis", (ev) => {
  const a = ev.detail;
  if (!state.act || a.act !== state.act.id) return;
  if (a.printed) showPrinted(a);
  if (a.signatures.length === 0) return;
  for (const s of a.signatures) {
    const key = `${a.page}/${s.role}`;
    signatures.set(key, s);
    let li = $(`#signature-list li[data-key="${CSS.escape(key)}"]`);
    if (!li) {
      li = document.createElement("li");
      li.dataset.key = key;
      $("#signature-list").append(li);
    }
    li.dataset.role = s.role;
    li.dataset.decision = s.decision;
    const title = document.createElement("div");
    title.className = "who";
    title.textContent = `${s.label || s.role} · pagina ${a.page}`;
    const mark = document.createElement("div");
    mark.className = "mark";
    mark.textContent = decisionText[s.decision] || s.decision;
    const body = s.data ? document.createElement("img") : document.createElement("div");
    if (s.data) {
      body.src = URL.createObjectURL(s.data);
      body.alt = `Firma: ${s.label || s.role}`;
    } else {
      body.className = "blank";
      body.textContent = "Riquadro vuoto";
    }
    const why = document.createElement("div");
    why.className = "why";
    // The agent words its reasons in Italian (explanation); a code it
    // has no words for is shown as it is.
    why.textContent = (s.explanation && s.explanation.length ? s.explanation : s.reasons || []).join("; ");
    li.replaceChildren(title, body, mark, why);
  }
  const all = [...signatures.values()];
  const missing = all.filter((s) => s.decision === "empty").map((s) => s.label || s.role);
  const doubtful = all.filter((s) => s.decision === "doubtful").map((s) => s.label || s.role);
  let text = `Firme presenti: ${all.length - missing.length - doubtful.length} di ${all.length}.`;
  if (missing.length) text += ` Manca la firma di: ${missing.join(", ")}.`;
  if (doubtful.length) text += ` Da verificare: ${doubtful.join(", ")}.`;
  $("#signature-summary").textContent = text;
  $("#signature-summary").dataset.state = missing.length ? "missing" : doubtful.length ? "doubtful" : "complete";
  $("#signatures").hidden = false;
});

client.addEventListener("capture.done", (ev) => {
  if (ev.detail.capture !== state.capture) return;
  state.capture = null;
  const bar = $("#progress");
  bar.max = 1;
  bar.value = 1;
  const n = ev.detail.total;
  setStatus(`Acquisizione completata: ${n} ${n === 1 ? "pagina" : "pagine"}.`, "done");
  $("#acquire").textContent = "Acquisisci altre pagine";
  setBusy(false);
  refreshPending();
});

function endedEarly(ev) {
  if (ev.detail.capture !== state.capture) return;
  state.capture = null;
  $("#progress").hidden = true;
  if (ev.detail.error) showError(ev.detail.error.message);
  setStatus(`Acquisizione interrotta: ${state.pages} ${state.pages === 1 ? "pagina conservata" : "pagine conservate"}.`, "failed");
  $("#acquire").textContent = "Riprova";
  setBusy(false);
  refreshPending();
}
client.addEventListener("capture.failed", endedEarly);

// What keeps the act from being ready for ANSC, as the agent decided it.
function showBlockers(act) {
  const list = $("#blockers");
  list.replaceChildren();
  const blockers = act && act.state !== "draft" && act.state !== "printed" ? act.blockers || [] : [];
  for (const b of blockers) {
    const li = document.createElement("li");
    li.dataset.code = b.code;
    if (b.role) li.dataset.role = b.role;
    li.textContent = b.message;
    list.append(li);
  }
  $("#blockers-section").hidden = blockers.length === 0;
}

function actChanged(act) {
  if (!state.act || act.id !== state.act.id) return;
  state.act = { ...state.act, ...act };
  showBlockers(act);
  if (act.state !== "ready" && act.state !== "delivered" && act.state !== "confirmed") $("#document").hidden = true;
}

let pendingTimer = null;
client.addEventListener("act.changed", (ev) => {
  actChanged(ev.detail.act);
  clearTimeout(pendingTimer);
  pendingTimer = setTimeout(refreshPending, 300);
});

// The act is ready: its document is kept by the agent; the page fetches
// it to offer it.
client.addEventListener("document.ready", async (ev) => {
  const { act } = ev.detail;
  if (!state.act || act !== state.act.id) return;
  try {
    showDocument(await client.request("document.build", { act }));
  } catch (err) {
    showError(err.message);
  }
});

function showDocument(detail) {
  const { act, document: doc, data } = detail;
  if (!state.act || act !== state.act.id || !data) return;
  const link = $("#document-link");
  if (link.href) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(data);
  link.download = doc.name;
  link.textContent = doc.name;
  const kb = Math.round(doc.bytes / 1024);
  $("#document-info").textContent = `${doc.pages} ${doc.pages === 1 ? "pagina" : "pagine"}, ${kb} kB, SHA-256 ${doc.sha256.slice(0, 12)}…` +
    (doc.sealed ? ", sigillato" : "") +
    (doc.attested ? `, con attestazione di conformità firmata da ${doc.officer}` : "") +
    (doc.missingSheets ? `. Attenzione: nel documento mancano le pagine ${doc.missingSheets.join(", ")}` : "");
  $("#document").hidden = false;
}

client.addEventListener("document.failed", (ev) => {
  if (state.act && ev.detail.act === state.act.id) showError(ev.detail.error.message);
});

for (const role of defaultSigners) addSigner(role);
setBusy(false);
connect();
