package winsim

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	winapply "github.com/accessctl/accessctl/internal/reconcile/windows"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/accessctl/accessctl/internal/hoststate"
	"github.com/accessctl/accessctl/internal/transport/winrm"
)

// XML namespaces and URIs of WS-Management (DSP0226) and its Windows extensions (MS-WSMV).
const (
	nsSOAP     = "http://www.w3.org/2003/05/soap-envelope"
	nsAddr     = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
	nsTransfer = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
	nsWSMan    = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
	nsShell    = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
	nsFault    = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"

	// ResourceCmd is the text-based command shell resource.
	ResourceCmd = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"

	ActionCreate  = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
	ActionDelete  = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
	ActionCommand = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command"
	ActionSend    = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send"
	ActionReceive = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive"
	ActionSignal  = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal"

	stateDone    = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"
	stateRunning = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running"
	signalTerm   = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate"
	anonymous    = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
)

// NoOpScript is hoststate.WinNoOpScript, recognised by the SIMULATOR.
const NoOpScript = hoststate.WinNoOpScript

// Server is a SIMULATOR of a Windows host's WinRM service. Start it with Start or StartTLS.
type Server struct {
	*httptest.Server
	// Host is the simulated Windows host.
	Host *Host
	// Login and Password are the only credentials accepted (Basic authentication).
	Login, Password string
	// MaxWait caps how long a Receive is held when there is no output yet (default 2s; a real
	// host holds it for the OperationTimeout and then faults with w:TimedOut).
	MaxWait time.Duration

	mu       sync.Mutex
	shells   map[string]*shell
	actions  []string
	requests int
}

type shell struct {
	id       string
	commands map[string]*command
}

type command struct {
	id       string
	line     string
	stdin    bytes.Buffer
	done     chan struct{}
	stdout   []byte
	stderr   []byte
	exit     int
	finished bool
	sent     bool // the Done state was delivered
}

// New returns an unstarted SIMULATOR for host; the login must exist in host.
func New(host *Host, login, password string) *Server {
	s := &Server{Host: host, Login: login, Password: password, shells: map[string]*shell{}}
	s.Server = httptest.NewUnstartedServer(s)
	return s
}

// Start starts a plain-HTTP SIMULATOR (the WinRM HTTP listener, port 5985 on a real host).
func Start(host *Host, login, password string) *Server {
	s := New(host, login, password)
	s.Server.Start()
	return s
}

// StartTLS starts an HTTPS SIMULATOR; CACert is the PEM of its certificate.
func StartTLS(host *Host, login, password string) *Server {
	s := New(host, login, password)
	s.Server.StartTLS()
	return s
}

// CACert is the PEM of the TLS certificate of a StartTLS server.
func (s *Server) CACert() []byte {
	var b bytes.Buffer
	_ = pemEncode(&b, s.Certificate().Raw)
	return b.Bytes()
}

// Actions lists the WS-Management actions received, in order (test assertions).
func (s *Server) Actions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.actions...)
}

// OpenShells is the number of shells not deleted.
func (s *Server) OpenShells() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.shells)
}

