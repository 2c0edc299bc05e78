// The reference act-drafting page, one act at a time. What it shows of an
// act comes from the agent's view of it and from events naming it: nothing
// of another act reaches the screen.
import { AutografoClient, REFUSED } from "./autografo.js";

const $ = (sel) => document.querySelector(sel);
const $$ = (sel) => document.querySelectorAll(sel);
const el = (tag, props = {}, ...children) => {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(props)) {
		if (k === "dataset") Object.assign(e.dataset, v);
		else if (k in e) e[k] = v;
		else e.setAttribute(k, v);
	}
	e.append(...children);
	return e;
};
// revoke frees the object URL of a page, signature, document or sheet.
const revoke = (x) => x?.url && URL.revokeObjectURL(x.url);
const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
const button = (textContent, onclick, props = {}, ...children) => {
	const b = el("button", { type: "button", className: "secondary small", textContent, ...props }, ...children);
	b.addEventListener("click", onclick);
	return b;
};

const wsURL = location.origin.replace(/^http/, "ws") + "/v1/ws";
const SESSION_KEY = "autografo.session";
const ACT_KEY = "autografo.act"; // the act this tab shows, across reloads
const DELIVERY_KEY = "autografo.delivery."; // + act id: the holder's token

// The kinds of act, the signers each asks for and the roles' names: the
// agent's, from its welcome (kind -> { name, roles, extra }; role -> name).
let KINDS = {};
let ROLE_NAMES = {};
const kindOf = (kind) => KINDS[kind] || KINDS.altro || { roles: [], extra: [] };
const kindName = (kind) => KINDS[kind]?.name || kind;
const STATE_NAMES = {
	draft: "aperto", printed: "fogli stampati", capturing: "in acquisizione", captured: "controllo delle firme",
	checked: "firme da completare", ready: "pronto per ANSC", delivered: "in invio ad ANSC",
	confirmed: "accettato da ANSC", cancelled: "annullato",
};
const stateName = (s) => STATE_NAMES[s] || s;
// The lifecycle's states as the steps the officer walks through.
const STEP_OF = {
	none: "atto", draft: "stampa", printed: "firme", capturing: "acquisizione", captured: "verifica",
	checked: "verifica", ready: "documento", delivered: "consegna", confirmed: "consegna", cancelled: "atto",
};
const STEPS = [...$$("#steps li")].map((li) => li.dataset.step);
const FIRST_STATUS = $("#status").textContent; // what to do on a new act
const SIGNER_TEXT = {
	signed: "Firmato", missing: "Firma mancante", doubtful: "Da verificare", unchecked: "Riquadro non trovato",
	unable: "Non può firmare", confirmed: "Firma verificata dall'ufficiale", pending: "In attesa delle pagine",
};
// The states in which the act's document exists and is shown.
const DONE = ["ready", "delivered", "confirmed"];
// Blockers that are news, not faults: shown as the status, not in red.
const QUIET_BLOCKERS = new Set(["blocker_no_pages", "blocker_analysis_pending"]);

// view is everything the page shows; each change of it ends in render().
const view = {
	conn: "connecting", // connecting, open, closed, pairing
	perms: new Set(),
	devices: [],
	act: null, // the agent's view of the act, or null for a new one
	replacing: null, // an act with no pages whose data the officer is correcting
	pages: new Map(), // index -> { info, url }
	analyses: new Map(), // index -> page.analysis, each signature with its url
	capture: null, // { id, page, phase, bytes, total } while the act captures
	outcome: null, // { text, state } of the last capture
	document: null, // { act, info, r006, eccezioni, url }
	sheet: null, // { act, name, url }
	notice: null, // { text, kind: "error" | "info" | "warning" }
	jammed: false,
	resumes: false, // the running capture carries on one that stopped early
	retake: 0, // the page the running capture replaces, from the glass
};

