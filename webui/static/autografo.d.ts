// Types of Autografo's client module (autografo.js), protocol version 2.
// The wire is defined by the agent (agent/protocol); its golden files pin
// the JSON of every message. A guide: docs/CLIENT.md.

export const PROTOCOL_VERSION: 2;

/** A failure: a stable code for programs, an Italian message for the operator. */
/** The codes of a refused hello: "unauthorized", or "pairing_locked" (too many wrong pairing codes: wait a minute). */
export const REFUSED: RegExp;

export class AutografoError extends Error {
  code: string;
  constructor(code: string, message: string);
}

/** Exactly one credential: a ticket your backend signed, a one-time pairing
 * token, a pairing code, or the session token an earlier pairing returned. */
export interface Credentials {
  ticket?: string;
  pair?: string;
  code?: string;
  session?: string;
}

export interface ClientOptions {
  /** Reconnect after a lost connection (default true). */
  reconnect?: boolean;
  /** Called before every (re)connection. Tickets are single use. */
  credentials?: () => Promise<Credentials>;
}

export type Permission = "view" | "capture" | "export" | "attest" | "admin";

export interface Device { id: string; driver: string; name: string }

export type ActState = "draft" | "printed" | "capturing" | "captured" | "checked" | "ready"
  | "delivered" | "confirmed" | "purged" | "cancelled" | "deleted";

export type SignerStatus = "signed" | "missing" | "doubtful" | "unchecked" | "unable" | "confirmed" | "pending";

export interface Exception { reason: string; by: string }

export interface Signer {
  role: string;
  nome?: string;
  cognome?: string;
  codiceFiscale?: string;
  /** What a printed sheet puts beside the box ("Il testimone"). */
  label?: string;
  /** The signer on the page, in the act's words: "Chiara Colombo (secondo testimone)". */
  display?: string;
  status?: SignerStatus;
  /** Pages where this signer's box was found. */
  pages?: number[];
  reasons?: string[];
  unable?: Exception;
  override?: Exception;
}

export interface Blocker { code: string; message: string; role?: string; page?: number }

export interface DocumentInfo {
  name: string;
  mediaType: string;
  bytes: number;
  pages: number;
  sha256: string;
  sha1: string;
  sealed: boolean;
  passThrough: boolean;
  attested?: boolean;
  officer?: string;
  missingSheets?: number[];
}

export interface Act {
  id: string;
  kind: string;
  ref?: string;
  comune?: string;
  operator?: string;
  signers: Signer[];
  pages: number;
  state: ActState;
  /** The pages that go in the document, by index, in its order. */
  order?: number[];
  /** Pages the officer took out, or retook. */
  removed?: number[];
  /** The capture running into the act, while it is capturing. */
  capture?: string;
  /** What ended the last capture early, until the next one starts. */
  interrupted?: ErrorInfo;
  blockers?: Blocker[];
  document?: DocumentInfo;
  missingSheets?: number[];
  attachment?: string;
  emergency?: boolean;
  register?: string;
  registerTime?: string;
  created: string;
}

export interface PageInfo {
  index: number;
  mediaType: string;
  width: number;
  height: number;
  dpi: number;
  bytes: number;
  sha256: string;
  removed?: boolean;
  replaces?: number;
  /** The back of a sheet, scanned duplex. */
  back?: boolean;
  /** Set when the pixels are not what was asked of the device: made at
   * another resolution (dpi is the real one, askedDpi the one asked), or of
   * another area (dpi is the one asked). */
  fit?: "resolution" | "area";
  askedDpi?: number;
}

export interface ErrorInfo { code: string; message: string; action?: string }

export interface PrintedPage { page?: number; pages?: number; error?: ErrorInfo; byOrder?: boolean; otherAct?: string }

export interface Signature {
  role: string;
  label?: string;
  decision: "signed" | "empty" | "doubtful";
  confidence: number;
  reasons?: string[];
  /** The reasons in Italian, in the same order. */
  explanation?: string[];
  /** The signature's image (PNG), when there is ink. */
  data?: Blob;
}

export interface Firmatario { nome?: string; cognome?: string; codiceFiscale?: string }

/** R006's firmaDichiaranteInput without contenuto (add it with toBase64) and idEvento. */
export interface R006Fields { nomefile: string; tipoFile: string; tipoAllegato: string; listaFirmatari: Firmatario[] }

export interface Eccezione { ruolo: string; nome?: string; cognome?: string; tipo: "non_puo_firmare" | "verificata"; motivo: string; da: string }

interface Message { type: string; id?: string }