// envelope is the part of a request the SIMULATOR reads. Values are trimmed: the MS-WSMV
// examples pad them with white space.
type envelope struct {
	XMLName xml.Name `xml:"http://www.w3.org/2003/05/soap-envelope Envelope"`
	Header  struct {
		To               string `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing To"`
		Action           string `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing Action"`
		MessageID        string `xml:"http://schemas.xmlsoap.org/ws/2004/08/addressing MessageID"`
		ResourceURI      string `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd ResourceURI"`
		OperationTimeout string `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd OperationTimeout"`
		MaxEnvelopeSize  string `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd MaxEnvelopeSize"`
		SelectorSet      struct {
			Selectors []nameValue `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd Selector"`
		} `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd SelectorSet"`
		OptionSet struct {
			Options []nameValue `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd Option"`
		} `xml:"http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd OptionSet"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Header"`
	Body struct {
		Shell *struct {
			InputStreams  string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell InputStreams"`
			OutputStreams string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell OutputStreams"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Shell"`
		CommandLine *struct {
			Command   string   `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Command"`
			Arguments []string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Arguments"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell CommandLine"`
		Send *struct {
			Streams []struct {
				Name      string `xml:"Name,attr"`
				CommandID string `xml:"CommandId,attr"`
				End       string `xml:"End,attr"`
				Value     string `xml:",chardata"`
			} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Stream"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Send"`
		Receive *struct {
			DesiredStream struct {
				CommandID string `xml:"CommandId,attr"`
				Value     string `xml:",chardata"`
			} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell DesiredStream"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Receive"`
		Signal *struct {
			CommandID string `xml:"CommandId,attr"`
			Code      string `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Code"`
		} `xml:"http://schemas.microsoft.com/wbem/wsman/1/windows/shell Signal"`
	} `xml:"http://www.w3.org/2003/05/soap-envelope Body"`
}

type nameValue struct {
	Name  string `xml:"Name,attr"`
	Value string `xml:",chardata"`
}

func (e *envelope) selector(name string) string {
	for _, s := range e.Header.SelectorSet.Selectors {
		if s.Name == name {
			return strings.TrimSpace(s.Value)
		}
	}
	return ""
}

// ParseEnvelope parses a WS-Management request as the SIMULATOR does (exported for the
// MS-WSMV fixture tests).
func ParseEnvelope(b []byte) (*envelope, error) {
	var e envelope
	if err := xml.Unmarshal(b, &e); err != nil {
		return nil, err
	}
	h := &e.Header
	h.To, h.Action, h.MessageID = strings.TrimSpace(h.To), strings.TrimSpace(h.Action), strings.TrimSpace(h.MessageID)
	h.ResourceURI, h.OperationTimeout = strings.TrimSpace(h.ResourceURI), strings.TrimSpace(h.OperationTimeout)
	return &e, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/wsman" {
		http.NotFound(w, r)
		return
	}
	u, p, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(s.Login)) != 1 || subtle.ConstantTimeCompare([]byte(p), []byte(s.Password)) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="WSMAN"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/soap+xml") {
		http.Error(w, "content type must be application/soap+xml", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 512<<10))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	e, err := ParseEnvelope(body)
	if err != nil {
		s.fault(w, "", "s:Sender", "w:InvalidMessageInformationHeader", "malformed envelope: "+err.Error())
		return
	}
	s.mu.Lock()
	s.actions = append(s.actions, e.Header.Action)
	s.requests++
	s.mu.Unlock()
	if e.Header.ResourceURI != ResourceCmd {
		s.fault(w, e.Header.MessageID, "s:Sender", "w:DestinationUnreachable", "the SIMULATOR serves only "+ResourceCmd)
		return
	}
	if e.Header.MessageID == "" || e.Header.Action == "" {
		s.fault(w, e.Header.MessageID, "s:Sender", "w:InvalidMessageInformationHeader", "wsa:Action and wsa:MessageID are required")
		return
	}
	switch e.Header.Action {
	case ActionCreate:
		s.create(w, r, e)
	case ActionCommand:
		s.command(w, e, u)
	case ActionSend:
		s.send(w, e)
	case ActionReceive:
		s.receive(w, e)
	case ActionSignal:
		s.signal(w, e)
	case ActionDelete:
		s.delete(w, e)
	default:
		s.fault(w, e.Header.MessageID, "s:Sender", "a:ActionNotSupported", "action not supported by the SIMULATOR: "+e.Header.Action)
	}
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := strings.ToUpper(hex.EncodeToString(b[:]))
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (s *Server) lookup(e *envelope) (*shell, error) {
	id := e.selector("ShellId")
	s.mu.Lock()
	defer s.mu.Unlock()
	sh := s.shells[id]
	if sh == nil {
		return nil, fmt.Errorf("no shell %q", id)
	}
	return sh, nil
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, e *envelope) {
	if e.Body.Shell == nil {
		s.fault(w, e.Header.MessageID, "s:Sender", "w:SchemaValidationError", "Create needs an rsp:Shell body")
		return
	}
	sh := &shell{id: newID(), commands: map[string]*command{}}
	s.mu.Lock()
	s.shells[sh.id] = sh
	s.mu.Unlock()
	addr := "http://" + r.Host + "/wsman"
	if r.TLS != nil {
		addr = "https://" + r.Host + "/wsman"
	}
	in := strings.TrimSpace(e.Body.Shell.InputStreams)
	out := strings.TrimSpace(e.Body.Shell.OutputStreams)
	body := `<x:ResourceCreated><a:Address>` + esc(addr) + `</a:Address><a:ReferenceParameters>` +
		`<w:ResourceURI>` + ResourceCmd + `</w:ResourceURI><w:SelectorSet><w:Selector Name="ShellId">` + sh.id +
		`</w:Selector></w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>` +
		`<rsp:Shell xmlns:rsp="` + nsShell + `"><rsp:ShellId>` + sh.id + `</rsp:ShellId><rsp:ResourceUri>` + ResourceCmd +
		`</rsp:ResourceUri><rsp:Owner>` + esc(s.Login) + `</rsp:Owner><rsp:ClientIP>` + esc(hostOnly(r.RemoteAddr)) +
		`</rsp:ClientIP><rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut><rsp:InputStreams>` + esc(in) +
		`</rsp:InputStreams><rsp:OutputStreams>` + esc(out) + `</rsp:OutputStreams><rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime>` +
		`<rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity></rsp:Shell>`
	s.respond(w, "http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse", e.Header.MessageID, body)
}

