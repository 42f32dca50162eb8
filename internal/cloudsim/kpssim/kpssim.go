// Package kpssim is a SIMULATOR of the Huawei Cloud KPS v3 key-pair API for tests, plus the one
// ECS call whose answer says which key pair each server holds (GET
// /v1/{project_id}/cloudservers/detail). It is an httptest server that the official SDK
// (github.com/huaweicloud/huaweicloud-sdk-go-v3, services/kps/v3 and services/ecs/v2) talks to
// through an endpoint override. No cloud account exists here; it was written from the public
// KPS API reference and the SDK's models, and is only as right as that reading.
//
// Modelled: list (limit/marker paging), detail (with description), create-with-public-key
// (import; the key types KPS imports: RSA 2048/3072/4096 only, ed25519, ECDSA P-256/384/521,
// DSS), description update, delete (NOT refused while a server holds the key pair, as the KPS
// docs say), associate/disassociate as tasks (READY_* -> RUNNING_* -> SUCCESS_* or FAILED_*,
// read with GET /v3/{project_id}/tasks/{task_id}), Windows servers refused, errors as
// {"error_code","error_msg"} with KPS.0002 (invalid parameter) and KPS.4016 (not found).
// Every request is logged (Calls); faults can be injected (Throttle, FailTasks).
package kpssim