/** A kind of act: the roles it asks for, in order, and those it may add. */
export interface ActKind { kind: string; name: string; roles: string[]; extra: string[] }
/** A role's name for people ("Primo testimone"); the welcome lists them in an act's order. */
export interface RoleName { role: string; name: string }
export interface Welcome extends Message {
  version: number; agent: string; operator: string; permissions: Permission[]; session?: string; devices: Device[];
  kinds: ActKind[]; roles: RoleName[];
}
export interface ActMessage extends Message { act: Act }
export interface Acts extends Message { acts: Act[] }
export interface Devices extends Message { devices: Device[] }
export interface CaptureRef extends Message { act?: string; capture: string }
export interface CaptureProgress extends Message { act: string; capture: string; page: number; phase: "scanning" | "receiving" | "saving"; bytes: number; total: number }
export interface PageReady extends Message { act: string; capture?: string; page: PageInfo; data: Blob }
export interface PageBlob extends Message { act: string; page: PageInfo; data: Blob }
export interface PageAnalysis extends Message {
  act: string;
  capture?: string;
  page: number;
  skewDeg: number;
  orientation: number;
  trusted: boolean;
  orientationTrusted: boolean;
  /** The officer's quarter turn, -1 when none. */
  turn: number;
  /** The clockwise turn the document gives the page. */
  upright: number;
  signatures: Signature[];
  printed?: PrintedPage;
  position?: number;
  /** Whether the sheet holds any ink: the ink's area (mm²), its marks, the largest mark. */
  blank?: { blank: boolean; inkMM2: number; marks: number; largestMM2: number };
}
export interface CaptureDone extends Message { act: string; capture: string; pages: number; total: number }
export interface CaptureFailed extends Message { act: string; capture: string; pages: number; error: ErrorInfo }
export interface DocumentReady extends Message { act: string; document: DocumentInfo; r006: R006Fields; eccezioni?: Eccezione[]; data?: Blob }
export interface DocumentFailed extends Message { act: string; error: ErrorInfo }
export interface ActDelivered extends Message { act: Act; pages: PageInfo[]; delivery: string; document: DocumentInfo; r006: R006Fields; eccezioni?: Eccezione[]; data: Blob }
export interface SheetReady extends Message { act: string; name: string; pages: number; layout: unknown; data: Blob }

/** Events the agent sends, by type: addEventListener(type, (e) => e.detail). */
export interface AutografoEvents {
  open: Welcome;
  close: { code: number; reason: string };
  /** A hello was refused (code "unauthorized", or "pairing_locked" after too many wrong codes), also on an automatic reconnection: ask for new credentials, then reconnectNow(). */
  refused: AutografoError;
  "devices.changed": Devices;
  "act.changed": ActMessage;
  "capture.progress": CaptureProgress;
  "page.ready": PageReady;
  "page.analysis": PageAnalysis;
  "capture.done": CaptureDone;
  "capture.failed": CaptureFailed;
  "document.ready": DocumentReady;
  "document.failed": DocumentFailed;
  error: Message & { error: ErrorInfo };
}

/** Requests and what each resolves with. */
export interface AutografoRequests {
  "devices.list": [{}, Devices];
  "acts.list": [{}, Acts];
  "act.open": [{ kind: string; ref?: string; signers: Signer[]; emergency?: boolean; register?: string; registerTime?: string }, ActMessage];
  "act.resume": [{ act: string }, ActMessage];
  "sheet.print": [{ act: string; preview?: string; layout?: unknown }, SheetReady];
  "capture.start": [{ act: string; device: string; source: "platen" | "feeder"; dpi: number; color: "color" | "gray"; replace?: number; duplex?: boolean }, CaptureRef];
  "capture.cancel": [{ capture: string }, CaptureRef];
  "page.get": [{ act: string; page: number }, PageBlob];
  "page.turn": [{ act: string; page: number; turn: 0 | 90 | 180 | 270 }, ActMessage];
  "page.remove": [{ act: string; page: number; reason: string }, ActMessage];
  "page.move": [{ act: string; page: number; before: number }, ActMessage];
  "signer.unable": [{ act: string; role: string; reason: string }, ActMessage];
  "signature.override": [{ act: string; role: string; reason: string }, ActMessage];
  "document.build": [{ act: string; format?: "pdf" | "jpg" | "tif"; attest?: boolean }, DocumentReady];
  "act.deliver": [{ act: string }, ActDelivered];
  "act.confirm": [{ act: string; attachment: string; delivery?: string }, ActMessage];
  "act.release": [{ act: string; delivery?: string; reason?: string }, ActMessage];
  "act.cancel": [{ act: string; reason: string }, ActMessage];
  "act.delete": [{ act: string; reason: string }, ActMessage];
  "template.save": [{ kind: string; layout: unknown }, Message & { kind: string }];
}

/** Where find looks: host, the first port and how many from it. */
export interface FindOptions { host?: string; port?: number; ports?: number; timeout?: number }

export class AutografoClient extends EventTarget {
  constructor(url: string, options?: ClientOptions);
  readonly url: string;
  /** True after a refused hello, until connect or reconnectNow. */
  refused: boolean;
  /** Opens the socket and says hello; resolves with the welcome. */
  connect(): Promise<Welcome>;
  /** Drops the connection and connects again at once with fresh credentials. */
  reconnectNow(): Promise<Welcome | void>;
  close(): void;
  /** Sends a request; resolves with the reply of the same id, rejects with an AutografoError. */
  request<T extends keyof AutografoRequests>(type: T, body?: AutografoRequests[T][0]): Promise<AutografoRequests[T][1]>;
  addEventListener<T extends keyof AutografoEvents>(type: T, listener: (e: CustomEvent<AutografoEvents[T]>) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  /**
   * This user's agent among the ports agents take (8733 and the nine after
   * it by default): resolves with its websocket URL; rejects with an
   * AutografoError "agent_not_found" or "agent_ambiguous" (Italian message).
   */
  static find(options?: FindOptions): Promise<string>;
  /** A Blob (a document or a page) as the base64 R006 expects. */
  static toBase64(blob: Blob): Promise<string>;
}