func (s *Server) command(w http.ResponseWriter, e *envelope, login string) {
	sh, err := s.lookup(e)
	if err != nil {
		s.fault(w, e.Header.MessageID, "s:Sender", "w:InvalidSelectors", err.Error())
		return
	}
	if e.Body.CommandLine == nil {
		s.fault(w, e.Header.MessageID, "s:Sender", "w:SchemaValidationError", "Command needs an rsp:CommandLine body")
		return
	}
	line := strings.TrimSpace(e.Body.CommandLine.Command)
	for _, a := range e.Body.CommandLine.Arguments {
		line += " " + strings.TrimSpace(a)
	}
	c := &command{id: newID(), line: line, done: make(chan struct{})}
	s.mu.Lock()
	sh.commands[c.id] = c
	s.mu.Unlock()
	if !isBootstrap(line) {
		// Anything but accessctl's bootstrap: the SIMULATOR cannot run it.
		s.finish(c, nil, []byte("SIMULATOR: not an accessctl command line: "+truncate(line, 80)+"\r\n"), 9009)
	}
	s.respond(w, "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandResponse", e.Header.MessageID,
		`<rsp:CommandResponse><rsp:CommandId>`+c.id+`</rsp:CommandId></rsp:CommandResponse>`)
}

func isBootstrap(line string) bool {
	const prefix = "powershell.exe "
	if !strings.HasPrefix(line, prefix) {
		return false
	}
	f := strings.Fields(line)
	enc := f[len(f)-1]
	ps, err := winrm.DecodeCommand(enc)
	return err == nil && ps == winrm.Bootstrap() && line == winrm.CommandLine()
}

func (s *Server) send(w http.ResponseWriter, e *envelope) {
	sh, err := s.lookup(e)
	if err != nil {
		s.fault(w, e.Header.MessageID, "s:Sender", "w:InvalidSelectors", err.Error())
		return
	}
	if e.Body.Send == nil {
		s.fault(w, e.Header.MessageID, "s:Sender", "w:SchemaValidationError", "Send needs an rsp:Send body")
		return
	}
	for _, st := range e.Body.Send.Streams {
		s.mu.Lock()
		c := sh.commands[st.CommandID]
		s.mu.Unlock()
		if c == nil || st.Name != "stdin" {
			s.fault(w, e.Header.MessageID, "s:Sender", "w:InvalidSelectors", "no command "+st.CommandID+" or stream "+st.Name)
			return
		}
		data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(st.Value))
		if err != nil {
			s.fault(w, e.Header.MessageID, "s:Sender", "w:SchemaValidationError", "stream is not base64")
			return
		}
		s.mu.Lock()
		c.stdin.Write(data)
		s.mu.Unlock()
		if st.End == "true" {
			go s.run(c)
		}
	}
	s.respond(w, "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/SendResponse", e.Header.MessageID, `<rsp:SendResponse/>`)
}

