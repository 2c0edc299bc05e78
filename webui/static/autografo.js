// Autografo's client module: the browser side of its protocol (version 2),
// no dependencies. The API: autografo.d.ts; a guide: docs/CLIENT.md.
// Images and documents arrive as binary frames, each announced by the text
// message before it; the client joins the two (detail.data is a Blob).

export const PROTOCOL_VERSION = 2;
// The codes of a refused hello: credentials wrong, or codes locked a while.
export const REFUSED = /^(unauthorized|pairing_locked)$/;

export class AutografoError extends Error {
	constructor(code, message) {
		super(message);
		this.name = "AutografoError";
		this.code = code;
	}
}

export class AutografoClient extends EventTarget {
	constructor(url, { reconnect = true, credentials = async () => ({}) } = {}) {
		super();
		this.url = url;
		this.reconnect = reconnect;
		this.credentials = credentials;
		this.ws = null;
		this.nextId = 1;
		this.pending = new Map(); // request id -> {resolve, reject, msg}
		this.blobWaiters = new Map(); // blob id -> message waiting for its bytes
		this.closedByUser = false;
		this.backoff = 500;
	}

	// connect opens the socket and says hello with the credentials; it
	// resolves with the welcome. A refused hello (REFUSED)
	// dispatches "refused" and stops the automatic reconnection until
	// connect or reconnectNow is called again.
	connect() {
		this.closedByUser = false;
		this.refused = false;
		clearTimeout(this.timer);
		return new Promise((resolve, reject) => {
			const ws = new WebSocket(this.url);
			ws.binaryType = "arraybuffer";
			this.ws = ws;
			let opened = false;
			ws.onopen = async () => {
				opened = true;
				this.backoff = 500;
				try {
					const creds = await this.credentials();
					const welcome = await this.request("hello", { ...creds, versions: [PROTOCOL_VERSION], client: "autografo.js" });
					this.dispatchEvent(new CustomEvent("open", { detail: welcome }));
					resolve(welcome);
				} catch (err) {
					if (REFUSED.test(err.code)) {
						// Also on a reconnection (the agent restarted, a token was
						// spent): the page asks for new credentials, then reconnectNow.
						this.refused = true;
						this.dispatchEvent(new CustomEvent("refused", { detail: err }));
					}
					reject(err);
				}
			};
			ws.onmessage = (ev) => this.#onMessage(ev.data);
			ws.onclose = (ev) => {
				this.#dropPending();
				this.dispatchEvent(new CustomEvent("close", { detail: { code: ev.code, reason: ev.reason } }));
				if (!opened) reject(new AutografoError("unreachable", "Autografo non risponde: verificare che sia avviato."));
				if (this.reconnect && !this.closedByUser && !this.refused) {
					const wait = this.backoff;
					this.backoff = Math.min(this.backoff * 2, 10000);
					this.timer = setTimeout(() => this.connect().catch(() => {}), wait);
				}
			};
		});
	}

	close() {
		this.closedByUser = true;
		clearTimeout(this.timer);
		if (this.ws) this.ws.close();
	}

	// reconnectNow drops the connection, if any, and connects again at once
	// with fresh credentials: after a new pairing code or link.
	reconnectNow() {
		const old = this.ws;
		if (old && old.readyState <= WebSocket.OPEN) {
			this.closedByUser = true; // its close must not schedule another attempt
			old.onclose = null;
			old.close();
			this.#dropPending();
		}
		this.backoff = 500;
		return this.connect().catch(() => {});
	}

