// Package ecssim is a SIMULATOR of the Alibaba Cloud ECS key-pair API (version 2014-05-26) for
// tests: an httptest server that the official SDK (github.com/alibabacloud-go/ecs-20140526/v7)
// talks to through an endpoint override. No cloud account exists here, so this simulator stands
// in for the service. It was written from the public API reference (DescribeKeyPairs,
// ImportKeyPair, AttachKeyPair, DetachKeyPair, DeleteKeyPairs, DescribeInstances) and the SDK's
// models; what it does is only as right as that reading (see docs/cloud.md, "What is proven").
//
// Modelled: RPC-style requests (action in the x-acs-action header or the Action parameter,
// parameters in the query or a form body), JSON answers, paging (PageNumber/PageSize,
// TotalCount), tags, the documented error codes and HTTP statuses: KeyPair.AlreadyExist (400),
// InvalidPublicKeyBody.Malformed (400), InvalidKeyPairName.Malformed (400),
// InvalidKeyPairName.NotFound (404), InvalidInstanceId.NotFound (404),
// DependencyViolation.WindowsInstance (403), InvalidParameter.KeypairAlreadyAttachedInstance
// (400, deleting a bound key pair). A binding replaces the instance's key pair at once in the
// API (the instance applies it at its next restart: Instance.PendingRestart). Every request is
// logged (Calls) so tests can assert which calls were made, and faults can be injected
// (Throttle, FailNext).
package ecssim

import (
	"crypto/md5"
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
	Tags        map[string]string
	Created     time.Time
}

// Instance is an instance of the simulated region.
type Instance struct {
	ID      string
	OS      string // "linux" | "windows"
	KeyPair string
	// Name, Tags and the addresses are what DescribeInstances reports for inventory.
	Name      string
	Tags      map[string]string
	PrivateIP string
	PublicIP  string
	// PendingRestart: a key pair was attached or detached and the instance has not restarted
	// (accessctl never restarts one).
	PendingRestart bool
}

// Call is one logged request.
type Call struct {
	Action string
	Params map[string]string
}

// Server is the simulator. Its methods are safe for concurrent use.
type Server struct {
	*httptest.Server
	Region string
	// AccessKeyID, when set, must appear in every request's Authorization header.
	AccessKeyID string

	mu        sync.Mutex
	keyPairs  map[string]*KeyPair
	instances map[string]*Instance
	calls     []Call
	throttle  map[string]int
	failNext  map[string]apiError
	seq       int
}

type apiError struct {
	status        int
	code, message string
}

