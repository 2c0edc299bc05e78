package protocol

import (
	"strconv"
	"strings"
)

// Stable codes: errors, and the blockers that keep an act from being
// ready. Programs branch on them; the operator reads their message.
const (
	CodeBadMessage      = "bad_message"
	CodeTooLarge        = "message_too_large"
	CodeUnknownType     = "unknown_type"
	CodeUnsupportedVer  = "unsupported_version"
	CodeNoHello         = "hello_required"
	CodeUnauthorized    = "unauthorized"
	CodePairingLocked   = "pairing_locked"
	CodeForbidden       = "forbidden"
	CodeTooManyJobs     = "too_many_jobs"
	CodeRateLimited     = "rate_limited"
	CodeDeviceNotFound  = "device_not_found"
	CodeDeviceBusy      = "device_busy"
	CodeDeviceGone      = "device_gone"
	CodeDeviceDenied    = "device_denied"
	CodeNoDocuments     = "no_documents"
	CodePaperJam        = "paper_jam"
	CodeUnsupported     = "unsupported_settings"
	CodeActNotFound     = "act_not_found"
	CodePageNotFound    = "page_not_found"
	CodeSignerNotFound  = "signer_not_found"
	CodeCaptureRunning  = "capture_running"
	CodeCaptureNotFound = "capture_not_found"
	CodeBadPage         = "bad_page"
	CodeCanceled        = "canceled"
	CodeShuttingDown    = "shutting_down"
	CodeInterrupted     = "capture_interrupted"
	CodeInternal        = "internal"
	CodeStoreFailed     = "store_failed"
	CodeDocumentFailed  = "document_failed"
	CodeDocumentTooBig  = "document_too_large"
	CodeBadFormat       = "bad_format"
	CodeNoAttester      = "attestation_unavailable"
	CodePINRefused      = "pin_refused"
	CodeCertExpired     = "certificate_not_valid"
	CodeCertUnfit       = "certificate_not_for_signing"
	CodeSheetFailed     = "sheet_failed"
	CodeTemplateFailed  = "template_failed"
	CodePageNoCode      = "page_without_code"
	CodePageOtherAct    = "page_of_other_act"
	CodePageOtherPrint  = "page_of_other_printing"
	CodeDelivered       = "already_delivered"
	CodeConfirmed       = "already_confirmed"
	CodeNothingToSend   = "not_ready"
	CodeNotHolder       = "not_delivery_holder"
	CodeIllegalState    = "illegal_transition"

	BlockerNoPages         = "blocker_no_pages"
	BlockerAnalysing       = "blocker_analysis_pending"
	BlockerSheetMissing    = "blocker_sheet_missing"
	BlockerSignatureEmpty  = "blocker_signature_missing"
	BlockerSignatureDoubt  = "blocker_signature_doubtful"
	BlockerSignatureUnseen = "blocker_signature_unchecked"
	BlockerUnnamed         = "blocker_signer_unnamed"
	BlockerTurnDoubtful    = "blocker_turn_doubtful"
)

// What the operator should do about a code.
const (
	ActionNone           = "none"            // nothing: it says what happened
	ActionRetry          = "retry"           // try the same again
	ActionWait           = "wait"            // wait, then try again
	ActionCheckDevice    = "check_device"    // look at the scanner: power, cable, paper
	ActionCheckPages     = "check_pages"     // look at the pages captured
	ActionOfficer        = "officer_decides" // the officer looks and decides (sign, mark, confirm)
	ActionOtherTab       = "other_tab"       // carry on in the tab that holds the act
	ActionReload         = "reload"          // reload the page or update the software
	ActionPair           = "pair"            // pair the page again
	ActionFreeSpace      = "free_space"      // free disk space
	ActionFixRequest     = "fix_request"     // the calling app sent something wrong
	ActionContactSupport = "contact_support" // call the office's IT support
)

// CodeInfo is one code's Italian message and action. A message may name
// the signer it is about ({chi}, with its preposition: "di Chiara Colombo
// (secondo testimone)", "della sposa") or the page ({pagina}).
type CodeInfo struct {
	Code    string
	Message string
	Action  string
}