let typedCode = null;
function credentials() {
	// Best first: the one-time token `autografo open` put in the fragment
	// (out of the address bar at once), a code typed, this tab's session.
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

function notify(text, kind = "info") {
	view.notice = text ? { text, kind } : null;
	render();
}
const fail = (err) => notify(err.message || String(err), "error");
const busy = () => !!view.capture || view.act?.state === "capturing";
const isCurrent = (actId) => !!view.act && view.act.id === actId;

function roleOptions(kind, chosen) {
	const k = kindOf(kind);
	const roles = [...new Set([...k.roles, ...k.extra, chosen].filter(Boolean))];
	return roles.map((r) => new Option(ROLE_NAMES[r] || r, r, false, r === chosen));
}

let rowSeq = 0; // labels stay unique when rows are removed
function addSignerRow(role, nome = "", cognome = "") {
	const n = ++rowSeq;
	const input = (cls, ph, value) => el("input", { className: cls, maxLength: 100, placeholder: ph, value, "aria-label": `${ph} del firmatario ${n}` });
	const row = el("div", { className: "signer-row" },
		el("select", { className: "role", "aria-label": `Ruolo del firmatario ${n}` }, ...roleOptions($("#kind").value, role)),
		input("nome", "Nome", nome), input("cognome", "Cognome", cognome),
		button("✕", () => row.remove(), { className: "remove secondary small", "aria-label": `Rimuovi il firmatario ${n}`, title: "Rimuovi" }));
	$("#signers").append(row);
}

// fillForm shows an act's data, or the empty form of a kind.
function fillForm(kind, signers, emergency = false, register = "") {
	$("#kind").value = kind;
	$("#signers").replaceChildren();
	for (const s of signers) addSignerRow(s.role, s.nome || "", s.cognome || "");
	$("#emergency").checked = emergency;
	$("#register").value = register;
	$("#register-time").value = "";
}

function blankForm(kind = $("#kind").value) {
	fillForm(kind, kindOf(kind).roles.map((role) => ({ role })));
}

function formAct() {
	const signers = [...$$("#signers .signer-row")].map((row) => ({
		role: row.querySelector(".role").value,
		nome: row.querySelector(".nome").value.trim(),
		cognome: row.querySelector(".cognome").value.trim(),
	}));
	const desc = { kind: $("#kind").value, signers };
	if ($("#emergency").checked) {
		desc.emergency = true;
		desc.register = $("#register").value.trim();
		const when = $("#register-time").value;
		if (when) desc.registerTime = new Date(when).toISOString().replace(/\.\d{3}Z$/, "Z");
	}
	return desc;
}

function checkForm(desc) {
	const roles = desc.signers.map((s) => s.role);
	const twice = roles.find((r, i) => roles.indexOf(r) !== i);
	if (twice) return `Il ruolo «${ROLE_NAMES[twice] || twice}» compare due volte: sceglierne un altro.`;
	if (desc.signers.length === 0) return "Aggiungere almeno un firmatario.";
	if (desc.emergency && !desc.register) return "Indicare il numero nel registro di emergenza.";
	return "";
}

// ensureAct opens the act the form describes, once: the form then shows
// the act as the agent keeps it, and cannot drift from it.
async function ensureAct() {
	if (view.act) return view.act;
	const desc = formAct();
	const problem = checkForm(desc);
	if (problem) throw new Error(problem);
	const { act } = await client.request("act.open", desc);
	const old = view.replacing;
	view.replacing = null;
	showAct(act);
	if (old) {
		client.request("act.cancel", { act: old, reason: "Dati dell'atto corretti prima dell'acquisizione: sostituito da " + act.id })
			.catch(() => {}).finally(refreshPending);
	}
	return act;
}

// forget drops everything shown about the act on screen.
function forget() {
	view.pages.forEach(revoke);
	for (const a of view.analyses.values()) a.signatures.forEach(revoke);
	revoke(view.document);
	Object.assign(view, { pages: new Map(), analyses: new Map(), document: null, capture: null, outcome: null, notice: null });
}

function showAct(act) {
	if (!isCurrent(act.id)) {
		forget();
		if (view.sheet?.act !== act.id) view.sheet = null;
	}
	view.act = act;
	followCapture(act);
	sessionStorage.setItem(ACT_KEY, act.id);
	fillForm(act.kind, act.signers, act.emergency, act.register || "");
	render();
}

// followCapture takes the act's word on its capture (a reload, another tab).
function followCapture(act) {
	if (act.capture && !view.capture) view.capture = { id: act.capture, page: 0, phase: "scanning" };
	if (!act.capture && act.state !== "capturing") view.capture = null;
}

function newAct() {
	if (busy()) return;
	forget();
	Object.assign(view, { act: null, replacing: null, sheet: null });
	sessionStorage.removeItem(ACT_KEY);
	blankForm($("#kind").value);
	render();
	$("#signers .nome")?.focus();
	refreshPending();
}

// A printed act without pages can still be corrected: a new act takes its
// place and the old one is cancelled (its printed sheets no longer match).
function fixAct() {
	if (!view.act || view.act.pages > 0 || busy()) return;
	const act = view.act;
	view.act = null;
	view.replacing = act.id;
	view.sheet = null;
	sessionStorage.removeItem(ACT_KEY);
	notify("Correggere i dati: alla prossima stampa o acquisizione sarà aperto un nuovo atto, e quello di prima annullato. Ristampare i fogli.", "info");
	fillForm(act.kind, act.signers, act.emergency, act.register || "");
	render();
}

async function cancelAct() {
	if (!view.act || busy()) return;
	const reason = prompt("Motivo dell'annullamento dell'atto:");
	if (!reason || !reason.trim()) return;
	try {
		const { act } = await client.request("act.cancel", { act: view.act.id, reason: reason.trim() });
		if (isCurrent(act.id)) showAct(act);
		notify("Atto annullato.", "info");
	} catch (err) {
		fail(err);
	}
	refreshPending();
}

// resumeAct takes up a kept act with its pages, verdicts and document.
async function resumeAct(id, quiet = false) {
	if (busy() && !isCurrent(id)) return;
	try {
		forget();
		view.act = { id, kind: $("#kind").value, signers: [], pages: 0, state: "draft" }; // events for it are kept from now
		const { act } = await client.request("act.resume", { act: id });
		if (!isCurrent(id)) return;
		showAct(act);
		if (!quiet) view.outcome = { text: `Atto ripreso: ${plural(act.pages, "pagina già acquisita", "pagine già acquisite")}.`, state: "done" };
		await fetchDocument(act);
	} catch (err) {
		if (isCurrent(id)) {
			view.act = null;
			sessionStorage.removeItem(ACT_KEY);
		}
		fail(err);
	}
	render();
	refreshPending();
}

async function acquire(replace = 0) {
	if (busy() || view.conn !== "open") return;
	view.notice = null;
	try {
		const act = await ensureAct();
		// A retry after a jam or a stop carries on the same sheets; a new
		// capture after a complete one may be the same sheets again.
		view.resumes = ["failed", "stopped"].includes(view.outcome?.state);
		// Sheets expected, when known: the ones just printed, those not back, or the retake.
		const sheets = act.pages ? (act.missingSheets || []).length : view.sheet?.act === act.id ? view.sheet.pages : 0;
		const duplex = $("#source").value === "feeder" && $("#duplex").checked; // two pages a sheet
		const expect = replace ? 1 : sheets * (duplex ? 2 : 1);
		const started = await client.request("capture.start", {
			act: act.id, device: $("#device").value, source: $("#source").value,
			dpi: Number($("#dpi").value), color: $("#color").value, ...(replace ? { replace } : {}), duplex,
		});
		// act.changed came first: a capture already ended stays ended.
		if (isCurrent(act.id) && view.act.capture === started.capture) {
			view.capture ||= { id: started.capture, page: 0, phase: "scanning" };
			view.expect = expect;
			view.retake = replace;
			view.outcome = null;
			view.jammed = false;
		}
	} catch (err) {
		view.outcome = { text: "Acquisizione non avviata.", state: "failed" };
		fail(err);
	}
	render();
}

async function printSheets() {
	if (busy()) return;
	try {
		const act = await ensureAct();
		// ANSC's preview stamped with page codes, or Autografo's own sheet.
		const file = $("#preview").files[0];
		const body = { act: act.id };
		if (file) body.preview = await AutografoClient.toBase64(file);
		const ready = await client.request("sheet.print", body);
		if (!isCurrent(act.id)) return;
		revoke(view.sheet);
		view.sheet = { act: act.id, name: ready.name, url: URL.createObjectURL(ready.data), pages: ready.pages };
		notify(`Da stampare: ${plural(ready.pages, "foglio", "fogli")}, ${ready.name}.`, "info");
	} catch (err) {
		fail(err);
	}
}

function endCapture(msg, text, state) {
	if (!isCurrent(msg.act)) return;
	view.capture = view.expect = view.retake = null;
	view.outcome = { text, state };
	render();
	refreshPending();
}

client.addEventListener("capture.progress", (ev) => {
	const p = ev.detail;
	if (!isCurrent(p.act)) return;
	view.capture = { ...(view.capture || {}), id: p.capture, page: p.page, phase: p.phase, bytes: p.bytes, total: p.total };
	render();
});

client.addEventListener("capture.done", (ev) => {
	const d = ev.detail;
	if (d.pages === 0) {
		endCapture(d, "Nessun foglio acquisito: l'alimentatore è vuoto? Inserire i fogli e premere «Acquisisci».", "warning");
		return;
	}
	let text = `Acquisizione completata: ${plural(d.total, "pagina", "pagine")}.`;
	if (isCurrent(d.act) && view.retake) text = `Pagina ${view.retake} riacquisita dal vetro.`;
	else if (d.total > d.pages && !(isCurrent(d.act) && view.resumes)) {
		text = `${d.pages === 1 ? "Aggiunta" : "Aggiunte"} ${plural(d.pages, "pagina", "pagine")}: l'atto ne ha ora ${d.total}.`;
		if (!view.analyses.size || ![...view.analyses.values()].some((a) => a.printed)) {
			text += " Se sono fogli già acquisiti, le pagine sono doppie: controllarle qui sotto.";
		}
	}
	endCapture(d, text, "done");
});

client.addEventListener("capture.failed", (ev) => {
	const d = ev.detail;
	const kept = `Acquisizione interrotta: ${plural(view.act ? view.act.pages : d.pages, "pagina conservata", "pagine conservate")}.`;
	if (d.error.code === "canceled") {
		endCapture(d, kept, "stopped");
		return;
	}
	if (d.error.code === "no_documents" && d.pages === 0) {
		if (isCurrent(d.act)) view.notice = { text: d.error.message, kind: "warning" };
		endCapture(d, "Nessun foglio acquisito: inserire i fogli firmati nell'alimentatore e premere «Acquisisci».", "warning");
		return;
	}
	if (isCurrent(d.act)) {
		view.jammed = d.error.code === "paper_jam";
		view.notice = { text: d.error.message, kind: "error" };
	}
	endCapture(d, kept + " Premere «Riprova» per continuare.", "failed");
});

client.addEventListener("page.ready", (ev) => {
	const { act, page, data } = ev.detail;
	if (!isCurrent(act)) return;
	const old = view.pages.get(page.index);
	revoke(old);
	view.pages.set(page.index, { info: page, url: URL.createObjectURL(data) });
	render();
	schedulePending();
});

client.addEventListener("page.analysis", (ev) => {
	const a = ev.detail;
	if (!isCurrent(a.act)) return;
	const old = view.analyses.get(a.page);
	old?.signatures.forEach(revoke);
	for (const s of a.signatures) if (s.data) s.url = URL.createObjectURL(s.data);
	view.analyses.set(a.page, a);
	render();
});

client.addEventListener("act.changed", (ev) => {
	const act = ev.detail.act;
	if (isCurrent(act.id)) {
		const wasReady = view.act.state === "ready" && view.act.document?.sha256 === act.document?.sha256;
		view.act = act;
		followCapture(act);
		if (!DONE.includes(act.state) && view.document) {
			revoke(view.document);
			view.document = null;
		}
		render();
		if (!wasReady) fetchDocument(act);
	}
	schedulePending();
});

// fetchDocument gets a ready act's document, once, while it is shown.
async function fetchDocument(act) {
	if (!act.document || !DONE.includes(act.state)) return;
	if (view.document?.act === act.id && view.document.info.sha256 === act.document.sha256) return;
	if (!view.perms.has("export")) return;
	try {
		const d = await client.request("document.build", { act: act.id });
		if (!isCurrent(d.act) || !d.data) return;
		revoke(view.document);
		view.document = { act: d.act, info: d.document, r006: d.r006, eccezioni: d.eccezioni || [], url: URL.createObjectURL(d.data) };
		render();
	} catch (err) {
		if (isCurrent(act.id)) fail(err);
	}
}

client.addEventListener("document.failed", (ev) => {
	if (isCurrent(ev.detail.act)) fail(ev.detail.error);
});

function decide(type, role, reason) {
	if (view.act && reason.trim()) changeAct(type, { role, reason: reason.trim() });
}

async function turnPage(index) {
	const a = view.analyses.get(index);
	const turn = (effectiveTurn(a) + 90) % 360;
	try {
		await client.request("page.turn", { act: view.act.id, page: index, turn });
		if (a) {
			a.turn = turn;
			render();
		}
	} catch (err) {
		fail(err);
	}
}

// changeAct asks for a change of the act shown; true once done.
async function changeAct(type, body) {
	try {
		const { act } = await client.request(type, { act: view.act.id, ...body });
		if (isCurrent(act.id)) {
			view.act = act;
			render();
		}
		return true;
	} catch (err) {
		fail(err);
		return false;
	}
}

const movePage = (page, before) => changeAct("page.move", { page, before });

function removePage(page) {
	if (!confirm(`Togliere la pagina ${page} dall'atto? Resta conservata, ma non va nel documento.`)) return;
	changeAct("page.remove", { page, reason: "tolta dall'ufficiale: pagina doppia o non di questo atto" });
}

// retake scans one page again from the glass, in place of page index:
// the page whose box was left empty, once its signer has signed.
async function retake(index) {
	if (busy()) return;
	$("#source").value = "platen";
	await acquire(index);
}

async function zoomPage(index) {
	try {
		const { act, data } = await client.request("page.get", { act: view.act.id, page: index });
		if (!isCurrent(act)) return;
		const img = $("#page-dialog-img");
		if (img.src) URL.revokeObjectURL(img.src);
		img.src = URL.createObjectURL(data);
		img.alt = `Pagina ${index} a piena risoluzione`;
		$("#page-dialog-title").textContent = `Pagina ${index}`;
		$("#page-dialog").showModal();
	} catch (err) {
		fail(err);
	}
}

async function deliver() {
	try {
		const d = await client.request("act.deliver", { act: view.act.id });
		sessionStorage.setItem(DELIVERY_KEY + d.act.id, d.delivery);
		if (isCurrent(d.act.id)) {
			view.act = d.act;
			notify("Documento consegnato: caricarlo in ANSC, poi scriverne qui l'identificativo e premere «ANSC ha accettato il documento».");
		}
	} catch (err) {
		fail(err);
	}
}

async function endDelivery(type, body, done) {
	const id = view.act.id;
	const key = DELIVERY_KEY + id;
	if (await changeAct(type, { ...body, delivery: sessionStorage.getItem(key) || "" })) {
		sessionStorage.removeItem(key);
		notify(done);
	}
	refreshPending();
}

function confirmDelivery() {
	const attachment = $("#attachment").value.trim();
	if (!attachment) notify("Scrivere l'identificativo dell'allegato che ANSC ha restituito.", "warning");
	else endDelivery("act.confirm", { attachment }, "ANSC ha accettato il documento: l'atto è concluso.");
}

const releaseDelivery = () => endDelivery("act.release", { reason: "invio ad ANSC non riuscito" },
	"Il documento è di nuovo pronto: riprovare l'invio quando ANSC risponde.");

let pendingTimer = null;
function schedulePending() {
	clearTimeout(pendingTimer);
	pendingTimer = setTimeout(refreshPending, 300);
}

// signerNames names an act by its parties, as the officer knows it.
function signerNames(act) {
	const named = (act.signers || []).filter((s) => s.nome || s.cognome);
	const parties = named.filter((s) => !/^(testimone|interprete|ufficiale)/.test(s.role));
	return (parties.length ? parties : named).slice(0, 2).map((s) => `${s.nome || ""} ${s.cognome || ""}`.trim()).join(" e ");
}

async function refreshPending() {
	if (view.conn !== "open") return;
	let acts;
	try {
		({ acts } = await client.request("acts.list"));
	} catch {
		return; // no view permission, or disconnected: nothing to list
	}
	// An act opened and left with nothing in it is not pending work.
	acts = acts.filter((a) => !["confirmed", "cancelled", "purged", "deleted"].includes(a.state) &&
		(a.pages > 0 || a.state !== "draft" || isCurrent(a.id)));
	// Emergency-register acts first, in register order: they go to ANSC so.
	acts.sort((x, y) => (y.emergency - x.emergency) || (x.registerTime || x.created).localeCompare(y.registerTime || y.created));
	const list = $("#pending");
	list.replaceChildren();
	$("#pending-empty").hidden = acts.length > 0;
	for (const act of acts) {
		const when = new Date(act.created).toLocaleString("it-IT", { dateStyle: "short", timeStyle: "short" });
		const who = signerNames(act) || "firmatari senza nome";
		const text = el("span", { className: "what" },
			el("strong", { textContent: `${kindName(act.kind)}: ${who}` }),
			` · ${plural(act.pages, "pagina", "pagine")} · ${stateName(act.state)} · ${when}`);
		if (act.emergency) text.append(el("span", { className: "emergency", textContent: ` · Registro di emergenza n. ${act.register}` }));
		const current = isCurrent(act.id);
		list.append(el("li", { dataset: { act: act.id, state: act.state } }, text,
			button(current ? "Aperto" : "Apri", () => resumeAct(act.id), { className: "secondary small resume",
				disabled: current || busy(), "aria-label": current ? `Atto aperto: ${who}` : `Apri l'atto di ${who}` })));
	}
}

// effectiveTurn is the page's turn in the document.
const effectiveTurn = (a) => (!a ? 0 : a.turn >= 0 ? a.turn : a.upright || 0);

function render() {
	renderHeader();
	renderBanner();
	renderForm();
	renderScan();
	renderDocument();
	renderVerdicts();
	renderPages();
}

function renderHeader() {
	const act = view.act;
	const state = act ? act.state : "none";
	$("#act-name").textContent = act
		? `${kindName(act.kind)}${signerNames(act) ? ": " + signerNames(act) : ""}`
		: view.replacing ? "Correzione dei dati dell'atto" : "Nuovo atto";
	const st = $("#act-state");
	st.textContent = act ? stateName(act.state) : "";
	st.dataset.state = state;
	const current = STEP_OF[state] || "atto";
	const at = STEPS.indexOf(current);
	$$("#steps li").forEach((li, i) => {
		li.dataset.status = state === "confirmed" || i < at ? "done" : i === at ? "current" : "todo";
		if (i === at) li.setAttribute("aria-current", "step");
		else li.removeAttribute("aria-current");
	});
	const c = $("#connection");
	c.dataset.state = view.conn;
	c.textContent = { connecting: "Collegamento…", open: "Collegato", closed: "Autografo non raggiungibile", pairing: "Da collegare" }[view.conn];
}

// The banner is what keeps the act from ANSC, at the top of the page: a
// missing signature can never sit below the fold.
function renderBanner() {
	const act = view.act;
	const blockers = act && ["captured", "checked", "capturing"].includes(act.state) && act.pages > 0
		? (act.blockers || []).filter((b) => !QUIET_BLOCKERS.has(b.code)) : [];
	const banner = $("#banner");
	banner.hidden = blockers.length === 0;
	banner.dataset.kind = "blocked";
	$("#banner-title").textContent = blockers.length ? "Non ancora pronto per ANSC:" : "";
	$("#banner-list").replaceChildren(...blockers.map((b) => el("li", { textContent: b.message, dataset: { code: b.code, role: b.role || "" } })));
	const n = $("#notice");
	n.hidden = !view.notice;
	if (view.notice) {
		n.textContent = view.notice.text;
		n.dataset.kind = view.notice.kind;
	}
}

function renderForm() {
	const locked = !!view.act || busy() || view.conn !== "open";
	for (const c of $("#act-form").querySelectorAll("input, select, button")) c.disabled = locked;
	$("#add-signer").disabled = locked;
	$("#register-fields").hidden = !$("#emergency").checked;
	const act = view.act;
	$("#new-act").disabled = $("#fix-act").disabled = $("#cancel-act").disabled = busy();
	$("#fix-act").hidden = !act || act.pages > 0 || !["draft", "printed"].includes(act.state);
	$("#cancel-act").hidden = !act || !["draft", "printed", "captured", "checked", "ready"].includes(act.state);
	for (const b of $$("#pending button.resume")) {
		b.disabled = isCurrent(b.closest("li").dataset.act) || busy();
	}
}

function renderScan() {
	const act = view.act;
	const open = view.conn === "open";
	const capturing = busy();
	const device = $("#device").value;
	const ds = $("#device-state");
	const present = view.devices.some((d) => d.id === device);
	ds.dataset.state = !present ? "gone" : capturing ? "busy" : view.jammed ? "jam" : "ready";
	ds.textContent = !present ? "scollegato" : capturing ? "occupato" : view.jammed ? "carta inceppata" : "pronto";
	for (const id of ["#device", "#source", "#duplex", "#dpi", "#color"]) $(id).disabled = capturing || !open;
	const closed = act && !["draft", "printed", "captured", "checked", "ready"].includes(act.state) && act.state !== "capturing";
	$("#acquire").disabled = capturing || !open || !present || closed;
	$("#acquire").textContent = view.outcome?.state === "failed" ? "Riprova" : act && act.pages > 0 ? "Acquisisci altre pagine" : "Acquisisci";
	$("#cancel").hidden = !capturing;
	$("#cancel").disabled = !view.capture?.id || !open;
	$("#print-sheet").disabled = capturing || !open || (act && !["draft", "printed"].includes(act.state));
	$("#preview").disabled = $("#print-sheet").disabled;
	const link = $("#sheet-link");
	link.hidden = !(view.sheet && isCurrent(view.sheet.act));
	if (!link.hidden) {
		link.href = view.sheet.url;
		link.download = view.sheet.name;
		link.textContent = view.sheet.name;
	}
	const status = $("#status");
	const bar = $("#progress");
	bar.hidden = !capturing;
	const all = $("#act-progress");
	all.hidden = !capturing || !view.expect;
	// What the status line says, and its state.
	let said;
	if (!open) {
		said = [view.conn === "pairing" ? "Pagina non collegata ad Autografo." : "Autografo non raggiungibile: nuovo tentativo automatico…", "offline"];
	} else if (capturing) {
		const c = view.capture || {};
		const page = `Pagina ${c.page}${view.expect ? " di " + view.expect : ""}`;
		const part = c.phase === "receiving" && c.total > 0 ? c.bytes / c.total : 0;
		all.max = view.expect || 1;
		all.value = Math.min(all.max, Math.max(0, (c.page || 1) - 1) + part);
		if (part) {
			bar.max = c.total;
			bar.value = c.bytes;
			said = [`${page}: ricezione ${Math.round(100 * part)}%`, "receiving"];
		} else {
			bar.removeAttribute("value");
			said = [c.page ? `${page}: scansione in corso…` : "Acquisizione in corso…", "scanning"];
		}
	} else if (view.outcome) {
		said = [view.outcome.text, view.outcome.state];
	} else if (act && (act.blockers || []).some((b) => b.code === "blocker_analysis_pending")) {
		said = ["Controllo delle firme in corso…", "checking"];
	} else if (act?.interrupted && !DONE.includes(act.state)) {
		said = [act.interrupted.message, "stopped"];
	} else if (act) {
		said = [act.state === "printed" ? "Fogli stampati: farli firmare, poi inserirli nello scanner e premere «Acquisisci»."
			: act.state === "draft" ? "Atto aperto: stampare i fogli da firmare, o acquisire quelli già firmati."
			: `Atto ${stateName(act.state)}: ${plural(act.pages, "pagina", "pagine")}.`, "idle"];
	} else {
		said = [FIRST_STATUS, "idle"];
	}
	[status.textContent, status.dataset.state] = said;
}

function renderDocument() {
	const act = view.act;
	const d = view.document;
	const shown = Boolean(act && d && d.act === act.id && DONE.includes(act.state));
	$("#document-panel").hidden = !shown;
	if (!shown) return;
	const badge = $("#document-badge");
	badge.dataset.state = act.state;
	badge.textContent = STATE_NAMES[act.state].replace(/^./, (c) => c.toUpperCase());
	const link = $("#document-link");
	link.href = d.url;
	link.download = d.info.name;
	link.textContent = d.info.name;
	const kb = Math.round(d.info.bytes / 1024);
	$("#document-info").textContent = `${plural(d.info.pages, "pagina", "pagine")}, ${kb} kB, SHA-256 ${d.info.sha256.slice(0, 12)}…` +
		(d.info.sealed ? ", sigillato" : "") +
		(d.info.attested ? `, con attestazione di conformità firmata da ${d.info.officer}` : "");
	const fields = { ...d.r006 };
	if (d.eccezioni.length) fields.eccezioni = d.eccezioni;
	$("#r006-fields").textContent = JSON.stringify(fields, null, 2);
	const holder = !!sessionStorage.getItem(DELIVERY_KEY + act.id);
	$("#deliver").hidden = $("#deliver-hint").hidden = act.state !== "ready";
	for (const id of ["#attachment-label", "#confirm", "#release"]) $(id).hidden = !(act.state === "delivered" && holder);
}

function renderVerdicts() {
	const act = view.act;
	const panel = $("#verify-panel");
	const analysed = [...view.analyses.values()].some((a) => a.signatures.length);
	panel.hidden = !act || (act.pages === 0 && !analysed);
	if (panel.hidden) {
		$("#signature-list").replaceChildren();
		verdictsKey = "";
		return;
	}
	const crops = new Map(); // role -> [{page, signature}]
	const gone = new Set(act.removed || []);
	for (const [page, a] of [...view.analyses].sort((x, y) => x[0] - y[0])) {
		if (gone.has(page)) continue;
		for (const s of a.signatures) {
			if (!crops.has(s.role)) crops.set(s.role, []);
			crops.get(s.role).push({ page, s });
		}
	}
	const counts = {};
	const cards = act.signers.map((s) => {
		counts[s.status] = (counts[s.status] || 0) + 1;
		const who = s.display || ROLE_NAMES[s.role] || s.role;
		// One click: the signer signs now, the page goes on the glass.
		const retakes = (crops.get(s.role) || []).filter(({ s: sig }) => sig.decision !== "signed")
			.map(({ page }) => button(`Riacquisisci la pagina ${page} dal vetro`, () => retake(page), { className: "retake" }));
		const boxes = (crops.get(s.role) || []).map(({ page, s: sig }) => el("figure", { dataset: { decision: sig.decision } },
			sig.url ? el("img", { src: sig.url, alt: `Firma di ${who}, pagina ${page}` }) : el("div", { className: "blank", textContent: "Riquadro vuoto" }),
			el("figcaption", { textContent: `pagina ${page}` + (sig.decision === "doubtful" && sig.explanation?.length ? ": " + sig.explanation.join("; ") : "") })));
		const status = el("div", { className: "mark", textContent: SIGNER_TEXT[s.status] || s.status });
		const why = el("div", { className: "why" });
		if (s.unable) why.textContent = `Motivo: ${s.unable.reason} (${s.unable.by})`;
		else if (s.override) why.textContent = `Verificata a vista: ${s.override.reason} (${s.override.by})`;
		else if (s.status === "missing") why.textContent = `Il riquadro è vuoto: far firmare, poi premere «${retakes[0]?.textContent}»; o decidere qui sotto.`;
		else if (s.status === "unchecked") why.textContent = "Il riquadro non è stato trovato nelle pagine: controllare a vista.";
		const card = el("li", { dataset: { role: s.role, status: s.status } }, el("div", { className: "who", textContent: who }), ...boxes, status, why);
		if (["missing", "doubtful", "unchecked"].includes(s.status) && !busy()) {
			card.append(...retakes, decisionForm(s, who));
		}
		return card;
	});
	// Rebuilt only when it changed: a reason being typed keeps its focus.
	const key = JSON.stringify([act.id, act.signers, [...crops].map(([r, l]) => [r, l.map((c) => [c.page, c.s.decision, c.s.url])]), busy()]);
	if (key !== verdictsKey) {
		verdictsKey = key;
		$("#signature-list").replaceChildren(...cards);
	}
	const total = act.signers.length;
	const done = (counts.signed || 0) + (counts.confirmed || 0) + (counts.unable || 0);
	let text = counts.pending ? "Controllo delle firme in corso…" : `Firme a posto: ${done} di ${total}.`;
	const missing = act.signers.filter((s) => s.status === "missing").map((s) => s.display);
	const doubtful = act.signers.filter((s) => ["doubtful", "unchecked"].includes(s.status)).map((s) => s.display);
	if (missing.length) text += ` Firma mancante: ${missing.join(", ")}.`;
	if (doubtful.length) text += ` Da verificare: ${doubtful.join(", ")}.`;
	const sum = $("#signature-summary");
	sum.textContent = text;
	sum.dataset.state = missing.length ? "missing" : doubtful.length ? "doubtful" : counts.pending ? "pending" : "complete";
}

let verdictsKey = "";

function decisionForm(s, who) {
	const id = `reason-${s.role}`;
	const reason = el("input", { id, maxLength: 200, placeholder: "es. firma presente, tratto leggero" });
	const ok = button("Firma presente", () => decide("signature.override", s.role, reason.value), { className: "secondary small override" });
	const unable = button("Non può firmare", () => decide("signer.unable", s.role, reason.value), { className: "secondary small unable" });
	const sync = () => { ok.disabled = unable.disabled = !reason.value.trim(); };
	reason.addEventListener("input", sync);
	sync();
	return el("div", { className: "decide" },
		el("label", { htmlFor: id, textContent: `Decisione dell'ufficiale su ${who}: motivo` }), reason, el("div", { className: "row" }, ok, unable));
}

let pagesKey = "";

function renderPages() {
	const act = view.act;
	const panel = $("#pages-panel");
	panel.hidden = !act || view.pages.size === 0;
	if (panel.hidden) {
		$("#pages").replaceChildren();
		pagesKey = "";
		return;
	}
	const removed = new Set(act.removed || []);
	const order = (act.order || []).filter((i) => view.pages.has(i));
	const inDoc = new Set(order);
	// The document's pages in its order, then the pages left out of it.
	const all = [...order, ...[...view.pages.keys()].filter((i) => !inDoc.has(i)).sort((x, y) => x - y)];
	$("#pages-count").textContent = order.length ? `(nel documento: ${order.length})` : "";
	// Printed sheets: which came back, which twice, which not at all.
	const seen = new Map(); // printed page -> act pages
	let sheets = 0;
	const foreign = [];
	for (const [index, a] of [...view.analyses].sort((x, y) => x[0] - y[0])) {
		if (!a.printed || removed.has(index)) continue;
		if (a.printed.error) foreign.push(`pagina ${index}: ${a.printed.error.message}`);
		else {
			sheets = a.printed.pages;
			seen.set(a.printed.page, [...(seen.get(a.printed.page) || []), index]);
		}
	}
	const editable = !busy() && ["captured", "checked", "ready"].includes(act.state);
	const tool = (label, aria, onclick, disabled = !editable) => button(label, onclick, { "aria-label": aria, disabled });
	const items = all.map((index, at) => {
		const p = view.pages.get(index);
		const a = view.analyses.get(index);
		const img = el("img", { src: p.url, alt: `Anteprima della pagina ${index}` });
		const turn = effectiveTurn(a);
		img.style.transform = turn ? `rotate(${turn}deg)` : "";
		const zoom = button("", () => zoomPage(index), { className: "thumb", "aria-label": `Ingrandisci la pagina ${index}` }, img);
		let caption = `Pagina ${index}`;
		let flag = "";
		if (removed.has(index)) {
			const by = [...view.pages.values()].find((q) => q.info.replaces === index);
			caption += by ? `: riacquisita, sostituita dalla pagina ${by.info.index}` : ": tolta dall'atto";
			flag = "removed";
		} else if (a?.printed?.error) {
			caption += `: ${a.printed.error.message}`;
			flag = "error";
		} else if (a?.printed) {
			caption = `Foglio ${a.printed.page} di ${a.printed.pages}` + (a.printed.byOrder ? " (codice illeggibile: riconosciuto dall'ordine)" : "");
			const copies = seen.get(a.printed.page) || [];
			if (copies.length > 1 && copies[copies.length - 1] !== index) {
				caption += ": acquisito di nuovo, vale l'ultima acquisizione";
				flag = "duplicate";
			}
		} else if (!inDoc.has(index) && !/^captur/.test(act.state)) {
			caption += p.info.back && a?.blank?.blank ? ": retro vuoto, non incluso" : ": fuori dal documento";
			flag = "removed";
		} else if (p.info.fit == "area") caption += ": misura inattesa, controllare che sia intera";
		else if (a?.blank?.blank) caption += ": pagina vuota";
		const li = el("li", { dataset: { page: index, printed: flag || (a?.printed ? "ok" : "") } }, zoom,
			el("div", { className: "caption", textContent: caption, title: `Acquisizione n. ${index}` }));
		if (removed.has(index)) return li;
		if (a && a.turn < 0 && !a.orientationTrusted) {
			li.append(el("div", { className: "doubt", textContent: "Verso incerto: ruotare se la pagina non è diritta" }));
		}
		const tools = el("div", { className: "tools" }, tool("↻", `Ruota la pagina ${index}`, () => turnPage(index)));
		// Pages with a code stand where it says; the others can be moved.
		if (inDoc.has(index) && !(a?.printed && !a.printed.error)) {
			const pos = order.indexOf(index);
			tools.append(tool("←", `Sposta prima la pagina ${index}`, () => movePage(index, order[pos - 1]), !editable || pos === 0),
				tool("→", `Sposta dopo la pagina ${index}`, () => movePage(index, order[pos + 2] || 0), !editable || pos === order.length - 1));
		}
		tools.append(tool("Riacquisisci", `Riacquisisci dal vetro la pagina ${index}`, () => retake(index)),
			tool("✕", `Togli la pagina ${index} dall'atto`, () => removePage(index)));
		li.append(tools);
		return li;
	});
	const key = JSON.stringify([act.id, act.state, act.order, act.removed, busy(), [...view.pages.keys()], [...view.analyses].map(([i, a]) => [i, a.turn, a.printed])]);
	if (key !== pagesKey) {
		pagesKey = key;
		$("#pages").replaceChildren(...items);
	}
	const sum = $("#printed-summary");
	sum.hidden = sheets === 0 && foreign.length === 0;
	if (!sum.hidden) {
		const missing = [];
		for (let i = 1; i <= sheets; i++) if (!seen.has(i)) missing.push(i);
		const twice = [...seen].filter(([, v]) => v.length > 1).map(([k]) => k);
		let text = sheets ? `Fogli riconosciuti: ${seen.size} di ${sheets}.` : "";
		if (missing.length) text += ` ${missing.length === 1 ? "Manca il foglio" : "Mancano i fogli"} ${missing.join(", ")}.`;
		if (twice.length) text += ` Acquisiti due volte: ${twice.join(", ")} (nel documento va l'ultima acquisizione).`;
		if (foreign.length) text += ` Attenzione, ${foreign.join("; ")}.`;
		sum.textContent = text.trim();
		sum.dataset.state = missing.length || foreign.length ? "missing" : "complete";
	}
}

function renderDevices() {
	const sel = $("#device");
	const previous = sel.value;
	sel.replaceChildren(...(view.devices.length ? view.devices.map((d) => new Option(d.name, d.id)) : [new Option("Nessuno scanner trovato", "")]));
	if (view.devices.some((d) => d.id === previous)) sel.value = previous;
	else if (previous && busy()) {
		// The device of a running capture went away: keep naming it.
		sel.append(new Option("Scanner scollegato", previous));
		sel.value = previous;
	}
	render();
}

function showPairing(message) {
	view.conn = "pairing";
	sessionStorage.removeItem(SESSION_KEY);
	$("#workspace").hidden = true;
	$("#pairing").hidden = false;
	const e = $("#pair-error");
	e.textContent = message || "";
	e.hidden = !message;
	render();
	$("#pair-code").focus();
}

client.addEventListener("open", (ev) => {
	const w = ev.detail;
	if (w.session) sessionStorage.setItem(SESSION_KEY, w.session);
	view.conn = "open";
	view.perms = new Set(w.permissions || []);
	view.devices = w.devices || [];
	$("#pairing").hidden = true;
	$("#workspace").hidden = false;
	$("#pair-code").value = "";
	$("#operator").textContent = w.operator;
	if (!$("#kind").options.length) {
		KINDS = Object.fromEntries(w.kinds.map((k) => [k.kind, k]));
		ROLE_NAMES = Object.fromEntries(w.roles.map((r) => [r.role, r.name]));
		$("#kind").replaceChildren(...w.kinds.map((k) => new Option(k.name, k.kind)));
		blankForm("matrimonio");
	}
	if (view.notice?.kind === "error" && /collegamento|raggiungibile/i.test(view.notice.text)) view.notice = null;
	renderDevices();
	// Take up the act this tab showed (a reload, a restart, a lost
	// connection): the agent kept its pages, verdicts and capture.
	const id = view.act?.id || sessionStorage.getItem(ACT_KEY);
	if (id) resumeAct(id, true);
	else refreshPending();
});

client.addEventListener("close", () => {
	if (view.conn === "pairing") return;
	view.conn = "closed";
	render();
});

// A refused hello, also on a reconnection (the agent restarted and forgot
// the session): a new code, typed in the page.
client.addEventListener("refused", (ev) => {
	const hadSession = !!sessionStorage.getItem(SESSION_KEY);
	showPairing(hadSession ? "Autografo è stato riavviato o la sessione è scaduta: digitare un nuovo codice di abbinamento." : typedCodeWasTried ? ev.detail.message : "");
});
let typedCodeWasTried = false;

client.addEventListener("devices.changed", (ev) => {
	view.devices = ev.detail.devices;
	renderDevices();
});

function connect() {
	client.connect().catch((err) => {
		if (REFUSED.test(err.code)) return; // the refused event shows the pairing panel
		view.conn = "closed";
		$("#workspace").hidden = false;
		render();
	});
}

$("#pair-form").addEventListener("submit", (ev) => {
	ev.preventDefault();
	typedCode = $("#pair-code").value.trim();
	typedCodeWasTried = true;
	client.reconnectNow();
});

// A new link from `autografo open` pasted into this tab.
window.addEventListener("hashchange", () => {
	if (/pair=/.test(location.hash)) client.reconnectNow();
});

// Enter in a field of the act never starts a scan.
$("#act-form").addEventListener("submit", (ev) => ev.preventDefault());
$("#act-form").addEventListener("keydown", (ev) => {
	if (ev.key === "Enter" && ev.target.tagName === "INPUT" && ev.target.type !== "checkbox") ev.preventDefault();
});
$("#kind").addEventListener("change", () => {
	if (!view.act) blankFormKeepingNames($("#kind").value);
});
$("#emergency").addEventListener("change", () => render());
$("#add-signer").addEventListener("click", () => {
	const k = kindOf($("#kind").value);
	const used = new Set([...$$("#signers .role")].map((s) => s.value));
	addSignerRow([...k.roles, ...k.extra].find((r) => !used.has(r)) || k.extra[0]);
});
$("#device").addEventListener("change", () => render());
$("#cancel").addEventListener("click", async () => {
	if (!view.capture?.id) return;
	try {
		await client.request("capture.cancel", { capture: view.capture.id });
	} catch (err) {
		fail(err);
	}
});
const clicks = { acquire: () => acquire(), "print-sheet": printSheets, "new-act": newAct, "fix-act": fixAct,
	"cancel-act": cancelAct, deliver, confirm: confirmDelivery, release: releaseDelivery };
for (const [id, f] of Object.entries(clicks)) $("#" + id).addEventListener("click", f);
$("#copy-r006").addEventListener("click", async () => {
	try {
		await navigator.clipboard.writeText($("#r006-fields").textContent);
		notify("Campi per ANSC copiati.", "info");
	} catch {
		notify("Copia non riuscita: selezionare il testo dei campi e copiarlo a mano.", "warning");
	}
});

// A new kind gives its roles, keeping the names typed for those it shares.
function blankFormKeepingNames(kind) {
	const typed = new Map([...$$("#signers .signer-row")].map((row) => [row.querySelector(".role").value,
		{ nome: row.querySelector(".nome").value, cognome: row.querySelector(".cognome").value }]));
	fillForm(kind, kindOf(kind).roles.map((role) => ({ role, ...(typed.get(role) || {}) })), $("#emergency").checked, $("#register").value);
	render();
}

render();
connect();