import (
	"crypto/md5"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// KeyPair is a key pair the simulator holds.
type KeyPair struct {
	Name        string
	PublicKey   string
	Fingerprint string
	Description string
	Created     time.Time
}

// Server is a simulated ECS server.
type Server struct {
	ID      string
	OS      string // "Linux" | "Windows"
	KeyName string
	// Name, Tags ("KEY=VALUE") and the addresses are what the server list reports for inventory.
	Name      string
	Tags      []string
	PrivateIP string
	PublicIP  string
}

// Call is one logged request: "METHOD /path" (project id replaced by {project}) and its body.
type Call struct {
	Op   string
	Body string
}

type task struct {
	id, server, kind string // kind RESET | UNBIND
	keypair          string
	polls            int
	fail             bool
}

// Sim is the simulator. Its methods are safe for concurrent use.
type Sim struct {
	*httptest.Server
	Project string
	// AccessKey, when set, must appear in every request's Authorization header.
	AccessKey string
	// PollsToFinish is how many task reads a task stays READY/RUNNING before it ends (default 2).
	PollsToFinish int
	// NoServerAPI makes the simulator serve the KPS API alone, as an endpoint without the ECS
	// server list would (404 APIGW.0101 for it).
	NoServerAPI bool

	mu        sync.Mutex
	keyPairs  map[string]*KeyPair
	servers   map[string]*Server
	tasks     map[string]*task
	calls     []Call
	throttle  int
	failTasks map[string]bool
	seq       int
}

// New starts a simulator for one project with the given servers.
func New(project string, servers ...Server) *Sim {
	s := &Sim{Project: project, PollsToFinish: 2, keyPairs: map[string]*KeyPair{}, servers: map[string]*Server{},
		tasks: map[string]*task{}, failTasks: map[string]bool{}}
	for _, sv := range servers {
		sv := sv
		s.servers[sv.ID] = &sv
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	return s
}

// AddKeyPair puts a key pair in the registry directly (as the console would).
func (s *Sim) AddKeyPair(name, publicKey, description string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keyPairs[name] = &KeyPair{Name: name, PublicKey: publicKey, Fingerprint: fingerprint(publicKey), Description: description, Created: time.Now()}
}

// BindDirect sets a server's key pair directly (as a console binding would).
func (s *Sim) BindDirect(server, keypair string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sv := s.servers[server]; sv != nil {
		sv.KeyName = keypair
	}
}

// KeyPairs returns a copy of the key pairs, sorted by name.
func (s *Sim) KeyPairs() []KeyPair {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []KeyPair
	for _, k := range s.keyPairs {
		out = append(out, *k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ServerState returns a copy of a server, or nil.
func (s *Sim) ServerState(id string) *Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sv := s.servers[id]; sv != nil {
		c := *sv
		return &c
	}
	return nil
}

// Calls returns the requests made so far.
func (s *Sim) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallCount counts requests whose Op starts with prefix ("DELETE /v3/{project}/keypairs").
func (s *Sim) CallCount(prefix string) int {
	n := 0
	for _, c := range s.Calls() {
		if strings.HasPrefix(c.Op, prefix) {
			n++
		}
	}
	return n
}

// Throttle makes the next n requests fail with HTTP 429.
func (s *Sim) Throttle(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle = n
}

// FailTasks makes every later task on server end FAILED_*.
func (s *Sim) FailTasks(server string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failTasks[server] = true
}

func fingerprint(line string) string {
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return ""
	}
	sum := md5.Sum(pk.Marshal())
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02x", b)
	}
	return "MD5:" + strings.Join(parts, ":")
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// importable reports whether KPS imports this public key.
func importable(line string) bool {
	pk, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil || strings.TrimSpace(string(rest)) != "" {
		return false
	}
	switch pk.Type() {
	case ssh.KeyAlgoRSA:
		cpk, ok := pk.(ssh.CryptoPublicKey)
		if !ok {
			return false
		}
		k, ok := cpk.CryptoPublicKey().(*rsa.PublicKey)
		if !ok {
			return false
		}
		b := k.N.BitLen()
		return b == 2048 || b == 3072 || b == 4096
	case ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521, ssh.KeyAlgoDSA:
		return true
	}
	return false
}

var (
	keypairsRE = regexp.MustCompile(`^/v3/([^/]+)/keypairs$`)
	keypairRE  = regexp.MustCompile(`^/v3/([^/]+)/keypairs/([^/]+)$`)
	taskRE     = regexp.MustCompile(`^/v3/([^/]+)/tasks/([^/]+)$`)
	serversRE  = regexp.MustCompile(`^/v1/([^/]+)/cloudservers/detail$`)
)

func (s *Sim) handle(w http.ResponseWriter, r *http.Request) {
	var raw []byte
	if r.Body != nil {
		buf := make([]byte, 0, 1024)
		tmp := make([]byte, 4096)
		for {
			n, err := r.Body.Read(tmp)
			buf = append(buf, tmp[:n]...)
			if err != nil || len(buf) > 1<<20 {
				break
			}
		}
		raw = buf
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	reqID := fmt.Sprintf("sim-%06d", s.seq)
	path := r.URL.Path
	project := ""
	for _, re := range []*regexp.Regexp{keypairsRE, keypairRE, taskRE, serversRE} {
		if m := re.FindStringSubmatch(path); m != nil {
			project = m[1]
			path = strings.Replace(path, "/"+m[1]+"/", "/{project}/", 1)
			break
		}
	}
	s.calls = append(s.calls, Call{Op: r.Method + " " + path, Body: string(raw)})
	w.Header().Set("X-Request-Id", reqID)
	fail := func(status int, code, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error_code": code, "error_msg": msg})
	}
	ok := func(status int, body any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if body != nil {
			_ = json.NewEncoder(w).Encode(body)
		}
	}
	if s.AccessKey != "" && !strings.Contains(r.Header.Get("Authorization"), "Access="+s.AccessKey) {
		fail(401, "APIGW.0301", "Incorrect IAM authentication information")
		return
	}
	if s.throttle > 0 {
		s.throttle--
		fail(429, "APIGW.0308", "The request is throttled.")
		return
	}
	if project != s.Project {
		fail(404, "APIGW.0101", "The API does not exist or has not been published in the environment.")
		return
	}
	var m []string
	switch {
	case r.Method == http.MethodGet && keypairsRE.MatchString(r.URL.Path):
		s.list(r, ok, fail)
	case r.Method == http.MethodPost && strings.HasSuffix(path, "/keypairs/associate"):
		s.associate(raw, ok, fail)
	case r.Method == http.MethodPost && strings.HasSuffix(path, "/keypairs/disassociate"):
		s.disassociate(raw, ok, fail)
	case r.Method == http.MethodPost && keypairsRE.MatchString(r.URL.Path):
		s.create(raw, ok, fail)
	case func() bool { m = keypairRE.FindStringSubmatch(r.URL.Path); return m != nil }():
		s.keypair(r.Method, m[2], raw, ok, fail)
	case r.Method == http.MethodGet && taskRE.MatchString(r.URL.Path):
		s.task(taskRE.FindStringSubmatch(r.URL.Path)[2], ok, fail)
	case r.Method == http.MethodGet && serversRE.MatchString(r.URL.Path) && !s.NoServerAPI:
		s.listServers(r, ok, fail)
	default:
		fail(404, "APIGW.0101", "The API does not exist or has not been published in the environment.")
	}
}

type okFunc func(int, any)
type failFunc func(int, string, string)

func (s *Sim) list(r *http.Request, ok okFunc, fail failFunc) {
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			fail(400, "KPS.0002", "invalid parameter: limit")
			return
		}
		limit = n
	}
	marker := r.URL.Query().Get("marker")
	var names []string
	for n := range s.keyPairs {
		if marker == "" || n > marker {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	more := len(names) > limit
	if more {
		names = names[:limit]
	}
	items := []any{}
	for _, n := range names {
		k := s.keyPairs[n]
		items = append(items, map[string]any{"keypair": map[string]any{"name": k.Name, "type": "ssh", "scope": "user",
			"public_key": k.PublicKey, "fingerprint": k.Fingerprint, "is_key_protection": false, "frozen_state": "0"}})
	}
	page := map[string]any{"current_count": len(items)}
	if more {
		page["next_marker"] = names[len(names)-1]
	}
	ok(200, map[string]any{"keypairs": items, "page_info": page})
}

func (s *Sim) create(raw []byte, ok okFunc, fail failFunc) {
	var req struct {
		Keypair *struct {
			Name          string          `json:"name"`
			Type          string          `json:"type"`
			PublicKey     *string         `json:"public_key"`
			Scope         string          `json:"scope"`
			KeyProtection json.RawMessage `json:"key_protection"`
		} `json:"keypair"`
	}
	if err := json.Unmarshal(raw, &req); err != nil || req.Keypair == nil {
		fail(400, "KPS.0002", "invalid parameter: keypair")
		return
	}
	k := req.Keypair
	if !nameRE.MatchString(k.Name) {
		fail(400, "KPS.0002", "invalid parameter: name")
		return
	}
	if _, dup := s.keyPairs[k.Name]; dup {
		fail(400, "KPS.0002", "invalid parameter: the key pair name already exists")
		return
	}
	if k.PublicKey == nil {
		// Creating (the service generates the private key) is never what accessctl does.
		fail(400, "KPS.0002", "simulator: only imports (public_key set) are simulated")
		return
	}
	if !importable(*k.PublicKey) {
		fail(400, "KPS.0002", "invalid parameter: public_key")
		return
	}
	kp := &KeyPair{Name: k.Name, PublicKey: strings.TrimSpace(*k.PublicKey), Fingerprint: fingerprint(*k.PublicKey), Created: time.Now()}
	s.keyPairs[k.Name] = kp
	ok(200, map[string]any{"keypair": map[string]any{"name": kp.Name, "type": "ssh", "public_key": kp.PublicKey,
		"fingerprint": kp.Fingerprint, "user_id": "sim-user"}})
}

func (s *Sim) keypair(method, name string, raw []byte, ok okFunc, fail failFunc) {
	k := s.keyPairs[name]
	if k == nil {
		fail(404, "KPS.4016", "the key pair does not exist")
		return
	}
	switch method {
	case http.MethodGet:
		ok(200, map[string]any{"keypair": map[string]any{"name": k.Name, "id": 1, "type": "ssh", "scope": "user",
			"public_key": k.PublicKey, "fingerprint": k.Fingerprint, "is_key_protection": false, "deleted": false,
			"description": k.Description, "user_id": "sim-user", "create_time": k.Created.Unix(), "update_time": k.Created.Unix(),
			"frozen_state": 0}})
	case http.MethodPut:
		var req struct {
			Keypair *struct {
				Description *string `json:"description"`
			} `json:"keypair"`
		}
		if err := json.Unmarshal(raw, &req); err != nil || req.Keypair == nil || req.Keypair.Description == nil || len(*req.Keypair.Description) > 255 {
			fail(400, "KPS.0002", "invalid parameter: description")
			return
		}
		k.Description = *req.Keypair.Description
		ok(204, nil)
	case http.MethodDelete:
		// KPS does not refuse to delete a key pair a server holds; the server keeps the key.
		delete(s.keyPairs, name)
		ok(204, nil)
	default:
		fail(405, "KPS.0002", "method not allowed")
	}
}

func (s *Sim) newTask(server, kind, keypair string) string {
	s.seq++
	id := fmt.Sprintf("task-%06d", s.seq)
	s.tasks[id] = &task{id: id, server: server, kind: kind, keypair: keypair, fail: s.failTasks[server]}
	return id
}

func (s *Sim) associate(raw []byte, ok okFunc, fail failFunc) {
	var req struct {
		KeypairName string `json:"keypair_name"`
		Server      *struct {
			ID   string          `json:"id"`
			Auth json.RawMessage `json:"auth"`
		} `json:"server"`
	}
	if err := json.Unmarshal(raw, &req); err != nil || req.Server == nil || req.Server.ID == "" {
		fail(400, "KPS.0002", "invalid parameter: server")
		return
	}
	if s.keyPairs[req.KeypairName] == nil {
		fail(404, "KPS.4016", "the key pair does not exist")
		return
	}
	sv := s.servers[req.Server.ID]
	if sv == nil {
		fail(400, "KPS.0002", "invalid parameter: the server does not exist")
		return
	}
	if strings.EqualFold(sv.OS, "windows") {
		fail(400, "KPS.0002", "invalid parameter: a Windows server cannot be bound to a key pair")
		return
	}
	id := s.newTask(sv.ID, "RESET", req.KeypairName)
	ok(200, map[string]any{"task_id": id})
}

func (s *Sim) disassociate(raw []byte, ok okFunc, fail failFunc) {
	var req struct {
		Server *struct {
			ID string `json:"id"`
		} `json:"server"`
	}
	if err := json.Unmarshal(raw, &req); err != nil || req.Server == nil || req.Server.ID == "" {
		fail(400, "KPS.0002", "invalid parameter: server")
		return
	}
	sv := s.servers[req.Server.ID]
	if sv == nil {
		fail(400, "KPS.0002", "invalid parameter: the server does not exist")
		return
	}
	if sv.KeyName == "" {
		fail(400, "KPS.0002", "invalid parameter: the server is not bound to a key pair")
		return
	}
	id := s.newTask(sv.ID, "UNBIND", sv.KeyName)
	ok(200, map[string]any{"task_id": id})
}

func (s *Sim) task(id string, ok okFunc, fail failFunc) {
	t := s.tasks[id]
	if t == nil {
		fail(404, "KPS.4016", "the task does not exist")
		return
	}
	t.polls++
	var status string
	switch {
	case t.polls <= s.PollsToFinish/2:
		status = "READY_" + t.kind
	case t.polls <= s.PollsToFinish:
		status = "RUNNING_" + t.kind
	case t.fail:
		status = "FAILED_" + t.kind
	default:
		status = "SUCCESS_" + t.kind
		if sv := s.servers[t.server]; sv != nil && t.polls == s.PollsToFinish+1 {
			if t.kind == "RESET" {
				sv.KeyName = t.keypair
			} else {
				sv.KeyName = ""
			}
		}
	}
	ok(200, map[string]any{"server_id": t.server, "task_id": t.id, "task_status": status})
}

func (s *Sim) listServers(r *http.Request, ok okFunc, fail failFunc) {
	limit, offset := 25, 1
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			fail(400, "Ecs.0005", "invalid parameter: limit")
			return
		}
		limit = n
	}
	if v := r.URL.Query().Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			fail(400, "Ecs.0005", "invalid parameter: offset")
			return
		}
		offset = n
	}
	var ids []string
	for id := range s.servers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	from := (offset - 1) * limit
	if from > len(ids) {
		from = len(ids)
	}
	to := from + limit
	if to > len(ids) {
		to = len(ids)
	}
	items := []any{}
	for _, id := range ids[from:to] {
		sv := s.servers[id]
		name := sv.Name
		if name == "" {
			name = sv.ID
		}
		addrs := []any{}
		if sv.PrivateIP != "" {
			addrs = append(addrs, map[string]any{"version": "4", "addr": sv.PrivateIP, "OS-EXT-IPS:type": "fixed"})
		}
		if sv.PublicIP != "" {
			addrs = append(addrs, map[string]any{"version": "4", "addr": sv.PublicIP, "OS-EXT-IPS:type": "floating"})
		}
		tags := append([]string{}, sv.Tags...)
		items = append(items, map[string]any{"id": sv.ID, "name": name, "status": "ACTIVE", "key_name": sv.KeyName,
			"metadata": map[string]string{"os_type": sv.OS}, "tags": tags, "addresses": map[string]any{"vpc-1": addrs}})
	}
	ok(200, map[string]any{"count": len(ids), "servers": items})
}