// Codes is every stable code with its message: the one table.
var Codes = []CodeInfo{
	{CodeBadMessage, "La pagina ha inviato un messaggio non valido.", ActionFixRequest},
	{CodeTooLarge, "La pagina ha inviato un messaggio troppo grande.", ActionFixRequest},
	{CodeUnknownType, "Richiesta sconosciuta: aggiornare la pagina o Autografo.", ActionReload},
	{CodeUnsupportedVer, "Versione del protocollo non supportata: aggiornare la pagina o Autografo.", ActionReload},
	{CodeNoHello, "La pagina deve presentarsi prima di inviare richieste.", ActionFixRequest},
	{CodeUnauthorized, "Accesso non autorizzato: questa pagina non è collegata ad Autografo. Collegarla di nuovo (comando «autografo open» o codice di abbinamento).", ActionPair},
	{CodePairingLocked, "Troppi codici di abbinamento sbagliati: attendere un minuto e digitare il nuovo codice di «autografo pair», oppure aprire la pagina con «autografo open».", ActionPair},
	{CodeForbidden, "Operazione non consentita per questa sessione.", ActionNone},
	{CodeTooManyJobs, "Troppe acquisizioni in corso: attendere che una finisca.", ActionWait},
	{CodeRateLimited, "Troppe richieste in poco tempo: attendere un momento e riprovare.", ActionWait},
	{CodeDeviceNotFound, "Scanner non trovato: verificare che sia acceso e collegato.", ActionCheckDevice},
	{CodeDeviceBusy, "Lo scanner è occupato da un'altra acquisizione: attendere che finisca e riprovare.", ActionWait},
	{CodeDeviceDenied, "Il sistema non consente ad Autografo di usare questo scanner USB: manca la regola udev (vedere il README) o l'utente non ha i permessi.", ActionContactSupport},
	{CodeDeviceGone, "Lo scanner si è scollegato durante l'acquisizione: ricollegarlo e riprovare. Le pagine già acquisite sono conservate.", ActionCheckDevice},
	{CodeNoDocuments, "Nessun foglio nell'alimentatore: inserire i fogli e riprovare.", ActionCheckDevice},
	{CodePaperJam, "Carta inceppata nell'alimentatore: rimuovere il foglio, reinserire le pagine mancanti e riprovare. Le pagine già acquisite sono conservate.", ActionCheckDevice},
	{CodeUnsupported, "Lo scanner non supporta le impostazioni scelte (origine, risoluzione o colore).", ActionRetry},
	{CodeActNotFound, "Atto non trovato: riaprire l'atto e riprovare.", ActionReload},
	{CodePageNotFound, "Pagina non trovata.", ActionReload},
	{CodeSignerNotFound, "Firmatario non presente in questo atto.", ActionReload},
	{CodeCaptureRunning, "È in corso un'acquisizione per questo atto: attendere che finisca o annullarla.", ActionWait},
	{CodeCaptureNotFound, "Acquisizione non trovata o già conclusa.", ActionNone},
	{CodeBadPage, "La pagina ricevuta dallo scanner è danneggiata o illeggibile: riprovare l'acquisizione. Le pagine già acquisite sono conservate.", ActionRetry},
	{CodeCanceled, "Acquisizione annullata. Le pagine già acquisite sono conservate.", ActionNone},
	{CodeShuttingDown, "Autografo si sta chiudendo: acquisizione interrotta. Le pagine già acquisite sono conservate e l'atto riprende al prossimo avvio.", ActionWait},
	{CodeInterrupted, "Acquisizione interrotta perché Autografo si è fermato. Le pagine già acquisite sono conservate: reinserire i fogli non ancora acquisiti e premere «Acquisisci».", ActionCheckPages},
	{CodeInternal, "Errore interno di Autografo: riprovare; se si ripete, rivolgersi all'assistenza.", ActionContactSupport},
	{CodeStoreFailed, "Impossibile salvare sul disco (disco pieno o guasto): l'ultima operazione non è stata registrata. Liberare spazio e riprovare; le pagine già salvate sono al sicuro.", ActionFreeSpace},
	{CodeDocumentFailed, "Impossibile preparare il documento per ANSC: le pagine acquisite sono conservate. Riprovare o rivolgersi all'assistenza.", ActionContactSupport},
	{CodeDocumentTooBig, "Il documento supererebbe i 10 MB anche con la qualità minima leggibile: acquisire in scala di grigi o a risoluzione più bassa.", ActionRetry},
	{CodeBadFormat, "Formato non disponibile: PDF per ogni atto, JPG solo per un atto di una pagina, TIF per più pagine.", ActionFixRequest},
	{CodePINRefused, "La smart card dell'ufficiale ha rifiutato il PIN: per non bloccarla Autografo non lo riprova. Scrivere il PIN corretto nel file del PIN e riavviare Autografo; le pagine acquisite sono conservate.", ActionContactSupport},
	{CodeNoAttester, "La firma dell'ufficiale per l'attestazione di conformità non è disponibile: verificare che la smart card sia inserita e configurata.", ActionCheckDevice},
	{CodeCertUnfit, "Il certificato del sigillo della postazione o della firma dell'ufficiale non è abilitato alla firma di documenti (per esempio è un certificato di autenticazione): il documento non è stato firmato. Configurare il certificato di firma; le pagine acquisite sono conservate.", ActionContactSupport},
	{CodeCertExpired, "Il certificato del sigillo della postazione o della firma dell'ufficiale non è valido oggi (scaduto o non ancora valido): il documento non è stato firmato. Rinnovare il certificato; le pagine acquisite sono conservate.", ActionContactSupport},
	{CodeSheetFailed, "Impossibile preparare i fogli da stampare: il PDF non è utilizzabile (danneggiato, protetto o troppo grande).", ActionFixRequest},
	{CodeTemplateFailed, "Impossibile salvare il modello: la disposizione dei riquadri non è valida.", ActionFixRequest},
	{CodePageNoCode, "Su questa pagina non si legge il codice di stampa: controllare che sia la pagina giusta e che il codice non sia coperto.", ActionCheckPages},
	{CodePageOtherAct, "Questa pagina appartiene a un altro atto: toglierla dalle pagine di questo.", ActionCheckPages},
	{CodePageOtherPrint, "Questa pagina viene da una stampa precedente dell'atto: usare i fogli dell'ultima stampa.", ActionCheckPages},
	{CodeDelivered, "Questo atto è già stato consegnato a un'altra scheda o finestra: completare l'invio ad ANSC da lì.", ActionOtherTab},
	{CodeConfirmed, "Questo atto è già stato accettato da ANSC: non va inviato di nuovo.", ActionNone},
	{CodeNothingToSend, "L'atto non è ancora pronto per ANSC: mancano pagine, o firme da verificare.", ActionOfficer},
	{CodeNotHolder, "L'invio di questo atto è in corso da un'altra scheda: completarlo o annullarlo da lì.", ActionOtherTab},
	{CodeIllegalState, "Operazione non possibile nello stato attuale dell'atto: aggiornare la pagina per vederlo.", ActionReload},

	{BlockerNoPages, "Nessuna pagina acquisita.", ActionCheckDevice},
	{BlockerAnalysing, "Controllo delle firme in corso.", ActionWait},
	{BlockerSheetMissing, "Manca la pagina {pagina} dei fogli stampati: acquisirla.", ActionCheckPages},
	{BlockerSignatureEmpty, "Manca la firma {chi}.", ActionOfficer},
	{BlockerSignatureDoubt, "Firma {chi} da verificare.", ActionOfficer},
	{BlockerSignatureUnseen, "Riquadro della firma {chi} non trovato: verificare a vista.", ActionOfficer},
	{BlockerUnnamed, "Manca il nome {chi}.", ActionFixRequest},
	{BlockerTurnDoubtful, "Non è sicuro il verso della pagina {pagina}: raddrizzarla.", ActionOfficer},
}