// run interprets the bootstrap's stdin: the script is recognised, never executed.
func (s *Server) run(c *command) {
	s.mu.Lock()
	in := append([]byte(nil), c.stdin.Bytes()...)
	if c.finished {
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	script, data, err := winrm.SplitStdin(in)
	if err != nil {
		s.finish(c, nil, []byte("accessctl: bootstrap: "+err.Error()+"\r\n"), 97)
		return
	}
	loginSID := ""
	if u := s.Host.User(s.Login); u != nil {
		loginSID = u.SID
	}
	switch script {
	case hoststate.ReadWindowsScript():
		var req hoststate.WinReadRequest
		if err := json.Unmarshal(data, &req); err != nil {
			s.finish(c, nil, []byte("accessctl: "+err.Error()+"\r\n"), 98)
			return
		}
		doc, err := s.Host.Read(loginSID, req)
		if err != nil {
			s.finish(c, nil, []byte("accessctl: "+err.Error()+"\r\n"), 98)
			return
		}
		s.finish(c, hoststate.Frame(hoststate.WinReadMarker, doc), nil, 0)
	case winapply.ApplyScript():
		var set winapply.ChangeSet
		if err := json.Unmarshal(data, &set); err != nil {
			s.finish(c, nil, []byte("accessctl: "+err.Error()+"\r\n"), 98)
			return
		}
		rep := s.Host.Apply(loginSID, set)
		doc, _ := json.Marshal(rep)
		code := 0
		if !rep.OK {
			code = 3
		}
		s.finish(c, hoststate.Frame(hoststate.WinApplyMarker, doc), nil, code)
	case NoOpScript:
		if s.Host.IsMember(hoststate.SIDAdministrators, s.Login) {
			s.finish(c, nil, nil, 0)
		} else {
			s.finish(c, nil, []byte("not an administrator\r\n"), 1)
		}
	default:
		s.finish(c, nil, []byte("SIMULATOR: unrecognised script ("+fmt.Sprint(len(script))+" bytes); it runs only accessctl's READ, APPLY and no-op scripts\r\n"), 9009)
	}
}

func (s *Server) finish(c *command, stdout, stderr []byte, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.finished {
		return
	}
	c.stdout, c.stderr, c.exit, c.finished = stdout, stderr, code, true
	close(c.done)
}

func (s *Server) receive(w http.ResponseWriter, e *envelope) {
	sh, err := s.lookup(e)
	if err != nil {
		s.fault(w, e.Header.MessageID, "s:Sender", "w:InvalidSelectors", err.Error())
		return
	}
	if e.Body.Receive == nil {
		s.fault(w, e.Header.MessageID, "s:Sender", "w:SchemaValidationError", "Receive needs an rsp:Receive body")
		return
	}
	id := strings.TrimSpace(e.Body.Receive.DesiredStream.CommandID)
	s.mu.Lock()
	c := sh.commands[id]
	s.mu.Unlock()
	if c == nil {
		s.fault(w, e.Header.MessageID, "s:Sender", "w:InvalidSelectors", "no command "+id)
		return
	}
	wait := s.MaxWait
	if wait <= 0 {
		wait = 2 * time.Second
	}
	select {
	case <-c.done:
	case <-time.After(wait):
		// As a real host does when the OperationTimeout passes without output.
		s.fault(w, e.Header.MessageID, "s:Receiver", "w:TimedOut", "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.")
		return
	}
	s.mu.Lock()
	out, errb, code := c.stdout, c.stderr, c.exit
	c.stdout, c.stderr, c.sent = nil, nil, true
	s.mu.Unlock()
	var b strings.Builder
	b.WriteString(`<rsp:ReceiveResponse>`)
	for _, chunk := range chunks(out, 8192) {
		fmt.Fprintf(&b, `<rsp:Stream Name="stdout" CommandId="%s">%s</rsp:Stream>`, id, base64.StdEncoding.EncodeToString(chunk))
	}
	for _, chunk := range chunks(errb, 8192) {
		fmt.Fprintf(&b, `<rsp:Stream Name="stderr" CommandId="%s">%s</rsp:Stream>`, id, base64.StdEncoding.EncodeToString(chunk))
	}
	fmt.Fprintf(&b, `<rsp:Stream Name="stdout" CommandId="%s" End="true"></rsp:Stream><rsp:Stream Name="stderr" CommandId="%s" End="true"></rsp:Stream>`, id, id)
	fmt.Fprintf(&b, `<rsp:CommandState CommandId="%s" State="%s"><rsp:ExitCode>%d</rsp:ExitCode></rsp:CommandState></rsp:ReceiveResponse>`, id, stateDone, code)
	s.respond(w, "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ReceiveResponse", e.Header.MessageID, b.String())
}

func chunks(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		k := min(n, len(b))
		out = append(out, b[:k])
		b = b[k:]
	}
	return out
}