// New starts a simulator for region with the given instances.
func New(region string, instances ...Instance) *Server {
	s := &Server{Region: region, keyPairs: map[string]*KeyPair{}, instances: map[string]*Instance{},
		throttle: map[string]int{}, failNext: map[string]apiError{}}
	for _, in := range instances {
		in := in
		s.instances[in.ID] = &in
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	return s
}

// AddKeyPair puts a key pair in the registry directly (as the console would). tags may be nil.
func (s *Server) AddKeyPair(name, publicKey string, tags map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keyPairs[name] = &KeyPair{Name: name, PublicKey: publicKey, Fingerprint: fingerprint(publicKey), Tags: tags, Created: time.Now()}
}

// BindDirect binds a key pair to an instance directly (as the console would).
func (s *Server) BindDirect(instance, keypair string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in := s.instances[instance]; in != nil {
		in.KeyPair = keypair
	}
}

// KeyPairs returns a copy of the key pairs, sorted by name.
func (s *Server) KeyPairs() []KeyPair {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []KeyPair
	for _, k := range s.keyPairs {
		out = append(out, *k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Instance returns a copy of an instance, or nil.
func (s *Server) Instance(id string) *Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in := s.instances[id]; in != nil {
		c := *in
		return &c
	}
	return nil
}

// Calls returns the requests made so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallCount counts the requests of one action.
func (s *Server) CallCount(action string) int {
	n := 0
	for _, c := range s.Calls() {
		if c.Action == action {
			n++
		}
	}
	return n
}

// Throttle makes the next n requests of action fail with Throttling.User.
func (s *Server) Throttle(action string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle[action] = n
}

// FailNext makes the next request of action fail with the given status and code.
func (s *Server) FailNext(action string, status int, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext[action] = apiError{status, code, "injected failure"}
}

// fingerprint is the MD5 of the key blob in colon-separated hex, as the reference describes
// KeyPairFingerPrint (RFC 4716).
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
	return strings.Join(parts, ":")
}

var nameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9:_-]{1,127}$`)

func validName(n string) bool {
	l := strings.ToLower(n)
	return nameRE.MatchString(n) && !strings.HasPrefix(l, "http://") && !strings.HasPrefix(l, "https://")
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	params := map[string]string{}
	for k, v := range r.Form {
		if len(v) > 0 {
			params[k] = v[0]
		}
	}
	action := r.Header.Get("x-acs-action")
	if action == "" {
		action = params["Action"]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	reqID := fmt.Sprintf("SIM-%06d", s.seq)
	s.calls = append(s.calls, Call{Action: action, Params: params})
	fail := func(status int, code, msg string) {
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"RequestId": reqID, "Code": code, "Message": msg, "HostId": "ecs.simulator"})
	}
	ok := func(body map[string]any) {
		body["RequestId"] = reqID
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		_ = json.NewEncoder(w).Encode(body)
	}
	if s.AccessKeyID != "" && !strings.Contains(r.Header.Get("Authorization"), "Credential="+s.AccessKeyID) {
		fail(400, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
		return
	}
	if n := s.throttle[action]; n > 0 {
		s.throttle[action] = n - 1
		fail(400, "Throttling.User", "Request was denied due to user flow control.")
		return
	}
	if e, ok := s.failNext[action]; ok {
		delete(s.failNext, action)
		fail(e.status, e.code, e.message)
		return
	}
	if params["RegionId"] == "" {
		fail(400, "MissingRegionId", "RegionId is mandatory for this action.")
		return
	}
	if params["RegionId"] != s.Region {
		fail(400, "InvalidRegionId.NotFound", "The specified RegionId does not exist.")
		return
	}
	switch action {
	case "DescribeKeyPairs":
		s.describeKeyPairs(params, ok, fail)
	case "ImportKeyPair":
		s.importKeyPair(params, ok, fail)
	case "AttachKeyPair", "DetachKeyPair":
		s.attachDetach(action == "AttachKeyPair", params, ok, fail)
	case "DeleteKeyPairs":
		s.deleteKeyPairs(params, ok, fail)
	case "DescribeInstances":
		s.describeInstances(params, ok, fail)
	default:
		fail(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
	}
}

type okFunc func(map[string]any)
type failFunc func(int, string, string)

func paging(params map[string]string, maxSize int) (page, size int, bad string) {
	page, size = 1, 10
	if v := params["PageNumber"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, 0, "InvalidPageNumber.Malformed"
		}
		page = n
	}
	if v := params["PageSize"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxSize {
			return 0, 0, "InvalidPageSize.Malformed"
		}
		size = n
	}
	return page, size, ""
}

func window(total, page, size int) (int, int) {
	from := (page - 1) * size
	if from > total {
		from = total
	}
	to := from + size
	if to > total {
		to = total
	}
	return from, to
}

func (s *Server) describeKeyPairs(params map[string]string, ok okFunc, fail failFunc) {
	page, size, bad := paging(params, 50)
	if bad != "" {
		fail(400, bad, "The specified paging parameter is invalid.")
		return
	}
	var names []string
	for n := range s.keyPairs {
		if q := params["KeyPairName"]; q != "" && q != n {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	from, to := window(len(names), page, size)
	items := []any{}
	for _, n := range names[from:to] {
		k := s.keyPairs[n]
		tags := []any{}
		for tk, tv := range k.Tags {
			tags = append(tags, map[string]any{"TagKey": tk, "TagValue": tv})
		}
		item := map[string]any{"KeyPairName": k.Name, "KeyPairFingerPrint": k.Fingerprint,
			"CreationTime": k.Created.UTC().Format("2006-01-02T15:04Z"), "ResourceGroupId": "", "Tags": map[string]any{"Tag": tags}}
		if params["IncludePublicKey"] == "true" {
			item["PublicKey"] = k.PublicKey
		}
		items = append(items, item)
	}
	ok(map[string]any{"TotalCount": len(names), "PageNumber": page, "PageSize": size, "KeyPairs": map[string]any{"KeyPair": items}})
}

func (s *Server) importKeyPair(params map[string]string, ok okFunc, fail failFunc) {
	name, body := params["KeyPairName"], params["PublicKeyBody"]
	if name == "" {
		fail(400, "MissingKeyPairName", "KeyPairName is mandatory for this action.")
		return
	}
	if body == "" {
		fail(400, "MissingPublicKeyBody", "PublicKeyBody is mandatory for this action.")
		return
	}
	if !validName(name) {
		fail(400, "InvalidKeyPairName.Malformed", "Specified key pair name is not valid.")
		return
	}
	pk, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(body))
	if err != nil || len(strings.TrimSpace(string(rest))) > 0 {
		fail(400, "InvalidPublicKeyBody.Malformed", "Specified public key body is malformed.")
		return
	}
	_ = pk
	if _, dup := s.keyPairs[name]; dup {
		fail(400, "KeyPair.AlreadyExist", "The key pair already exist.")
		return
	}
	tags := map[string]string{}
	for i := 1; i <= 20; i++ {
		k := params[fmt.Sprintf("Tag.%d.Key", i)]
		if k == "" {
			continue
		}
		tags[k] = params[fmt.Sprintf("Tag.%d.Value", i)]
	}
	k := &KeyPair{Name: name, PublicKey: strings.TrimSpace(body), Fingerprint: fingerprint(body), Tags: tags, Created: time.Now()}
	s.keyPairs[name] = k
	ok(map[string]any{"KeyPairName": name, "KeyPairFingerPrint": k.Fingerprint})
}

func (s *Server) attachDetach(attach bool, params map[string]string, ok okFunc, fail failFunc) {
	name := params["KeyPairName"]
	var ids []string
	if err := json.Unmarshal([]byte(params["InstanceIds"]), &ids); err != nil || len(ids) == 0 || len(ids) > 50 {
		fail(400, "InvalidInstanceIds.Malformed", "The specified parameter InstanceIds is not valid.")
		return
	}
	if _, ok := s.keyPairs[name]; !ok {
		fail(404, "InvalidKeyPairName.NotFound", "The specified KeyPairName does not exist in our records.")
		return
	}
	results := []any{}
	failed := 0
	for _, id := range ids {
		in := s.instances[id]
		switch {
		case in == nil && len(ids) == 1:
			fail(404, "InvalidInstanceId.NotFound", "The specified InstanceId does not exist.")
			return
		case in != nil && in.OS == "windows" && len(ids) == 1:
			fail(403, "DependencyViolation.WindowsInstance", "The instance is a Windows instance and cannot be bound to a key pair.")
			return
		case in == nil:
			failed++
			results = append(results, map[string]any{"InstanceId": id, "Success": "false", "Code": "InvalidInstanceId.NotFound", "Message": "The specified InstanceId does not exist."})
		case in.OS == "windows":
			failed++
			results = append(results, map[string]any{"InstanceId": id, "Success": "false", "Code": "DependencyViolation.WindowsInstance", "Message": "Windows instance."})
		case !attach && in.KeyPair != name:
			// Not documented: the simulator's answer for detaching a key pair the instance does not hold.
			failed++
			results = append(results, map[string]any{"InstanceId": id, "Success": "false", "Code": "InvalidKeyPairName.NotFound", "Message": "The instance is not bound to this key pair."})
		default:
			if attach {
				in.KeyPair = name
			} else {
				in.KeyPair = ""
			}
			in.PendingRestart = true
			results = append(results, map[string]any{"InstanceId": id, "Success": "true", "Code": "200", "Message": "successful"})
		}
	}
	ok(map[string]any{"KeyPairName": name, "TotalCount": strconv.Itoa(len(ids)), "FailCount": strconv.Itoa(failed),
		"Results": map[string]any{"Result": results}})
}

func (s *Server) deleteKeyPairs(params map[string]string, ok okFunc, fail failFunc) {
	var names []string
	if err := json.Unmarshal([]byte(params["KeyPairNames"]), &names); err != nil || len(names) == 0 || len(names) > 100 {
		fail(400, "InvalidKeyPairNames.Malformed", "The specified parameter KeyPairNames is not valid.")
		return
	}
	for _, n := range names {
		if _, ok := s.keyPairs[n]; !ok {
			fail(404, "InvalidKeyPairName.NotFound", "The specified KeyPairName does not exist in our records.")
			return
		}
		for _, in := range s.instances {
			if in.KeyPair == n {
				fail(400, "InvalidParameter.KeypairAlreadyAttachedInstance", "The key pair is attached to an instance and cannot be deleted.")
				return
			}
		}
	}
	for _, n := range names {
		delete(s.keyPairs, n)
	}
	ok(map[string]any{})
}

func (s *Server) describeInstances(params map[string]string, ok okFunc, fail failFunc) {
	page, size, bad := paging(params, 100)
	if bad != "" {
		fail(400, bad, "The specified paging parameter is invalid.")
		return
	}
	var ids []string
	for id, in := range s.instances {
		if k := params["Tag.1.Key"]; k != "" && in.Tags[k] != params["Tag.1.Value"] {
			continue
		}
		ids = append(ids, id)
	}
	sort.Strings(ids)
	from, to := window(len(ids), page, size)
	items := []any{}
	for _, id := range ids[from:to] {
		in := s.instances[id]
		name := in.Name
		if name == "" {
			name = in.ID
		}
		tags := []any{}
		for k, v := range in.Tags {
			tags = append(tags, map[string]any{"TagKey": k, "TagValue": v})
		}
		priv, pub := []string{}, []string{}
		if in.PrivateIP != "" {
			priv = append(priv, in.PrivateIP)
		}
		if in.PublicIP != "" {
			pub = append(pub, in.PublicIP)
		}
		items = append(items, map[string]any{"InstanceId": in.ID, "InstanceName": name, "RegionId": s.Region,
			"KeyPairName": in.KeyPair, "OSType": in.OS, "Status": "Running", "Tags": map[string]any{"Tag": tags},
			"VpcAttributes":   map[string]any{"PrivateIpAddress": map[string]any{"IpAddress": priv}},
			"PublicIpAddress": map[string]any{"IpAddress": pub}})
	}
	ok(map[string]any{"TotalCount": len(ids), "PageNumber": page, "PageSize": size, "Instances": map[string]any{"Instance": items}})
}