	// request sends a message and resolves with the reply of the same id, or
	// rejects with an AutografoError carrying the code and Italian message.
	request(type, body = {}) {
		const id = String(this.nextId++);
		return new Promise((resolve, reject) => {
			if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
				reject(new AutografoError("disconnected", "Autografo non è collegato."));
				return;
			}
			this.pending.set(id, { resolve, reject });
			this.ws.send(JSON.stringify({ ...body, type, id }));
		});
	}

	#dropPending() {
		for (const [, p] of this.pending) p.reject(new AutografoError("disconnected", "Collegamento con Autografo interrotto."));
		this.pending.clear();
		this.blobWaiters.clear();
	}

	#onMessage(data) {
		if (data instanceof ArrayBuffer) {
			this.#onBlob(data);
			return;
		}
		let msg;
		try {
			msg = JSON.parse(data);
		} catch {
			return;
		}
		if (msg.type === "page.analysis") {
			// Each signature's image follows as its own binary frame; the message
			// is delivered when all have arrived, each as signatures[i].data.
			const waiting = msg.signatures.filter((s) => s.blob);
			if (waiting.length > 0) {
				const group = { msg, left: waiting.length };
				for (const s of waiting) this.blobWaiters.set(s.blob, { group, signature: s });
				return;
			}
		}
		const blobId = msg.type === "page.ready" ? msg.preview
			: ["page", "document.ready", "sheet.ready", "act.delivered"].includes(msg.type) ? msg.blob : null;
		if (blobId) {
			// Delivered once its bytes, the next binary frame, have arrived.
			this.blobWaiters.set(blobId, msg);
			return;
		}
		this.#deliver(msg);
	}

	#onBlob(buf) {
		const view = new DataView(buf);
		if (buf.byteLength < 4) return;
		const n = view.getUint32(0);
		if (n > 4096 || 4 + n > buf.byteLength) return;
		let header;
		try {
			header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 4, n)));
		} catch {
			return;
		}
		const waiter = this.blobWaiters.get(header.blob);
		if (!waiter) return;
		this.blobWaiters.delete(header.blob);
		const data = new Blob([new Uint8Array(buf, 4 + n)], { type: header.mediaType });
		if (waiter.group) {
			waiter.signature.data = data;
			if (--waiter.group.left === 0) this.#deliver(waiter.group.msg);
			return;
		}
		waiter.data = data;
		this.#deliver(waiter);
	}

	#deliver(msg) {
		const p = msg.id ? this.pending.get(msg.id) : undefined;
		if (p) {
			this.pending.delete(msg.id);
			if (msg.type === "error") p.reject(new AutografoError(msg.error.code, msg.error.message));
			else p.resolve(msg);
			return;
		}
		this.dispatchEvent(new CustomEvent(msg.type, { detail: msg }));
	}

	// find resolves with the websocket URL of this user's agent among the
	// ports agents take (one per user on a shared machine): the first that
	// says "yours", or a lone one that cannot tell; never a guess.
	static async find({ host = "127.0.0.1", port = 8733, ports = 10, timeout = 3000 } = {}) {
		const list = Array.from({ length: ports }, (_, i) => port + i);
		const users = await Promise.all(list.map((p) => fetch(`http://${host}:${p}/v1/agent`, { cache: "no-store", signal: AbortSignal.timeout(timeout) })
			.then((r) => r.json()).then((a) => a.autografo === true && a.port === p && a.user, () => null)));
		const at = (u) => list.filter((_, i) => users[i] === u);
		const yours = at("yours"), unknown = at("unknown");
		if (yours.length || unknown.length === 1) return `ws://${host}:${yours[0] ?? unknown[0]}/v1/ws`;
		throw unknown.length ? new AutografoError("agent_ambiguous", `Più agenti Autografo (porte ${unknown.join(", ")}) e nessuno sa dire se è il tuo: indica la porta.`)
			: new AutografoError("agent_not_found", "Autografo non è in esecuzione per questo utente: avvialo e riprova.");
	}

	// toBase64 turns a Blob (a document or page) into the base64 R006 expects.
	static async toBase64(blob) {
		const bytes = new Uint8Array(await blob.arrayBuffer());
		let s = "";
		for (let i = 0; i < bytes.length; i += 0x8000) {
			s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
		}
		return btoa(s);
	}
}