func (s *Server) signal(w http.ResponseWriter, e *envelope) {
	sh, err := s.lookup(e)
	if err != nil {
		s.fault(w, e.Header.MessageID, "s:Sender", "w:InvalidSelectors", err.Error())
		return
	}
	if e.Body.Signal == nil {
		s.fault(w, e.Header.MessageID, "s:Sender", "w:SchemaValidationError", "Signal needs an rsp:Signal body")
		return
	}
	id := strings.TrimSpace(e.Body.Signal.CommandID)
	s.mu.Lock()
	c := sh.commands[id]
	delete(sh.commands, id)
	s.mu.Unlock()
	if c == nil {
		s.fault(w, e.Header.MessageID, "s:Sender", "w:InvalidSelectors", "no command "+id)
		return
	}
	if strings.TrimSpace(e.Body.Signal.Code) == signalTerm {
		s.finish(c, nil, nil, 1)
	}
	s.respond(w, "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/SignalResponse", e.Header.MessageID, `<rsp:SignalResponse/>`)
}

func (s *Server) delete(w http.ResponseWriter, e *envelope) {
	id := e.selector("ShellId")
	s.mu.Lock()
	sh := s.shells[id]
	delete(s.shells, id)
	s.mu.Unlock()
	if sh == nil {
		s.fault(w, e.Header.MessageID, "s:Sender", "w:InvalidSelectors", "no shell "+id)
		return
	}
	s.respond(w, "http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse", e.Header.MessageID, ``)
}

const envOpen = `<s:Envelope xml:lang="en-US" xmlns:s="` + nsSOAP + `" xmlns:a="` + nsAddr + `" xmlns:x="` + nsTransfer +
	`" xmlns:w="` + nsWSMan + `" xmlns:rsp="` + nsShell + `" xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd">`

func (s *Server) respond(w http.ResponseWriter, action, relatesTo, body string) {
	w.Header().Set("Content-Type", "application/soap+xml;charset=UTF-8")
	fmt.Fprintf(w, `%s<s:Header><a:Action>%s</a:Action><a:MessageID>uuid:%s</a:MessageID><a:To>%s</a:To><a:RelatesTo>%s</a:RelatesTo></s:Header><s:Body>%s</s:Body></s:Envelope>`,
		envOpen, action, newID(), anonymous, esc(relatesTo), body)
}

// fault answers with a SOAP 1.2 fault carrying a WSManFault detail, HTTP 500 as WinRM does.
func (s *Server) fault(w http.ResponseWriter, relatesTo, code, subcode, msg string) {
	w.Header().Set("Content-Type", "application/soap+xml;charset=UTF-8")
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, `%s<s:Header><a:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/fault</a:Action><a:MessageID>uuid:%s</a:MessageID><a:To>%s</a:To><a:RelatesTo>%s</a:RelatesTo></s:Header>`+
		`<s:Body><s:Fault><s:Code><s:Value>%s</s:Value><s:Subcode><s:Value>%s</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">%s</s:Text></s:Reason>`+
		`<s:Detail><f:WSManFault xmlns:f="%s" Code="2150858793" Machine="SIMULATOR"><f:Message>%s</f:Message></f:WSManFault></s:Detail></s:Fault></s:Body></s:Envelope>`,
		envOpen, newID(), anonymous, esc(relatesTo), code, subcode, esc(msg), nsFault, esc(msg))
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func hostOnly(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		return addr[:i]
	}
	return addr
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