var codeIndex = func() map[string]CodeInfo {
	m := make(map[string]CodeInfo, len(Codes))
	for _, c := range Codes {
		m[c.Code] = c
	}
	return m
}()

// Info is a code's entry in Codes; an unknown code gets internal's.
func Info(code string) CodeInfo {
	if c, ok := codeIndex[code]; ok {
		return c
	}
	return codeIndex[CodeInternal]
}

// Italian is the operator's message for a code, its placeholders removed.
func Italian(code string) string {
	return Format(code, "", 0)
}

// Format is a code's message about a signer (who) or a page.
func Format(code, who string, page int) string {
	m := Info(code).Message
	if who == "" {
		who = "di un firmatario"
	}
	m = strings.ReplaceAll(m, "{chi}", who)
	pg := "indicata"
	if page > 0 {
		pg = strconv.Itoa(page)
	}
	return strings.ReplaceAll(m, "{pagina}", pg)
}

// NewError is the wire's Error for a code.
func NewError(code string) Error {
	c := Info(code)
	return Error{Code: c.Code, Message: Italian(c.Code), Action: c.Action}
}

// reasonText words, for the officer, why the analysis decided as it did
// about a box. The keys are the analysis's reasons (its Reasons list).
var reasonText = map[string]string{
	"faint_ink":            "firma chiara: l'inchiostro è molto tenue, controllare che si legga nel documento",
	"ink_crosses_edge":     "la firma esce dal riquadro",
	"stray_mark":           "segni isolati ignorati",
	"little_ink":           "poco inchiostro per una firma",
	"two_lines":            "due righe di scrittura: due firme nello stesso riquadro?",
	"neighbour_spill":      "la firma del vicino entra nel riquadro",
	"printed_text":         "il testo stampato nel riquadro non è stato contato come firma",
	"other_print":          "nel riquadro c'è del testo stampato che non è l'etichetta: un timbro, una nota?",
	"stamp":                "nel riquadro c'è un timbro: la firma è cercata fuori dal timbro, controllare",
	"straight_stroke":      "un tratto dritto, non una firma",
	"cross":                "una croce: il riquadro è stato barrato?",
	"dot":                  "solo un punto d'inchiostro",
	"initials":             "un segno breve: una sigla? decide l'ufficiale",
	"box_off_page":         "parte del riquadro è fuori dal foglio",
	"layout_unusable":      "il riquadro non può trovarsi su questa pagina: controllare a vista",
	"found_without_layout": "firma cercata in tutta la pagina, senza un riquadro: controllare a vista che sia la firma",
}

// ReasonText is the Italian for an analysis reason ("" when unknown).
func ReasonText(reason string) string { return reasonText[reason] }

// ReasonKeys are the reasons worded, for tests that compare them with
// the analysis's list.
func ReasonKeys() []string {
	keys := make([]string, 0, len(reasonText))
	for k := range reasonText {
		keys = append(keys, k)
	}
	return keys
}
